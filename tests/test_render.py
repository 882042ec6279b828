"""`rmeval render`: sweeps, rollouts, Humanoid pose sets, workers, seeds, bundled datasets."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmeval.cli import build_parser
from rmeval.commands.common import datasets_dir

ROOT = Path(__file__).resolve().parents[1]

#: Bundled datasets made by `rmeval render`, with their expected sizes.
BUNDLED = {
    "cartpole-angle": 305,
    "mountaincar-standard": 181,
    "mountaincar-textured": 181,
    "humanoid-poses-kneeling": 200,
    "humanoid-poses-standing-up": 200,
    "humanoid-poses-arms-raised": 200,
}


def _same_dataset(a: Path, b: Path) -> None:
    """Identical index, metadata and frame files."""
    from rmeval.dataset import load_dataset

    da, db = load_dataset(a), load_dataset(b)
    pd.testing.assert_frame_equal(da.index, db.index)
    assert da.metadata.to_dict() == db.metadata.to_dict()
    for pa, pb in zip(da.frame_paths(), db.frame_paths()):
        assert pa.read_bytes() == pb.read_bytes(), pa.name


# ---------------------------------------------------------------- workers and seeds


def test_cartpole_sweep_same_with_one_and_two_workers(run, tmp_path):
    args = ["render", "--env", "cartpole", "--sweep", "angle=-0.2:0.2:0.05", "--sweep", "x=0,1",
            "--randomise", "x_dot=-1:1", "--seed", "3"]
    assert run(*args, "--out", str(tmp_path / "one"))[0] == 0
    code, out, err = run(*args, "--out", str(tmp_path / "two"), "--workers", "2")
    assert code == 0, err
    assert "wrote 18 frames" in out
    _same_dataset(tmp_path / "one", tmp_path / "two")


def test_humanoid_pose_set_same_with_one_and_two_workers(run, tmp_path):
    args = ["render", "--env", "humanoid", "--task", "kneeling", "--poses", "14", "--episodes", "2",
            "--steps", "30", "--every", "5", "--seed", "7"]
    assert run(*args, "--out", str(tmp_path / "one"))[0] == 0
    code, out, err = run(*args, "--out", str(tmp_path / "two"), "--workers", "2")
    assert code == 0, err
    assert "wrote 26 frames" in out and "automatic labels" in out
    _same_dataset(tmp_path / "one", tmp_path / "two")


def test_same_seed_same_frames_other_seed_other_frames(run, tmp_path):
    from rmeval.dataset import load_dataset

    base = ["render", "--env", "humanoid", "--task", "arms_raised", "--poses", "4", "--size", "96x96"]
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert run(*base, "--seed", seed, "--out", str(tmp_path / name))[0] == 0
    a, b, c = (load_dataset(tmp_path / n) for n in "abc")
    np.testing.assert_array_equal(a.read_frames(), b.read_frames())
    assert not np.array_equal(a.read_frames(), c.read_frames())
    assert a.frame_size == (96, 96)


def test_frames_do_not_depend_on_the_count():
    """Frame i's random draws come from (seed, i): more frames leave the first ones alone."""
    from rmeval.rendering.poses import PoseSetSpec, pose_set_states
    from rmeval.rendering.renderers import state_params
    from rmeval.rendering.rollouts import RolloutSpec, simulate_rollouts
    from rmeval.rendering.sweep import SweepSpec, sweep_index

    defaults = state_params("cartpole")
    few = sweep_index("cartpole", SweepSpec({"angle": [0.0, 0.1]}, {"x": (-2.0, 2.0)}, repeats=1, seed=1), defaults)
    many = sweep_index("cartpole", SweepSpec({"angle": [0.0, 0.1]}, {"x": (-2.0, 2.0)}, repeats=3, seed=1), defaults)
    pd.testing.assert_frame_equal(few, many.iloc[:2])
    assert many["x"].between(-2, 2).all() and many["x"].nunique() == 6

    names = tuple(defaults)
    two = simulate_rollouts("cartpole", RolloutSpec(episodes=2, steps=20, seed=4), names)
    three = simulate_rollouts("cartpole", RolloutSpec(episodes=3, steps=20, seed=4), names)
    pd.testing.assert_frame_equal(two, three.iloc[: len(two)])

    spec = PoseSetSpec(count=6, seed=2)
    states = pose_set_states(spec)
    again = pose_set_states(spec)
    pd.testing.assert_frame_equal(states, again)


