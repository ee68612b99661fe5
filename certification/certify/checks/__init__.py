"""Every check C1–C28 in number order; `select` picks `--only` ones."""

from __future__ import annotations

from certification.certify.checks import batches, log, security, verification
from certification.certify.model import CheckSpec
from certification.certify.target import RunnerInputError

ALL: list[CheckSpec] = sorted(
    [*verification.CHECKS, *batches.CHECKS, *log.CHECKS, *security.CHECKS],
    key=lambda spec: int(spec.id[1:]),
)
assert [s.id for s in ALL] == [f"C{n}" for n in range(1, 29)], [s.id for s in ALL]


def select(only: str | None) -> list[CheckSpec]:
    if not only:
        return list(ALL)
    wanted = [part.strip().upper() for part in only.split(",") if part.strip()]
    known = {s.id for s in ALL}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise RunnerInputError(f"--only: unknown check(s) {', '.join(unknown)} (C1..C28)")
    return [s for s in ALL if s.id in wanted]
