"""sigsvc test PKI: declarative certificates (pki.yml), a signed test trusted list, real
OCSP/CRL/TSA responders on 127.0.0.1 and real signing code. TEST ONLY — see README.md."""

from .clock import PERIOD_END, PERIOD_START, RESPONDER_TIME, SIGNING_DATE, SIGNING_TIME
from .lotl import build_lotl
from .pades import form_pdf, make_pades
from .pki import Signer, cert, cert_der, private_key, signer
from .responders import Responders, serve_responders
from .sign import TEST_INITIATIVE, form_for, make_edoc, make_form_edoc
from .tl import build_trusted_list, tampered_trusted_list
from .xades import DataFile

__all__ = [
    "PERIOD_END",
    "PERIOD_START",
    "RESPONDER_TIME",
    "SIGNING_DATE",
    "SIGNING_TIME",
    "TEST_INITIATIVE",
    "DataFile",
    "Responders",
    "Signer",
    "build_lotl",
    "build_trusted_list",
    "cert",
    "cert_der",
    "form_for",
    "form_pdf",
    "make_edoc",
    "make_form_edoc",
    "make_pades",
    "private_key",
    "serve_responders",
    "signer",
    "tampered_trusted_list",
]
