"""Initiative registration, listing, closing and the public view, with every bad input."""

from __future__ import annotations

import hashlib

import pytest

from tests.service.conftest import VALID_INITIATIVE, assert_error, assert_schema


def test_register_returns_the_stored_initiative(client, admin_headers, table_counts):
    response = client.post("/v1/initiatives", json=VALID_INITIATIVE, headers=admin_headers)
    assert response.status_code == 201
    body = response.get_json()
    assert_schema("initiative", body)
    assert (
        body["text_sha256"]
        == hashlib.sha256(VALID_INITIATIVE["full_text"].encode("utf-8")).hexdigest()
    )
    assert body["full_text"] == VALID_INITIATIVE["full_text"]
    assert body["minimum_age"] == 18
    assert body["status"] == "open"
    assert body["regime_label"] == "Likumprojekta ierosināšana"
    assert table_counts()["initiatives"] == 1
    again = client.get(f"/v1/initiatives/{body['id']}", headers=admin_headers)
    assert again.get_json() == body


@pytest.mark.parametrize(
    ("regime", "age"),
    [
        ("art22_bill", 18),
        ("art22_constitution", 18),
        ("art25_5_saeima_recall", 18),
        ("saeima_rules_131_3", 16),
        ("municipal_referendum", 18),
    ],
)
def test_minimum_age_comes_from_the_regime(create_initiative, regime, age):
    assert create_initiative(regime=regime)["minimum_age"] == age


def test_period_of_exactly_twelve_months_is_accepted(create_initiative):
    # 2026-03-01 .. 2027-02-28 is twelve months; VALID_INITIATIVE uses it
    assert create_initiative()["ends_on"] == "2027-02-28"


def test_period_without_legal_limit_may_be_longer(create_initiative):
    body = create_initiative(regime="municipal_referendum", ends_on="2028-12-31")
    assert body["ends_on"] == "2028-12-31"


def _post(client, headers, body, **kwargs):
    return client.post("/v1/initiatives", json=body, headers=headers, **kwargs)


BAD_BODIES = [
    pytest.param({**VALID_INITIATIVE, "extra": 1}, "UNKNOWN_FIELD", id="unknown-field"),
    pytest.param({**VALID_INITIATIVE, "title": 5}, "WRONG_TYPE", id="title-not-string"),
    pytest.param({**VALID_INITIATIVE, "starts_on": 20260301}, "WRONG_TYPE", id="date-number"),
    pytest.param([VALID_INITIATIVE], "WRONG_TYPE", id="array-body"),
    pytest.param(
        {k: v for k, v in VALID_INITIATIVE.items() if k != "full_text"},
        "MISSING_FIELD",
        id="missing-text",
    ),
    pytest.param({**VALID_INITIATIVE, "regime": "art23"}, "INVALID_FIELD", id="unknown-regime"),
    pytest.param({**VALID_INITIATIVE, "title": ""}, "INVALID_FIELD", id="empty-title"),
    pytest.param({**VALID_INITIATIVE, "title": "a\nb"}, "INVALID_FIELD", id="newline-title"),
    pytest.param({**VALID_INITIATIVE, "title": " pad"}, "INVALID_FIELD", id="padded-title"),
    pytest.param(
        {**VALID_INITIATIVE, "registration_number": "1\u0085"}, "INVALID_FIELD", id="nel-number"
    ),
    pytest.param({**VALID_INITIATIVE, "starts_on": "2026-3-1"}, "INVALID_FIELD", id="bad-date"),
    pytest.param({**VALID_INITIATIVE, "ends_on": "2027-02-30"}, "INVALID_FIELD", id="feb-30"),
    pytest.param(
        {**VALID_INITIATIVE, "ends_on": "2027-02-01\n"}, "INVALID_FIELD", id="date-newline"
    ),
    pytest.param(
        {**VALID_INITIATIVE, "ends_on": "2027-03-01"}, "PERIOD_TOO_LONG", id="12-months-plus-1-day"
    ),
    pytest.param(
        {**VALID_INITIATIVE, "regime": "art25_5_saeima_recall", "ends_on": "2027-06-01"},
        "PERIOD_TOO_LONG",
        id="recall-too-long",
    ),
    pytest.param(
        {**VALID_INITIATIVE, "ends_on": "2026-02-28"},
        "PERIOD_END_BEFORE_START",
        id="end-before-start",
    ),
]


