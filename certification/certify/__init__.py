"""`sigsvc-certify`: the certifying authority's conformance suite (CONFORMANCE.md C1–C28), run
against a live deployment over HTTP, with a printable report (docs/certification.md)."""

SUITE_VERSION = "1.0.0"
