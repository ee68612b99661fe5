"""Verifications per second per core: crypto.verify vs libdigidocpp (pydigidoc) on the same files.

The containers are real XAdES-BASELINE-LT .edoc files made by the test PKI's signing code against
its local responders; both verifiers run in this one process (one core) over the same files.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

SIGNERS = ("valid_p384", "valid_rsa", "no_prefix")
PER_SIGNER = 4
SECONDS = 3.0


def _containers() -> list[bytes]:
    from certification.testpki import make_form_edoc

    return [make_form_edoc(s, level="LT") for s in SIGNERS for _ in range(PER_SIGNER)]


def _rate(run, items: list, seconds: float) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for item in items:
            run(item)
            done += 1
    return done / (time.perf_counter() - started), done


def _ours(containers: list[bytes]) -> None:
    from certification.testpki import TEST_INITIATIVE, clock
    from certification.testpki.pki import cert_der
    from certification.testpki.tl import build_trusted_list
    from crypto import Policy, TrustedListSource, TrustStore, verify

    t0 = time.perf_counter()
    trust = TrustStore(
        trusted_lists=[
            TrustedListSource(
                build_trusted_list(),
                (cert_der("tl_operator"),),
                clock.TL_ISSUED + timedelta(hours=1),
            )
        ]
    )
    print(f"   crypto.verify: trust store built in {time.perf_counter() - t0:.2f} s (once)")
    policy = Policy(initiative=TEST_INITIATIVE)
    at = clock.RESPONDER_TIME + timedelta(minutes=1)

    def run(container: bytes) -> None:
        verdict = verify(container, policy=policy, trust=trust, fetcher=None, at=at)
        if not verdict.accepted:
            raise SystemExit(f"unexpected reject: {verdict.reason} {verdict.message}")

    t0 = time.perf_counter()
    run(containers[0])
    print(f"   crypto.verify: first verification {1000 * (time.perf_counter() - t0):.1f} ms")
    rate, n = _rate(run, containers, SECONDS)
    print(f"   crypto.verify: {rate:8.1f} verifications/s per core  ({n} runs, all accept)")


def _libdigidocpp(containers: list[bytes]) -> None:
    try:
        import pydigidoc  # type: ignore[import-not-found]
    except ImportError as exc:
        print(
            f"   libdigidocpp:  not measured - pydigidoc not importable ({exc}); "
            "`pip install pydigidoc` (LGPL wheel with libdigidocpp) to compare"
        )
        return
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        conf = tmp / "conf"
        conf.mkdir()
        (tmp / "tsl").mkdir()
        schema = Path(pydigidoc.__file__).parent / "schema"
        for item in schema.iterdir():
            (conf / item.name).write_bytes(item.read_bytes())
        # No network: never fetch the EU LOTL; libdigidocpp's TSL URL and signer certificates
        # are compiled in (only a C++ Conf subclass can change them), so it cannot be pointed at
        # the test trusted list and reports these test-PKI signatures as untrusted.
        (conf / "digidocpp.conf").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n'
            '<param name="tsl.autoupdate" lock="false">false</param>\n'
            f'<param name="tsl.cache" lock="false">{tmp / "tsl"}</param>\n'
            '<param name="tsl.onlineDigest" lock="false">false</param>\n'
            '<param name="tsl.timeOut" lock="false">1</param>\n'
            # every HTTP request of libdigidocpp goes to a closed local port: it never leaves the
            # machine (no LOTL download attempt), and refusals are immediate
            '<param name="proxy.host" lock="false">127.0.0.1</param>\n'
            '<param name="proxy.port" lock="false">9</param>\n</configuration>\n'
        )
        paths = []
        for i, data in enumerate(containers):
            path = tmp / f"c{i}.edoc"
            path.write_bytes(data)
            paths.append(str(path))
        # libdigidocpp logs to stdout/stderr from C++; silence fd 1/2 while it runs
        saved = os.dup(1), os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        outcome: list[str] = []
        try:
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            pydigidoc.initialize_lib("sigsvc-bench", str(conf))

            def run(path: str) -> None:
                doc = pydigidoc.Container.open(path)
                for signature in doc.signatures():
                    try:
                        signature.validate()
                        outcome.append("valid")
                    except RuntimeError as exc:
                        outcome.append(str(exc).splitlines()[-1][:90])

            warm = time.perf_counter()
            run(paths[0])  # first call tries (and fails, offline) to fetch the EU LOTL: not timed
            warm = time.perf_counter() - warm
            outcome.clear()
            rate, n = _rate(run, paths, SECONDS)
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(devnull)
        version = pydigidoc.version()
        print(
            f"   libdigidocpp {version}: {rate:8.1f} verifications/s per core  ({n} runs; "
            f"untimed first call {warm:.1f} s)"
        )
        print(
            f"   libdigidocpp verdict on these files: {max(set(outcome), key=outcome.count)!r}"
            " (test PKI not on its compiled-in TSL; full validation still runs)"
        )


def main() -> None:
    from certification.testpki import serve_responders

    # Responders stay up: libdigidocpp fetches issuer certificates from the AIA URLs (without
    # them each verification waits for a connection timeout); crypto.verify runs offline.
    with serve_responders():
        containers = _containers()
        print(
            f"   {len(containers)} XAdES-BASELINE-LT containers ({', '.join(SIGNERS)}), "
            f"{SECONDS:.0f} s per verifier, one process"
        )
        _ours(containers)
        _libdigidocpp(containers)


if __name__ == "__main__":
    main()
