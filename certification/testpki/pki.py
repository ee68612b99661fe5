"""Load the declarative test PKI (``pki.yml``) with certomancer and expose its parts by name."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from asn1crypto import keys as asn1_keys
from asn1crypto import x509
from certomancer.registry import (
    ArchLabel,
    CertLabel,
    CertomancerConfig,
    EntityLabel,
    KeyLabel,
    PKIArchitecture,
)
from certomancer.registry.entities import EntityRegistry
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from . import _backend

HERE = Path(__file__).parent
CONFIG_PATH = HERE / "pki.yml"
ARCH = ArchLabel("lv-test")
BASE_URL = "http://127.0.0.1:48601"  # must equal external-url-prefix in pki.yml
DEAD_URL = "http://127.0.0.1:48609"  # never served: "responder down"


class _OrderedEntityRegistry(EntityRegistry):
    """Entity names with attributes in the YAML's order.

    certomancer builds names with asn1crypto's ``Name.build``, which sorts attributes
    (serialNumber first); real Latvian certificates keep C, CN, SN, G, serialNumber.
    """

    def __init__(self, config: dict[str, dict[str, str]]) -> None:
        self._dict = {EntityLabel(k): _ordered_name(v) for k, v in config.items()}


def _ordered_name(attrs: dict[str, str]) -> x509.Name:
    # One single-attribute Name.build per attribute gives each its standard string type
    # (PrintableString for C and serialNumber, UTF8String otherwise).
    rdns = [x509.Name.build({key: value}).chosen[0] for key, value in attrs.items()]
    return x509.Name(name="", value=x509.RDNSequence(rdns))


def _load_config() -> tuple[CertomancerConfig, dict[str, Any]]:
    _backend.install()
    raw = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    config = CertomancerConfig(raw, key_search_dir=str(HERE), lazy_load_keys=True)
    return config, raw


@functools.cache
def architecture() -> PKIArchitecture:
    """The test PKI (built once per process; certificates are generated lazily)."""
    config, raw = _load_config()
    arch = config.get_pki_arch(ARCH)
    arch.entities = _OrderedEntityRegistry(raw["pki-architectures"][ARCH.value]["entities"])
    return arch


def cert(label: str) -> x509.Certificate:
    """The certificate with this label in pki.yml, as asn1crypto."""
    return architecture().get_cert(CertLabel(label))


def cert_der(label: str) -> bytes:
    return bytes(cert(label).dump())


def private_key(label: str) -> PrivateKeyTypes:
    """The TEST-ONLY private key with this label, as a cryptography key."""
    info: asn1_keys.PrivateKeyInfo = architecture().key_set.get_private_key(KeyLabel(label))
    return _backend.load_der_key(bytes(info.dump()))


def cert_labels() -> list[str]:
    raw = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    return list(raw["pki-architectures"][ARCH.value]["certs"])


@dataclass(frozen=True)
class Signer:
    """A test signer: its certificate, key and the chain up to (excluding) the root."""

    name: str
    cert_der: bytes
    key: PrivateKeyTypes
    chain_der: tuple[bytes, ...]  # issuing CA(s), nearest first, root excluded

    @property
    def cert(self) -> x509.Certificate:
        return x509.Certificate.load(self.cert_der)


def issuer_label(label: str) -> str:
    """Label of the certificate that issued certificate ``label`` (itself for a root)."""
    arch = architecture()
    return arch.get_cert_spec(CertLabel(label)).resolve_issuer_cert(arch).value


def issuer(label: str) -> x509.Certificate:
    return cert(issuer_label(label))


@functools.cache
def signer(name: str) -> Signer:
    """The holder of certificate ``name``, e.g. ``signer("valid_p384")`` (roster: README.md)."""
    arch = architecture()
    chain = list(arch.get_chain(CertLabel(name)))
    issuers = tuple(cert_der(lbl.value) for lbl in chain if cert(lbl.value).self_signed == "no")
    key_label = arch.get_cert_spec(CertLabel(name)).subject_key.value
    return Signer(name=name, cert_der=cert_der(name), key=private_key(key_label), chain_der=issuers)
