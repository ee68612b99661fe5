"""Fixtures for signature intake through the real HTTP stack with the test PKI.

The service verifies against the test trusted list (pinned to its operator) at the test PKI's
fixed clock (SIGSVC_TEST_CLOCK = RESPONDER_TIME); OCSP comes from the local responders.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from audit.note import Signer as NoteSigner
from certification.testpki import RESPONDER_TIME, make_form_edoc
from certification.testpki.pytest_plugin import responders
from certification.testpki.sign import TEST_INITIATIVE_TEXT
from crypto.form import Regime
from sigsvc import credentials, db, registry, services
from sigsvc.app import create_app

__all__ = ["responders"]

GENERATED = Path(__file__).parents[2] / "certification" / "testpki" / "generated"
LOG_ORIGIN = "sigsvc.test/log"


def intake_settings(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Config (as create_app's test_config) for intake with fresh keys in `tmp_path`."""
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    for name in ("kek", "pseudonym"):
        path = keys / name
        path.write_text(base64.b64encode(os.urandom(32)).decode())
        path.chmod(0o600)
    log_key = keys / "log.key"
    log_key.write_text(NoteSigner.generate(LOG_ORIGIN.replace("/", "-")).skey + "\n")
    log_key.chmod(0o600)
    settings = {
        "INTAKE_KEYS": {
            "SIGSVC_KEK_FILE": str(keys / "kek"),
            "SIGSVC_PSEUDONYM_KEY_FILE": str(keys / "pseudonym"),
        },
        "LOG_KEY_FILE": str(log_key),
        "LOG_ORIGIN": LOG_ORIGIN,
        "TRUSTED_LISTS": str(GENERATED / "trusted-list.xml"),
        "TL_SIGNERS": str(GENERATED / "certs" / "tl_operator.pem"),
        "ANCHORS": "",
        "TEST_CLOCK": RESPONDER_TIME.isoformat(),
        "CHECKPOINT_INTERVAL": 0,
        "RATE_PLATFORM": "1000/1000",
        "RATE_SIGNER": "1000/1000",
    }
    settings.update(overrides)
    return settings


def settings_env(settings: dict[str, Any]) -> dict[str, str]:
    """The same settings as SIGSVC_* environment variables (for a server subprocess)."""
    env = dict(settings["INTAKE_KEYS"])
    env.update(
        {
            "SIGSVC_LOG_KEY_FILE": settings["LOG_KEY_FILE"],
            "SIGSVC_LOG_ORIGIN": settings["LOG_ORIGIN"],
            "SIGSVC_TRUSTED_LISTS": settings["TRUSTED_LISTS"],
            "SIGSVC_TL_SIGNERS": settings["TL_SIGNERS"],
            "SIGSVC_TEST_CLOCK": settings["TEST_CLOCK"],
            "SIGSVC_CHECKPOINT_INTERVAL": str(max(1, int(settings["CHECKPOINT_INTERVAL"]))),
            "SIGSVC_RATE_PLATFORM": settings["RATE_PLATFORM"],
            "SIGSVC_RATE_SIGNER": settings["RATE_SIGNER"],
            # the test PKI's responders are on 127.0.0.1 (sigsvc.intake.netguard)
            "SIGSVC_TEST_FETCH_PRIVATE_ADDRESSES": "1",
        }
    )
    return env


@pytest.fixture
def intake_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def app(
    database_url: str, tmp_path: Path, responders: Any, intake_overrides: dict[str, Any]
) -> Iterator[Flask]:
    application = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "ADMIN_TOKEN_SHA256": None,
            **intake_settings(tmp_path, **intake_overrides),
        },
        instance_path=str(tmp_path / "instance"),
    )
    yield application
    services.close(application)
    db.engine_of(application).dispose()


@pytest.fixture(scope="session", autouse=True)
def _close_verifier_event_loop() -> Iterator[None]:
    # crypto keeps one asyncio loop per thread for pyhanko's validator; close the main
    # thread's at the end so no ResourceWarning fires at interpreter exit.
    yield
    from crypto._internal import chain

    loop = getattr(chain._LOCAL, "loop", None)
    if loop is not None:
        loop.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin_headers(app: Flask) -> dict[str, str]:
    with db.session_scope(app) as session:
        _, token = credentials.create_admin_token(session, services.log_service(app), "tests")
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def initiative(app: Flask) -> dict[str, Any]:
    """The test PKI's TEST_INITIATIVE registered, with one platform allowed to post to it."""
    with db.session_scope(app) as session:
        created = registry.register_initiative(
            session,
            services.log_service(app),
            registry.NewInitiative(
                regime=Regime.ART22_BILL,
                registration_number="TEST-2026/1",
                title="Grozījumi Testa likumā",
                full_text=TEST_INITIATIVE_TEXT.decode(),
                starts_on=date(2026, 1, 1),
                ends_on=date(2026, 12, 31),
            ),
        )
        platform, key = credentials.create_platform(
            session, services.log_service(app), "platform-a", [created.id]
        )
        return {"id": str(created.id), "key": key, "platform_id": str(platform.id)}


_CONTAINERS: dict[tuple[Any, ...], bytes] = {}


@pytest.fixture
def container(responders: Any) -> Callable[..., bytes]:
    """Signed containers, made once per test session (signing costs ~0.2 s).

    XAdES-LT by default: the OCSP response is embedded, so the verdict does not depend on a
    fetch from the shared local responders (other test sessions may be taking their port over).
    """

    def make(signer: str, **options: Any) -> bytes:
        options.setdefault("level", "LT")
        key = (signer, *sorted(options.items()))
        if key not in _CONTAINERS:
            _CONTAINERS[key] = make_form_edoc(signer, **options)
        return _CONTAINERS[key]

    return make


def post(
    client: Any,
    initiative: dict[str, Any],
    body: bytes,
    *,
    key: str | None = None,
    path: str = "signatures",
    media: str = "application/vnd.etsi.asic-e+zip",
    token: str | None = None,
) -> Any:
    headers = {
        "Authorization": f"Bearer {token or initiative['key']}",
        "Content-Type": media,
        "Idempotency-Key": key or uuid.uuid4().hex,
    }
    return client.post(f"/v1/initiatives/{initiative['id']}/{path}", data=body, headers=headers)
