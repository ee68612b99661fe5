"""The fuzzing tier: structure-aware Hypothesis fuzzers for every parser that takes hostile
bytes (zip reader, XML layer, ASN.1 inputs, PDF reader).

`make test` runs a short pass (FUZZ_EXAMPLES, default 25 per fuzzer); `make fuzz` a long one.
The property is the same everywhere: the input is refused with a typed VerificationError (one
reason code) or accepted by the layer, never an unexpected exception, and within the budget.
Every finding becomes a regression test next to the fuzzer that found it.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from certification.testpki import Responders, make_form_edoc
from tests.crypto.conftest import responders  # noqa: F401 (the shared session fixture)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SIGNATURE = "META-INF/edoc-signatures-S1.xml"


@pytest.fixture(scope="session")
def lt_edoc(request: pytest.FixtureRequest) -> bytes:
    request.getfixturevalue("responders")  # the test PKI's TSA and OCSP on 127.0.0.1
    return make_form_edoc("valid_p384", level="LT")


@pytest.fixture(scope="session")
def lt_members(lt_edoc: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(lt_edoc)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


@pytest.fixture(scope="session")
def pades_lt(request: pytest.FixtureRequest) -> bytes:
    request.getfixturevalue("responders")
    from certification.testpki import form_for
    from certification.testpki.pades import make_pades

    return make_pades(form_for("valid_p384"), "valid_p384", level="LT", responders=Responders())


def typed_or_ok(run: Callable[[], Any]) -> Any:
    """Run a parser: a VerificationError is a fine answer; anything else fails the fuzzer."""
    from crypto.errors import VerificationError

    try:
        return run()
    except VerificationError as exc:
        assert exc.reason is not None
        return exc