# ---------------------------------------------------------------- what the datasets hold


def test_mountaincar_sweep_index_and_metadata(run, tmp_path):
    from rmeval.dataset import load_dataset

    code, _, err = run("render", "--env", "mountaincar", "--look", "standard", "--sweep", "x=0.3:0.6:0.05",
                         "--out", str(tmp_path / "mc"))
    assert code == 0, err
    ds = load_dataset(tmp_path / "mc")
    assert ds.frame_size == (224, 224)
    assert ds.index["x"].tolist() == pytest.approx([0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6])
    assert ds.labels().tolist() == [0, 0, 0, 1, 1, 1, 1]
    meta = ds.metadata
    assert meta.task == "mountaincar" and meta.state_columns == ["x", "velocity"]
    assert meta.goal_prompts == ["a car at the peak of the mountain, next to the yellow flag"]
    assert meta.render["look"] == "standard" and meta.render["width"] == 224
    assert meta.render["command"] == (
        "rmeval render --env mountaincar --look standard --size 224x224 --sweep x=0.3:0.6:0.05"
    )


def test_cartpole_rollouts(run, tmp_path):
    from rmeval.dataset import load_dataset
    from rmeval.envs.cartpole import is_goal

    code, _, err = run("render", "--env", "cartpole", "--episodes", "2", "--steps", "40", "--every", "4",
                         "--seed", "1", "--out", str(tmp_path / "r"))
    assert code == 0, err
    ds = load_dataset(tmp_path / "r")
    idx = ds.index
    assert len(ds) == 20 and idx["episode"].tolist() == [0] * 10 + [1] * 10
    assert idx["step"].tolist()[:10] == list(range(0, 40, 4))
    np.testing.assert_array_equal(ds.labels(), is_goal(idx["angle"].to_numpy()).astype(np.int8))
    assert idx["policy"].eq("random").all()
    assert idx.loc[idx["step"] == 0, "env_reward"].isna().all()
    assert idx.loc[idx["step"] > 0, "env_reward"].isin([1.0, -1.0]).all()
    assert ds.metadata.env == "rmeval/CartPole-v0"
    assert ds.metadata.render["rollouts"] == {"episodes": 2, "steps": 40, "every": 4, "policy": "random"}
    # the pole falls during random rollouts: both classes appear
    assert 0 < ds.labels().sum() < len(ds)


def test_mountaincar_rollouts(run, tmp_path):
    from rmeval.dataset import load_dataset

    code, _, err = run("render", "--env", "mountaincar", "--look", "standard", "--episodes", "2", "--steps", "10",
                       "--size", "64x64", "--out", str(tmp_path / "m"))
    assert code == 0, err
    ds = load_dataset(tmp_path / "m")
    assert len(ds) == 20 and ds.frame_size == (64, 64)
    assert ds.index["x"].between(-1.2, 0.6).all() and ds.metadata.env == "rmeval/MountainCarContinuous-v0"
    assert ds.labels().tolist() == (ds.index["x"] >= 0.45).astype(int).tolist()


