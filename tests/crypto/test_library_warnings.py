"""Library warnings become lines of the trust store's warnings (and the CLI verdict), not
tracebacks on stderr."""

from __future__ import annotations

from lxml import etree
from pyhanko.sign.validation.qualified.tsp import TSPRegistry

from certification.testpki.tl import build_trusted_list
from crypto._internal import tl

TSL = "http://uri.etsi.org/02231/v2#"


def _with_unsupported_extension() -> str:
    root = etree.fromstring(build_trusted_list(signed=False))
    info = next(
        i
        for i in root.iter(f"{{{TSL}}}ServiceInformation")
        if (i.findtext(f"{{{TSL}}}ServiceTypeIdentifier") or "").endswith("/CA/QC")
    )
    extensions = info.find(f"{{{TSL}}}ServiceInformationExtensions")
    if extensions is None:
        extensions = etree.SubElement(info, f"{{{TSL}}}ServiceInformationExtensions")
    extension = etree.SubElement(extensions, f"{{{TSL}}}Extension", Critical="true")
    etree.SubElement(extension, "{urn:example:unsupported}Unknown").text = "x"
    return etree.tostring(root, encoding="unicode")


def test_library_warnings_are_lines_not_tracebacks(capsys) -> None:  # type: ignore[no-untyped-def]
    warnings = tl.add_to_registry(_with_unsupported_extension(), TSPRegistry())
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert warnings, "the parser's complaint is reported"
