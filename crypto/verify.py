"""crypto.verify: bytes in, frozen Verdict out; never raises for bad input."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from crypto._internal import budget, shared
from crypto._internal.fetching import FetchBoundary
from crypto.errors import (
    FetcherFailure,
    MalformedContainer,
    TooLarge,
    UnsafeInput,
    UnsupportedFormat,
    VerificationError,
)
from crypto.fetcher import Fetcher
from crypto.policy import Policy, PolicyError
from crypto.verdict import Verdict

if TYPE_CHECKING:
    from crypto._internal.pipeline import Progress
    from crypto.trust import TrustStore

_ZIP = b"PK\x03\x04"
_PDF = b"%PDF-"


def verify(
    container: bytes,
    *,
    policy: Policy,
    trust: TrustStore,
    fetcher: Fetcher | None,
    at: datetime,
) -> Verdict:
    """Verify one signed container as a qualified e-signature at validation time `at`.

    Accept, or reject with exactly one reason (the most fundamental failure). `fetcher` is
    used when the container's own evidence is missing or insufficient; None means offline. A
    fetcher failure that is not an outage raises `FetcherFailure` (a caller bug, not a verdict).
    """
    if at.utcoffset() is None:
        raise PolicyError("`at` must be timezone-aware")  # a caller bug, not bad input
    # No lock: what verifications share is immutable or fully parsed (crypto._internal.shared).
    boundary = FetchBoundary(fetcher) if fetcher is not None else None
    with shared.running(trust.checks, trust.version):
        return _verify(container, policy, trust, boundary, at)


def _verify(
    container: bytes, policy: Policy, trust: TrustStore, fetcher: Fetcher | None, at: datetime
) -> Verdict:
    from crypto._internal.pipeline import Progress  # pyHanko & co. on first use, not at import

    progress = Progress()
    try:
        with budget.running(policy.limits.max_cpu_seconds):
            _dispatch(container, policy, trust, fetcher, at, progress)
    except VerificationError as exc:
        return progress.verdict(exc)
    except FetcherFailure:
        raise
    except RecursionError as exc:
        return progress.verdict(UnsafeInput(f"input nests too deeply: {type(exc).__name__}"))
    except Exception as exc:  # a parser bug must not become a crash or an accept
        return progress.verdict(MalformedContainer(f"unexpected {type(exc).__name__}: {exc}"))
    return progress.verdict(None)


def _dispatch(
    container: bytes,
    policy: Policy,
    trust: TrustStore,
    fetcher: Fetcher | None,
    at: datetime,
    progress: Progress,
) -> None:
    if len(container) > policy.limits.max_container_bytes:
        raise TooLarge(f"{len(container)} bytes exceed {policy.limits.max_container_bytes}")
    if container.startswith(_ZIP):
        from crypto._internal.pipeline import verify_asic

        verify_asic(container, policy, trust, fetcher, at, progress)
    elif container.lstrip()[:5] == _PDF:
        from crypto._internal.pades import verify_pades

        verify_pades(container, policy, trust, fetcher, at, progress)
    else:
        raise UnsupportedFormat("neither an ASiC-E/edoc container nor a PDF")
