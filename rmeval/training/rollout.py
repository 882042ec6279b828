"""Roll a checkpoint's policy out into a dataset (format v1) for labelling and EPIC.

One row per state, as ``rmeval render --mode rollout`` records them: an episode of ``T``
actions is its ``T + 1`` states ``s_0 .. s_T``, and row ``step = t`` holds the frame and
state columns of ``s_t``, the state after ``t`` actions (step 0: the state right after
``reset(seed=SEED + episode)``). ``env_reward`` at step ``t`` is the environment's reward for
the action that led to ``s_t`` (the transition ``s_{t-1} -> s_t``; NaN at step 0), and the
frame of step ``t >= 1`` is the frame the training reward of that transition was computed
on. So an episode's return is the sum of its ``env_reward`` column without step 0, and a
full episode of ``episode_steps`` actions has ``episode_steps + 1`` rows. Labels and
state columns describe the row's state:

- CartPole: state ``x, x_dot, angle, angle_dot``; ``label`` from the task's goal rule
  (``|angle| <= 0.1`` rad), also in ``auto_label``.
- MountainCar: state ``x, velocity``; ``label`` from the goal rule (``x >= 0.45``).
- Humanoid: state ``torso_z, head_z, torso_up`` and the joint configuration under the
  names ``rmeval render`` uses (:func:`rmeval.envs.pose_predicates.qpos_names`: the root's
  ``root_x .. root_qz``, then the hinge joints; enough to render the frame again with
  :class:`rmeval.envs.humanoid.HumanoidPoseRenderer`); one ``auto_<task>`` column per
  automatic pose predicate (:mod:`rmeval.envs.pose_predicates`); ``label`` and
  ``auto_label`` from the task's predicate (every Humanoid task has one; a task without
  one would leave them unlabelled, for human labels only).

Predicate labels are first estimates; the labelling app's human labels override them.
The ``checkpoint`` column names the policy, so trajectory scores group by checkpoint.

The policy is run twice with the same seeds: once to build the index, once to render the
frames while the dataset is written (frames are never all held in memory); the second
pass checks that it reproduces the first exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rmeval.errors import InvalidInputError, RmevalError
from rmeval.training.config import RunConfig, load_config
from rmeval.training.policies import (
    CheckpointChoice,
    Step,
    choose_checkpoint,
    load_policy,
    run_episodes,
)

HUMANOID_NQ = 24
#: What a row's ``step`` means, stored in the metadata (``render.frame``).
STEP_MEANING = ("step t: the state after t actions (step 0: right after reset); env_reward: the reward "
                "for the action into that state (empty at step 0)")


def state_row(config: RunConfig, step: Step) -> dict[str, Any]:
    """State columns and automatic labels of one step (see the module docstring)."""
    unwrapped = step.env.unwrapped
    if config.env == "cartpole":
        x, x_dot, angle, angle_dot = (float(v) for v in unwrapped.state)
        return {"x": x, "x_dot": x_dot, "angle": angle, "angle_dot": angle_dot}
    if config.env == "mountaincar":
        x, velocity = (float(v) for v in unwrapped.state)
        return {"x": x, "velocity": velocity}
    if config.env == "humanoid":
        from rmeval.envs.pose_predicates import BodyPoints, pose_labels

        points = BodyPoints.from_mujoco(unwrapped.model, unwrapped.data)
        qpos = np.asarray(unwrapped.data.qpos, dtype=np.float64)
        row: dict[str, Any] = {"torso_z": float(qpos[2]), "head_z": float(points.head[2]), "torso_up": float(points.torso_up)}
        row.update({name: float(v) for name, v in zip(_qpos_names(), qpos)})
        row.update({f"auto_{name}": int(value) for name, value in pose_labels(points).items()})
        return row
    raise InvalidInputError(f"rollout does not know environment {config.env!r}")


def state_columns(config: RunConfig) -> list[str]:
    if config.env == "cartpole":
        return ["x", "x_dot", "angle", "angle_dot"]
    if config.env == "mountaincar":
        return ["x", "velocity"]
    return ["torso_z", "head_z", "torso_up", *_qpos_names()]


def _qpos_names() -> tuple[str, ...]:
    from rmeval.envs.pose_predicates import qpos_names

    names = qpos_names()
    assert len(names) == HUMANOID_NQ
    return names


def _goal_label(config: RunConfig, row: dict[str, Any]) -> int | None:
    from rmeval.envs.tasks import get_task

    task = get_task(config.task)
    if task.predicate is None:
        return None
    if config.env == "cartpole":
        from rmeval.envs.cartpole import is_goal

        return int(bool(is_goal(row["angle"])))
    if config.env == "mountaincar":
        from rmeval.envs.mountaincar import is_goal as mc_goal

        return int(bool(mc_goal(row["x"])))
    return int(row[f"auto_{task.predicate}"])


def build_index(config: RunConfig, steps: Iterator[Step], checkpoint: str) -> pd.DataFrame:
    """The dataset's index from the states ``run_episodes(..., include_reset=True)`` yields."""
    rows = []
    for s in steps:
        row: dict[str, Any] = {"episode": s.episode, "step": s.step}
        state = state_row(config, s)
        label = _goal_label(config, state)
        row["label"] = label
        row["auto_label"] = label
        row["env_reward"] = s.reward
        row["checkpoint"] = checkpoint
        row.update(state)
        rows.append(row)
    if not rows:
        raise RmevalError("the rollout produced no steps")
    df = pd.DataFrame(rows)
    df["label"] = pd.array(df["label"].tolist(), dtype="Int8")
    df["auto_label"] = pd.array(df["auto_label"].tolist(), dtype="Int8")
    return df


