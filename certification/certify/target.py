"""The deployment under test, over HTTP only: admin API, platform API, public log."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

ASICE = "application/vnd.etsi.asic-e+zip"
TIMEOUT = 60


class RunnerInputError(Exception):
    """Bad input to the runner (URL, token, kit, target trust): exit 2, no report."""


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, reduced to what a check reads."""

    status: int
    body: bytes
    headers: CaseInsensitiveDict[str]  # HTTP/1.1 servers may send names in any case

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def code(self) -> str | None:
        """The error code of a 4xx/5xx answer (``{"error": {"code": ...}}``)."""
        doc = self.json
        if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
            code = doc["error"].get("code")
            return code if isinstance(code, str) else None
        return None

    @property
    def message(self) -> str:
        doc = self.json
        if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
            return str(doc["error"].get("message", ""))
        return ""

    def brief(self) -> str:
        code = self.code
        if code:
            return f"{self.status} {code}"
        doc = self.json
        if isinstance(doc, dict) and "status" in doc:
            return f"{self.status} {doc['status']}"
        return str(self.status)


class Target:
    def __init__(self, base_url: str, admin_token: str, *, verify_tls: bool | str = True) -> None:
        self.base = base_url.rstrip("/")
        self.admin_token = admin_token
        self.http = requests.Session()
        self.verify = verify_tls  # passed per request: REQUESTS_CA_BUNDLE would override a
        # session-level setting

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = TIMEOUT,
        **kwargs: Any,
    ) -> Answer:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        reply = self.http.request(
            method, self.base + path, headers=sent, timeout=timeout, verify=self.verify, **kwargs
        )
        return Answer(reply.status_code, reply.content, CaseInsensitiveDict(reply.headers))

    def admin(self, method: str, path: str, **kwargs: Any) -> Answer:
        return self.request(method, path, token=self.admin_token, **kwargs)

    def admin_ok(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.admin(method, path, **kwargs)
        if answer.status >= 400:
            raise RuntimeError(f"{method} {path}: {answer.status} {answer.body[:300]!r}")
        return answer.json

    def post_container(
        self,
        initiative_id: str,
        platform_key: str,
        container: bytes,
        *,
        kind: str = "signatures",
        idempotency_key: str | None = None,
    ) -> Answer:
        return self.request(
            "POST",
            f"/v1/initiatives/{initiative_id}/{kind}",
            token=platform_key,
            headers={
                "Content-Type": ASICE,
                "Idempotency-Key": idempotency_key or f"certify-{uuid.uuid4()}",
            },
            data=container,
        )
