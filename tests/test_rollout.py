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
    # episodes of 20 actions: 21 states s_0 (after reset) .. s_20
    assert len(ds) == 3 * 21 and sorted(ds.index["episode"].unique()) == [0, 1, 2]
    assert ds.index.groupby("episode")["step"].apply(list).map(lambda s: s == list(range(21))).all()
    best = best_checkpoint(read_checkpoints(cartpole_run))
    assert (ds.index["checkpoint"] == f"step_{int(best['step']):012d}").all()
    assert ds.metadata.goal_prompts == ["pole vertically upright on top of the cart"]
    assert ds.metadata.state_columns == ["x", "x_dot", "angle", "angle_dot"]
    assert ds.metadata.extra["rollout"]["checkpoint_step"] == int(best["step"])
    assert ds.metadata.extra["rollout"]["random_weights"] is True
    np.testing.assert_array_equal(ds.index["label"].to_numpy(dtype=int), is_goal(ds.index["angle"].to_numpy()).astype(int))
    assert ds.index["label"].equals(ds.index["auto_label"])
    # env_reward belongs to the action into the row's state: none at step 0
    first = ds.index["step"] == 0
    assert ds.index.loc[first, "env_reward"].isna().all()
    assert ds.index.loc[~first, "env_reward"].isin([-1.0, 1.0]).all()
    assert "step 0: right after reset" in ds.metadata.render["frame"]
    # each frame is the environment's frame of the recorded state
    rows = [0, 7, 62]
    with CartPoleStateRenderer() as r:
        want = np.stack([r.render({k: float(ds.index.loc[i, k]) for k in ds.metadata.state_columns}) for i in rows])
    np.testing.assert_array_equal(ds.read_frames(rows), want)

    # the same rollout again gives the same dataset; --checkpoint takes a listed step
    code, _, err = run("rollout", "--run", str(cartpole_run), "--checkpoint", str(int(best["step"])),
                       "--episodes", "3", "--out", str(tmp_path / "again"))
    assert code == 0, err
    pd.testing.assert_frame_equal(load_dataset(tmp_path / "again").index, ds.index)


def test_rollout_step_t_is_the_state_after_t_actions(run, cartpole_run, tmp_path):
    """Step 0 is the frame and state right after env.reset(seed=...); step t follows t actions."""
    from rmeval.dataset import load_dataset
    from rmeval.training.config import load_config
    from rmeval.training.policies import choose_checkpoint, load_policy
    from rmeval.training.vec_env import make_env

    code, stdout, err = run("rollout", "--run", str(cartpole_run), "--episodes", "2", "--seed", "5",
                            "--out", str(tmp_path / "ds"))
    assert code == 0, stdout + err
    ds = load_dataset(tmp_path / "ds")
    idx, cols = ds.index, ds.metadata.state_columns
    config = load_config(cartpole_run)
    policy = load_policy(config, choose_checkpoint(cartpole_run).path)
    env = make_env(config.env_id, config.env_kwargs, config.episode_steps, render_frames=False)
    try:
        for e in (0, 1):
            rows = idx.index[idx["episode"] == e].to_numpy()
            assert idx.loc[rows, "step"].tolist() == list(range(config.episode_steps + 1))
            obs, _ = env.reset(seed=5 + e)
            np.testing.assert_array_equal(ds.read_frames([rows[0]])[0], env.render())
            np.testing.assert_array_equal(idx.loc[rows[0], cols].to_numpy(dtype=float), np.asarray(env.unwrapped.state))
            assert np.isnan(idx.loc[rows[0], "env_reward"])
            for t in range(1, config.episode_steps + 1):
                action, _ = policy.predict(obs, deterministic=True)
                obs, reward, terminated, truncated, _ = env.step(action)
                np.testing.assert_array_equal(idx.loc[rows[t], cols].to_numpy(dtype=float),
                                              np.asarray(env.unwrapped.state))
                assert idx.loc[rows[t], "env_reward"] == reward
                assert (terminated or truncated) == (t == config.episode_steps)
            np.testing.assert_array_equal(ds.read_frames([rows[-1]])[0], env.render())
    finally:
        env.close()


def test_render_and_rollout_give_step_0_the_same_meaning(run, cartpole_run, tmp_path):
    """From the same reset seed both commands record the same state and frame at step 0."""
    from rmeval.dataset import load_dataset
    from rmeval.rendering.seeds import ROLLOUT_EPISODE, item_seed

    code, _, err = run("render", "--env", "cartpole", "--episodes", "1", "--steps", "4", "--seed", "3",
                       "--out", str(tmp_path / "render"))
    assert code == 0, err
    reset_seed = item_seed(3, ROLLOUT_EPISODE, 0)  # the seed `rmeval render` resets episode 0 with
    code, _, err = run("rollout", "--run", str(cartpole_run), "--episodes", "1", "--seed", str(reset_seed),
                       "--out", str(tmp_path / "rollout"))
    assert code == 0, err
    rendered, rolled = load_dataset(tmp_path / "render"), load_dataset(tmp_path / "rollout")
    cols = rendered.metadata.state_columns
    assert rolled.metadata.state_columns == cols
    for ds in (rendered, rolled):
        assert ds.index["step"].tolist()[:4] == [0, 1, 2, 3]
        assert np.isnan(ds.index.loc[0, "env_reward"]) and ds.index.loc[1:, "env_reward"].notna().all()
    np.testing.assert_array_equal(rendered.index.loc[0, cols].to_numpy(dtype=float),
                                  rolled.index.loc[0, cols].to_numpy(dtype=float))
    assert rendered.index.loc[0, "label"] == rolled.index.loc[0, "label"]
    np.testing.assert_array_equal(rendered.read_frames([0]), rolled.read_frames([0]))
    # step 1 follows one action in both: different actions, the same reset state behind them
    assert not np.array_equal(rolled.index.loc[1, cols].to_numpy(dtype=float), rolled.index.loc[0, cols].to_numpy(dtype=float))


