"""Answers bound to the frame shown (rmeval.labeling.answers, LabelStore receipts), without a browser."""

from __future__ import annotations

import sqlite3

import pytest

from rmeval.labeling.answers import apply_ops, parse_foreign, parse_ops
from rmeval.labeling.frame_ids import dataset_identity, file_hash, frame_hashes
from rmeval.labeling.storage import LabelStore


@pytest.fixture
def setup(tmp_path, tiny_dataset):
    store = LabelStore.open(tmp_path / "labels.sqlite")
    frames = tiny_dataset.index["frame"].tolist()
    hashes = dict(zip(frames, frame_hashes(tiny_dataset.root, frames)))
    return store, tiny_dataset, frames, hashes


def answer(seq, frame, hashes, label=1, shown=1_000.0, key=1_200.0):
    return {"op": "answer", "seq": seq, "frame": frame, "hash": hashes.get(frame, "x"), "label": label,
            "shown_at": shown, "key_at": key}


def run(store, ds, frames, ops, tab="t1", done=None):
    return apply_ops(store, ds.name, "alice", tab, ops, root=ds.root, frames=set(frames), done=done)


def events(store, ds):
    return [(r.frame, r.kind, None if r.label is pd_na else r.label) for r in store.events(ds.name).itertuples()]


pd_na = __import__("pandas").NA


def test_each_answer_is_stored_once_for_the_frame_it_names(setup):
    store, ds, frames, hashes = setup
    ops = [answer(1, frames[0], hashes), answer(2, frames[1], hashes, label=0), answer(3, frames[2], hashes, label=None)]
    out = run(store, ds, frames, ops)
    assert [o.status for o in out] == ["stored"] * 3
    again = run(store, ds, frames, ops)  # the browser re-sends: nothing new (receipts in the database)
    assert [o.status for o in again] == ["already"] * 3
    assert events(store, ds) == [(frames[0], "label", 1), (frames[1], "label", 0), (frames[2], "skip", None)]
    con = sqlite3.connect(store.path)
    assert con.execute("SELECT seq, shown_at, key_at FROM answer_receipts ORDER BY seq").fetchall() == [
        (1, 1.0, 1.2), (2, 1.0, 1.2), (3, 1.0, 1.2)]
    con.close()


def test_refusals_never_store_on_another_frame(setup, tmp_path):
    store, ds, frames, hashes = setup
    wrong_hash = dict(answer(1, frames[0], hashes), hash="0" * 16)
    not_a_frame = answer(2, "frames/999999.png", hashes)
    too_early = answer(3, frames[1], hashes, shown=2_000.0, key=1_999.0)
    bad_label = answer(4, frames[1], hashes, label=7)
    out = run(store, ds, frames, [wrong_hash, not_a_frame, too_early, bad_label])
    assert [o.status for o in out] == ["refused"] * 4
    assert "changed on disk" in out[0].message and "not a frame" in out[1].message
    assert "before" in out[2].message and "not an answer" in out[3].message
    assert events(store, ds) == []
    # a frame rewritten after it was shown: refused, it is not the picture the rater saw
    (ds.root / frames[5]).write_bytes((ds.root / frames[6]).read_bytes())
    out = run(store, ds, frames, [answer(5, frames[5], hashes)])
    assert out[0].status == "refused" and file_hash(ds.root / frames[5]) != hashes[frames[5]]


def test_undo_retracts_exactly_the_answer_named_once(setup):
    store, ds, frames, hashes = setup
    run(store, ds, frames, [answer(1, frames[0], hashes), answer(2, frames[1], hashes)])
    undo = {"op": "undo", "seq": 3, "target": 1}
    out = run(store, ds, frames, [undo])
    assert out[0].status == "undone" and out[0].frame == frames[0]
    assert run(store, ds, frames, [undo])[0].frame == ""  # re-sent: nothing more
    cur = store.current_labels(ds.name, "alice")
    assert cur["frame"].tolist() == [frames[1]]
    # another tab's seq numbers are its own
    assert run(store, ds, frames, [answer(1, frames[4], hashes)], tab="t2")[0].status == "stored"


def test_done_cache_skips_the_database_and_parse_ops_ignores_junk(setup):
    store, ds, frames, hashes = setup
    done: set[int] = set()
    run(store, ds, frames, [answer(1, frames[0], hashes)], done=done)
    assert done == {1}
    assert run(store, ds, frames, [answer(1, frames[3], hashes)], done=done)[0].status == "already"
    assert events(store, ds) == [(frames[0], "label", 1)]
    assert parse_ops(None) == ("", []) and parse_ops({"tab": "", "ops": []}) == ("", [])
    tab, ops = parse_ops({"tab": "t", "ops": [{"seq": 2}, "junk", {"seq": 1}, {"seq": "3"}]})
    assert tab == "t" and [o["seq"] for o in ops] == [1, 2]


def test_identity_depends_on_the_pictures_not_only_the_paths(tiny_dataset, ruled_dataset):
    a_frames = tiny_dataset.index["frame"].tolist()[:8]
    b_frames = ruled_dataset.index["frame"].tolist()
    a = dataset_identity("x", a_frames, frame_hashes(tiny_dataset.root, a_frames))
    b = dataset_identity("x", b_frames, frame_hashes(ruled_dataset.root, b_frames))
    assert a_frames == b_frames
    assert a == b  # same pictures (make_frames) under the same paths
    (ruled_dataset.root / b_frames[0]).write_bytes((ruled_dataset.root / b_frames[1]).read_bytes())
    c = dataset_identity("x", b_frames, frame_hashes(ruled_dataset.root, b_frames))
    assert c.digest != a.digest and str(c).startswith("x@")


def test_answers_of_an_earlier_tab_are_stored_under_its_id_once(setup):
    store, ds, frames, hashes = setup
    assert [o.status for o in run(store, ds, frames, [answer(1, frames[0], hashes)], tab="old")] == ["stored"]
    value = {"tab": "new", "ops": [], "foreign": [
        {"tab": "old", "ops": [answer(2, frames[1], hashes, label=0), answer(1, frames[0], hashes)]},
        {"tab": "new", "ops": [answer(9, frames[5], hashes)]},  # its own tab: not foreign
        {"tab": "", "ops": [answer(3, frames[3], hashes)]}, "junk",
    ]}
    foreign = parse_foreign(value)
    assert [(t, [op["seq"] for op in ops]) for t, ops in foreign] == [("old", [1, 2])]
    for _ in range(2):  # re-sent: stored once, under the earlier tab's id and seq
        tab, ops = foreign[0]
        assert [(o.seq, o.status) for o in run(store, ds, frames, ops, tab=tab)][1:] in ([(2, "stored")], [(2, "already")])
    assert events(store, ds) == [(frames[0], "label", 1), (frames[1], "label", 0)]
    con = sqlite3.connect(store.path)
    assert con.execute("SELECT session, seq, shown_at, key_at FROM answer_receipts ORDER BY seq").fetchall() == [
        ("old", 1, 1.0, 1.2), ("old", 2, 1.0, 1.2)]
    con.close()
    assert parse_foreign({"tab": "x", "ops": []}) == [] and parse_foreign(None) == []
