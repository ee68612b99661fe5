"""The service on lists kept by `sigsvc trust refresh`: fetched at first start from a test LOTL
served on 127.0.0.1, shown in /readyz, reloaded without a restart, TRUST_STALE when past
NextUpdate + grace."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from certification.testpki import clock
from certification.testpki.lotl import LV_TL_URL, build_lotl
from certification.testpki.tl import build_trusted_list, default_services
from sigsvc import services
from sigsvc.intake import trustlists

from .conftest import GENERATED, post

LOTL_SIGNER = GENERATED / "certs" / "lotl_operator.pem"


def _refreshed(tmp_path: Path, responders: Any, **more: Any) -> dict[str, Any]:
    return {
        "TRUSTED_LISTS": "",
        "TL_SIGNERS": "",
        "TRUST_DIR": str(tmp_path / "trust"),
        "LOTL_URL": responders.lotl_url,
        "LOTL_SIGNERS": str(LOTL_SIGNER),
        "TRUST_TEST_HTTP": True,
        **more,
    }


@pytest.fixture
def intake_overrides(tmp_path: Path, responders: Any) -> dict[str, Any]:
    return _refreshed(tmp_path, responders)


def test_trust_refreshed_lists_in_readyz_and_intake_accepts(
    client, initiative, container, tmp_path: Path
) -> None:
    ready = client.get("/readyz").get_json()
    assert ready["intake"]["lists"] == [
        {
            "territory": "LV",
            "sequence": 1,
            "issued": clock.TL_ISSUED.isoformat(),
            "next_update": clock.TL_NEXT_UPDATE.isoformat(),
        }
    ]
    assert ready["intake"]["stale_lists"] == []
    assert (tmp_path / "trust" / "LV" / "1.xml").is_file()
    answer = post(client, initiative, container("valid_p384"))
    assert answer.status_code == 201, answer.get_json()


def test_trust_reload_without_restart(app, client, initiative, tmp_path: Path) -> None:
    assert client.get("/readyz").get_json()["intake"]["lists"][0]["sequence"] == 1
    watch = services.get(app).trust_watch
    assert watch is not None
    watch.interval = 0  # look at every request (default: every 5 s)
    served = {LV_TL_URL: build_trusted_list(sequence=2), "lotl": build_lotl()}
    settings = trustlists.RefreshSettings(
        directory=tmp_path / "trust",
        lotl_signers=(LOTL_SIGNER.read_bytes(),),
        lotl_url="lotl",
    )
    trustlists.refresh(settings, now=clock.RESPONDER_TIME, get=served.__getitem__)
    assert client.get("/readyz").get_json()["intake"]["lists"][0]["sequence"] == 2


STALE_AT = clock.TL_NEXT_UPDATE + timedelta(days=2)


def test_trust_stale_answers_503(app, client, initiative, container) -> None:
    intake = services.get(app)
    intake.verification_time = lambda: STALE_AT  # the list's NextUpdate + 1 day grace has passed
    answer = post(client, initiative, container("valid_p384"))
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "TRUST_STALE"
    assert answer.headers["Retry-After"]
    ready = client.get("/readyz")  # not ready, and it says which list (docs/deployment.md)
    assert ready.status_code == 503 and "LV #1" in ready.get_json()["error"]["message"]


def test_trust_version_in_force_at_the_time_stamp_judges_the_signature(
    app, client, initiative, container, tmp_path: Path
) -> None:
    """A signature time-stamped before a list change is judged by the older version: list 2,
    issued after the time stamp, no longer lists the signer's CA; list 1 (in force then) did."""
    import crypto
    from crypto import Policy

    signed = container("valid_p384")
    intake = services.get(app)
    watch = intake.trust_watch
    assert watch is not None
    watch.interval = 0
    changed_at = clock.TIMESTAMP_TIME + timedelta(hours=2)
    without_ica = [s for s in default_services() if s.cert_label != "ica"]
    served = {
        LV_TL_URL: build_trusted_list(sequence=2, issued=changed_at, services=without_ica),
        "lotl": build_lotl(),
    }
    settings = trustlists.RefreshSettings(
        directory=tmp_path / "trust", lotl_signers=(LOTL_SIGNER.read_bytes(),), lotl_url="lotl"
    )
    trustlists.refresh(settings, now=changed_at, get=served.__getitem__)
    later = changed_at + timedelta(hours=1)
    intake.verification_time = lambda: later
    assert client.get("/readyz").get_json()["intake"]["lists"][0]["sequence"] == 2
    current_only = crypto.verify(
        signed, policy=Policy(), trust=intake.trust, fetcher=intake.fetcher, at=later
    )
    assert current_only.reason is crypto.Reason.UNTRUSTED_CHAIN  # what list 2 alone says
    assert trustlists.version_in_force(tmp_path / "trust", "LV", clock.TIMESTAMP_TIME) == 1
    answer = post(client, initiative, signed)
    assert answer.status_code == 201, answer.get_json()