def test_humanoid_labels_and_columns(run, tmp_path):
    from rmeval.dataset import load_dataset
    from rmeval.envs.pose_predicates import PREDICATE_TASKS, label_qpos, qpos_names

    code, _, err = run("render", "--env", "humanoid", "--task", "standing_up", "--poses", "8",
                         "--pose-mix", "standing=1,kneeling=1", "--episodes", "1", "--steps", "10", "--every", "5",
                         "--size", "64x64", "--out", str(tmp_path / "h"))
    assert code == 0, err
    ds = load_dataset(tmp_path / "h")
    idx = ds.index
    assert ds.metadata.state_columns == list(qpos_names())
    assert ds.metadata.task == "standing_up" and ds.metadata.goal_prompts == ["a humanoid robot standing up"]
    assert ds.metadata.render["camera"] == "fixed" and ds.metadata.render["look"] == "textured"
    assert "standing_up" in ds.metadata.label_rule
    for t in PREDICATE_TASKS:
        assert idx[f"auto_{t}"].dtype == "Int8"
    assert idx["auto_label"].equals(idx["label"]) and idx["label"].equals(idx["auto_standing_up"])
    assert idx["source"].tolist() == ["pose"] * 8 + ["rollout"] * 2
    assert idx["episode"].tolist() == [0] * 8 + [1] * 2
    assert set(idx.loc[:7, "pose"]) == {"standing", "kneeling"}
    assert (idx.loc[:7, "pose"] == "standing").sum() == 4
    row = idx.iloc[3]
    labels = label_qpos(row[list(qpos_names())].to_numpy(dtype=float))
    assert all(int(labels[t]) == row[f"auto_{t}"] for t in PREDICATE_TASKS)
    # rollouts start standing (the spawn pose)
    assert idx.iloc[8]["auto_standing_up"] == 1


@pytest.mark.parametrize("task", ["lotus_position", "hands_on_hips", "arms_crossed"])
def test_new_pose_tasks_label_both_classes(run, tmp_path, task):
    """The tasks that got predicates last: their default pose mix yields goal and non-goal frames."""
    from rmeval.dataset import load_dataset

    code, out, err = run("render", "--env", "humanoid", "--task", task, "--poses", "10", "--size", "48x48",
                         "--out", str(tmp_path / task))
    assert code == 0, err
    assert "goal)" in out and "unlabelled" not in out
    ds = load_dataset(tmp_path / task)
    idx = ds.index
    assert idx["label"].equals(idx[f"auto_{task}"]) and idx["auto_label"].equals(idx["label"])
    assert 0 < int(idx["label"].sum()) < len(idx)
    assert ds.metadata.task == task and task in ds.metadata.label_rule
    assert ds.frame_size == (48, 48)


