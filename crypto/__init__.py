"""Pure verification of qualified e-signatures on signature forms (no I/O, time injected).

Public API: `verify`, `Verdict`, `Policy`, `TrustStore`, `Fetcher`; everything under
`crypto._internal` may change without notice.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crypto.errors import FetcherFailure, FetchError, VerificationError
    from crypto.fetcher import Fetcher
    from crypto.policy import AlgorithmPolicy, Policy, PolicyError, SizeLimits
    from crypto.reasons import Indication, Reason, SubIndication
    from crypto.trust import TrustedListSource, TrustStore
    from crypto.verdict import DataFile, Evidence, Signer, Verdict

# Eager (and cheap: the pipeline loads on the first call): a lazy `verify` would be shadowed by
# the submodule of the same name once anything imports `crypto.verify`.
from crypto.verify import verify

# Loaded on first use (PEP 562): `import crypto.form` or `crypto.reasons` must not pull in
# pyHanko and lxml (the CLI's start-up time; issue 10).
_HOMES = {
    "FetchError": "crypto.errors",
    "FetcherFailure": "crypto.errors",
    "VerificationError": "crypto.errors",
    "Fetcher": "crypto.fetcher",
    "AlgorithmPolicy": "crypto.policy",
    "Policy": "crypto.policy",
    "PolicyError": "crypto.policy",
    "SizeLimits": "crypto.policy",
    "Indication": "crypto.reasons",
    "Reason": "crypto.reasons",
    "SubIndication": "crypto.reasons",
    "TrustedListSource": "crypto.trust",
    "TrustStore": "crypto.trust",
    "DataFile": "crypto.verdict",
    "Evidence": "crypto.verdict",
    "Signer": "crypto.verdict",
    "Verdict": "crypto.verdict",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'crypto' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "AlgorithmPolicy",
    "DataFile",
    "Evidence",
    "FetchError",
    "Fetcher",
    "FetcherFailure",
    "Indication",
    "Policy",
    "PolicyError",
    "Reason",
    "Signer",
    "SizeLimits",
    "SubIndication",
    "TrustStore",
    "TrustedListSource",
    "Verdict",
    "VerificationError",
    "verify",
]
