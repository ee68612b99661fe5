from __future__ import annotations

from certification.testpki.pytest_plugin import responders

__all__ = ["responders"]
