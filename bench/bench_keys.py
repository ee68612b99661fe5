"""Keys in a SoftHSM2 token vs key files, and the cost of a version 2 batch's completeness range.

Needs Debian's softhsm2 (skipped with a note otherwise) and, for the range figures, the test
PKI's responders on 127.0.0.1:48601 (run `make bench` in a network namespace of its own).
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

ROUNDS = 300
CHECKPOINT = b"sigsvc.example/log\n155000\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"


def _per_call_ms(fn: object, rounds: int = ROUNDS) -> float:
    fn()  # type: ignore[operator]
    started = time.perf_counter()
    for _ in range(rounds):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - started) / rounds * 1000


def tokens(tmp: Path) -> None:
    from audit.note import Signer, sign
    from certification.testpki import softhsm
    from certification.testpki.pki import HERE
    from sigsvc.keys.signers import TokenNoteSigner, TokenSealer, generate_ed25519
    from sigsvc.keys.token import TokenConfig, token_for

    if softhsm.module_path() is None:
        print("   SoftHSM2 not installed: token figures skipped")
        return
    hsm = softhsm.start(tmp / "hsm")
    token = token_for(TokenConfig(hsm.module, hsm.token_label, str(hsm.pin_file)))
    generate_ed25519(token, "log")
    in_token = TokenNoteSigner(token, "log", "sigsvc.example/log")
    in_file = Signer.generate("sigsvc.example/log")
    for name, signer in (("SoftHSM2 token", in_token), ("key file", in_file)):
        ms = _per_call_ms(lambda signer=signer: sign(CHECKPOINT, [signer]))
        print(f"   checkpoint signature (Ed25519, {name}): {ms:.2f} ms")
    key = (HERE / "test-only-keys" / "TEST-ONLY-operator_seal.key.pem").read_bytes()
    softhsm.import_private_key(hsm, "seal", key)
    certs = HERE / "generated" / "certs"
    chain = tmp / "chain.pem"
    chain.write_bytes((certs / "operator_seal.pem").read_bytes() + (certs / "ica.pem").read_bytes())
    sealer = TokenSealer.load(token, "seal", chain)
    ms = _per_call_ms(lambda: sealer.sign(b"x" * 600))
    print(f"   seal signature (ECDSA P-256, SoftHSM2 token): {ms:.2f} ms")


def ranges(tmp: Path, entries: int, foreign: int) -> None:
    from audit import events
    from audit.cli import main as sigaudit
    from certification.sealpki import operator_seal_files
    from certification.testpki import make_form_edoc, serve_responders
    from certification.testpki.sign import identity
    from sigsvc.export.evidence import Tsa
    from sigsvc.export.seal import FileSealer
    from tests.batch.kit import ACCEPTED_AT, Kit, Person

    with serve_responders() as responders:
        key, chain, anchor = operator_seal_files(tmp)
        container = make_form_edoc("valid_p384", level="LT")
        who = identity("valid_p384")
        person = Person(who.given_name, who.surname, who.personal_code)
        for version in (1, 2):
            kit = Kit(tmp, FileSealer.from_files(key, chain), anchor, tsa=Tsa(responders.tsa_url))
            other = [
                events.signature_accepted(
                    at=ACCEPTED_AT,
                    initiative="init-other",
                    signature=f"o-{i}",
                    platform="p",
                    container_sha256="ab" * 32,
                    signer="cd" * 32,
                )
                for i in range(foreign)
            ]
            for start in range(0, foreign, 5000):
                kit.log.append_events(other[start : start + 5000])
            records = [kit.accept(f"sig-{i}", container, person) for i in range(entries)]
            started = time.perf_counter()
            path = kit.batch(records, f"v{version}.asice", range_start=0 if version == 2 else None)
            write_s = time.perf_counter() - started
            args = ["verify-batch", str(path), "--key", kit.vkey, "--seal-anchor", str(anchor)]
            args += ["--at", "2026-06-01T00:00:00Z", "--json"]
            started = time.perf_counter()
            with redirect_stdout(io.StringIO()):
                code = sigaudit(args)
            verify_s = time.perf_counter() - started
            assert code == 0
            print(
                f"   v{version}: {entries} entries, log range of {kit.log.size} leaves: write "
                f"{write_s:.2f} s, verify {verify_s:.2f} s, {path.stat().st_size / 1e6:.1f} MB"
            )


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        tokens(tmp)
        ranges(tmp, 1000, 50_000)


if __name__ == "__main__":
    main()
    sys.exit(0)
