"""A test list of the lists (EU LOTL shape, ETSI TS 119 612 §5.3.13) pointing at the test TL.

The LOTL is signed by ``lotl_operator`` (pin it like the EU LOTL signing certificates) and
names the national list's location and the certificates allowed to sign it (``tl_operator``),
so a verifier can go LOTL -> LV TL -> services. Both lists are also served over HTTP by the
responders at ``LOTL_URL`` and ``LV_TL_URL``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from lxml import etree

from . import clock, pki
from .tsl_xml import (
    NS_ADDTYPES,
    TSL_TYPE_EU_GENERIC,
    TSL_TYPE_EU_LOTL,
    Operator,
    names,
    new_list,
    scheme_information,
    sign_enveloped,
    sub,
    tsl,
    uris,
)
from .xades import b64, serialize

LV_TL_URL = f"{pki.BASE_URL}/tsl/lv-test.xml"
LOTL_URL = f"{pki.BASE_URL}/tsl/eu-lotl-test.xml"
TSL_MIME_TYPE = "application/vnd.etsi.tsl+xml"
OJ_URL = "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=uriserv:OJ.C_.2019.276.01.0001.01.ENG"
RULES = "http://uri.etsi.org/TrstSvc/TrustedList/schemerules/"


def _pointer(
    parent: etree._Element,
    *,
    signers: Sequence[str | bytes],
    location: str,
    tsl_type: str,
    territory: str,
    operator_name: str,
    rules: str,
) -> None:
    pointer = sub(parent, tsl("OtherTSLPointer"))
    identities = sub(pointer, tsl("ServiceDigitalIdentities"))
    for label in signers:
        identity = sub(identities, tsl("ServiceDigitalIdentity"))
        der = pki.cert_der(label) if isinstance(label, str) else label
        sub(sub(identity, tsl("DigitalId")), tsl("X509Certificate"), b64(der))
    sub(pointer, tsl("TSLLocation"), location)
    info = sub(pointer, tsl("AdditionalInformation"))
    sub(sub(info, tsl("OtherInformation")), tsl("TSLType"), tsl_type)
    sub(sub(info, tsl("OtherInformation")), tsl("SchemeTerritory"), territory)
    sub(sub(info, tsl("OtherInformation")), f"{{{NS_ADDTYPES}}}MimeType", TSL_MIME_TYPE)
    names(sub(info, tsl("OtherInformation")), "SchemeOperatorName", [("en", operator_name)])
    uris(sub(info, tsl("OtherInformation")), "SchemeTypeCommunityRules", [rules])


def build_lotl(
    *,
    operator: Operator = "lotl_operator",
    lotl_signers: Sequence[str | bytes] | None = None,
    pivots: Sequence[str] = (),
    tl_signers: Sequence[str] = ("tl_operator",),
    tl_location: str = LV_TL_URL,
    sequence: int = 1,
    issued: datetime = clock.TL_ISSUED,
    next_update: datetime = clock.TL_NEXT_UPDATE,
    signed: bool = True,
    after_sign: Callable[[etree._Element], None] | None = None,
) -> bytes:
    """The test LOTL's bytes (deterministic). ``tl_signers``: labels pinned for the LV list.

    ``operator`` signs it (a label, or a key and certificate made in a test);
    ``lotl_signers`` are the LOTL signing certificates it announces in its own pointer
    (default: the operator's); ``pivots``: pivot LOTL URLs, newest first, listed in
    SchemeInformationURI before the Official Journal reference, as the EU LOTL does.
    """
    if lotl_signers is None:
        lotl_signers = [operator if isinstance(operator, str) else operator[1]]

    def pointers(parent: etree._Element) -> None:
        _pointer(
            parent,
            signers=lotl_signers,
            location=LOTL_URL,
            tsl_type=TSL_TYPE_EU_LOTL,
            territory="EU",
            operator_name="TEST European Commission",
            rules=RULES + "EUlistofthelists",
        )
        _pointer(
            parent,
            signers=tl_signers,
            location=tl_location,
            tsl_type=TSL_TYPE_EU_GENERIC,
            territory="LV",
            operator_name="TEST Digitālās drošības uzraudzības komiteja",
            rules=RULES + "EUcommon",
        )

    root = new_list("EU-LOTL-TEST")
    scheme_information(
        root,
        sequence=sequence,
        issued=issued,
        next_update=next_update,
        tsl_type=TSL_TYPE_EU_LOTL,
        territory="EU",
        operator_name="TEST European Commission",
        scheme_name="EU:TEST ONLY list of the lists for sigsvc tests",
        community_rules=RULES + "EUlistofthelists",
        distribution_point=LOTL_URL,
        pointers=pointers,
        **({"information_uris": [*pivots, OJ_URL]} if pivots else {}),
    )
    if signed:
        sign_enveloped(root, operator, issued)
    if after_sign is not None:
        after_sign(root)
    return serialize(root)
