"""`sigsvc --help` and `sigaudit --help`: wall and CPU time of a cold start (issue target for
`sigsvc --help`: <= 0.5 s; commands import their modules only when they run)."""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 7


def _time(argv: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    bin_dir = Path(sys.executable).parent
    for tool in ("sigsvc", "sigaudit"):
        samples = [_time([str(bin_dir / tool), "--help"]) for _ in range(RUNS)]
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        print(f"{tool} --help: median wall {wall:.3f} s, CPU {cpu:.3f} s ({RUNS} runs)")


if __name__ == "__main__":
    main()
