"""audit/ keeps its own copy of docs/design.md's reason vocabulary (it may not import crypto/);
the copy must stay equal, in order, to crypto.Reason, the one the verifier answers with."""

from audit.events import INDICATIONS, REASON_CODES
from crypto.reasons import Indication, Reason


def test_leaf_reason_codes_equal_the_verifiers() -> None:
    assert tuple(reason.value for reason in Reason) == REASON_CODES


def test_leaf_indications_equal_the_verifiers() -> None:
    assert tuple(indication.value for indication in Indication) == INDICATIONS


def test_leaf_personal_code_shape_equals_crypto_s() -> None:
    from audit.batch_format import PERSONAL_CODE_PATTERN
    from audit.events import PERSONAL_CODE_SHAPE
    from crypto.personal_code import CANONICAL_PATTERN, SHAPE_PATTERN

    assert PERSONAL_CODE_SHAPE == SHAPE_PATTERN
    assert PERSONAL_CODE_PATTERN == CANONICAL_PATTERN
