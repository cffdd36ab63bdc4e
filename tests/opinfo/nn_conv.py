"""Op records: nn conv family (see tests/opinfo/__init__.py)."""

from __future__ import annotations

RECORDS: list = []
