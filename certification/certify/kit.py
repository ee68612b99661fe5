"""The certification kit: what a deployment under test is configured with, and what the runner
keeps to check it.

`sigsvc-certify env --kit DIR` makes, once, in DIR (mode 0700): an operator seal (the test
PKI's TEST operator seal certificate, whose OCSP the runner's responders answer, so the
deployment can seal at XAdES-BASELINE-LT with the runner's TSA; the reference receiver trusts
the test PKI's root) and the CVK stand-in's acknowledgement key (the deployment verifies
acknowledgements with its public half). It prints the environment the deployment needs;
the trusted list and its pinned signer are the test PKI's checked-in files.

TEST ONLY: every key here is for a certification run, never for production.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from audit.note import Signer
from certification.sealpki import operator_seal_files
from certification.testpki import pki as testpki

GENERATED = testpki.HERE / "generated"
TRUSTED_LIST = GENERATED / "trusted-list.xml"
TL_SIGNER = GENERATED / "certs" / "tl_operator.pem"
RECEIVER_NAME = "cvk.certify-receiver"
PLATFORM_RATE = "5/25"  # per platform key: 5 a second, bursts of 25


class KitError(Exception):
    """The kit directory is missing or incomplete (the message says what to run)."""


@dataclass(frozen=True)
class Kit:
    directory: Path

    @property
    def seal_key(self) -> Path:
        return self.directory / "seal.key.pem"

    @property
    def seal_chain(self) -> Path:
        return self.directory / "seal.chain.pem"

    @property
    def seal_anchor(self) -> Path:
        return self.directory / "seal-ca.der"

    @property
    def receiver_key_file(self) -> Path:
        return self.directory / "receiver.skey"

    def receiver_signer(self) -> Signer:
        return Signer.from_skey(self.receiver_key_file.read_text(encoding="utf-8").strip())

    def environment(self) -> dict[str, str]:
        """The variables a deployment under test needs (README "Configuration")."""
        return {
            "SIGSVC_TRUSTED_LISTS": str(TRUSTED_LIST),
            "SIGSVC_TL_SIGNERS": str(TL_SIGNER),
            "SIGSVC_BATCH_SEAL_KEY": str(self.seal_key),
            "SIGSVC_BATCH_SEAL_CERT": str(self.seal_chain),
            # the runner's TSA (test PKI responders): batch seals are XAdES-BASELINE-LT
            "SIGSVC_BATCH_TSA_URL": f"{testpki.BASE_URL}/{testpki.ARCH.value}/tsa/tsa",
            "SIGSVC_RECEIVER_KEY": self.receiver_signer().verifier().vkey,
            # low enough that a burst from one client shows throttling (C27) on any machine
            "SIGSVC_RATE_PLATFORM": PLATFORM_RATE,
            # the test PKI's responders live on 127.0.0.1 (the runner serves them): revocation
            # fetches must reach them (TEST ONLY; production fetches public addresses only)
            "SIGSVC_TEST_FETCH_PRIVATE_ADDRESSES": "1",
        }

    def shell(self) -> str:
        lines = [
            f"export {name}={shlex.quote(value)}" for name, value in self.environment().items()
        ]
        return "\n".join(lines) + "\n"


def ensure_kit(directory: Path) -> Kit:
    """Make the kit in ``directory`` where a part is missing (existing parts are kept)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    kit = Kit(directory)
    if not (kit.seal_key.exists() and kit.seal_chain.exists() and kit.seal_anchor.exists()):
        key, chain, anchor = operator_seal_files(directory)
        key.replace(kit.seal_key)
        chain.replace(kit.seal_chain)
        root = x509.load_pem_x509_certificate(anchor.read_bytes())
        kit.seal_anchor.write_bytes(root.public_bytes(Encoding.DER))
        os.chmod(kit.seal_key, 0o600)
    if not kit.receiver_key_file.exists():
        fd = os.open(kit.receiver_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(Signer.generate(RECEIVER_NAME).skey + "\n")
    return kit


def load_kit(directory: Path) -> Kit:
    kit = Kit(directory)
    missing = [
        p.name
        for p in (kit.seal_key, kit.seal_chain, kit.seal_anchor, kit.receiver_key_file)
        if not p.exists()
    ]
    if missing:
        raise KitError(
            f"certification kit {directory} lacks {', '.join(missing)}: run "
            f"`sigsvc-certify env --kit {directory}` and configure the deployment with what "
            "it prints"
        )
    return kit


RESPONDERS_NOTE = (
    "# The runner serves the test PKI's OCSP/CRL/TSA responders on 127.0.0.1:48601 and its\n"
    "# minted citizens' OCSP on a free 127.0.0.1 port while it runs: the deployment must reach\n"
    "# 127.0.0.1 (same host or network namespace) for the revocation checks (C5).\n"
)
