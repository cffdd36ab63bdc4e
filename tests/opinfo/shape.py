"""Op records: shape family (see tests/opinfo/__init__.py)."""

from __future__ import annotations

RECORDS: list = []
