"""Run every bench/bench_*.py main() in name order, or only those named on the command line.

Each module runs in a process of its own, so peak-memory figures (ru_maxrss) and caches of one
benchmark do not leak into the next.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import time

import bench


def main(argv: list[str]) -> int:
    modules = pkgutil.iter_modules(bench.__path__)
    names = sorted(m.name for m in modules if m.name.startswith("bench_"))
    wanted = [n for n in names if not argv or any(a in n for a in argv)]
    failed = []
    for name in wanted:
        print(f"== {name} ==", flush=True)
        started = time.perf_counter()
        code = f"import bench.{name} as m; m.main()"
        if subprocess.run([sys.executable, "-c", code], check=False).returncode != 0:
            failed.append(name)
        print(f"   ({time.perf_counter() - started:.1f} s)\n", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
