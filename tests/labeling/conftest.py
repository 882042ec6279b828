"""Fixtures for the labelling app's tests (helpers live in ``label_helpers.py``)."""

from __future__ import annotations

from label_helpers import browser, ruled_dataset, tiny_dataset  # noqa: F401  (fixtures)
