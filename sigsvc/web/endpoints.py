"""Endpoint declaration: one decorator documents a view for openapi.json and enforces it.

    @endpoint(bp, "/v1/things", methods=["POST"], summary="...", auth="admin",
              request="thing_create", responses={201: "thing"})
    def create(body): ...

`auth=` is enforced before anything else: "admin" fully; "platform"/"platform_or_admin" only
authenticate, and the view then calls `sigsvc.web.auth.require_platform(initiative_id)`.
`request=` validates the JSON body against sigsvc/contract/<name>.json and passes it as `body`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from flask import Blueprint, request

from sigsvc.web import schemas
from sigsvc.web.auth import current_principal
from sigsvc.web.errors import ApiError

Auth = Literal["none", "admin", "platform", "platform_or_admin"]


@dataclass(frozen=True)
class EndpointSpec:
    summary: str
    auth: Auth
    request: str | None
    responses: dict[int, str | None]  # status -> schema name (None: not JSON)
    query: list[dict[str, Any]] = field(default_factory=list)
    errors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    media_type: str = "application/json"
    request_media: tuple[str, ...] = ()  # binary request bodies (the view reads them)


def endpoint(
    bp: Blueprint,
    rule: str,
    *,
    methods: list[str],
    summary: str,
    auth: Auth,
    responses: dict[int, str | None],
    request: str | None = None,
    query: list[dict[str, Any]] | None = None,
    errors: tuple[str, ...] = (),
    media_type: str = "application/json",
    request_media: tuple[str, ...] = (),
    cached_auth: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``cached_auth``: platform keys from the per-process cache (signature intake, the hot path;
    sigsvc.web.auth.authenticate), else read each time."""
    spec = EndpointSpec(
        summary,
        auth,
        request,
        responses,
        query or [],
        errors,
        (bp.name,),
        media_type,
        request_media,
    )

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Any:
            # Authenticate before reading the body: an anonymous caller learns nothing more.
            if spec.auth != "none":
                principal = current_principal(cached=cached_auth)
                if spec.auth == "admin" and principal.kind != "admin":
                    raise ApiError("FORBIDDEN", "an admin token is required")
            if spec.request is not None:
                kwargs["body"] = json_body(spec.request)
            return view(**kwargs)

        wrapper.sigsvc_endpoint = spec  # type: ignore[attr-defined]
        bp.add_url_rule(rule, view_func=wrapper, methods=methods)
        return wrapper

    return decorate


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate object key")
    return result


def _check_strings(value: Any) -> None:
    # JSON allows lone surrogate escapes ("\ud800") that no UTF-8 text can hold.
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def parse_json(raw: bytes) -> Any:
    """Strict RFC 8259: UTF-8, one value, no duplicate keys, no NaN/Infinity, no lone surrogates."""
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_reject_constant,
        )
        _check_strings(value)
    except (UnicodeError, ValueError, RecursionError) as exc:
        raise ApiError("MALFORMED_JSON", "the body is not valid UTF-8 JSON") from exc
    return value


def json_body(schema_name: str) -> Any:
    if request.mimetype != "application/json":
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "send Content-Type: application/json")
    value = parse_json(request.get_data(cache=True))
    schemas.validate(schema_name, value)
    return value
