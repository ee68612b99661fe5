"""The deployment files of deploy/ run for real: nginx in front of `sigsvc serve`, systemd's
own verifier on the units. Fixtures: a configured intake (tests/signatures)."""

from tests.signatures.conftest import (  # noqa: F401 (fixtures)
    _close_verifier_event_loop,
    app,
    container,
    initiative,
    intake_overrides,
    responders,
)