@pytest.mark.parametrize(("body", "code"), BAD_BODIES)
def test_bad_body_is_rejected_and_nothing_stored(client, admin_headers, table_counts, body, code):
    before = table_counts()
    assert_error(_post(client, admin_headers, body), 400, code)
    assert table_counts() == before


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"regime": ', "MALFORMED_JSON"),
        (b"", "MALFORMED_JSON"),
        (b'{"title": "a", "title": "b"}', "MALFORMED_JSON"),  # duplicate key
        (b'{"n": NaN}', "MALFORMED_JSON"),
        (b'{"t": "\\ud800"}', "MALFORMED_JSON"),  # lone surrogate
        (b'{"t": "\xff"}', "MALFORMED_JSON"),  # not UTF-8
    ],
)
def test_malformed_json_is_rejected(client, admin_headers, table_counts, raw, code):
    before = table_counts()
    response = client.post(
        "/v1/initiatives",
        data=raw,
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert_error(response, 400, code)
    assert table_counts() == before


def test_wrong_content_type_is_415(client, admin_headers, table_counts):
    response = client.post(
        "/v1/initiatives",
        data=b"regime=art22_bill",
        headers={**admin_headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert table_counts()["initiatives"] == 0


def test_duplicate_registration_number_is_409_and_nothing_stored(
    client, admin_headers, create_initiative, table_counts
):
    create_initiative()
    before = table_counts()
    response = _post(client, admin_headers, {**VALID_INITIATIVE, "title": "Cits nosaukums"})
    assert_error(response, 409, "DUPLICATE_REGISTRATION_NUMBER")
    assert table_counts() == before


def test_registration_number_is_compared_after_nfc(client, admin_headers, create_initiative):
    create_initiative(registration_number="Nr. \u0101")  # ā precomposed
    response = _post(
        client, admin_headers, {**VALID_INITIATIVE, "registration_number": "Nr. a\u0304"}
    )
    assert_error(response, 409, "DUPLICATE_REGISTRATION_NUMBER")


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "TOKEN_MISSING"),
        ({"Authorization": "Bearer sgadm_wrong"}, 401, "TOKEN_INVALID"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401, "TOKEN_INVALID"),
        ({"Authorization": "Bearer "}, 401, "TOKEN_INVALID"),
    ],
)
def test_register_needs_an_admin_token(client, table_counts, headers, status, code):
    response = _post(client, headers, VALID_INITIATIVE)
    assert_error(response, status, code)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert table_counts()["initiatives"] == 0


def test_authentication_comes_before_body_validation(client, table_counts):
    response = client.post(
        "/v1/initiatives", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 401, "TOKEN_MISSING")
    assert table_counts()["initiatives"] == 0


def test_platform_key_cannot_register(client, create_initiative, create_platform, table_counts):
    initiative = create_initiative()
    key = create_platform("site", [initiative["id"]])["api_key"]
    before = table_counts()
    response = _post(
        client,
        {"Authorization": f"Bearer {key}"},
        {**VALID_INITIATIVE, "registration_number": "other"},
    )
    assert_error(response, 403, "FORBIDDEN")
    assert table_counts() == before


def test_list_get_close(client, admin_headers, create_initiative):
    first = create_initiative()
    second = create_initiative(registration_number="2026/18")
    listed = client.get("/v1/initiatives", headers=admin_headers).get_json()
    assert_schema("initiative_list", listed)
    assert [i["id"] for i in listed["initiatives"]] == [first["id"], second["id"]]

    closed = client.post(f"/v1/initiatives/{first['id']}/close", headers=admin_headers)
    assert closed.status_code == 200
    assert closed.get_json()["status"] == "closed"
    assert closed.get_json()["closed_at"] is not None
    again = client.post(f"/v1/initiatives/{first['id']}/close", headers=admin_headers)
    assert_error(again, 409, "INITIATIVE_CLOSED")
    assert client.get(f"/v1/initiatives/{second['id']}", headers=admin_headers).json["status"] == (
        "open"
    )


def test_unknown_initiative_is_404(client, admin_headers):
    missing = "00000000-0000-4000-8000-000000000000"
    assert_error(client.get(f"/v1/initiatives/{missing}", headers=admin_headers), 404, "NOT_FOUND")
    assert_error(
        client.post(f"/v1/initiatives/{missing}/close", headers=admin_headers), 404, "NOT_FOUND"
    )
    assert_error(client.get("/v1/initiatives/not-a-uuid", headers=admin_headers), 404, "NOT_FOUND")


def test_public_view_has_counts_and_no_full_text(client, create_initiative):
    initiative = create_initiative()
    response = client.get(f"/v1/public/initiatives/{initiative['id']}")
    assert response.status_code == 200
    body = response.get_json()
    assert_schema("initiative_public", body)
    assert body["counts"] == {
        "accepted": 0,
        "rejected": 0,
        "withdrawn": 0,
        "rejected_by_reason": {},
    }
    assert "full_text" not in body
    listed = client.get("/v1/public/initiatives").get_json()
    assert_schema("initiative_public_list", listed)
    assert listed["initiatives"] == [body]


def test_admin_list_needs_admin(client, create_initiative, create_platform):
    key = create_platform("site", [create_initiative()["id"]])["api_key"]
    assert_error(client.get("/v1/initiatives"), 401, "TOKEN_MISSING")
    assert_error(
        client.get("/v1/initiatives", headers={"Authorization": f"Bearer {key}"}), 403, "FORBIDDEN"
    )
