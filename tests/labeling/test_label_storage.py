"""The labels database: events, undo, refusal of foreign files, read-only mode, concurrent writers."""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from rmeval.errors import InvalidInputError
from rmeval.labeling import storage
from rmeval.labeling.storage import (
    APPLICATION_ID,
    MARKER,
    SCHEMA_VERSION,
    LabelStore,
    LabelStoreError,
    check_rater,
    default_db_path,
)

DS = "tiny"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_database_is_marked_and_in_wal_mode(tmp_path):
    db = tmp_path / "sub" / "labels.sqlite"
    store = LabelStore.open(db)
    assert db.is_file() and not store.read_only
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("SELECT value FROM meta WHERE key = 'app'").fetchone()[0] == MARKER
    con.close()
    # opening again keeps everything
    store.add_label(DS, "frames/000000.png", "alice", 1)
    assert len(LabelStore.open(db).current_labels(DS)) == 1


def test_labels_relabel_skip_and_undo_keep_history(tmp_path):
    store = LabelStore.open(tmp_path / "l.sqlite")
    store.add_label(DS, "f0", "alice", 1)
    store.add_label(DS, "f1", "alice", 0)
    store.add_label(DS, "f1", "alice", 1)  # relabel: the latest counts
    store.add_label(DS, "f2", "alice", None)  # skip
    cur = store.current_labels(DS, "alice").set_index("frame")
    assert cur.loc["f0", "label"] == 1 and cur.loc["f1", "label"] == 1
    assert cur.loc["f2", "kind"] == "skip" and cur["label"].isna()["f2"]

    undone = store.undo_last(DS, "alice")  # retracts the skip of f2
    assert undone is not None and undone.frame == "f2" and undone.kind == "skip"
    undone = store.undo_last(DS, "alice")  # retracts the relabel: f1 is 0 again
    assert undone is not None and undone.frame == "f1" and undone.label == 1
    cur = store.current_labels(DS, "alice").set_index("frame")
    assert set(cur.index) == {"f0", "f1"} and cur.loc["f1", "label"] == 0

    events = store.events(DS)
    assert events["kind"].tolist() == ["label", "label", "label", "skip", "retract", "retract"]
    assert events["retracts"].tolist()[4:] == [4, 3]
    assert events["id"].is_monotonic_increasing


def test_undo_only_touches_the_raters_own_labels(tmp_path):
    store = LabelStore.open(tmp_path / "l.sqlite")
    store.add_label(DS, "f0", "alice", 1)
    store.add_label(DS, "f0", "bob", 0)
    assert store.undo_last(DS, "alice").frame == "f0"
    assert store.undo_last(DS, "alice") is None  # nothing left for alice
    cur = store.current_labels(DS)
    assert cur["rater"].tolist() == ["bob"] and cur["label"].tolist() == [0]
    assert store.undo_last("other-dataset", "bob") is None


def test_datasets_are_kept_apart(tmp_path):
    store = LabelStore.open(tmp_path / "l.sqlite")
    store.add_label("a", "f0", "alice", 1)
    store.add_label("b", "f0", "alice", 0)
    assert store.current_labels("a")["label"].tolist() == [1]
    assert store.current_labels("b")["label"].tolist() == [0]
    assert store.datasets() == ["a", "b"]


@pytest.mark.parametrize("name", ["", "   ", None, "x" * 200, "a\x00b"])
def test_bad_rater_names_are_refused_and_nothing_is_written(tmp_path, name):
    store = LabelStore.open(tmp_path / "l.sqlite")
    with pytest.raises(InvalidInputError):
        store.add_label(DS, "f0", name, 1)  # type: ignore[arg-type]
    assert store.events(DS).empty


def test_rater_names_are_normalised():
    assert check_rater("  Ada   Lovelace ") == "Ada Lovelace"


def test_bad_label_values_are_refused(tmp_path):
    store = LabelStore.open(tmp_path / "l.sqlite")
    with pytest.raises(InvalidInputError):
        store.add_label(DS, "f0", "alice", 2)
    with pytest.raises(InvalidInputError):
        store.add_labels(DS, [("f0", "alice", 1), ("f1", "alice", 5)], source="import:x")
    assert store.events(DS).empty  # all or nothing


