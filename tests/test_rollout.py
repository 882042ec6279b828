"""rmeval rollout and rmeval evaluate on tiny training runs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest



@pytest.fixture(scope="module")
def cartpole_run(tmp_path_factory):
    from rmeval.training.config import new_config
    from rmeval.training.trainer import train

    root = tmp_path_factory.mktemp("cartpole") / "run"
    cfg = new_config("cartpole", preset="quick", model="rmeval-tiny", total_steps=300, checkpoint_every=100,
                     episode_steps=20)
    train(cfg, root, log=lambda s: None)
    return root


def test_rollout_best_writes_a_valid_labelled_dataset(run, cartpole_run, tmp_path):
    from rmeval.dataset import load_dataset
    from rmeval.envs.cartpole import CartPoleStateRenderer, is_goal
    from rmeval.training.checkpoints import best_checkpoint, read_checkpoints

    out = tmp_path / "ds"
    code, stdout, err = run("rollout", "--run", str(cartpole_run), "--best", "--episodes", "3", "--out", str(out))
    assert code == 0, stdout + err
    ds = load_dataset(out)
    assert len(ds) == 3 * 20 and sorted(ds.index["episode"].unique()) == [0, 1, 2]
    assert ds.index.groupby("episode")["step"].apply(list).map(lambda s: s == list(range(20))).all()
    best = best_checkpoint(read_checkpoints(cartpole_run))
    assert (ds.index["checkpoint"] == f"step_{int(best['step']):012d}").all()
    assert ds.metadata.goal_prompts == ["pole vertically upright on top of the cart"]
    assert ds.metadata.state_columns == ["x", "x_dot", "angle", "angle_dot"]
    assert ds.metadata.extra["rollout"]["checkpoint_step"] == int(best["step"])
    assert ds.metadata.extra["rollout"]["random_weights"] is True
    np.testing.assert_array_equal(ds.index["label"].to_numpy(dtype=int), is_goal(ds.index["angle"].to_numpy()).astype(int))
    assert ds.index["label"].equals(ds.index["auto_label"])
    assert set(ds.index["env_reward"]) <= {-1.0, 1.0}
    # each frame is the environment's frame of the recorded state
    rows = [0, 7, 59]
    with CartPoleStateRenderer() as r:
        want = np.stack([r.render({k: float(ds.index.loc[i, k]) for k in ds.metadata.state_columns}) for i in rows])
    np.testing.assert_array_equal(ds.read_frames(rows), want)

    # the same rollout again gives the same dataset; --checkpoint takes a listed step
    code, _, err = run("rollout", "--run", str(cartpole_run), "--checkpoint", str(int(best["step"])),
                       "--episodes", "3", "--out", str(tmp_path / "again"))
    assert code == 0, err
    pd.testing.assert_frame_equal(load_dataset(tmp_path / "again").index, ds.index)


def test_rollout_bad_input(run, cartpole_run, tmp_path):
    code, _, err = run("rollout", "--run", str(tmp_path / "missing"), "--out", str(tmp_path / "x"))
    assert code == 2 and "does not exist" in err
    code, _, err = run("rollout", "--run", str(cartpole_run), "--checkpoint", "12345", "--out", str(tmp_path / "x"))
    assert code == 2 and "no checkpoint at step 12345" in err
    code, _, err = run("rollout", "--run", str(cartpole_run), "--episodes", "0", "--out", str(tmp_path / "x"))
    assert code == 2 and "--episodes" in err
    (tmp_path / "taken").mkdir()
    code, _, err = run("rollout", "--run", str(cartpole_run), "--out", str(tmp_path / "taken"))
    assert code == 2 and "--overwrite" in err
    assert not (tmp_path / "x").exists()


def test_evaluate_writes_csv_and_plot(run, cartpole_run, tmp_path):
    code, stdout, err = run("evaluate", "--run", str(cartpole_run), "--episodes", "2", "--out", str(tmp_path))
    assert code == 0, stdout + err
    table = pd.read_csv(tmp_path / "evaluation.csv")
    assert table["step"].tolist() == [100, 200, 300]
    assert ((table["success_rate"] >= 0) & (table["success_rate"] <= 1)).all()
    assert ((table["mean_return"] >= -20) & (table["mean_return"] <= 20)).all()
    assert table["mean_vlm_return"].notna().all()
    png = tmp_path / "evaluation.png"
    assert png.stat().st_size > 10_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "pole within 0.1 rad" in stdout


def test_plot_evaluation_draws_on_given_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rmeval.training.evaluate import plot_evaluation

    table = pd.DataFrame({"step": [1, 2, 3], "mean_return": [-10.0, 0.0, 20.0], "std_return": [1.0, 2.0, 0.5],
                          "success_rate": [0.0, 0.5, 1.0]})
    fig, ax = plt.subplots()
    assert plot_evaluation(table, ax=ax) is fig
    assert len(fig.axes) == 2 and ax.get_lines()[0].get_ydata().tolist() == [-10.0, 0.0, 20.0]
    plt.close(fig)


def test_humanoid_rollout_has_pose_columns_and_predicate_labels(run, tmp_path):
    from rmeval.dataset import load_dataset
    from rmeval.envs.pose_predicates import PREDICATE_TASKS

    code, stdout, err = run("train", "--env", "humanoid", "--task", "kneeling", "--model", "rmeval-tiny",
                            "--preset", "quick", "--steps", "100", "--checkpoint-every", "100",
                            "--episode-steps", "10", "--out", str(tmp_path / "run"))
    assert code == 0, stdout + err
    code, stdout, err = run("rollout", "--run", str(tmp_path / "run"), "--episodes", "2", "--out", str(tmp_path / "ds"))
    assert code == 0, stdout + err
    ds = load_dataset(tmp_path / "ds")
    assert len(ds) == 20 and ds.frame_size == (224, 224)
    idx = ds.index
    for name in PREDICATE_TASKS:
        assert set(idx[f"auto_{name}"]) <= {0, 1}
    assert (idx["label"].astype(int) == idx["auto_kneeling"]).all()
    from rmeval.envs.pose_predicates import qpos_names

    # the same column names as `rmeval render`'s Humanoid datasets
    assert ds.metadata.state_columns[3:] == list(qpos_names())
    assert len(qpos_names()) == 24 and "left_knee" in qpos_names()
    np.testing.assert_allclose(idx["torso_z"], idx["root_z"])
    assert "kneeling" in ds.metadata.label_rule
    meta = json.loads((tmp_path / "ds" / "metadata.json").read_text())
    assert meta["goal_prompts"] == ["a humanoid robot kneeling"] and meta["baseline_prompts"] == ["a humanoid robot"]
    code, _, err = run("evaluate", "--run", str(tmp_path / "run"))
    assert code == 2 and "no ground-truth reward" in err


def test_tasks_without_a_predicate_stay_unlabelled():
    from rmeval.training.config import new_config
    from rmeval.training.rollout import _goal_label

    cfg = new_config("humanoid", task="lotus_position", preset="quick", model="rmeval-tiny")
    assert _goal_label(cfg, {"auto_kneeling": 1}) is None
    cfg = new_config("humanoid", task="standing_up", preset="quick", model="rmeval-tiny")
    assert _goal_label(cfg, {"auto_standing_up": 1}) == 1