def test_evaluate_and_rollout_count_the_same_actions(cartpole_run, tmp_path):
    """evaluate's return and goal fraction come from the T actions; rollout adds only s_0."""
    from rmeval.training.config import load_config
    from rmeval.training.evaluate import evaluate_policy
    from rmeval.training.policies import choose_checkpoint, load_policy
    from rmeval.training.rollout import rollout

    config = load_config(cartpole_run)
    choice = choose_checkpoint(cartpole_run)
    ds = rollout(cartpole_run, tmp_path / "ds", episodes=2, seed=0, log=lambda s: None)
    result = evaluate_policy(load_policy(config, choice.path), config, 2, seed=0)
    idx = ds.index
    returns = idx.groupby("episode")["env_reward"].sum()  # NaN at step 0 skipped
    assert result["mean_return"] == pytest.approx(returns.mean())
    after = idx[idx["step"] > 0]
    assert after.groupby("episode").size().tolist() == [config.episode_steps] * 2
    fraction = after.groupby("episode")["label"].mean()
    assert result["mean_goal_fraction"] == pytest.approx(fraction.mean())


def test_run_episodes_numbers_steps_by_actions_taken():
    from rmeval.training.config import new_config
    from rmeval.training.policies import run_episodes

    class Left:
        def predict(self, obs, deterministic=True):
            return 0, None

    cfg = new_config("cartpole", preset="quick", model="rmeval-tiny", episode_steps=5)
    transitions = list(run_episodes(Left(), cfg, 2, seed=1))
    assert [(s.episode, s.step) for s in transitions] == [(e, t) for e in (0, 1) for t in range(1, 6)]
    assert all(s.action == 0 and np.isfinite(s.reward) for s in transitions)
    states = list(run_episodes(Left(), cfg, 2, seed=1, include_reset=True, render=True))
    assert [(s.episode, s.step) for s in states] == [(e, t) for e in (0, 1) for t in range(6)]
    first = states[0]
    assert np.isnan(first.reward) and first.action is None and first.info["frame"].shape == (400, 600, 3)
    assert [s.reward for s in states if s.step > 0] == [s.reward for s in transitions]


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
    from rmeval.envs.pose_predicates import PREDICATE_TASKS, qpos_names

    code, stdout, err = run("train", "--env", "humanoid", "--task", "kneeling", "--model", "rmeval-tiny",
                            "--preset", "quick", "--steps", "100", "--checkpoint-every", "100",
                            "--episode-steps", "10", "--out", str(tmp_path / "run"))
    assert code == 0, stdout + err
    code, stdout, err = run("rollout", "--run", str(tmp_path / "run"), "--episodes", "2", "--out", str(tmp_path / "ds"))
    assert code == 0, stdout + err
    ds = load_dataset(tmp_path / "ds")
    assert len(ds) == 2 * 11 and ds.frame_size == (224, 224)
    idx = ds.index
    assert idx["step"].tolist() == list(range(11)) * 2
    # step 0 is the state right after reset(seed=episode), as `rmeval render` records it
    from rmeval.envs.humanoid import TexturedHumanoidEnv

    env = TexturedHumanoidEnv(render_mode=None)
    try:
        for e in (0, 1):
            env.reset(seed=e)
            got = idx.loc[(idx["episode"] == e) & (idx["step"] == 0), list(qpos_names())].to_numpy(dtype=float)[0]
            np.testing.assert_array_equal(got, np.asarray(env.unwrapped.data.qpos, dtype=float))
    finally:
        env.close()
    assert idx.loc[idx["step"] == 0, "env_reward"].isna().all() and idx.loc[idx["step"] > 0, "env_reward"].notna().all()
    for name in PREDICATE_TASKS:
        assert set(idx[f"auto_{name}"]) <= {0, 1}
    assert (idx["label"].astype(int) == idx["auto_kneeling"]).all()
    # the same column names as `rmeval render`'s Humanoid datasets
    assert ds.metadata.state_columns[3:] == list(qpos_names())
    assert len(qpos_names()) == 24 and "left_knee" in qpos_names()
    np.testing.assert_allclose(idx["torso_z"], idx["root_z"])
    assert "kneeling" in ds.metadata.label_rule
    meta = json.loads((tmp_path / "ds" / "metadata.json").read_text())
    assert meta["goal_prompts"] == ["a humanoid robot kneeling"] and meta["baseline_prompts"] == ["a humanoid robot"]
    code, _, err = run("evaluate", "--run", str(tmp_path / "run"))
    assert code == 2 and "no ground-truth reward" in err


def test_tasks_without_a_predicate_stay_unlabelled(monkeypatch):
    import dataclasses

    from rmeval.envs import tasks
    from rmeval.training.config import new_config
    from rmeval.training.rollout import _goal_label

    cfg = new_config("humanoid", task="lotus_position", preset="quick", model="rmeval-tiny")
    assert _goal_label(cfg, {"auto_lotus_position": 1}) == 1
    # every Humanoid task has a predicate now: take one away to reach the unlabelled path
    monkeypatch.setitem(tasks._BY_NAME, "lotus_position",
                        dataclasses.replace(tasks.get_task("lotus_position"), predicate=None))
    assert _goal_label(cfg, {"auto_kneeling": 1}) is None
    cfg = new_config("humanoid", task="standing_up", preset="quick", model="rmeval-tiny")
    assert _goal_label(cfg, {"auto_standing_up": 1}) == 1
