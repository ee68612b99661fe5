"""Log events: the leaf data of the log is the RFC 8785 (JCS) canonical JSON of one event.

Events carry ids, digests, keyed pseudonyms, reason codes and the time passed in — never a name
or a personal code, so the log can outlive the deletion of personal data. Every field has a
*kind* with one validation rule shared by the builders here and by
``sigsvc/contract/log-leaf.schema.json`` (generated from this table by :func:`json_schema`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import rfc8785

from audit.errors import EventError

EVENT_VERSION = 1
SCHEMA_ID = "https://sigsvc.invalid/schemas/log-leaf.schema.json"  # sigsvc schema naming

# docs/design.md "Fixed vocabularies": reject reason codes and ETSI EN 319 102-1 indications.
REASON_CODES = (
    "MALFORMED_CONTAINER",
    "UNSAFE_INPUT",
    "TOO_LARGE",
    "UNSUPPORTED_FORMAT",
    "SIGNATURE_INVALID",
    "DOCUMENT_MISMATCH",
    "IDENTITY_MISMATCH",
    "UNTRUSTED_CHAIN",
    "NOT_QUALIFIED",
    "KEY_USAGE",
    "WEAK_ALGORITHM",
    "CERT_EXPIRED",
    "CERT_NOT_YET_VALID",
    "CERT_REVOKED",
    "REVOCATION_UNAVAILABLE",
    "NO_TIMESTAMP",
    "TIMESTAMP_INVALID",
    "OUTSIDE_PERIOD",
    "UNDERAGE",
    "INVALID_PERSONAL_CODE",
    "DUPLICATE",
    "INITIATIVE_CLOSED",
    "MULTIPLE_SIGNATURES",
)
INDICATIONS = ("TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE")
# credential.changed: which credential, and what happened to it.
CREDENTIALS = ("PLATFORM", "ADMIN_TOKEN")
CREDENTIAL_CHANGES = ("CREATED", "REVOKED", "ROTATED", "INITIATIVE_ADDED", "INITIATIVE_REMOVED")

# Latvian personal code DDMMYY-NNNNN (with or without the dash): refused inside any id.
# crypto.personal_code.SHAPE_PATTERN (audit may not import crypto; a test keeps them equal)
PERSONAL_CODE_SHAPE = r"[0-9]{6}-?[0-9]{5}"
MAX_SAFE_INTEGER = 2**53 - 1  # RFC 8785 §3.2.2.3: integers must survive IEEE 754 doubles

# kind -> JSON Schema fragment. Patterns use only syntax that Python's re and ECMA-262 share.
KINDS: dict[str, dict[str, Any]] = {
    "id": {
        "type": "string",
        "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
        "not": {"pattern": PERSONAL_CODE_SHAPE},
    },
    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "pseudonym": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "reason": {"enum": list(REASON_CODES)},
    "indication": {"enum": list(INDICATIONS)},
    "credential": {"enum": list(CREDENTIALS)},
    "credential_change": {"enum": list(CREDENTIAL_CHANGES)},
    "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]{0,39}$"},
    "regime": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
    "count": {"type": "integer", "minimum": 0, "maximum": MAX_SAFE_INTEGER},
    "date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    "datetime": {
        "type": "string",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
    },
    # A signed-note vkey for the log key, or sha256:<hex> of another key's SPKI.
    "key": {
        "type": "string",
        "pattern": "^([!-*,-~]{1,200}\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]{44}|sha256:[0-9a-f]{64})$",
    },
}

# type -> field -> (kind, required). "type", "v" and "at" are common to all events.
EVENT_FIELDS: dict[str, dict[str, tuple[str, bool]]] = {
    "signature.accepted": {
        "initiative": ("id", True),
        "signature": ("id", True),
        "platform": ("id", True),
        "container_sha256": ("sha256", True),
        "signer": ("pseudonym", True),
        "indication": ("indication", True),
    },
    "signature.rejected": {
        "initiative": ("id", True),
        "platform": ("id", True),
        "container_sha256": ("sha256", True),
        "reason": ("reason", True),
        "indication": ("indication", True),
        "sub_indication": ("code", False),
    },
    "signature.withdrawn": {
        "initiative": ("id", True),
        "signature": ("id", True),
        "container_sha256": ("sha256", True),
        "signer": ("pseudonym", True),
    },
    "initiative.registered": {
        "initiative": ("id", True),
        "regime": ("regime", True),
        "registration": ("id", True),
        "text_sha256": ("sha256", True),
        "opens": ("date", True),
        "closes": ("date", True),
    },
    "initiative.closed": {
        "initiative": ("id", True),
        "reason": ("code", True),
        "accepted": ("count", True),
    },
    "batch.exported": {
        "batch": ("id", True),
        "initiative": ("id", True),
        "count": ("count", True),
        "manifest_sha256": ("sha256", True),
    },
    "batch.acknowledged": {
        "batch": ("id", True),
        "status": ("code", True),
        "acknowledgement_sha256": ("sha256", True),
    },
    # A receiver refused a batch: its signed refusal (C2SP note) by digest, with its reason.
    "batch.refused": {
        "batch": ("id", True),
        "reason": ("code", True),
        "acknowledgement_sha256": ("sha256", True),
    },
    "data.purged": {
        "initiative": ("id", True),
        "scope": ("code", True),
        "count": ("count", True),
    },
    "key.rotated": {
        "purpose": ("code", True),
        "old_key": ("key", True),
        "new_key": ("key", True),
    },
    # An operator changed who may act: a platform key or admin token created, revoked or
    # rotated, an initiative added to or removed from a platform (a new platform: CREATED, then
    # INITIATIVE_ADDED per initiative). Ids only; never a token, its digest, a name or a label.
    "credential.changed": {
        "credential": ("credential", True),
        "subject": ("id", True),  # platform id, or the admin token's row id
        "change": ("credential_change", True),
        "initiative": ("id", False),  # for INITIATIVE_ADDED / INITIATIVE_REMOVED
    },
    "trust.updated": {
        "territory": ("code", True),
        "sequence": ("count", True),
        "list_sha256": ("sha256", True),
        "issued": ("datetime", True),
    },
}
EVENT_TYPES = tuple(EVENT_FIELDS)
COMMON_FIELDS = ("type", "v", "at")
LOG_KEY_PURPOSE = "LOG"  # key.rotated purpose for the checkpoint signing key


_LEAF_TIME = re.compile(rb'"at":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"')


def leaf_time(data: bytes) -> str | None:
    """The "at" of an event leaf (format_time's fixed shape, so strings order as times), or
    None for a leaf that is not an event. JCS escapes quotes inside values: no false match."""
    found = _LEAF_TIME.search(data)
    return found.group(1).decode("ascii") if found else None


def format_time(at: datetime) -> str:
    """RFC 3339 UTC with milliseconds; refuses naive datetimes (time is always passed in)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise EventError("event time must be timezone-aware")
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _check(kind: str, name: str, value: object) -> None:
    rule = KINDS[kind]
    if "enum" in rule:
        ok = value in rule["enum"]
    elif rule["type"] == "integer":
        ok = type(value) is int and 0 <= value <= MAX_SAFE_INTEGER
    else:
        ok = isinstance(value, str) and re.fullmatch(rule["pattern"], value) is not None
        if ok and "not" in rule:
            ok = re.search(rule["not"]["pattern"], str(value)) is None
    if not ok:
        raise EventError(f"field {name!r} is not a valid {kind}: {value!r}")


@dataclass(frozen=True)
class Event:
    """One log event; ``leaf_data`` is what the Merkle tree hashes."""

    type: str
    at: str
    fields: Mapping[str, object]

    def as_json(self) -> dict[str, object]:
        return {"type": self.type, "v": EVENT_VERSION, "at": self.at, **self.fields}

    def leaf_data(self) -> bytes:
        document: Any = self.as_json()
        return rfc8785.dumps(document)


def build(event_type: str, at: datetime, **fields: object) -> Event:
    """Validate and build one event; the typed helpers below call this."""
    return _build(event_type, format_time(at), fields)


def _build(event_type: str, at: str, fields: Mapping[str, object]) -> Event:
    spec = EVENT_FIELDS.get(event_type)
    if spec is None:
        raise EventError(f"unknown event type {event_type!r}")
    unknown = set(fields) - set(spec)
    if unknown:
        raise EventError(f"unknown fields for {event_type}: {sorted(unknown)}")
    clean: dict[str, object] = {}
    for name, (kind, required) in spec.items():
        value = fields.get(name)
        if value is None:
            if required:
                raise EventError(f"{event_type} needs {name!r}")
            continue
        if isinstance(value, date) and kind == "date":
            value = value.isoformat()
        elif isinstance(value, datetime) and kind == "datetime":
            value = format_time(value)
        _check(kind, name, value)
        clean[name] = value
    return Event(event_type, at, clean)


def parse_leaf(data: bytes) -> Event:
    """Parse leaf data back into an event, requiring canonical JCS bytes and a valid event."""
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise EventError("leaf is not JSON") from None
    if not isinstance(obj, dict) or obj.get("v") != EVENT_VERSION:
        raise EventError("leaf is not a version 1 event object")
    event_type, at = obj.pop("type", None), obj.pop("at", None)
    obj.pop("v")
    if not isinstance(event_type, str) or not isinstance(at, str):
        raise EventError("leaf lacks type or time")
    _check("datetime", "at", at)
    event = _build(event_type, at, obj)
    if event.leaf_data() != data:
        raise EventError("leaf is not in RFC 8785 canonical form")
    return event


# --- typed builders (keyword-only; the service calls these) ----------------------------


def signature_accepted(
    *,
    at: datetime,
    initiative: str,
    signature: str,
    platform: str,
    container_sha256: str,
    signer: str,
    indication: str = "TOTAL_PASSED",
) -> Event:
    return build(
        "signature.accepted",
        at,
        initiative=initiative,
        signature=signature,
        platform=platform,
        container_sha256=container_sha256,
        signer=signer,
        indication=indication,
    )


def signature_rejected(
    *,
    at: datetime,
    initiative: str,
    platform: str,
    container_sha256: str,
    reason: str,
    indication: str,
    sub_indication: str | None = None,
) -> Event:
    return build(
        "signature.rejected",
        at,
        initiative=initiative,
        platform=platform,
        container_sha256=container_sha256,
        reason=reason,
        indication=indication,
        sub_indication=sub_indication,
    )


def signature_withdrawn(
    *, at: datetime, initiative: str, signature: str, container_sha256: str, signer: str
) -> Event:
    return build(
        "signature.withdrawn",
        at,
        initiative=initiative,
        signature=signature,
        container_sha256=container_sha256,
        signer=signer,
    )


def initiative_registered(
    *,
    at: datetime,
    initiative: str,
    regime: str,
    registration: str,
    text_sha256: str,
    opens: date,
    closes: date,
) -> Event:
    return build(
        "initiative.registered",
        at,
        initiative=initiative,
        regime=regime,
        registration=registration,
        text_sha256=text_sha256,
        opens=opens,
        closes=closes,
    )


def initiative_closed(*, at: datetime, initiative: str, reason: str, accepted: int) -> Event:
    return build("initiative.closed", at, initiative=initiative, reason=reason, accepted=accepted)


def batch_exported(
    *, at: datetime, batch: str, initiative: str, count: int, manifest_sha256: str
) -> Event:
    return build(
        "batch.exported",
        at,
        batch=batch,
        initiative=initiative,
        count=count,
        manifest_sha256=manifest_sha256,
    )


def batch_acknowledged(
    *, at: datetime, batch: str, status: str, acknowledgement_sha256: str
) -> Event:
    return build(
        "batch.acknowledged",
        at,
        batch=batch,
        status=status,
        acknowledgement_sha256=acknowledgement_sha256,
    )


def batch_refused(*, at: datetime, batch: str, reason: str, acknowledgement_sha256: str) -> Event:
    return build(
        "batch.refused",
        at,
        batch=batch,
        reason=reason,
        acknowledgement_sha256=acknowledgement_sha256,
    )


def data_purged(*, at: datetime, initiative: str, scope: str, count: int) -> Event:
    return build("data.purged", at, initiative=initiative, scope=scope, count=count)


def key_rotated(*, at: datetime, purpose: str, old_key: str, new_key: str) -> Event:
    """For the log key (purpose LOG) old_key/new_key are signed-note vkeys."""
    return build("key.rotated", at, purpose=purpose, old_key=old_key, new_key=new_key)


def trust_updated(
    *, at: datetime, territory: str, sequence: int, list_sha256: str, issued: datetime
) -> Event:
    return build(
        "trust.updated",
        at,
        territory=territory,
        sequence=sequence,
        list_sha256=list_sha256,
        issued=issued,
    )


def credential_changed(
    *, at: datetime, credential: str, subject: str, change: str, initiative: str | None = None
) -> Event:
    extra = {} if initiative is None else {"initiative": initiative}
    return build(
        "credential.changed", at, credential=credential, subject=subject, change=change, **extra
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a leaf, generated from the tables above."""
    variants = []
    for event_type, spec in EVENT_FIELDS.items():
        properties: dict[str, Any] = {
            "type": {"const": event_type},
            "v": {"const": EVENT_VERSION},
            "at": KINDS["datetime"],
        }
        # Inlined, not $ref'd: the schema is embedded as is in openapi.json.
        properties.update({name: KINDS[kind] for name, (kind, _) in spec.items()})
        required = [*COMMON_FIELDS, *(n for n, (_, req) in spec.items() if req)]
        variants.append(
            {
                "title": event_type,
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            }
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "sigsvc log leaf (RFC 8785 canonical JSON of one event)",
        "description": "Ids, digests, keyed pseudonyms, codes and times only; never personal data.",
        "oneOf": variants,
    }
