"""The frame view in a real browser: every answer lands on the frame the rater saw.

Each test drives Debian's chromium (Playwright) against ``rmeval label`` and asserts the
SQLite rows: double presses, held keys, keys while the next frame is still loading, keys
after a sidebar change, and the first keys after ``kill -9`` and a restart.
"""

from __future__ import annotations

import sqlite3

from label_helpers import AppServer
from view_helpers import answers, open_labeller, receipts, view, wait_frame, wait_note, wait_rows

TIMEOUT_MS = 20_000


def test_double_press_30ms_apart_saves_one_answer(server, page):
    open_labeller(page, server.url)
    page.keyboard.press("g")
    page.wait_for_timeout(30)
    page.keyboard.press("g")
    page.wait_for_timeout(1500)
    rows = receipts(server.db)
    # Frame 0 once. The second press is either ignored with a note (pressed before frame 1 was
    # painted) or saved on frame 1, which was on screen by then. Never on a frame that was not
    # shown, never twice on one display.
    assert rows[0][:3] == ("frames/000000.png", "label", 1)
    if len(rows) == 1:
        wait_frame(page, "frames/000001.png")
    else:
        assert len(rows) == 2 and rows[1][:3] == ("frames/000001.png", "label", 1)
        assert rows[1][4] >= rows[1][3]  # key_at >= shown_at: frame 1 was painted before the key
        wait_frame(page, "frames/000002.png")
    assert all(key_at >= shown_at for *_, shown_at, key_at in rows)


def test_held_key_writes_once(server, page):
    open_labeller(page, server.url)
    page.keyboard.down("g")
    for _ in range(5):  # browser auto-repeat: keydown events with repeat = true
        page.wait_for_timeout(120)
        page.keyboard.down("g")
    page.keyboard.up("g")
    wait_frame(page, "frames/000001.png")
    page.wait_for_timeout(1200)
    assert answers(server.db) == [("frames/000000.png", "label", 1)]
    session = sqlite3.connect(server.db).execute("SELECT count(*) FROM answer_receipts").fetchone()[0]
    assert session == 1


def test_key_while_next_frame_loads_is_dropped_not_shifted(tmp_path, tiny_dataset, page, monkeypatch):
    monkeypatch.setenv("RMEVAL_LABEL_PACK_SIZE", "1")  # one frame per pack: frame 1 can be held back alone
    server = AppServer(tiny_dataset.root, tmp_path / "labels.sqlite", tmp_path).start()
    try:
        held = []
        page.route("**/chunk_1.bin", lambda route: held.append(route))  # frame 1 is on its way until we let it through
        open_labeller(page, server.url)
        page.keyboard.press("g")
        view(page).locator("#caption", has_text="Loading frame 2 of 12").wait_for()
        page.keyboard.press("n")  # nothing on screen: dropped, with a note
        wait_note(page, "still loading")
        assert held
        held[0].continue_()
        wait_frame(page, "frames/000001.png")
        page.wait_for_timeout(200)
        page.keyboard.press("s")
        wait_frame(page, "frames/000002.png")
        assert wait_rows(server.db, 2, page) == [("frames/000000.png", "label", 1), ("frames/000001.png", "skip", None)]
    finally:
        server.stop()


def test_keys_work_after_a_sidebar_change(server, page):
    open_labeller(page, server.url)
    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").click()
    page.get_by_role("option", name="Random").click()
    page.get_by_text("Random seed").wait_for()
    view(page).locator(".listen.on").wait_for()
    shown = view(page).locator("#caption").inner_text().split("· ")[-1].strip()
    page.keyboard.press("n")
    rows = wait_rows(server.db, 1, page)
    assert rows == [(shown, "label", 0)]


def test_keys_after_kill_9_and_restart_are_saved_on_the_frames_shown(server, page):
    open_labeller(page, server.url)
    page.keyboard.press("g")
    wait_frame(page, "frames/000001.png")
    assert wait_rows(server.db, 1, page) == [("frames/000000.png", "label", 1)]
    view(page).locator("#progress", has_text="waiting").wait_for(state="detached")  # acknowledged
    server.kill()
    view(page).locator("#down", has_text="rmeval label --dataset").wait_for()
    page.locator("#rmeval-server-down", has_text="--port").wait_for()  # the banner over the page
    page.wait_for_timeout(100)
    page.keyboard.press("n")  # answered while the server is down: kept in the tab
    wait_frame(page, "frames/000002.png")
    view(page).get_by_text("1 answer waiting for the server").wait_for()
    server.start(same_port=True)
    page.locator("#rmeval-server-down").wait_for(state="detached")
    rows = wait_rows(server.db, 2, page)
    assert rows == [("frames/000000.png", "label", 1), ("frames/000001.png", "label", 0)]
    page.wait_for_timeout(200)
    page.keyboard.press("g")  # the first key after the restart
    wait_frame(page, "frames/000003.png")
    assert wait_rows(server.db, 3, page)[2] == ("frames/000002.png", "label", 1)
    page.wait_for_timeout(1500)
    assert len(answers(server.db)) == 3  # nothing stored twice
