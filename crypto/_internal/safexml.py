"""Hardened XML parsing: no DTD, no entities, no network, bounded depth and size."""

from __future__ import annotations

from lxml import etree

from crypto.errors import MalformedContainer, UnsafeInput
from crypto.policy import SizeLimits

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=False,
    remove_comments=False,
    remove_pis=False,
    collect_ids=False,
)


def parse(xml: bytes, limits: SizeLimits) -> etree._Element:
    """Parse bytes into an element tree or raise UNSAFE_INPUT / MALFORMED_CONTAINER."""
    head = xml[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in xml.lower():
        raise UnsafeInput("XML with a DTD or entity declarations")
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise MalformedContainer(f"XML not well-formed: {exc}") from exc
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise UnsafeInput("XML with a DTD")
    for node in root.iter():
        if isinstance(node, etree._Entity):
            raise UnsafeInput("XML entity reference")
    _check_depth(root, limits.max_xml_depth)
    return root


def _check_depth(root: etree._Element, max_depth: int) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise UnsafeInput(f"XML nesting deeper than {max_depth}")
        stack.extend((child, depth + 1) for child in node)
