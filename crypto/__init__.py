"""Pure verification of qualified e-signatures on signature forms (no I/O, time injected).

Public API: `verify`, `Verdict`, `Policy`, `TrustStore`, `Fetcher`; everything under
`crypto._internal` may change without notice.
"""

from crypto.errors import FetcherFailure, FetchError, VerificationError
from crypto.fetcher import Fetcher
from crypto.policy import AlgorithmPolicy, Policy, PolicyError, SizeLimits
from crypto.reasons import Indication, Reason, SubIndication
from crypto.trust import TrustedListSource, TrustStore
from crypto.verdict import DataFile, Evidence, Signer, Verdict
from crypto.verify import verify

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
