"""`submit`: one signature or withdrawal form from a platform, from admission to the answer.

Order, and why:
1. the platform's rate limit, before the body is read (a flood costs no parsing);
2. the request (Idempotency-Key, media type, body) is read by the caller's `read` callable;
3. a stored answer for the same key and body is replayed (a different body is refused);
4. verification, outside any transaction: it can wait seconds on an OCSP responder and must not
   hold a database lock; then the signer's rate limit (the signer is known only now);
5. the request's part of a group transaction (intake/writer.py: one commit for the requests
   that arrive within a few milliseconds): the signer's rate limit, log lock, deduplication,
   encrypted record, log leaf, idempotency answer, due checkpoint; the answer is given after
   that commit. A signature form is prepared here, before the lock (seals, ids, answers), and
   decided and written with its group's others (group.py); the job-by-job transaction
   (signatures.py) is its fallback and a withdrawal's way. A concurrent request with the same
   key that committed first is replayed; a first use of the log head that raced is retried
   (3 attempts in all).
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

import crypto
from crypto.form import FormKind
from sigsvc import metrics, registry
from sigsvc.intake import group, idempotency, ratelimit, trustlists
from sigsvc.intake.signatures import (
    Answer,
    Answers,
    Attempt,
    LostIdempotencyRace,
    accept,
    is_closed,
    policy_for,
    refusal,
    reject,
    remember,
    withdraw,
)
from sigsvc.intake.writer import GroupWriter
from sigsvc.refusal import Refusal
from sigsvc.services import Services

log = structlog.get_logger("sigsvc.intake")
ATTEMPTS = 3


@dataclass(frozen=True)
class Request:
    """What the platform sent, as read by the web layer."""

    idempotency_key: str
    container: bytes
    fingerprint: bytes  # idempotency.request_fingerprint of method, path, platform and body


def submit(
    services: Services,
    session: Session,
    *,
    platform_id: str,
    initiative_id: uuid.UUID,
    kind: FormKind,
    read: Callable[[], Request],
    answers: Answers,
    writer: GroupWriter,
    context: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
) -> Answer:
    """The final answer to one submitted form (committed), or a Refusal before any write."""
    stale = services.stale_lists()
    if stale:  # verifying against a list its operator should have replaced: not a verdict
        log.error("trust_stale", lists=stale)
        raise Refusal(
            "TRUST_STALE",
            f"trusted list {', '.join(stale)} is past its NextUpdate",
            retry_after="300",
        )
    _check_limit(services.limiter.check_platform(platform_id), "platform")
    request = read()
    replayed = _replay(session, platform_id, request)
    if replayed is not None:
        return replayed
    initiative = registry.cached_initiative(session, initiative_id)
    session.commit()  # verification holds no transaction
    attempt = Attempt(
        initiative, platform_id, request.container, request.idempotency_key, request.fingerprint
    )
    verdict: crypto.Verdict | None = None
    signer: bytes | None = None
    if not (kind is FormKind.SIGNATURE and is_closed(initiative)):
        with metrics.verification_timer():
            verdict = _verify(services, request.container, policy_for(initiative, kind))
        if verdict.accepted and verdict.signer is not None:
            signer = services.pseudonyms.signer_pseudonym(
                initiative.id, verdict.signer.personal_code
            )
    job = functools.partial(_grouped, services, attempt, verdict, kind, answers, signer)
    # A signature form is decided and written with its group's others (intake/group.py);
    # `job`, the same transaction one job at a time, is the fallback (and a withdrawal's way).
    bulk: dict[str, Any] = {}
    if kind is FormKind.SIGNATURE:
        prepared = group.prepare(services, session, attempt, verdict, answers, signer)
        bulk = {"batch": group.write, "payload": prepared}
    for _attempt in range(ATTEMPTS):
        try:
            outcome = writer.submit(job, context, **bulk).result()
        except LostIdempotencyRace:
            session.rollback()
            replayed = _replay(session, platform_id, request)
            if replayed is not None:
                return replayed
            continue
        except sa.exc.IntegrityError:
            continue  # first use of the log head raced; the next group locks it
        if isinstance(outcome, ratelimit.Decision):
            _check_limit(outcome, "signer")
        assert isinstance(outcome, Answer)
        log.info(
            "signature_intake",
            kind=kind.value,
            status=outcome.status,
            reason=None if verdict is None or verdict.reason is None else verdict.reason.value,
        )
        return outcome
    raise Refusal("INTERNAL_ERROR", "could not complete the intake transaction")


def _verify(services: Services, container: bytes, policy: crypto.Policy) -> crypto.Verdict:
    return trustlists.verify_in_force(
        container,
        policy=policy,
        current=services.trust,
        watch=services.trust_watch,
        fetcher=services.fetcher,
        at=services.verification_time(),
    )


def _check_limit(decision: ratelimit.Decision, which: str) -> None:
    if not decision.allowed:
        retry_after = decision.retry_after_header
        log.info("rate_limited", limit=which, retry_after=retry_after)
        raise Refusal("RATE_LIMITED", "too many requests", retry_after=retry_after)


def _replay(session: Session, platform_id: str, request: Request) -> Answer | None:
    decision = idempotency.decide(
        idempotency.lookup(session.connection(), platform_id, request.idempotency_key),
        request.fingerprint,
    )
    if decision.outcome is idempotency.Outcome.CONFLICT:
        raise Refusal("IDEMPOTENCY_KEY_REUSED", "this key was used for a different request")
    if decision.outcome is idempotency.Outcome.REPLAY:
        assert decision.response is not None
        stored = decision.response
        return Answer(
            stored.status,
            stored.body,
            headers=(("Idempotent-Replayed", "true"),),
            content_type=stored.content_type,
        )
    return None


def _grouped(
    services: Services,
    attempt: Attempt,
    verdict: crypto.Verdict | None,
    kind: FormKind,
    answers: Answers,
    signer: bytes | None,
    session: Session,
) -> Answer | ratelimit.Decision:
    """One request's part of a group transaction (the writer thread, log lock held). The
    signer's limit is checked here: its state is written with the record, at no durable write
    of its own, and holds across processes."""
    if signer is not None:
        decision = services.limiter.check_signer_in(session.connection(), signer)
        if not decision.allowed:
            return decision
    return _decide(session, services, attempt, verdict, kind, answers)


def _decide(
    session: Session,
    services: Services,
    attempt: Attempt,
    verdict: crypto.Verdict | None,
    kind: FormKind,
    answers: Answers,
) -> Answer:
    if verdict is None:  # the initiative is closed: refused, and the attempt is logged
        closed = answers("INITIATIVE_CLOSED")
        return reject(session, services, attempt, closed, "INITIATIVE_CLOSED", "TOTAL_FAILED")
    if verdict.accepted:
        if kind is FormKind.SIGNATURE:
            return accept(session, services, attempt, verdict, answers)
        return withdraw(session, services, attempt, verdict, answers)
    refused = refusal(verdict, answers)
    if kind is FormKind.WITHDRAWAL:  # a refused withdrawal changes nothing and is not counted
        remember(session, services, attempt, refused.answer)
        return refused.answer
    return reject(
        session,
        services,
        attempt,
        refused.answer,
        refused.reason,
        refused.indication,
        refused.subindication,
    )
