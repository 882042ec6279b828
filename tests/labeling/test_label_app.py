"""Streamlit AppTest: each page's main flow, and bad input shown in the page (no traceback)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from label_helpers import APP, fake_cache
from streamlit.testing.v1 import AppTest

from rmeval.dataset import load_dataset
from rmeval.labeling import pages
from rmeval.labeling.ordering import frame_order
from rmeval.labeling.storage import LabelStore

PAGES = Path(pages.__file__).parent


@pytest.fixture
def env(monkeypatch, tmp_path, tiny_dataset):
    """Point the app at the tiny dataset, a fresh database and an empty cache."""
    db = tmp_path / "db" / "labels.sqlite"
    monkeypatch.setenv("RMEVAL_LABEL_DATASET", str(tiny_dataset.root))
    monkeypatch.setenv("RMEVAL_LABEL_DB", str(db))
    monkeypatch.setenv("RMEVAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RMEVAL_LABEL_AUTO_COLUMN", raising=False)
    return {"db": db, "dataset": tiny_dataset, "cache": tmp_path / "cache"}


def app(rater: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    if rater:
        at.query_params["rater"] = rater
    return at.run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def caption_texts(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def view_args(at: AppTest) -> dict:
    """The arguments the label page gave its frame view (the custom component)."""
    views = [e for e in at.get("component_instance") if e.proto.id.endswith("-lf_view")]
    assert views, "the label page shows no frame view"
    return json.loads(views[-1].proto.json_args)


def send(at: AppTest, ops: list[dict], tab: str = "tab-a") -> dict:
    """What the view sends after keys (answers bound to frames shown); returns the new view args."""
    at.session_state["lf_view"] = {"tab": tab, "nonce": len(ops), "ops": ops}
    at.run()
    no_exception(at)
    return view_args(at)


def answer(at: AppTest, seq: int, frame: str, label: int | None) -> dict:
    args = view_args(at)
    h = args["hashes"][args["order"].index(frame)]
    return {"op": "answer", "seq": seq, "frame": frame, "hash": h, "label": label, "shown_at": 1_000, "key_at": 1_500}


def test_label_page_flow(env):
    at = app()
    no_exception(at)
    # the rater gives a name once; an empty one is refused in the page
    assert not [e for e in at.get("component_instance") if e.proto.id.endswith("-lf_view")]  # no labelling yet
    at.text_input(key="rater_input").input("   ")
    at.form_submit_button[0].click().run()
    assert any("cannot be empty" in e.value for e in at.error)
    at.text_input(key="rater_input").input("alice")
    at.form_submit_button[0].click().run()
    no_exception(at)
    assert at.markdown[0].value == "##### Goal: *a bright square in the middle*"
    args = view_args(at)
    frames = [f"frames/{i:06d}.png" for i in range(12)]
    assert args["order"] == frames and args["answers"] == [None] * 12 and args["rater"] == "alice"
    assert args["base"].endswith("/") and "frames_" in args["base"] and not args["read_only"]
    assert "rmeval label --dataset" in args["restart"] and "--port" in args["restart"]

    ops = [answer(at, 1, frames[0], 1), answer(at, 2, frames[1], 0), answer(at, 3, frames[2], None)]
    args = send(at, ops)
    assert [o["status"] for o in args["outcomes"]] == ["stored", "stored", "stored"]
    assert args["answers"][:4] == [1, 0, -1, None]
    ops.append({"op": "undo", "seq": 4, "target": 3})  # U: takes back the skip of frame 2
    args = send(at, ops)
    assert args["outcomes"][-1] == {"seq": 4, "status": "undone", "frame": frames[2], "message": ""}
    assert args["answers"][:3] == [1, 0, None]
    send(at, ops)  # sent again (no acknowledgement seen): nothing new

    store = LabelStore.open(env["db"])
    events = store.events("tiny")
    assert events["kind"].tolist() == ["label", "label", "skip", "retract"]
    assert events["rater"].unique().tolist() == ["alice"]
    cur = store.current_labels("tiny").set_index("frame")["label"]
    assert cur.to_dict() == {"frames/000000.png": 1, "frames/000001.png": 0}
    assert any("**All raters:** 2 / 12 frames labelled" in m.value for m in at.markdown)


def test_random_and_informative_orders(env):
    at = app("alice")
    at.selectbox(key="lf_mode").select("random").run()
    at.number_input(key="lf_seed").set_value(5).run()
    order = [f"frames/{int(r):06d}.png" for r in frame_order(12, "random", seed=5)]
    assert view_args(at)["order"] == order
    # most informative first without a cache: a clear note, sequential order
    at.selectbox(key="lf_mode").select("informative").run()
    no_exception(at)
    assert any("rmeval epic" in i.value for i in at.sidebar.info)
    assert view_args(at)["order"][0] == "frames/000000.png"


def test_informative_order_uses_cached_rewards(env):
    from rmeval.labeling.cached_rewards import cached_models
    from rmeval.labeling.ordering import informativeness

    fake_cache(env["cache"], env["dataset"], models=2)
    at = app("alice")
    at.selectbox(key="lf_mode").select("informative").run()
    no_exception(at)
    assert any("fake-0:random, fake-1:random" in i.value for i in at.sidebar.info)
    models = cached_models(env["dataset"], ["a bright square in the middle"], ["a square"], cache_dir=env["cache"])
    expected = frame_order(12, "informative", scores=informativeness(np.vstack([m.rewards()[0] for m in models])))
    assert view_args(at)["order"] == [f"frames/{int(r):06d}.png" for r in expected]


def test_two_sessions_do_not_overwrite_each_other(env):
    a, b = app("alice"), app("bob")
    f0, f1 = "frames/000000.png", "frames/000001.png"
    send(a, [answer(a, 1, f0, 1)], tab="ta")
    send(b, [answer(b, 1, f0, 0)], tab="tb")  # the same seq in another tab is another answer
    send(a, [answer(a, 1, f0, 1), answer(a, 2, f1, 0)], tab="ta")
    cur = LabelStore.open(env["db"]).current_labels("tiny")
    got = {(r, f): int(v) for r, f, v in zip(cur["rater"], cur["frame"], cur["label"])}
    assert got == {("alice", f0): 1, ("bob", f0): 0, ("alice", f1): 0}
    b.run()
    assert any("**All raters:** 2 / 12 frames labelled · 3 labels · 2 raters" in m.value for m in b.markdown)


def test_missing_dataset_is_a_message(env, monkeypatch, tmp_path):
    monkeypatch.setenv("RMEVAL_LABEL_DATASET", str(tmp_path / "nowhere"))
    at = app("alice")
    no_exception(at)
    assert any("cannot be loaded" in e.value for e in at.error)
    assert any("no such directory" in c.value for c in at.code)
    assert not at.button


def test_malformed_dataset_is_a_message(env, monkeypatch):
    (env["dataset"].root / "metadata.json").write_text("{not json")
    at = app("alice")
    no_exception(at)
    assert any("cannot be loaded" in e.value for e in at.error)
    assert any("metadata.json" in c.value for c in at.code)


@pytest.mark.parametrize("kind", ["text", "sqlite"])
def test_foreign_database_is_a_message_and_untouched(env, kind):
    db: Path = env["db"]
    db.parent.mkdir(parents=True)
    if kind == "text":
        db.write_text("precious notes\n")
    else:
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    at = app("alice")
    no_exception(at)
    assert any("labels database cannot be used" in e.value for e in at.error)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_read_only_database_shows_labels_but_saves_nothing(env, monkeypatch):
    store = LabelStore.open(env["db"])
    store.add_label("tiny", "frames/000000.png", "alice", 1)
    monkeypatch.setattr(LabelStore, "_not_writable_reason", staticmethod(lambda p: f"the file {p} is not writable"))
    at = app("alice")
    no_exception(at)
    assert any("read-only" in w.value for w in at.warning)
    args = view_args(at)
    assert args["read_only"] and args["answers"][0] == 1
    args = send(at, [answer(at, 1, "frames/000001.png", 1)])
    assert args["outcomes"][0]["status"] == "refused" and "read-only" in args["outcomes"][0]["message"]
    monkeypatch.undo()
    assert len(LabelStore.open(env["db"]).events("tiny")) == 1


def test_write_failure_is_refused_and_said(env, monkeypatch):
    from rmeval.labeling.storage import LabelStoreError

    at = app("alice")

    def broken(self, *args, **kwargs):
        raise LabelStoreError("cannot save the label: disk full. Nothing was saved.")

    monkeypatch.setattr(LabelStore, "add_answers", broken)
    args = send(at, [answer(at, 1, "frames/000000.png", 1)])
    assert args["outcomes"][0]["status"] == "refused" and "disk full" in args["outcomes"][0]["message"]
    assert args["answers"][0] is None


def test_trajectory_page_flow(env):
    at = app("alice")
    at.switch_page(str(PAGES / "score_trajectories.py")).run()
    no_exception(at)
    assert any("Episode 0 · policy **ckpt-a** · 4 timesteps" in c for c in caption_texts(at))
    at.button(key="quick_50").click().run()  # 2 of 4
    assert any("Episode 1 · policy **ckpt-a**" in c for c in caption_texts(at))  # moved on
    assert at.number_input(key="tr_exact_1").value is None  # empty, not 0
    at.button(key="save_exact").click().run()  # nothing typed: a message, nothing saved
    assert any("Type a count" in e.value for e in at.error)
    at.number_input(key="tr_exact_1").set_value(1).run()
    at.button(key="save_exact").click().run()
    at.button(key="quick_100").click().run()  # episode 2, policy ckpt-b
    no_exception(at)
    cur = LabelStore.open(env["db"]).current_scores("tiny")
    assert list(zip(cur["episode"], cur["n_task"], cur["n_steps"], cur["policy"])) == [
        (0, 2, 4, "ckpt-a"), (1, 1, 4, "ckpt-a"), (2, 4, 4, "ckpt-b")
    ]
    table = at.dataframe[0].value.set_index("policy")
    assert table.loc["ckpt-a", "n_success"] == 1 and table.loc["ckpt-b", "success_rate"] == 100.0
    at.slider(key="tr_threshold").set_value(75).run()
    assert at.dataframe[0].value.set_index("policy").loc["ckpt-a", "n_success"] == 0
    assert at.get("download_button")


def test_results_page(env):
    store = LabelStore.open(env["db"])
    frames = [f"frames/{i:06d}.png" for i in range(12)]
    for i, f in enumerate(frames[:8]):
        store.add_label("tiny", f, "alice", int(i % 2 == 0))
        store.add_label("tiny", f, "bob", int(i % 4 == 0))
    at = app()
    at.switch_page(str(PAGES / "results.py")).run()
    no_exception(at)
    assert any("No cached embeddings" in i.value for i in at.info)
    frames_shown = [d.value for d in at.dataframe]
    pairs = frames_shown[1]
    assert pairs.loc[0, "n_common"] == 8 and pairs.loc[0, "agreement"] == pytest.approx(0.75)
    assert any("disagree on: **2**" in m.value for m in at.markdown)

    fake_cache(env["cache"], env["dataset"], models=1)
    at.button(key="res_refresh_empty").click().run()
    no_exception(at)
    epic = at.dataframe[-1].value
    assert epic["model"].tolist() == ["fake-0:random"] and epic["n_labelled"].tolist() == [6]  # 2 ties left out
    at.text_input(key="res_alphas").input("0,1").run()
    assert at.dataframe[-1].value["alpha"].tolist() == [0.0, 1.0]
    at.text_input(key="res_alphas").input("2").run()
    no_exception(at)
    assert any("alpha must lie in [0, 1]" in w.value for w in at.warning)


def test_import_export_page(env, ruled_dataset, monkeypatch):
    monkeypatch.setenv("RMEVAL_LABEL_DATASET", str(ruled_dataset.root))
    at = app()
    at.switch_page(str(PAGES / "import_export.py")).run()
    no_exception(at)
    at.button(key="io_import_self").click().run()
    assert any("Imported 8 new label(s) as rater 'ruled:label'" in s.value for s in at.success)
    at.button(key="io_import_self").click().run()
    assert any("Imported 0 new label(s)" in s.value for s in at.success)

    store = LabelStore.open(env["db"])
    store.add_label("ruled", "frames/000007.png", "alice", 1)
    store.add_label("ruled", "frames/000007.png", "bob", 1)
    at.run()
    at.button(key="io_export").click().run()
    no_exception(at)
    assert any("**1** label(s) set or changed, **0** cleared" in w.value for w in at.warning)  # asks first
    assert not any("Wrote the labels" in s.value for s in at.success)
    at.button(key="io_export_yes").click().run()
    no_exception(at)
    assert any("Wrote the labels" in s.value for s in at.success)
    ds = load_dataset(ruled_dataset.root)
    assert ds.labels(ds.labelled_rows()).tolist() == [1, 1, 1, 0, 0, 0, 0, 1]
    assert ds.index["auto_label"].tolist() == [1, 1, 1, 0, 0, 0, 0, 0]

    at.text_input(key="io_other_path").input(str(env["dataset"].root / "missing")).run()
    at.button(key="io_import_other").click().run()
    no_exception(at)
    assert any("Cannot load that dataset" in e.value for e in at.error)
