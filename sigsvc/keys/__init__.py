"""Signing keys held outside process memory: a PKCS#11 token (``token``), and the log and seal
signers built on it (``signers``). Key files (``sigsvc.intake.keyfiles``, PEM seal keys) stay
supported for development; ``source`` says which one a deployment uses."""
