"""GET /v1/initiatives/{id}/form: the signature form v1, byte-exact, for the right caller."""

from __future__ import annotations

import hashlib
from datetime import date
from urllib.parse import urlencode

import pytest

from crypto.form import InitiativeFields, Regime, SignerFields, render_form
from tests.service.conftest import VALID_INITIATIVE, assert_error

SIGNER = {
    "given_name": "Anna Marija",
    "surname": "Ozoliņa-Kalniņa",
    "personal_code": "150385-12346",
    "date": "2026-05-04",
}

# docs/design.md "Signature form, version 1", written out by hand.
EXPECTED = (
    "Paraksta veidlapa: v1\n"
    "Iniciatīvas veids: Likumprojekta ierosināšana\n"
    "CVK reģistrācijas numurs: 2026/17\n"
    "Nosaukums: Grozījumi Valsts valodas likumā\n"
    f"Teksta SHA-256: {hashlib.sha256(VALID_INITIATIVE['full_text'].encode()).hexdigest()}\n"
    "Vārds: Anna Marija\n"
    "Uzvārds: Ozoliņa-Kalniņa\n"
    "Personas kods: 150385-12346\n"
    "Parakstīšanās datums: 2026-05-04\n"
).encode()


@pytest.fixture
def initiative(create_initiative):
    return create_initiative()


@pytest.fixture
def key(initiative, create_platform):
    return create_platform("site-a", [initiative["id"]])["api_key"]


def _form(client, initiative_id, key, params):
    query = urlencode(params) if isinstance(params, dict) else params
    return client.get(
        f"/v1/initiatives/{initiative_id}/form?{query}",
        headers={"Authorization": f"Bearer {key}"},
    )


def test_form_is_byte_exact(client, initiative, key):
    response = _form(client, initiative["id"], key, SIGNER)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.data == EXPECTED
    assert response.data == render_form(
        InitiativeFields(
            Regime.ART22_BILL, "2026/17", VALID_INITIATIVE["title"], initiative["text_sha256"]
        ),
        SignerFields("Anna Marija", "Ozoliņa-Kalniņa", "150385-12346", date(2026, 5, 4)),
    )


def test_admin_may_render_the_form_too(client, initiative, admin_token):
    assert _form(client, initiative["id"], admin_token, SIGNER).data == EXPECTED


def test_decomposed_name_is_rendered_nfc(client, initiative, key):
    response = _form(client, initiative["id"], key, {**SIGNER, "surname": "Ozolin\u0327a"})
    assert "Uzvārds: Ozoļa".encode() not in response.data
    assert "Uzvārds: Ozoliņa\n".encode() in response.data


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({k: v for k, v in SIGNER.items() if k != "surname"}, id="missing-surname"),
        pytest.param({**SIGNER, "personal_code": "15038512346"}, id="code-without-dash"),
        pytest.param({**SIGNER, "personal_code": "150385-1234"}, id="code-short"),
        pytest.param({**SIGNER, "personal_code": "１５０３８５-12346"}, id="code-fullwidth"),
        pytest.param({**SIGNER, "date": "2026-02-30"}, id="feb-30"),
        pytest.param({**SIGNER, "date": "20260504"}, id="basic-iso-date"),
        pytest.param({**SIGNER, "given_name": ""}, id="empty-name"),
        pytest.param({**SIGNER, "given_name": " Anna"}, id="padded-name"),
        pytest.param({**SIGNER, "surname": "A\nB"}, id="newline-in-name"),
        pytest.param({**SIGNER, "surname": "A\u2028B"}, id="line-separator"),
        pytest.param({**SIGNER, "surname": "x" * 201}, id="name-too-long"),
        pytest.param({**SIGNER, "extra": "1"}, id="unknown-parameter"),
        pytest.param(urlencode(SIGNER) + "&surname=Other", id="repeated-parameter"),
    ],
)
def test_bad_parameters_are_400(client, initiative, key, params):
    assert_error(_form(client, initiative["id"], key, params), 400, "INVALID_PARAMETER")


def test_platform_key_of_another_initiative_is_403(client, create_initiative, create_platform):
    mine = create_initiative()
    other = create_initiative(registration_number="2026/99")
    key = create_platform("site-b", [mine["id"]])["api_key"]
    assert _form(client, mine["id"], key, SIGNER).status_code == 200
    assert_error(_form(client, other["id"], key, SIGNER), 403, "FORBIDDEN")


def test_form_needs_a_token(client, initiative):
    response = client.get(f"/v1/initiatives/{initiative['id']}/form?{urlencode(SIGNER)}")
    assert_error(response, 401, "TOKEN_MISSING")


def test_closed_initiative_has_no_form(client, initiative, key, admin_headers):
    client.post(f"/v1/initiatives/{initiative['id']}/close", headers=admin_headers)
    assert_error(_form(client, initiative["id"], key, SIGNER), 409, "INITIATIVE_CLOSED")
