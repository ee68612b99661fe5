"""The tamper-evident log: a pure library (no sockets, no database, no clock reads).

Modules: ``merkle`` (RFC 9162 tree and proofs), ``note`` / ``checkpoint`` / ``receipt`` (C2SP
signed-note, tlog-checkpoint, tlog-proof), ``events`` (RFC 8785 leaves), ``storage`` (the
storage Protocol + in-memory implementation), ``log`` (appends, checkpoints, receipts),
``export`` / ``verify`` / ``tar`` (the portable export and its offline verifier), ``cli``
(``sigaudit``). Every error derives from ``audit.errors.AuditError``.
"""
