"""XML layer: generated documents (elements, attributes, namespace declarations, comments, PIs,
CDATA, character references) through the safe parser, and generated edits of a real XAdES
signature through the whole XAdES verification."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crypto import AlgorithmPolicy, SizeLimits
from crypto._internal import safexml
from crypto._internal.xades import parse_and_verify
from tests.fuzz.conftest import FUZZ, SIGNATURE, typed_or_ok

LIMITS = SizeLimits()
NAME = st.sampled_from(["a", "ds:Signature", "xades:X", "p:q", "Reference", "_", "x-y"])
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@st.composite
def element(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(NAME)
    parts = [f"<{tag}"]
    for i in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(["attr", "ns", "default-ns"]))
        if kind == "attr":
            parts.append(f' a{i}="{draw(TEXT).replace(chr(34), "")}"')
        elif kind == "ns":
            parts.append(f' xmlns:n{i}="urn:{i}"')
        else:
            parts.append(' xmlns="urn:d"')
    parts.append(">")
    for _ in range(draw(st.integers(0, 3 if depth < 6 else 0))):
        parts.append(
            draw(
                st.one_of(
                    element(depth + 1),
                    TEXT.map(lambda t: t.replace("<", "&lt;").replace("&", "&amp;")),
                    st.just("<!-- c -->"),
                    st.just("<?pi x?>"),
                    st.just("<![CDATA[<x>]]>"),
                    st.just("&#x41;&#65;"),
                    st.just("&undefined;"),
                )
            )
        )
    parts.append(f"</{tag}>")
    return "".join(parts)


@FUZZ
@given(
    element(),
    st.sampled_from(["", '<?xml version="1.0"?>', '<?xml version="1.0" encoding="ISO-8859-1"?>']),
)
def test_generated_documents(body: str, prolog: str) -> None:
    typed_or_ok(lambda: safexml.parse((prolog + body).encode("utf-8"), LIMITS))


@FUZZ
@given(st.data())
def test_edited_real_signature(lt_members: dict[str, bytes], data: st.DataObject) -> None:
    xml = lt_members[SIGNATURE]
    edits = data.draw(st.integers(1, 3))
    for _ in range(edits):
        at = data.draw(st.integers(0, len(xml) - 1))
        insert = data.draw(
            st.sampled_from(
                [b"<", b">", b'"', b" xmlns:z='urn:z'", b"<ds:Reference/>", b"&amp;", b"\x00", b""]
            )
        )
        cut = data.draw(st.integers(0, 8))
        xml = xml[:at] + insert + xml[at + cut :]
    form = lt_members["paraksta-veidlapa.txt"]
    typed_or_ok(
        lambda: parse_and_verify(xml, "paraksta-veidlapa.txt", form, LIMITS, AlgorithmPolicy())
    )
