"""What a check is and what it leaves: inputs by digest, observations, one verdict."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from certification.certify.world import World


class Verdict(StrEnum):
    PASS = "PASS"  # every expectation held
    FAIL = "FAIL"  # the deployment answered against an expectation: a finding
    SKIP = "SKIP"  # could not run (the reason says which option or facility is missing)
    ERROR = "ERROR"  # the suite itself could not finish the check (never counted as PASS)


class Skip(Exception):
    """Raised by a check that cannot run; the message is the reason in the report."""


@dataclass(frozen=True)
class CheckSpec:
    id: str  # C1..C28
    title: str
    requirement: str  # what the deployment must do (CONFORMANCE.md "expected")
    inputs: str  # what the check sends (CONFORMANCE.md "input")
    basis: str  # L, L*, A, P (CONFORMANCE.md)
    legal: str  # where it traces to (docs/certification.md has the full table)
    run: Callable[[Context, World], None]
    needs: str = "HTTP"  # HTTP, or the option it also needs


@dataclass(frozen=True)
class InputRecord:
    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Observation:
    text: str
    ok: bool | None  # None: information, not an expectation
    at_ms: int  # since the check started


@dataclass
class Context:
    """Collects what one check did; expectations that fail make it FAIL (a finding)."""

    spec: CheckSpec
    inputs: list[InputRecord] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def _ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def input(self, name: str, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.inputs.append(InputRecord(name, digest, len(data)))
        return digest

    def note(self, text: str) -> None:
        self.observations.append(Observation(text, None, self._ms()))

    def expect(self, ok: bool, text: str) -> bool:
        self.observations.append(Observation(text, bool(ok), self._ms()))
        return bool(ok)

    @property
    def failed(self) -> bool:
        return any(o.ok is False for o in self.observations)


@dataclass(frozen=True)
class Result:
    spec: CheckSpec
    verdict: Verdict
    reason: str  # SKIP/ERROR reason, or the first failed expectation
    inputs: tuple[InputRecord, ...]
    observations: tuple[Observation, ...]
    started_at: str  # ISO 8601 UTC
    duration_ms: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.spec.id,
            "title": self.spec.title,
            "requirement": self.spec.requirement,
            "inputs_description": self.spec.inputs,
            "basis": self.spec.basis,
            "legal": self.spec.legal,
            "needs": self.spec.needs,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "inputs": [{"name": i.name, "sha256": i.sha256, "size": i.size} for i in self.inputs],
            "observations": [
                {"text": o.text, "ok": o.ok, "at_ms": o.at_ms} for o in self.observations
            ],
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
        }