def test_bulk_import_is_idempotent(tmp_path):
    store = LabelStore.open(tmp_path / "l.sqlite")
    rows = [("f0", "imp", 1), ("f1", "imp", 0)]
    assert store.add_labels(DS, rows, source="import:x") == 2
    assert store.add_labels(DS, rows, source="import:x") == 0
    assert store.add_labels(DS, [("f1", "imp", 1)], source="import:y") == 1
    assert store.current_labels(DS).set_index("frame")["label"].to_dict() == {"f0": 1, "f1": 1}
    assert store.events(DS)["source"].tolist() == ["import:x", "import:x", "import:y"]


def test_not_sqlite_file_is_refused_and_unchanged(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("these are my notes, not a database\n")
    before = digest(path)
    with pytest.raises(LabelStoreError, match="not an SQLite database"):
        LabelStore.open(path)
    assert digest(path) == before


def test_foreign_sqlite_database_is_refused_and_unchanged(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE accounts (id INTEGER, balance REAL)")
    con.execute("INSERT INTO accounts VALUES (1, 100.0)")
    con.commit()
    con.close()
    before = digest(path)
    with pytest.raises(LabelStoreError, match="not an rmeval labels database"):
        LabelStore.open(path)
    assert digest(path) == before
    assert not Path(str(path) + "-wal").exists()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "l.sqlite"
    LabelStore.open(path)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    before = digest(path)
    with pytest.raises(LabelStoreError, match=r"newer rmeval \(labels schema 3; this rmeval reads 2\)\. Upgrade rmeval"):
        LabelStore.open(path)
    assert digest(path) == before


#: The schema of version 1 (before answer_receipts), as rmeval wrote it.
V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE label_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, dataset TEXT NOT NULL, frame TEXT NOT NULL, rater TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('label', 'skip', 'retract')), label INTEGER CHECK (label IN (0, 1)),
    retracts INTEGER REFERENCES label_events(id), source TEXT NOT NULL DEFAULT 'app',
    session TEXT NOT NULL DEFAULT '', time REAL NOT NULL,
    CHECK ((kind = 'label') = (label IS NOT NULL)), CHECK ((kind = 'retract') = (retracts IS NOT NULL))
);
CREATE INDEX label_events_by_rater ON label_events(dataset, rater, frame);
CREATE INDEX label_events_by_retracts ON label_events(retracts);
CREATE TABLE trajectory_scores (
    id INTEGER PRIMARY KEY AUTOINCREMENT, dataset TEXT NOT NULL, episode INTEGER NOT NULL,
    policy TEXT NOT NULL DEFAULT '', rater TEXT NOT NULL, n_steps INTEGER NOT NULL CHECK (n_steps >= 1),
    n_task INTEGER NOT NULL CHECK (n_task >= 0 AND n_task <= n_steps), session TEXT NOT NULL DEFAULT '',
    time REAL NOT NULL
);
CREATE INDEX trajectory_scores_by_rater ON trajectory_scores(dataset, rater, episode);
INSERT INTO meta VALUES ('app', 'rmeval-labels');
INSERT INTO label_events (dataset, frame, rater, kind, label, time) VALUES ('tiny', 'f0.png', 'alice', 'label', 1, 1.0);
INSERT INTO label_events (dataset, frame, rater, kind, label, time) VALUES ('tiny', 'f1.png', 'alice', 'label', 0, 2.0);
INSERT INTO label_events (dataset, frame, rater, kind, retracts, time) VALUES ('tiny', 'f1.png', 'alice', 'retract', 2, 3.0);
INSERT INTO label_events (dataset, frame, rater, kind, label, time) VALUES ('tiny', 'f2.png', 'bob', 'skip', NULL, 4.0);
INSERT INTO trajectory_scores (dataset, episode, rater, n_steps, n_task, time) VALUES ('tiny', 0, 'alice', 10, 3, 5.0);
"""


def version1_db(path: Path) -> Path:
    """A labels database of schema version 1, with labels, an undo, a skip and a score."""
    con = sqlite3.connect(path)
    con.executescript(V1_SCHEMA)
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.execute("PRAGMA journal_mode = WAL")
    con.close()
    return path


def test_version1_database_is_upgraded_in_place_keeping_every_label(tmp_path):
    path = version1_db(tmp_path / "old.sqlite")
    before = LabelStore.open(path, read_only=True)  # read-only: read as it is, not upgraded
    assert before.current_labels(DS)[["frame", "rater"]].values.tolist() == [["f0.png", "alice"], ["f2.png", "bob"]]
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1
    con.close()

    store = LabelStore.open(path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "answer_receipts" in tables
    assert con.execute("SELECT count(*) FROM label_events").fetchone()[0] == 4
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    cur = store.current_labels(DS)
    assert cur[["frame", "rater", "kind"]].values.tolist() == [["f0.png", "alice", "label"], ["f2.png", "bob", "skip"]]
    assert store.current_scores(DS)[["episode", "n_task", "n_steps"]].values.tolist() == [[0, 3, 10]]
    assert store.add_answer(DS, "f1.png", "alice", 1, session="t1", seq=1) == (5, True)  # receipts work now
    assert store.add_answer(DS, "f1.png", "alice", 1, session="t1", seq=1) == (5, False)
    assert LabelStore.open(path).current_labels(DS)["frame"].tolist() == ["f0.png", "f2.png", "f1.png"]  # reopens


def test_version1_database_with_receipts_made_on_first_use_is_upgraded(tmp_path):
    path = version1_db(tmp_path / "old.sqlite")
    con = sqlite3.connect(path)  # rmeval versions between 1 and 2 created the table on first use
    con.execute("CREATE TABLE answer_receipts (session TEXT NOT NULL, seq INTEGER NOT NULL, event_id INTEGER NOT NULL, "
                "shown_at REAL, key_at REAL, PRIMARY KEY (session, seq))")
    con.execute("INSERT INTO answer_receipts VALUES ('t1', 1, 1, NULL, NULL)")
    con.commit()
    con.close()
    store = LabelStore.open(path)
    assert store.add_answer(DS, "f0.png", "alice", 1, session="t1", seq=1) == (1, False)
    assert len(store.events(DS)) == 4


def test_unknown_old_schema_is_refused_and_unchanged(tmp_path):
    path = version1_db(tmp_path / "old.sqlite")
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 0")
    con.commit()
    con.close()
    before = digest(path)
    with pytest.raises(LabelStoreError, match="unknown labels schema version 0"):
        LabelStore.open(path)
    assert digest(path) == before


def test_directory_is_refused(tmp_path):
    with pytest.raises(LabelStoreError, match="directory"):
        LabelStore.open(tmp_path)


def test_empty_file_becomes_a_database(tmp_path):
    path = tmp_path / "empty.sqlite"
    path.touch()
    LabelStore.open(path).add_label(DS, "f0", "alice", 1)
    assert len(LabelStore.open(path).current_labels(DS)) == 1


def test_read_only_mode_reads_but_never_writes(tmp_path):
    path = tmp_path / "l.sqlite"
    LabelStore.open(path).add_label(DS, "f0", "alice", 1)
    before = LabelStore.open(path).events(DS)
    ro = LabelStore.open(path, read_only=True)
    assert ro.read_only and ro.read_only_reason
    assert ro.current_labels(DS)["label"].tolist() == [1]
    with pytest.raises(LabelStoreError, match="read-only"):
        ro.add_label(DS, "f1", "alice", 0)
    with pytest.raises(LabelStoreError, match="read-only"):
        ro.undo_last(DS, "alice")
    with pytest.raises(LabelStoreError, match="read-only"):
        ro.add_score(DS, 0, "alice", 1, 4)
    assert LabelStore.open(path).events(DS).equals(before)


def test_unwritable_file_opens_read_only(tmp_path, monkeypatch):
    # Tests run as root, where chmod does not stop writes: simulate the permission check.
    path = tmp_path / "l.sqlite"
    LabelStore.open(path).add_label(DS, "f0", "alice", 1)
    real_access = storage.os.access
    monkeypatch.setattr(storage.os, "access", lambda p, mode: False if mode == storage.os.W_OK else real_access(p, mode))
    store = LabelStore.open(path)
    assert store.read_only and "not writable" in store.read_only_reason
    assert store.current_labels(DS)["label"].tolist() == [1]


def test_missing_database_in_read_only_mode_is_an_error(tmp_path):
    with pytest.raises(LabelStoreError, match="no labels database"):
        LabelStore.open(tmp_path / "missing.sqlite", read_only=True)
    assert not (tmp_path / "missing.sqlite").exists()


def test_write_error_is_reported_not_raised_as_sqlite_error(tmp_path):
    path = tmp_path / "l.sqlite"
    store = LabelStore.open(path)
    path.unlink()
    for extra in ("-wal", "-shm"):
        Path(str(path) + extra).unlink(missing_ok=True)
    path.mkdir()  # the file is gone and a directory is in its place
    with pytest.raises(LabelStoreError):
        store.add_label(DS, "f0", "alice", 1)


def test_trajectory_scores_latest_wins_and_are_validated(tmp_path):
    store = LabelStore.open(tmp_path / "l.sqlite")
    store.add_score(DS, 0, "alice", 10, 100, policy="a")
    store.add_score(DS, 0, "alice", 60, 100, policy="a")
    store.add_score(DS, 0, "bob", 100, 100, policy="a")
    store.add_score(DS, 1, "alice", 0, 100, policy="b")
    cur = store.current_scores(DS)
    assert list(zip(cur["episode"], cur["rater"], cur["n_task"])) == [(0, "alice", 60), (0, "bob", 100), (1, "alice", 0)]
    with pytest.raises(InvalidInputError):
        store.add_score(DS, 0, "alice", 101, 100)
    with pytest.raises(InvalidInputError):
        store.add_score(DS, 0, "alice", -1, 100)
    with pytest.raises(InvalidInputError):
        store.add_score(DS, 0, "", 1, 100)
    assert store.counts(DS) == {"events": 0, "scores": 4}
    assert store.raters(DS) == ["alice", "bob"]


def test_default_db_path_is_outside_the_dataset(tmp_path):
    assert default_db_path("cartpole-angle", tmp_path) == tmp_path / "labels" / "cartpole-angle.sqlite"
    assert default_db_path("../../etc/x y", tmp_path).parent == tmp_path / "labels"


def _writer(path: str, rater: str, n: int, barrier: object) -> None:
    store = LabelStore.open(path)
    barrier.wait()  # type: ignore[attr-defined]
    for i in range(n):
        store.add_label(DS, f"f{i % 25}", rater, i % 2, session=rater)


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = str(tmp_path / "l.sqlite")
    LabelStore.open(path)
    n = 150
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(path, r, n, barrier)) for r in ("alice", "bob")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = LabelStore.open(path)
    events = store.events(DS)
    assert len(events) == 2 * n
    assert events.groupby("rater").size().to_dict() == {"alice": n, "bob": n}
    cur = store.current_labels(DS)
    assert len(cur) == 50  # 25 frames x 2 raters, neither overwrote the other
    # the last label of frame f{k} was written at the largest i with i % 25 == k
    expected = {f"f{k}": max(i for i in range(n) if i % 25 == k) % 2 for k in range(25)}
    for rater in ("alice", "bob"):
        got = cur[cur["rater"] == rater].set_index("frame")["label"].astype(int).to_dict()
        assert got == expected


def test_two_threads_writing_at_once_lose_nothing(tmp_path):
    store = LabelStore.open(tmp_path / "l.sqlite")
    errors: list[BaseException] = []

    def work(rater: str) -> None:
        try:
            for i in range(100):
                store.add_label(DS, f"f{i}", rater, 1)
                if i % 10 == 9:
                    store.undo_last(DS, rater)
        except BaseException as exc:  # noqa: BLE001  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    cur = store.current_labels(DS)
    assert cur.groupby("rater").size().to_dict() == {"alice": 90, "bob": 90}


def test_undo_takes_back_this_tabs_answer_first(tmp_path):
    """One rater in two browser tabs: each tab's Undo retracts that tab's latest answer."""
    store = LabelStore.open(tmp_path / "l.sqlite")
    store.add_label(DS, "f0", "alice", 1, session="tab-a")
    store.add_label(DS, "f1", "alice", 0, session="tab-b")
    store.add_label(DS, "f2", "alice", 1, session="tab-a")
    store.add_label(DS, "f3", "alice", 1, session="tab-b")  # the latest overall
    assert store.undo_last(DS, "alice", session="tab-a").frame == "f2"
    assert store.undo_last(DS, "alice", session="tab-a").frame == "f0"
    # tab-a has nothing left (e.g. after a reload, a new session): the rater's latest answer
    assert store.undo_last(DS, "alice", session="tab-a").frame == "f3"
    assert store.undo_last(DS, "alice", session="tab-b").frame == "f1"
    assert store.undo_last(DS, "alice", session="tab-b") is None
    assert set(store.current_labels(DS)["frame"]) == set()
