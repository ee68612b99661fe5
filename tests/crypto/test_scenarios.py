"""Every named test-PKI scenario (certification.testpki.scenarios) gets its expected verdict."""

from __future__ import annotations

import pytest

from certification.testpki import Responders
from certification.testpki.scenarios import Scenario, scenarios
from crypto import Policy, TrustStore, verify
from sigsvc.intake.fetchers import HttpFetcher

ALL = scenarios()


@pytest.mark.parametrize("scenario", ALL, ids=[s.name for s in ALL])
def test_scenario_verdict(
    scenario: Scenario, responders: Responders, trust: TrustStore, fetcher: HttpFetcher
) -> None:
    container = scenario.build()
    v = verify(
        container,
        policy=Policy(initiative=scenario.initiative),
        trust=trust,
        fetcher=fetcher,
        at=scenario.validate_at,
    )
    got = v.reason.value if v.reason else None
    assert got == scenario.reason, (scenario.name, scenario.note, v.message)
