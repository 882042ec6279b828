"""Trajectory scoring and CSV import in a real browser (Debian chromium via Playwright).

Typed exact counts, percentage buttons, and an import of another dataset's export; each
test asserts the SQLite rows, not only the page.
"""

from __future__ import annotations

import sqlite3

from rmeval.labeling.exchange import labels_csv
from rmeval.labeling.frame_ids import dataset_identity, frame_hashes
from rmeval.labeling.storage import LabelStore

TIMEOUT_MS = 20_000


def scores(db) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT episode, n_task, n_steps FROM trajectory_scores ORDER BY id").fetchall()
    finally:
        con.close()


def test_typed_count_and_percentage_buttons_store_what_they_say(server, page):
    page.goto(f"{server.url}/score_trajectories?rater=alice")
    page.get_by_text("Episode 0 · policy").wait_for()
    box = page.locator(".st-key-tr_exact_0 input")
    assert box.input_value() == ""  # empty, not 0
    box.fill("3")  # typed, then straight to the button (no Enter, no blur first)
    page.locator(".st-key-save_exact button").click()
    page.get_by_text("Saved episode 0: 3 of 4 timesteps").wait_for()
    assert scores(server.db) == [(0, 3, 4)]
    # episode 1 (4 timesteps): "25% = 1 of 4" stores 1, exactly 25 %
    page.get_by_text("Episode 1 · policy").wait_for()
    button = page.locator(".st-key-quick_25 button")
    assert "25%" in button.inner_text() and "1 of 4" in button.inner_text()
    button.click()
    page.get_by_text("Saved episode 1: 1 of 4 timesteps (25%)").wait_for()
    assert scores(server.db) == [(0, 3, 4), (1, 1, 4)]
    # the player shows which timestep is on screen
    page.frame_locator("iframe[title='st.iframe']").first.get_by_text("timestep").first.wait_for()


def test_import_refuses_another_datasets_export_with_the_message_in_view(server, page, ruled_dataset, tmp_path):
    other = ruled_dataset  # also names its frames frames/000000.png ...
    store = LabelStore.open(tmp_path / "other.sqlite")
    store.add_label(other.name, "frames/000000.png", "alice", 1)
    frames = other.index["frame"].tolist()
    ident = dataset_identity(other.name, frames, frame_hashes(other.root, frames))
    csv = tmp_path / "ruled-labels.csv"
    csv.write_text(labels_csv(store.current_labels(other.name), other.index, other.name, ident.digest))

    page.goto(f"{server.url}/import_export")
    page.get_by_text("Import labels").first.wait_for()
    page.get_by_role("tab", name="From a CSV file").click()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(csv))
    page.locator(".st-key-io_import_csv button").click()
    msg = page.get_by_text("holds labels of the dataset 'ruled'")
    msg.wait_for()
    box = msg.bounding_box()
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= 900  # in view
    con = sqlite3.connect(server.db)
    assert con.execute("SELECT count(*) FROM label_events").fetchone()[0] == 0
    con.close()
