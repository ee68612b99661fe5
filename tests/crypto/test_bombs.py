"""Budgets per bomb class (issue 9): each hostile container gets its one reason, and the work it
costs stays far below what it cost before the bound (measured as CPU time of this process).

Figures before the bounds (same machine, issue 9): 8 same-name certificates in a time-stamp token
28 s, 15 never finished; 20,000 / 40,000 namespace declarations 27 s / 110 s; an OCSP response
padded to 10,000 entries 10 s and accepted.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from asn1crypto import cms, ocsp, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from certification.testpki import Responders
from certification.testpki.asice import replace_entry
from certification.testpki.pki import cert, private_key
from certification.testpki.sign import make_form_edoc
from crypto import Policy, Reason, SizeLimits, Verdict
from crypto._internal import budget

SIGNATURE_FILE = "META-INF/edoc-signatures-S1.xml"
BUDGET = SizeLimits().max_cpu_seconds
Check = Callable[..., Verdict]


def cpu(run: Callable[[], Verdict]) -> tuple[Verdict, float]:
    start = time.process_time()
    verdict = run()
    used = time.process_time() - start
    print(f"\nCPU {used:.3f} s -> {verdict.reason}")  # collected for the closing note
    return verdict, used


def _signature_xml(container: bytes) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(container)) as zf:
        return zf.read(SIGNATURE_FILE)


def _swap_b64(xml: bytes, element: bytes, old_der: bytes, new_der: bytes) -> bytes:
    """Replace the base64 text of an unsigned-property element (not covered by SignedInfo)."""
    pattern = re.compile(rb"(<[\w:]*" + element + rb"[^>]*>)([^<]*)(<)")
    for match in pattern.finditer(xml):
        if base64.b64decode(match.group(2)) == old_der:
            return xml[: match.start(2)] + base64.b64encode(new_der) + xml[match.end(2) :]
    raise AssertionError(f"no {element!r} with the expected content")


def _b64_values(xml: bytes, element: bytes) -> list[bytes]:
    pattern = re.compile(rb"<[\w:]*" + element + rb"[^>]*>([^<]*)<")
    return [base64.b64decode(m.group(1)) for m in pattern.finditer(xml)]


@pytest.fixture(scope="module")
def lt_edoc(responders: Responders) -> bytes:
    return make_form_edoc("valid_p384", level="LT")


@pytest.fixture(scope="module")
def unlisted_tsa_edoc(responders: Responders) -> bytes:
    return make_form_edoc("valid_p384", level="LT", tsa="unlisted-tsa")


# -- path search: same-name certificates in the time-stamp token -------------------------------


def _same_name_decoys(name: cx509.Name, count: int) -> list[x509.Certificate]:
    """`count` CA certificates with subject = issuer = `name`, distinct keys, no key
    identifiers: each is a candidate issuer of every other and of the TSA certificate."""
    signer = ec.generate_private_key(ec.SECP256R1())
    decoys = []
    for serial in range(1, count + 1):
        key = ec.generate_private_key(ec.SECP256R1())
        built = (
            cx509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
            .not_valid_after(datetime(2040, 1, 1, tzinfo=UTC))
            .add_extension(cx509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(signer, hashes.SHA256())
        )
        decoys.append(x509.Certificate.load(built.public_bytes(Encoding.DER)))
    return decoys


def _with_token_certs(container: bytes, count: int) -> bytes:
    """The container with `count` same-name decoys added to its time-stamp token's certificate
    bag (unsigned in the token, unsigned property in XAdES: nothing else changes)."""
    xml = _signature_xml(container)
    (token,) = _b64_values(xml, b"EncapsulatedTimeStamp")
    info = cms.ContentInfo.load(token)
    signed = info["content"]
    certs = [c.chosen for c in signed["certificates"]]
    tsa_issuer = cx509.load_der_x509_certificate(certs[0].dump()).issuer
    decoys = _same_name_decoys(tsa_issuer, count)
    signed["certificates"] = cms.CertificateSet(
        [cms.CertificateChoices(name="certificate", value=c) for c in [*certs, *decoys]]
    )
    bloated = info.dump(force=False)
    return replace_entry(
        container, SIGNATURE_FILE, _swap_b64(xml, b"EncapsulatedTimeStamp", token, bloated)
    )


@pytest.mark.parametrize("count", [8, 14])  # 14 + TSA + CA: the bag limit (16)
def test_same_name_certificates_in_the_time_stamp(
    check: Check, unlisted_tsa_edoc: bytes, count: int
) -> None:
    bomb = _with_token_certs(unlisted_tsa_edoc, count)
    verdict, used = cpu(lambda: check(bomb, offline=True))
    assert verdict.reason is Reason.TIMESTAMP_INVALID  # as without decoys: TSA not listed
    assert used < BUDGET


def test_same_name_certificates_beside_a_listed_tsa(check: Check, lt_edoc: bytes) -> None:
    """Decoys do not stop the real path from being found: still accepted, cheaply."""
    verdict, used = cpu(lambda: check(_with_token_certs(lt_edoc, 14), offline=True))
    assert verdict.accepted, verdict.message
    assert used < BUDGET


# -- XML: namespace declarations and attributes ------------------------------------------------


def _on_root(xml: bytes, extra: bytes) -> bytes:
    head, sep, rest = xml.partition(b"<asic:XAdESSignatures ")
    assert sep, "signature file root not found"
    return head + sep + extra + b" " + rest


@pytest.mark.parametrize("count", [20_000, 40_000])
def test_namespace_declaration_bomb(check: Check, lt_edoc: bytes, count: int) -> None:
    decls = b" ".join(b'xmlns:p%d="urn:bomb:%d"' % (i, i) for i in range(count))
    xml = _on_root(_signature_xml(lt_edoc), decls)
    bomb = replace_entry(lt_edoc, SIGNATURE_FILE, xml)
    verdict, used = cpu(lambda: check(bomb, offline=True))
    assert verdict.reason is Reason.UNSAFE_INPUT
    assert "namespace declarations" in verdict.message
    assert used < BUDGET


def test_namespace_declarations_spread_over_elements(check: Check, lt_edoc: bytes) -> None:
    """Under the per-element bound everywhere, over the per-document bound in total."""
    xml = _signature_xml(lt_edoc)
    decls = b" ".join(b'xmlns:q%d="urn:q:%d"' % (i, i) for i in range(10))
    xml = xml.replace(b"<ds:Transform ", b"<ds:Transform " + decls + b" ")
    xml = _on_root(xml, b" ".join(b'xmlns:r%d="urn:r:%d"' % (i, i) for i in range(10)))
    spread = b"".join(b"<x%d " % i + decls + b"/>" for i in range(20))  # 10 each, 200 in all
    many = xml.replace(b"</asic:XAdESSignatures>", spread + b"</asic:XAdESSignatures>")
    verdict, used = cpu(lambda: check(replace_entry(lt_edoc, SIGNATURE_FILE, many), offline=True))
    assert verdict.reason is Reason.UNSAFE_INPUT
    assert used < BUDGET


def test_attribute_bomb(check: Check, lt_edoc: bytes) -> None:
    attrs = b" ".join(b'a%d="v"' % i for i in range(20_000))
    xml = _on_root(_signature_xml(lt_edoc), attrs)
    verdict, used = cpu(lambda: check(replace_entry(lt_edoc, SIGNATURE_FILE, xml), offline=True))
    assert verdict.reason is Reason.UNSAFE_INPUT
    assert "attributes" in verdict.message
    assert used < BUDGET


# -- OCSP response padded with entries ---------------------------------------------------------


def _resign(basic: ocsp.BasicOCSPResponse, label: str) -> None:
    key = private_key(label)
    tbs = basic["tbs_response_data"].dump(force=True)
    digest = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[
        basic["signature_algorithm"].hash_algo
    ]
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(tbs, ec.ECDSA(digest))
    else:
        assert isinstance(key, rsa.RSAPrivateKey)
        signature = key.sign(tbs, padding.PKCS1v15(), digest)
    basic["signature"] = signature


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _by_ica(der: bytes) -> bool:
    """The signing certificate's OCSP response (signed by the ICA's responder)."""
    basic = ocsp.OCSPResponse.load(der)["response_bytes"]["response"].parsed
    return any(c.dump() == cert("ica_ocsp").dump() for c in basic["certs"] or [])


def _padded_ocsp(der: bytes, entries: int) -> bytes:
    """The genuine response with `entries` SingleResponses (copies of the real one with other
    serial numbers), re-signed by the genuine responder key: still a valid response."""
    response = ocsp.OCSPResponse.load(der)
    basic = response["response_bytes"]["response"].parsed
    real = basic["tbs_response_data"]["responses"][0]
    template = ocsp.SingleResponse.load(real.dump())
    template["cert_id"]["serial_number"] = 10**12  # five content bytes, patched per copy
    template_der = template.dump(force=True)
    marker = (10**12).to_bytes(5, "big")
    copies = b"".join(
        template_der.replace(marker, (10**12 + i).to_bytes(5, "big")) for i in range(entries - 1)
    )
    body = copies + real.dump()
    basic["tbs_response_data"]["responses"] = ocsp.Responses.load(
        b"\x30" + _der_length(len(body)) + body
    )
    _resign(basic, "ocsp")  # the key of ica_ocsp (pki.yml)
    return bytes(
        ocsp.OCSPResponse(
            {
                "response_status": "successful",
                "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
            }
        ).dump()
    )


@pytest.mark.parametrize("entries", [2, 10_000])
def test_ocsp_entries_bomb(check: Check, lt_edoc: bytes, entries: int) -> None:
    xml = _signature_xml(lt_edoc)
    genuine = next(v for v in _b64_values(xml, b"EncapsulatedOCSPValue") if _by_ica(v))
    padded = _padded_ocsp(genuine, entries)
    container = replace_entry(
        lt_edoc, SIGNATURE_FILE, _swap_b64(xml, b"EncapsulatedOCSPValue", genuine, padded)
    )
    verdict, used = cpu(lambda: check(container, offline=True))
    if entries <= SizeLimits().max_ocsp_entries:
        assert verdict.accepted, verdict.message  # the re-signed response is genuine
    else:
        assert verdict.reason is Reason.UNSAFE_INPUT
        assert "OCSP response with" in verdict.message
    assert used < BUDGET


# -- the overall budget ------------------------------------------------------------------------


def test_cpu_budget_ends_in_unsafe_input(check: Check, lt_edoc: bytes) -> None:
    """Whatever slips past the structural bounds is cut off by the per-verification budget."""
    tiny = Policy(limits=SizeLimits(max_cpu_seconds=0.0))
    verdict = check(lt_edoc, tiny, offline=True)
    assert verdict.reason is Reason.UNSAFE_INPUT
    assert "CPU budget" in verdict.message
    assert check(lt_edoc, offline=True).accepted


def test_budget_counts_this_threads_cpu_only() -> None:
    with budget.running(10.0) as b:
        time.sleep(0.05)  # waiting (a fetch, a busy machine) is not work
        assert b.used() < 0.05
        end = time.thread_time() + 0.05
        while time.thread_time() < end:
            pass
        assert b.used() >= 0.05
