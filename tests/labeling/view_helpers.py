"""Driving the labelling page's frame view (the custom component) from Playwright."""

from __future__ import annotations

import sqlite3
from pathlib import Path

VIEW = "iframe[title='rmeval.labeling.pages.frame_view.frame_view']"


def view(page):
    """The frame view's frame (the label page's last view iframe; the first only watches the server)."""
    return page.frame_locator(VIEW).last


def caption(page) -> str:
    return str(view(page).locator("#caption").inner_text())


def wait_frame(page, frame: str, timeout: float = 20_000) -> None:
    """Wait until ``frame`` is on screen in the view (painted: keys from now on count for it)."""
    view(page).locator(f"#box[data-shown='{frame}']").wait_for(timeout=timeout)


def wait_note(page, text: str, timeout: float = 20_000) -> None:
    view(page).locator("#note", has_text=text).wait_for(timeout=timeout)


def open_labeller(page, url: str, rater: str = "alice", first: str = "frames/000000.png") -> None:
    page.goto(f"{url}/?rater={rater}")
    wait_frame(page, first)


def answers(db: Path, timeout: float = 10.0) -> list[tuple]:
    """``(frame, kind, label)`` of the label events, in order."""
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT frame, kind, label FROM label_events ORDER BY id").fetchall()
    finally:
        con.close()


def wait_rows(db: Path, n: int, page, timeout_ms: int = 15_000) -> list[tuple]:
    """The events once there are at least ``n`` (polling), for answers saved asynchronously."""
    waited = 0
    while waited < timeout_ms:
        if db.exists():
            rows = answers(db)
            if len(rows) >= n:
                return rows
        page.wait_for_timeout(100)
        waited += 100
    return answers(db) if db.exists() else []


def receipts(db: Path) -> list[tuple]:
    """``(frame, kind, label, shown_at, key_at)`` of the answers the view sent, in order."""
    con = sqlite3.connect(db)
    try:
        return con.execute(
            "SELECT e.frame, e.kind, e.label, a.shown_at, a.key_at FROM answer_receipts AS a "
            "JOIN label_events AS e ON e.id = a.event_id WHERE e.kind != 'retract' ORDER BY e.id"
        ).fetchall()
    finally:
        con.close()
