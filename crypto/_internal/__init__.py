"""Implementation details of crypto.verify; not a public API."""