def test_task_without_predicate_leaves_frames_unlabelled(run, tmp_path, monkeypatch):
    import dataclasses

    from rmeval.dataset import load_dataset
    from rmeval.envs import tasks

    # every Humanoid task has a predicate now: take one away to reach the unlabelled path
    monkeypatch.setitem(tasks._BY_NAME, "lotus_position",
                        dataclasses.replace(tasks.get_task("lotus_position"), predicate=None))
    code, out, err = run("render", "--env", "humanoid", "--task", "lotus position", "--poses", "3",
                         "--size", "48x48", "--out", str(tmp_path / "l"))
    assert code == 0, err
    assert "unlabelled" in out and "rmeval label" in out
    ds = load_dataset(tmp_path / "l")
    assert ds.index["label"].isna().all() and ds.index["auto_label"].isna().all()
    assert ds.index["auto_kneeling"].notna().all()
    assert ds.metadata.task == "lotus_position" and ds.metadata.label_rule == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "humanoid", "--poses", "3"], "needs --task"),
        (["--env", "humanoid", "--task", "kneeling", "--sweep", "x=0:1:0.5"], "--sweep works for cartpole and mountaincar"),
        (["--env", "cartpole", "--poses", "3"], "Humanoid pose sets"),
        (["--env", "cartpole"], "say what to render"),
        (["--env", "cartpole", "--sweep", "angle=0,0.1", "--episodes", "2"], "cannot be combined"),
        (["--env", "cartpole", "--mode", "rollout", "--sweep", "angle=0,0.1"], "--mode rollout needs --episodes"),
        (["--env", "cartpole", "--sweep", "angle=0,0.1", "--randomise", "angle=0:1"], "both swept and randomised"),
        (["--env", "cartpole", "--sweep", "angle=0,0.1", "--randomise", "x=2:1"], "LOW <= HIGH"),
        (["--env", "cartpole", "--sweep", "angle=0,0.1", "--randomise", "x"], "NAME=LOW:HIGH"),
        (["--env", "mountaincar", "--sweep", "x=-1.5:0.5:0.5"], "on the track"),
        (["--env", "mountaincar", "--sweep", "x=0,0.5", "--look", "shiny"], "--look 'shiny'"),
        (["--env", "mountaincar", "--sweep", "x=0,0.5", "--camera", "fixed"], "--camera applies to the humanoid"),
        (["--env", "mountaincar", "--sweep", "x=0,0.5", "--size", "224"], "WIDTHxHEIGHT"),
        (["--env", "cartpole", "--episodes", "2", "--policy", "ppo.zip"], "rmeval rollout --run"),
        (["--env", "cartpole", "--episodes", "0"], "--episodes must be a positive integer"),
        (["--env", "cartpole", "--episodes", "2", "--workers", "0"], "--workers must be a positive integer"),
        (["--env", "cartpole", "--episodes", "2", "--task", "kneeling"], "not a cartpole task"),
        (["--env", "humanoid", "--task", "kneeling", "--poses", "3", "--pose-mix", "dancing=1"], "unknown pose variant"),
        (["--env", "humanoid", "--task", "kneeling", "--poses", "3", "--xy-radius", "3"], "--xy-radius"),
        (["--env", "cartpole", "--sweep", "angle=0,0.1", "--steps", "5"], "add --episodes"),
    ],
)
def test_bad_input_is_a_clear_error(run, tmp_path, args, message):
    code, _, err = run("render", *args, "--out", str(tmp_path / "ds"))
    assert code == 2, err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "ds").exists()


