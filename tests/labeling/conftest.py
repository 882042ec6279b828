"""Fixtures for the labelling app's tests (helpers live in ``label_helpers.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from label_helpers import AppServer, browser, ruled_dataset, tiny_dataset  # noqa: F401  (fixtures)

#: Playwright's default timeout in the browser tests (the machine may be loaded).
TIMEOUT_MS = 20_000


@pytest.fixture
def server(tmp_path, tiny_dataset) -> Iterator[AppServer]:  # noqa: F811  (tiny_dataset is the fixture above)
    """``rmeval label`` on the tiny dataset in a subprocess, with a fresh labels database."""
    srv = AppServer(tiny_dataset.root, tmp_path / "labels.sqlite", tmp_path)
    try:
        yield srv.start()
    finally:
        srv.stop()


@pytest.fixture
def page(browser):  # noqa: F811
    """A fresh laptop-sized browser page (its own context: no shared storage between tests)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    try:
        yield pg
    finally:
        context.close()
