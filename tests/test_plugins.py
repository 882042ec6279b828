"""Your own reward model as a plug-in (``module.path:Class``), end to end through epic and train."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmeval.plugins import EmbeddingRewardModel, load_reward_model
from rmeval.reward_model import RewardModel

REWARD = "tests.plugin_models:TinyConvReward"
EMBEDDER = "tests.plugin_models:TinyConvEmbedder"


@pytest.fixture(autouse=True)
def plugin_models(monkeypatch):
    """``tests.plugin_models``, importable as the user would name it (repository root on sys.path)."""
    import importlib

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    return importlib.import_module("tests.plugin_models")


def test_plugins_load_and_implement_the_protocols():
    reward = load_reward_model(REWARD)
    embedder = load_reward_model(EMBEDDER, device="cpu")
    assert isinstance(reward, RewardModel) and not isinstance(reward, EmbeddingRewardModel)
    assert isinstance(embedder, EmbeddingRewardModel) and embedder.device == "cpu"
    assert reward.parameter_count() > 1000 and reward.random_weights


def test_bad_plugins_fail_with_what_is_wrong(run):
    # a package that is not there: a bad name, refused before any work (exit 2)
    code, _, err = run("epic", "--models", "no_such_pkg.rewards:Model")
    assert code == 2 and "cannot import module 'no_such_pkg.rewards'" in err
    # a model that cannot be built is recorded and skipped like any failing model
    code, out, err = run("epic", "--models", "tests.plugin_models:NoSuchClass", "--out", "/nonexistent-unused")
    assert code != 0 and "has no class 'NoSuchClass'" in out + err and "TinyConvReward" in out + err
    code, out, err = run("epic", "--models", "tests.plugin_models:NotARewardModel")
    assert code != 0 and "implements neither" in out + err and "frame_rewards" in out + err
    assert "Traceback" not in out + err


def test_plugins_through_epic_with_cache(run, tmp_path, plugin_models):
    """Both protocols through ``rmeval epic``: rewards from the network, marked random, cached by identity."""
    out_dir, cache = tmp_path / "reports", tmp_path / "cache"
    args = ["epic", "--models", f"{REWARD},{EMBEDDER}", "--alpha", "0,1", "--resamples", "100",
            "--cache-dir", str(cache), "--out", str(out_dir)]
    before = dict(plugin_models.CALLS)
    code, out, err = run(*args)
    assert code == 0, out + err
    assert "RANDOM weights" in out and f"{REWARD} *" in out
    table = pd.read_csv(out_dir / "epic_cartpole-angle.csv")
    assert set(table["model"]) == {REWARD, EMBEDDER}
    assert table["random_weights"].all() and (table["n_labelled"] == 305).all()
    assert ((table["epic"] > 0) & (table["epic"] < 1)).all()
    reward_rows = table[table["model"] == REWARD]
    # a reward-only model has no alpha: the same numbers at every alpha
    assert reward_rows["epic"].nunique() == 1
    emb_rows = table[table["model"] == EMBEDDER].sort_values("alpha")
    assert emb_rows["epic"].nunique() == 2  # rewards from embeddings differ per alpha
    assert table["params_m"].between(0.001, 0.1).all()
    assert plugin_models.CALLS["TinyConvReward"] - before.get("TinyConvReward", 0) == 305
    report = json.loads((out_dir / "epic_cartpole-angle.json").read_text())
    assert set(report["random_weights_models"]) == {REWARD, EMBEDDER}

    calls = dict(plugin_models.CALLS)
    code, out, _ = run(*args)
    assert code == 0 and "0 frames scored, 305 from cache" in out
    assert plugin_models.CALLS == calls  # nothing ran again
    pd.testing.assert_series_equal(pd.read_csv(out_dir / "epic_cartpole-angle.csv")["epic"], table["epic"])


def test_plugin_rewards_are_its_network_outputs():
    """The rewards rmeval computes are the plug-in's own, row for row."""
    from rmeval.commands.common import bundled_dataset
    from rmeval.dataset import load_dataset
    from rmeval.plugins import plugin_rewards

    ds = load_dataset(bundled_dataset())
    rows = np.array([0, 50, 100, 150, 200])
    model = load_reward_model(REWARD)
    got = plugin_rewards(model, ds.read_frames, rows, [0.0, 0.5], ["pole and cart"], ["cart"])
    want = model.frame_rewards(ds.read_frames(rows), ["pole and cart"], ["cart"])
    assert got.shape == (2, 5)
    np.testing.assert_allclose(got[0], want) and np.testing.assert_allclose(got[1], want)
    assert np.ptp(want) > 0


def test_plugin_trains_with_train_steps(run, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = run("train", "--env", "cartpole", "--model", REWARD, "--preset", "quick", "--steps", "100",
                            "--checkpoint-every", "100", "--episode-steps", "50", "--out", str(out))
    assert code == 0, stdout + err
    assert "RANDOM weights" in err
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"] == REWARD and cfg["random_weights"] is True
    assert cfg["model_fingerprint"] == "plugin|TinyConvReward-v1-seed0"
    with np.load(out / "replay_buffer.npz", allow_pickle=False) as buf:
        rewards = buf["rewards"][:, 0]
    assert rewards.shape == (100,) and np.isfinite(rewards).all() and np.ptp(rewards) > 0