def test_rendering_modules_import_light():
    code = ("import sys, rmeval.rendering.build, rmeval.rendering.parallel, rmeval.commands.render; "
            "print(sorted(m for m in ('torch', 'gymnasium', 'mujoco', 'matplotlib', 'pygame') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert res.stdout.strip() == "[]"


# ---------------------------------------------------------------- bundled datasets


def _plan_from_command(command: str):
    from rmeval.commands.render import build_job
    from rmeval.rendering.build import plan_dataset

    argv = shlex.split(command)
    assert argv[:2] == ["rmeval", "render"]
    args = build_parser().parse_args([*argv[1:], "--out", "unused"])
    return plan_dataset(build_job(args))


@pytest.mark.parametrize("name", list(BUNDLED))
def test_bundled_dataset_loads_and_its_command_rebuilds_index_and_frames(name):
    """The stored command plans exactly the bundled index; a few frames re-render equal."""
    from rmeval.dataset import load_dataset
    from rmeval.rendering.renderers import open_renderer

    ds = load_dataset(datasets_dir() / name)
    assert len(ds) == BUNDLED[name] and ds.name == name
    labels = ds.labels(ds.labelled_rows())
    assert len(labels) == len(ds) and 0.05 < labels.mean() < 0.6, labels.mean()
    plan = _plan_from_command(ds.metadata.render["command"])
    pd.testing.assert_frame_equal(ds.index.drop(columns="frame"), plan.index)
    assert plan.command == ds.metadata.render["command"]
    rows = [0, len(ds) // 2, len(ds) - 1]
    renderer = open_renderer(plan.settings)
    try:
        states = plan.index[plan.state_columns].to_dict(orient="records")
        fresh = np.stack([renderer.render(states[r]) for r in rows])
    finally:
        renderer.close()
    stored = ds.read_frames(rows)
    if name.startswith("humanoid"):  # OpenGL: allow a grey level on a few pixels elsewhere
        diff = np.abs(fresh.astype(int) - stored.astype(int))
        assert diff.mean() < 0.5 and (diff > 8).mean() < 0.001
    else:
        np.testing.assert_array_equal(fresh, stored)


def test_bundled_humanoid_sets_are_balanced():
    from rmeval.dataset import load_dataset

    for name, task in (("humanoid-poses-kneeling", "kneeling"), ("humanoid-poses-standing-up", "standing_up"),
                       ("humanoid-poses-arms-raised", "arms_raised")):
        ds = load_dataset(datasets_dir() / name)
        assert ds.metadata.task == task and ds.metadata.env == "rmeval/Humanoid-v0"
        idx = ds.index
        assert idx["label"].equals(idx[f"auto_{task}"])
        assert {"auto_lotus_position", "auto_hands_on_hips", "auto_arms_crossed"} <= set(idx.columns)
        for col in ("auto_kneeling", "auto_standing_up", "auto_arms_raised"):
            goal = int(idx[col].sum())
            assert 0 < goal < len(idx), (name, col, goal)
        assert 0.25 <= idx["label"].mean() <= 0.5
        assert set(idx["source"]) == {"pose", "rollout"}


def test_datasets_dir_is_lean():
    total = sum(p.stat().st_size for p in datasets_dir().rglob("*") if p.is_file())
    assert total < 40 * 2**20, f"datasets/ holds {total / 2**20:.1f} MiB"


def test_mountaincar_standard_rebuilds_with_workers(run, tmp_path):
    """Full rebuild of a bundled sweep from its stored command, with two workers."""
    bundled = datasets_dir() / "mountaincar-standard"
    command = json.loads((bundled / "metadata.json").read_text())["render"]["command"]
    code, _, err = run(*shlex.split(command)[1:], "--out", str(tmp_path / "mc"), "--name", "mountaincar-standard",
                       "--workers", "2")
    assert code == 0, err
    _same_dataset(bundled, tmp_path / "mc")


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in BUNDLED if n not in ("cartpole-angle", "mountaincar-standard")])
def test_bundled_dataset_full_rebuild(run, tmp_path, name):
    from rmeval.dataset import load_dataset

    bundled = load_dataset(datasets_dir() / name)
    command = shlex.split(bundled.metadata.render["command"])
    code, _, err = run(*command[1:], "--out", str(tmp_path / name), "--name", name, "--workers", "2")
    assert code == 0, err
    rebuilt = load_dataset(tmp_path / name)
    pd.testing.assert_frame_equal(rebuilt.index, bundled.index)
    a, b = rebuilt.read_frames().astype(int), bundled.read_frames().astype(int)
    if name.startswith("humanoid"):
        assert np.abs(a - b).mean() < 0.5
    else:
        np.testing.assert_array_equal(a, b)


def test_scripted_policies_give_graded_returns(run, tmp_path):
    """--policy energy,...: episodes of each policy, with episode_return / episode_success and the progress column."""
    from rmeval.dataset import load_dataset

    out = tmp_path / "mc"
    code, _, err = run("render", "--env", "mountaincar", "--look", "standard", "--size", "64x64", "--episodes", "2", "--steps", "200",
        "--every", "50", "--policy", "energy,energy@0.3,random", "--out", str(out))
    assert code == 0, err
    ds = load_dataset(out)
    idx = ds.index
    assert idx.groupby("policy", sort=False)["episode"].nunique().to_dict() == {"energy": 2, "energy@0.3": 2, "random": 2}
    returns = idx.groupby("policy")["episode_return"].mean()
    assert returns["energy"] > 80 and returns["energy@0.3"] == 0 and returns["random"] == 0
    assert idx.loc[idx["policy"] == "energy", "episode_success"].eq(1).all()
    assert ds.metadata.render["progress_column"] == "x"
    assert "--policy energy,energy@0.3,random" in ds.metadata.render["command"]
