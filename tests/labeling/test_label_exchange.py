"""Export to the dataset's label column, imports, CSV; cached rewards and EPIC from current labels."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from label_helpers import BASELINE, GOAL, fake_cache

from rmeval.dataset import load_dataset
from rmeval.errors import InvalidInputError, StorageError
from rmeval.labeling.cached_rewards import cached_models, dataset_frame_keys, has_cached_models
from rmeval.labeling.exchange import (
    MAJORITY,
    apply_labels,
    auto_labels,
    events_csv,
    export_to_dataset,
    human_labels,
    labels_csv,
    labels_from_index,
    parse_labels_csv,
)
from rmeval.labeling.results import epic_table, labels_by_row, rater_stats
from rmeval.labeling.storage import LabelStore


@pytest.fixture
def store(tmp_path):
    return LabelStore.open(tmp_path / "labels.sqlite")


def frames_of(ds) -> list[str]:
    return ds.index["frame"].tolist()


def test_export_majority_to_dataset_and_epic_sees_it(tiny_dataset, store):
    ds = tiny_dataset
    f = frames_of(ds)
    for rater, labels in {"alice": [1, 0, 1, 0], "bob": [1, 0, 0, 0], "carol": [1, 1, 0]}.items():
        for frame, lab in zip(f, labels):
            store.add_label(ds.name, frame, rater, lab)
    labels = human_labels(store.current_labels(ds.name), f)
    assert labels.iloc[:4].tolist() == [1, 0, 0, 0] and labels.iloc[4:].isna().all()
    _, summary = export_to_dataset(ds, labels)
    assert summary.n_labelled == 4 and summary.n_goal == 1 and summary.preserved_as is None
    reloaded = load_dataset(ds.root)
    assert reloaded.labelled_rows().tolist() == [0, 1, 2, 3]
    assert reloaded.labels(reloaded.labelled_rows()).tolist() == [1, 0, 0, 0]
    assert reloaded.index["auto_label"].tolist() == ds.index["auto_label"].tolist()  # other columns kept
    # one rater's labels instead
    only_alice = human_labels(store.current_labels(ds.name), f, source="alice")
    export_to_dataset(reloaded, only_alice)
    assert load_dataset(ds.root).labels([0, 1, 2, 3]).tolist() == [1, 0, 1, 0]
    with pytest.raises(InvalidInputError):
        human_labels(store.current_labels(ds.name), f, source="nobody")


def test_export_keeps_rule_labels_as_auto_label(ruled_dataset, store):
    ds = ruled_dataset
    store.add_label(ds.name, frames_of(ds)[5], "alice", 1)
    labels = human_labels(store.current_labels(ds.name), frames_of(ds))
    _, summary = export_to_dataset(ds, labels)
    assert summary.preserved_as == "auto_label"
    new = load_dataset(ds.root)
    assert new.index["auto_label"].tolist() == [1, 1, 1, 0, 0, 0, 0, 0]
    assert new.labelled_rows().tolist() == [5]
    auto, where = auto_labels(new.index, new.metadata.label_rule)
    assert "auto_label" in where and auto.tolist() == [1, 1, 1, 0, 0, 0, 0, 0]


def test_auto_labels_sources(tiny_dataset, ruled_dataset):
    auto, where = auto_labels(tiny_dataset.index, "")
    assert where == "the index column 'auto_label'" and auto.index[0] == "frames/000000.png"
    auto, where = auto_labels(ruled_dataset.index, ruled_dataset.metadata.label_rule)
    assert "rule" in where and auto.tolist()[:4] == [1, 1, 1, 0]
    assert auto_labels(ruled_dataset.index, "") == (None, "")


def test_apply_labels_keep_unlabelled_and_summary(ruled_dataset):
    idx = ruled_dataset.index
    labels = pd.Series(pd.array([0], dtype="Int8"), index=[idx["frame"][0]])
    new, s = apply_labels(idx, labels, keep_unlabelled=True)
    assert new["label"].tolist() == [0, 1, 1, 0, 0, 0, 0, 0] and s.n_changed == 1
    new, s = apply_labels(idx, labels)
    assert new["label"].notna().sum() == 1 and s.n_changed == 8
    assert "differ" in s.message()


def test_export_to_unwritable_dataset_is_a_clear_error(tiny_dataset, store, monkeypatch):
    import rmeval.dataset.write as dataset_mod

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(dataset_mod.os, "replace", refuse)
    labels = pd.Series(pd.array([1], dtype="Int8"), index=[frames_of(tiny_dataset)[0]])
    with pytest.raises(StorageError, match=r"old index is unchanged.*permission denied"):
        export_to_dataset(tiny_dataset, labels)
    assert load_dataset(tiny_dataset.root).labelled_rows().size == 0


def test_labels_from_another_dataset(tiny_dataset, ruled_dataset):
    rows, unmatched = labels_from_index(ruled_dataset.index, tiny_dataset.index, rater="rule")
    assert rows[:3] == [("frames/000000.png", "rule", 1), ("frames/000001.png", "rule", 1), ("frames/000002.png", "rule", 1)]
    assert len(rows) == 8 and unmatched == 0
    rows, unmatched = labels_from_index(tiny_dataset.index, ruled_dataset.index, rater="x", column="auto_label")
    assert len(rows) == 8 and unmatched == 4  # frames 8..11 are not in the smaller dataset
    with pytest.raises(InvalidInputError):
        labels_from_index(tiny_dataset.index, ruled_dataset.index, rater="x", column="nope")


def test_csv_round_trip_and_validation(tiny_dataset, store):
    ds = tiny_dataset
    f = frames_of(ds)
    store.add_label(ds.name, f[0], "alice", 1)
    store.add_label(ds.name, f[1], "bob", 0)
    store.add_label(ds.name, f[2], "bob", None)  # skips are not exported
    text = labels_csv(store.current_labels(ds.name), ds.index, ds.name)
    df = pd.read_csv(io.StringIO(text))
    assert list(df.columns) == ["dataset", "dataset_digest", "frame", "episode", "step", "rater", "label", "time"]
    assert len(df) == 2
    rows, n_empty = parse_labels_csv(text.encode(), ds.index, default_rater="x")
    assert rows == [(f[0], "alice", 1), (f[1], "bob", 0)] and n_empty == 0

    by_pair = "Episode,Step,Label\n0,1,goal\n2,3,not goal\n1,0,\n"
    rows, n_empty = parse_labels_csv(by_pair, ds.index, default_rater="dave")
    assert rows == [(f[1], "dave", 1), (f[11], "dave", 0)] and n_empty == 1

    bad = "frame,label\nframes/000000.png,maybe\nframes/999.png,1\n"
    with pytest.raises(InvalidInputError) as err:
        parse_labels_csv(bad, ds.index, default_rater="x")
    assert "line 2" in str(err.value) and "line 3" in str(err.value) and "nothing was imported" in str(err.value)
    for text_, match in [("", "empty"), ("a,b\n1,2\n", "no 'label' column"), ("label\n1\n", "names no frames")]:
        with pytest.raises(InvalidInputError, match=match):
            parse_labels_csv(text_, ds.index, default_rater="x")
    with pytest.raises(InvalidInputError):
        parse_labels_csv("frame,label\nframes/000000.png,1\n", ds.index, default_rater="  ")


def test_events_csv_has_full_history(store):
    store.add_label("d", "f0", "alice", 1)
    store.undo_last("d", "alice")
    df = pd.read_csv(io.StringIO(events_csv(store.events("d"))))
    assert df["kind"].tolist() == ["label", "retract"] and df["retracts"].tolist()[1] == 1


def test_cached_models_rewards_and_epic(tiny_dataset, tmp_path):
    ds = tiny_dataset
    cache = tmp_path / "cache"
    assert not has_cached_models(cache)
    assert cached_models(ds, [GOAL], [BASELINE], cache_dir=cache) == []
    fake_cache(cache, ds, models=2)
    assert has_cached_models(cache)
    models = cached_models(ds, [GOAL], [BASELINE], cache_dir=cache)
    assert [m.model for m in models] == ["fake-0:random", "fake-1:random"]
    assert all(m.found.all() and m.baseline is not None and m.coverage == 1.0 for m in models)
    r = models[0].rewards([0.0, 1.0])
    assert r.shape == (2, 12) and np.isfinite(r).all()

    labels = np.full(12, np.nan)
    labels[:6] = [1, 0, 1, 0, 0, 0]
    table, problems = epic_table(models, labels, [0.0, 0.5], n_resamples=200)
    assert not problems and len(table) == 4 and (table["n_labelled"] == 6).all() and (table["n_goal"] == 2).all()
    from rmeval.epic import epic_from_labels

    expected = epic_from_labels(models[1].rewards([0.5])[0, :6], labels[:6].astype(int))
    got = table[(table["model"] == "fake-1:random") & (table["alpha"] == 0.5)]["epic"].iloc[0]
    assert got == pytest.approx(expected)
    with pytest.raises(InvalidInputError, match="needs both goal and non-goal frames"):
        epic_table(models, np.where(np.isnan(labels), np.nan, 1.0), [0.0])
    with pytest.raises(InvalidInputError, match="no frame is labelled"):
        epic_table(models, np.full(12, np.nan), [0.0])


def test_models_without_prompt_embeddings_are_reported(tiny_dataset, tmp_path):
    fake_cache(tmp_path / "c", tiny_dataset, models=1, prompts=False)
    missing: list[str] = []
    assert cached_models(tiny_dataset, [GOAL], [], cache_dir=tmp_path / "c", incomplete=missing) == []
    assert missing == ["fake-0:random"]


def test_cached_models_match_what_the_embedder_writes(tiny_dataset, tmp_path, tiny_model):
    from rmeval.cache import EmbeddingCache
    from rmeval.embedding import Embedder
    from rmeval.rewards import clip_reward, combine_prompts

    cache = EmbeddingCache(tmp_path / "cache")
    emb = Embedder(tiny_model, batch_size=16, cache=cache, progress=False)
    image = emb.embed_dataset(tiny_dataset)
    goal = combine_prompts(emb.embed_texts([GOAL]))
    models = cached_models(tiny_dataset, [GOAL], [], cache_dir=tmp_path / "cache", keys=dataset_frame_keys(tiny_dataset))
    assert [m.model for m in models] == ["rmeval-tiny:random"]
    np.testing.assert_allclose(models[0].rewards()[0], clip_reward(image, goal), rtol=1e-6)


def test_rater_stats(store):
    store.add_label("d", "f0", "alice", 1)
    store.add_label("d", "f1", "alice", 0)
    store.add_label("d", "f2", "alice", None)
    store.add_label("d", "f0", "bob", 1)
    st = rater_stats(store.current_labels("d"), 4).set_index("rater")
    assert st.loc["alice", ["labelled", "goal", "not_goal", "skipped"]].tolist() == [2, 1, 1, 1]
    assert st.loc["alice", "done"] == 0.5 and st.loc["bob", "goal_share"] == 1.0
    assert rater_stats(store.current_labels("none"), 4).empty


def test_labels_by_row():
    labels = pd.Series(pd.array([1, None], dtype="Int8"), index=["b", "c"])
    out = labels_by_row(["a", "b", "c"], labels)
    assert np.isnan(out[0]) and out[1] == 1.0 and np.isnan(out[2])


def test_majority_export_source_name():
    assert MAJORITY == "majority"


def test_import_refuses_another_datasets_export(tmp_path, tiny_dataset, ruled_dataset, store):
    """Both datasets name their frames frames/000000.png...; the identity tells them apart."""
    from rmeval.labeling.frame_ids import dataset_identity, frame_hashes

    def identity(ds):
        frames = frames_of(ds)
        return dataset_identity(ds.name, frames, frame_hashes(ds.root, frames))

    other = ruled_dataset
    store.add_label(other.name, frames_of(other)[0], "alice", 1)
    text = labels_csv(store.current_labels(other.name), other.index, other.name, identity(other).digest)
    mine = identity(tiny_dataset)
    with pytest.raises(InvalidInputError, match=r"labels of the dataset 'ruled'.*not of 'tiny'.*nothing was imported"):
        parse_labels_csv(text, tiny_dataset.index, default_rater="x", identity=mine)
    # same name, other frames (a dataset rebuilt with other pictures): refused by the digest
    renamed = text.replace("ruled,", "tiny,")
    with pytest.raises(InvalidInputError, match="the frames differ"):
        parse_labels_csv(renamed, tiny_dataset.index, default_rater="x", identity=mine)
    # its own export goes back in; a hand-written file without the columns too
    store.add_label(tiny_dataset.name, frames_of(tiny_dataset)[1], "bob", 0)
    own = labels_csv(store.current_labels(tiny_dataset.name), tiny_dataset.index, tiny_dataset.name, mine.digest)
    assert parse_labels_csv(own, tiny_dataset.index, default_rater="x", identity=mine)[0] == [(frames_of(tiny_dataset)[1], "bob", 0)]
    assert parse_labels_csv("frame,label\nframes/000000.png,1\n", tiny_dataset.index, default_rater="x", identity=mine)[0]


def test_export_summary_counts_labels_set_and_cleared(tiny_dataset):
    index = tiny_dataset.index.copy()
    index["label"] = pd.array([1, 0, None, None] + [None] * 8, dtype="Int8")
    f = frames_of(tiny_dataset)
    labels = pd.Series(pd.array([1, 1, 0, None] + [None] * 8, dtype="Int8"), index=f)
    _, s = apply_labels(index, labels)
    assert (s.n_set, s.n_cleared, s.n_changed) == (2, 0, 2)  # frame 1 changed, frame 2 set
    _, s = apply_labels(index, pd.Series(pd.array([None] * 12, dtype="Int8"), index=f))
    assert (s.n_set, s.n_cleared) == (0, 2) and "2 cleared" in s.message()