def _frames(config: RunConfig, policy: Any, index: pd.DataFrame, episodes: int, seed: int, deterministic: bool) -> Iterator[np.ndarray]:
    cols = state_columns(config)
    expected = index[cols].to_numpy(dtype=np.float64)
    steps = run_episodes(policy, config, episodes, seed=seed, deterministic=deterministic, render=True, include_reset=True)
    for i, s in enumerate(steps):
        got = np.array([state_row(config, s)[c] for c in cols], dtype=np.float64)
        if i >= len(expected) or not np.array_equal(got, expected[i]):
            raise RmevalError(
                "the second pass of the rollout did not reproduce the first (a non-deterministic environment "
                "or policy); nothing was written"
            )
        yield s.info["frame"]


def rollout(
    run_dir: str | Path,
    out: str | Path,
    *,
    checkpoint: str | None = None,
    best: bool | str = False,
    episodes: int = 100,
    seed: int = 0,
    deterministic: bool = True,
    overwrite: bool = False,
    name: str = "",
    log: Callable[[str], None] = print,
) -> Any:
    """Roll a checkpoint of ``run_dir`` out for ``episodes`` episodes into a dataset at ``out``.

    Returns the written :class:`rmeval.dataset.Dataset`.
    """
    from rmeval import __version__
    from rmeval.dataset import DatasetMetadata, write_dataset
    from rmeval.envs.tasks import get_task

    if not isinstance(episodes, int) or episodes < 1:
        raise InvalidInputError(f"--episodes must be a positive integer, got {episodes!r}")
    config = load_config(run_dir)
    choice: CheckpointChoice = choose_checkpoint(run_dir, checkpoint, best)
    out_path = Path(out).expanduser()
    if out_path.exists() and not overwrite:
        raise RmevalError(f"{out_path} exists; pass --overwrite to replace it, or choose another --out")
    policy = load_policy(config, choice.path)
    log(f"checkpoint {choice.path}" + (f" (step {choice.step:,})" if choice.step is not None else ""))
    index = build_index(
        config, run_episodes(policy, config, episodes, seed=seed, deterministic=deterministic, include_reset=True),
        choice.name,
    )
    task = get_task(config.task)
    probe = run_episodes(policy, config, 1, seed=seed, deterministic=deterministic, render=True, include_reset=True)
    try:
        sample = next(probe).info["frame"]  # the frame of the first reset state: its size, for the metadata
    finally:
        probe.close()
    metadata = DatasetMetadata(
        env=config.env_id,
        task=config.task,
        goal_prompts=list(config.goal_prompts),
        baseline_prompts=list(config.baseline_prompts),
        render={**config.env_kwargs, "width": int(sample.shape[1]), "height": int(sample.shape[0]),
                "frame": STEP_MEANING},
        state_columns=state_columns(config),
        label_rule=(f"{task.goal_rule} (automatic predicate {task.predicate}; a first estimate, human labels override it)"
                    if task.predicate else ""),
        name=name,
        description=(f"{episodes} episodes of the {config.algo.upper()} policy at {choice.name} of run "
                     f"{Path(run_dir).name} (reward: {config.model or config.reward}, alpha {config.alpha:g}); "
                     f"rolled out by rmeval {__version__}."),
        extra={
            "rollout": {
                "run": str(Path(run_dir)),
                "checkpoint": str(choice.path),
                "checkpoint_step": choice.step,
                "mean_vlm_return": None if np.isnan(choice.mean_vlm_return) else choice.mean_vlm_return,
                "episodes": episodes,
                "seed": seed,
                "deterministic": deterministic,
                "reward": config.reward,
                "model": config.model,
                "random_weights": config.random_weights,
                "alpha": config.alpha,
            }
        },
    )
    frames = _frames(config, policy, index, episodes, seed, deterministic)
    ds = write_dataset(out_path, frames, index, metadata, overwrite=overwrite)
    return ds


__all__ = ["STEP_MEANING", "build_index", "rollout", "state_columns", "state_row"]
