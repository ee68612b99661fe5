"""A real SoftHSM2 token for tests (Debian ``softhsm2``), in a temporary directory.

SoftHSM reads ``SOFTHSM2_CONF`` when the PKCS#11 library is initialised, which happens once
per process, so one ``SoftHsm`` serves a whole test session; each test that needs a fresh key
uses a fresh key label. Tokens are initialised with ``softhsm2-util`` exactly as an operator
would (README "Keys in a token").
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MODULE_PATHS = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)
TOKEN_LABEL = "sigsvc-test"
USER_PIN = "TEST-ONLY-1234"
SO_PIN = "TEST-ONLY-5678"


def module_path() -> str | None:
    return next((p for p in MODULE_PATHS if Path(p).exists()), None)


@dataclass(frozen=True)
class SoftHsm:
    module: str
    token_label: str
    pin_file: Path
    conf: Path

    def env(self) -> dict[str, str]:
        """The service's PKCS#11 variables for this token."""
        return {
            "SIGSVC_PKCS11_MODULE": self.module,
            "SIGSVC_PKCS11_TOKEN": self.token_label,
            "SIGSVC_PKCS11_PIN_FILE": str(self.pin_file),
        }


def start(directory: Path, label: str = TOKEN_LABEL) -> SoftHsm:
    """Configure SoftHSM in ``directory`` (sets ``SOFTHSM2_CONF``) and initialise a token."""
    module = module_path()
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        raise FileNotFoundError("SoftHSM2 is not installed (Debian package softhsm2)")
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [util, "--init-token", "--free", "--label", label, "--pin", USER_PIN, "--so-pin", SO_PIN],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    pin_file = directory / "user.pin"
    pin_file.write_text(USER_PIN + "\n")
    pin_file.chmod(0o600)
    return SoftHsm(module, label, pin_file, conf)


def import_private_key(hsm: SoftHsm, label: str, key_pem: bytes) -> None:
    """Import a PEM EC/RSA private key into the token as a non-extractable key pair.

    A key ceremony that generates the key elsewhere does this; the TEST-ONLY seal key of the
    test PKI is imported so that the responders (which know its certificate) answer for it.
    """
    import pkcs11
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.util.ec import decode_ec_private_key, decode_ec_public_key
    from pkcs11.util.rsa import decode_rsa_private_key, decode_rsa_public_key

    key = serialization.load_pem_private_key(key_pem, None)
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    if isinstance(key, ec.EllipticCurvePrivateKey):
        private = decode_ec_private_key(der)
        public = decode_ec_public_key(
            key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    elif isinstance(key, rsa.RSAPrivateKey):
        private = decode_rsa_private_key(der)
        public = decode_rsa_public_key(
            key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.PKCS1
            )
        )
    else:
        raise TypeError("only EC and RSA keys")
    lib = pkcs11.lib(hsm.module)
    token = lib.get_token(token_label=hsm.token_label)
    try:
        session = token.open(rw=True, user_pin=USER_PIN)
    except pkcs11.UserAlreadyLoggedIn:  # login is per process and token: the service's session
        session = token.open(rw=True)
    with session:
        private.update(
            {
                Attribute.LABEL: label,
                Attribute.TOKEN: True,
                Attribute.SIGN: True,
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.CLASS: ObjectClass.PRIVATE_KEY,
            }
        )
        public.update(
            {
                Attribute.LABEL: label,
                Attribute.TOKEN: True,
                Attribute.VERIFY: True,
                Attribute.CLASS: ObjectClass.PUBLIC_KEY,
            }
        )
        session.create_object(private)
        session.create_object(public)
