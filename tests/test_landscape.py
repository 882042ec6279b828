"""`rmeval landscape`: aggregation, goal regions, plots, and the command end to end with rmeval-tiny."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmeval.commands.common import datasets_dir
from rmeval.errors import InvalidInputError
from rmeval.landscape import (
    COLUMNS,
    goal_intervals,
    goal_table,
    landscape_table,
    param_values,
    plot_landscape,
)

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- pure functions


def test_landscape_table_aggregates_per_value_and_alpha():
    values = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 2.0])
    rewards = np.array([[1.0, 3.0, 2.0, 4.0, 6.0, 0.0], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]])
    t = landscape_table(rewards, [0.0, 1.0], values)
    a0 = t[t["alpha"] == 0.0].set_index("value")
    assert a0["reward_mean"].tolist() == [2.0, 4.0, 0.0]
    assert a0["reward_min"].tolist() == [1.0, 2.0, 0.0] and a0["reward_max"].tolist() == [3.0, 6.0, 0.0]
    assert a0["n"].tolist() == [2, 3, 1]
    np.testing.assert_allclose(a0["reward_std"], [1.0, np.std([2, 4, 6]), 0.0])
    # scaled over all frames of the alpha: min 0 -> 0, max 6 -> 1
    np.testing.assert_allclose(a0["reward_scaled_max"], [0.5, 1.0, 0.0])
    a1 = t[t["alpha"] == 1.0]
    assert (a1["reward_scaled_mean"] == 0.5).all()  # constant rewards scale to 0.5
    with pytest.raises(InvalidInputError, match="shape"):
        landscape_table(rewards[:, :3], [0.0, 1.0], values)


def test_goal_table_and_intervals():
    values = np.array([-0.2, -0.1, 0.0, 0.1, 0.2, 0.0])
    labels = np.array([0, 1, 1, 1, 0, np.nan])
    g = goal_table(values, labels)
    assert g["value"].tolist() == [-0.2, -0.1, 0.0, 0.1, 0.2]
    assert g["goal_fraction"].tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert g["n_labelled"].tolist() == [1, 1, 1, 1, 1]
    assert goal_intervals(g) == [pytest.approx((-0.15, 0.15))]
    # a run at the edge ends at the last value; two runs stay separate
    g2 = pd.DataFrame({"value": [0.0, 1.0, 2.0, 3.0], "goal_fraction": [1.0, 0.0, 1.0, 1.0]})
    assert goal_intervals(g2) == [(0.0, 0.5), (1.5, 3.0)]
    assert goal_intervals(pd.DataFrame({"value": [0.0, 1.0], "goal_fraction": [np.nan, np.nan]})) == []


def test_param_values_bins_continuous_columns():
    index = pd.DataFrame({"angle": np.linspace(-1, 1, 1001), "label": pd.array([0] * 1001, dtype="Int8"),
                          "name": ["a"] * 1001})
    values, binned = param_values(index, "angle")
    assert binned and len(np.unique(values)) == 50
    values, binned = param_values(index, "angle", bins=4)
    assert np.unique(values).tolist() == pytest.approx([-0.75, -0.25, 0.25, 0.75])
    exact, binned = param_values(index.iloc[:10], "angle")
    assert not binned and len(np.unique(exact)) == 10
    with pytest.raises(InvalidInputError, match="no column 'tilt'"):
        param_values(index, "tilt")
    with pytest.raises(InvalidInputError, match="not a numeric"):
        param_values(index, "name")


def _table(models=("m1:random", "m2:tag")):
    rows = []
    for model in models:
        t = landscape_table(np.random.default_rng(0).random((2, 20)), [0.0, 0.5], np.repeat(np.arange(10.0), 2))
        t.insert(0, "dataset", "d")
        t.insert(1, "model", model)
        t.insert(2, "arch", model.split(":")[0])
        t.insert(3, "weights", model.split(":")[1])
        t.insert(4, "random_weights", model.endswith("random"))
        t.insert(6, "param", "x")
        t["goal_fraction"] = (t["value"] >= 8).astype(float)
        rows.append(t[COLUMNS])
    return pd.concat(rows, ignore_index=True)


def test_plot_landscape_panels_marks_and_axes():
    from matplotlib.figure import Figure

    table = _table()
    fig = plot_landscape(table, intervals=[(7.5, 9.0)], goal_label="goal (labels)")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2
    titles = [ax.get_title() for ax in visible]
    assert titles[0] == "m1:random* (random weights)" and titles[1] == "m2:tag"
    assert "(random weights)" in fig._suptitle.get_text()
    assert len(visible[0].lines) == 2  # one line per alpha
    legend_texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_texts == ["goal (labels)", "α = 0", "α = 0.5"]

    given = Figure()
    axes = given.subplots(1, 2)
    assert plot_landscape(table, axes=list(axes), scale="raw", band="std") is given
    with pytest.raises(InvalidInputError, match="one per model"):
        plot_landscape(table, axes=[axes[0]])
    with pytest.raises(InvalidInputError, match="scale"):
        plot_landscape(table, scale="log")


# ---------------------------------------------------------------- the command, end to end


def test_landscape_end_to_end_cartpole_with_tiny_model(run, tmp_path):
    args = ["landscape", "--dataset", str(datasets_dir() / "cartpole-angle"), "--param", "angle",
            "--models", "rmeval-tiny", "--alpha", "0:1:0.5", "--cache-dir", str(tmp_path / "c"),
            "--out", str(tmp_path / "reports")]
    code, out, err = run(*args)
    assert code == 0, err
    assert "RANDOM weights" in out and "rmeval-tiny:random *" in out
    assert "305 frames encoded, 0 from cache" in out
    assert "goal region (labels): angle in [-0.11, 0.11]" in out
    stem = tmp_path / "reports" / "landscape_cartpole-angle_angle"
    png, csv, js = (stem.with_suffix(s) for s in (".png", ".csv", ".json"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    table = pd.read_csv(csv)
    assert list(table.columns) == COLUMNS
    assert sorted(table["alpha"].unique()) == [0.0, 0.5, 1.0]
    assert table["random_weights"].all() and (table["param"] == "angle").all()
    assert len(table) == 3 * 61 and (table["n"] == 5).all()
    assert (table["reward_min"] <= table["reward_mean"]).all() and (table["reward_mean"] <= table["reward_max"]).all()
    assert table.loc[table["value"].abs() <= 0.1 + 1e-9, "goal_fraction"].eq(1.0).all()
    assert table.loc[table["value"].abs() > 0.1 + 1e-9, "goal_fraction"].eq(0.0).all()
    report = json.loads(js.read_text())
    assert report["random_weights_models"] == ["rmeval-tiny:random"] and "RANDOM" in report["note"]
    assert report["goal_region"]["source"] == "labels"

    # second run: every frame from the embedding cache, same numbers
    code, out, _ = run(*args)
    assert code == 0 and "0 frames encoded, 305 from cache" in out
    pd.testing.assert_frame_equal(pd.read_csv(csv), table)


def test_landscape_matches_rewards_computed_by_hand(run, tmp_path, tiny_model):
    from rmeval.dataset import load_dataset
    from rmeval.embedding import Embedder
    from rmeval.rewards import combine_prompts, regularized_reward

    ds = load_dataset(datasets_dir() / "mountaincar-standard")
    code, out, err = run("landscape", "--dataset", str(ds.root), "--models", "rmeval-tiny", "--alpha", "0,0.7",
                         "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path))
    assert code == 0, err
    assert "x axis: x" in out  # the default parameter: the dataset's swept one
    assert "goal region (labels): x in [0.445, 0.6]" in out
    assert (tmp_path / "landscape_mountaincar-standard_x.png").is_file()
    table = pd.read_csv(tmp_path / "landscape_mountaincar-standard_x.csv")
    emb = Embedder(tiny_model)
    img = emb.embed_frames(ds.read_frames())
    g = combine_prompts(emb.embed_texts(ds.metadata.goal_prompts))
    b = combine_prompts(emb.embed_texts(ds.metadata.baseline_prompts))
    expected = regularized_reward(img, g, b, [0.0, 0.7])
    got = table.pivot(index="value", columns="alpha", values="reward_mean")
    np.testing.assert_allclose(got[0.0].to_numpy(), expected[0], atol=1e-5)
    np.testing.assert_allclose(got[0.7].to_numpy(), expected[1], atol=1e-5)
    assert (table["n"] == 1).all() and len(table) == 2 * 181


def test_landscape_of_an_unlabelled_sweep_uses_the_goal_predicate(run, tmp_path):
    from rmeval.dataset import load_dataset, save_index

    assert run("render", "--env", "cartpole", "--sweep", "angle=-0.3:0.3:0.1", "--out", str(tmp_path / "ds"))[0] == 0
    ds = load_dataset(tmp_path / "ds")
    index = ds.index.copy()
    index["label"] = pd.array([pd.NA] * len(index), dtype="Int8")
    save_index(ds, index)
    code, out, err = run("landscape", "--dataset", str(tmp_path / "ds"), "--models", "rmeval-tiny",
                         "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "r"))
    assert code == 0, err
    assert "goal region (goal predicate): angle in [-0.15, 0.15]" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--param", "tilt"], "no column 'tilt'"),
        (["--alpha", "0:2:1"], "alpha must lie in [0, 1]"),
        (["--band", "std"], "--band std needs --scale raw"),
        (["--models", "ViT-Nope"], "unknown model 'ViT-Nope'"),
        (["--bins", "0"], "--bins must be a positive integer"),
    ],
)
def test_bad_input_is_a_clear_error(run, tmp_path, extra, message):
    code, _, err = run("landscape", "--models", "rmeval-tiny", "--cache-dir", str(tmp_path), "--out", str(tmp_path), *extra)
    assert code == 2, err
    assert message in err and "Traceback" not in err


def test_rollout_dataset_needs_a_param(run, tmp_path):
    assert run("render", "--env", "cartpole", "--episodes", "1", "--steps", "5", "--out", str(tmp_path / "r"))[0] == 0
    code, _, err = run("landscape", "--dataset", str(tmp_path / "r"), "--models", "rmeval-tiny",
                       "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path))
    assert code == 2 and "--param NAME" in err and "angle" in err
