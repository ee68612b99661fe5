"""Signed batch export (docs/batch-format.md): the operator's seal and the streaming writer."""
