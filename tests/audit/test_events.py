"""Log events: builders, RFC 8785 leaves, and the generated JSON Schema in schemas/."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest

from audit import events
from audit.errors import EventError

from .golden import pseudonym

SCHEMA_PATH = Path(__file__).parents[2] / "schemas" / "log-leaf.schema.json"
AT = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
H = "ab" * 32
VKEY = "sigsvc.example/log+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"

SAMPLES: dict[str, Callable[[], events.Event]] = {
    "signature.accepted": lambda: events.signature_accepted(
        at=AT, initiative="init-1", signature="sig-1", platform="manabalss",
        container_sha256=H, signer=pseudonym(b"k" * 32, "init-1", "010190-12345"),
    ),
    "signature.rejected": lambda: events.signature_rejected(
        at=AT, initiative="init-1", platform="manabalss", container_sha256=H,
        reason="CERT_REVOKED", indication="INDETERMINATE", sub_indication="REVOKED_NO_POE",
    ),
    "signature.withdrawn": lambda: events.signature_withdrawn(
        at=AT, initiative="init-1", signature="sig-1", container_sha256=H, signer=H
    ),
    "initiative.registered": lambda: events.initiative_registered(
        at=AT, initiative="init-1", regime="art22_bill", registration="CVK-2026-7",
        text_sha256=H, opens=date(2026, 3, 1), closes=date(2027, 3, 1),
    ),
    "initiative.closed": lambda: events.initiative_closed(
        at=AT, initiative="init-1", reason="PERIOD_ENDED", accepted=155_000
    ),
    "batch.exported": lambda: events.batch_exported(
        at=AT, batch="b-1", initiative="init-1", count=10, manifest_sha256=H
    ),
    "batch.acknowledged": lambda: events.batch_acknowledged(
        at=AT, batch="b-1", status="ACCEPTED", acknowledgement_sha256=H
    ),
    "batch.refused": lambda: events.batch_refused(
        at=AT, batch="b-1", reason="BATCH_INCOMPLETE", acknowledgement_sha256=H
    ),
    "data.purged": lambda: events.data_purged(
        at=AT, initiative="init-1", scope="PERSONAL_DATA", count=10
    ),
    "key.rotated": lambda: events.key_rotated(
        at=AT, purpose=events.LOG_KEY_PURPOSE, old_key=VKEY, new_key="sha256:" + H
    ),
    "trust.updated": lambda: events.trust_updated(
        at=AT, territory="LV", sequence=42, list_sha256=H,
        issued=datetime(2026, 2, 1, tzinfo=timezone(timedelta(hours=2))),
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_file_is_generated_from_the_tables() -> None:
    assert json.loads(SCHEMA_PATH.read_text()) == events.json_schema()


def test_every_event_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(events.EVENT_TYPES)
    assert len(events.EVENT_TYPES) == 11


@pytest.mark.parametrize("event_type", events.EVENT_TYPES)
def test_builder_output_is_schema_valid_canonical_and_round_trips(
    event_type: str, validator: jsonschema.Draft202012Validator
) -> None:
    event = SAMPLES[event_type]()
    data = event.leaf_data()
    doc = json.loads(data)
    validator.validate(doc)
    assert doc["type"] == event_type and doc["at"] == "2026-03-01T09:30:15.123Z"
    assert data == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert events.parse_leaf(data) == event
    # The schema forbids extra fields, and so does the builder.
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**doc, "name": "Jānis"})
    with pytest.raises(EventError):
        events.build(event_type, AT, **{**event.fields, "name": "Jānis"})
    # Every required field is required by both.
    for field in event.fields:
        if events.EVENT_FIELDS[event_type][field][1]:
            partial = {k: v for k, v in doc.items() if k != field}
            with pytest.raises(jsonschema.ValidationError):
                validator.validate(partial)
            with pytest.raises(EventError):
                events.parse_leaf(
                    json.dumps(partial, sort_keys=True, separators=(",", ":")).encode()
                )


@pytest.mark.parametrize("code", ["010190-12345", "01019012345", "x-010190-12345"])
def test_personal_codes_refused_as_ids(
    code: str, validator: jsonschema.Draft202012Validator
) -> None:
    with pytest.raises(EventError):
        events.data_purged(at=AT, initiative=code, scope="PERSONAL_DATA", count=1)
    doc = json.loads(SAMPLES["data.purged"]().leaf_data())
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**doc, "initiative": code})


def test_bad_values_refused() -> None:
    with pytest.raises(EventError):
        events.signature_rejected(at=AT, initiative="i", platform="p", container_sha256=H,
                                  reason="NOT_A_CODE", indication="TOTAL_FAILED")  # fmt: skip
    with pytest.raises(EventError):
        events.data_purged(at=AT, initiative="i", scope="PERSONAL_DATA", count=2**53)
    with pytest.raises(EventError):
        events.data_purged(at=AT, initiative="i", scope="PERSONAL_DATA", count=True)
    with pytest.raises(EventError):
        events.data_purged(at=AT.replace(tzinfo=None), initiative="i", scope="X", count=1)
    with pytest.raises(EventError):
        events.build("signature.forged", AT)


def test_non_canonical_leaves_refused() -> None:
    data = SAMPLES["batch.exported"]().leaf_data()
    doc = json.loads(data)
    for bad in [
        json.dumps(doc).encode(),
        data + b" ",
        b"[]",
        b"\xff",
        data.replace(b'"v":1', b'"v":2'),
    ]:
        with pytest.raises(EventError):
            events.parse_leaf(bad)


def test_golden_leaf_bytes() -> None:
    assert SAMPLES["initiative.closed"]().leaf_data() == (
        b'{"accepted":155000,"at":"2026-03-01T09:30:15.123Z","initiative":"init-1",'
        b'"reason":"PERIOD_ENDED","type":"initiative.closed","v":1}'
    )
