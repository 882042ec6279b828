"""Choosing and loading a run's checkpoints, and stepping a policy through episodes."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rmeval.errors import InvalidInputError, RmevalError
from rmeval.training.checkpoints import best_checkpoint, read_checkpoints
from rmeval.training.config import RunConfig


@dataclass(frozen=True)
class CheckpointChoice:
    """A checkpoint file of a run and what ``checkpoints.csv`` says about it."""

    path: Path
    step: int | None
    name: str
    mean_vlm_return: float = float("nan")
    mean_env_return: float = float("nan")


def _choice(run_dir: Path, row: pd.Series) -> CheckpointChoice:
    path = run_dir / str(row["checkpoint"])
    return CheckpointChoice(path, int(row["step"]), Path(str(row["checkpoint"])).stem,
                            float(row["mean_vlm_return"]), float(row["mean_env_return"]))


#: What ``--best`` can select by.
BEST_BY: tuple[str, ...] = ("reward", "success")


def best_by_success(root: Path, table: pd.DataFrame) -> pd.Series:
    """The checkpoint row whose step has the highest true success in ``monitor.csv`` (the later on ties)."""
    from rmeval.training.monitor import MONITOR_CSV, read_monitor

    monitor = read_monitor(root)
    if monitor.empty:
        raise RmevalError(
            f"{root} has no {MONITOR_CSV} (the reward-hacking monitor runs with VLM rewards): "
            "select with --best reward or --checkpoint"
        )
    success = dict(zip(monitor["step"].astype("int64"), pd.to_numeric(monitor["true_success"], errors="coerce")))
    values = pd.Series([success.get(int(s), float("nan")) for s in table["step"]], index=table.index, dtype="float64")
    if not values.notna().any():
        raise RmevalError(f"no checkpoint step of {root} has a monitor row; select with --best reward or --checkpoint")
    return table.loc[values[values == values.max()].index[-1]]


def choose_checkpoint(run_dir: str | Path, checkpoint: str | None = None, best: bool | str = False) -> CheckpointChoice:
    """The checkpoint to use: ``checkpoint`` (a path, or a step listed in ``checkpoints.csv``),
    the best one (``best``: ``"reward"`` or True, by recorded training reward; ``"success"``, by
    the true success the reward-hacking monitor measured at the checkpoint's step), or else
    the last one."""
    root = Path(run_dir)
    table = read_checkpoints(root)
    if checkpoint is not None and best:
        raise InvalidInputError("give either --checkpoint or --best, not both")
    if checkpoint is not None:
        text = str(checkpoint).strip()
        if text.isdigit() and not Path(text).exists():
            rows = table[table["step"].astype("int64") == int(text)] if len(table) else table
            if rows.empty:
                steps = ", ".join(str(s) for s in table["step"]) if len(table) else "none"
                raise InvalidInputError(f"no checkpoint at step {text}; listed steps: {steps}")
            return _choice(root, rows.iloc[-1])
        path = Path(text).expanduser()
        if not path.is_absolute() and not path.exists():
            path = root / path
        if not path.is_file():
            raise InvalidInputError(f"--checkpoint {text}: no such file")
        match = table[[(root / str(c)).resolve() == path.resolve() for c in table["checkpoint"]]] if len(table) else table
        if len(match):
            return _choice(root, match.iloc[-1])
        return CheckpointChoice(path, None, path.stem)
    if table.empty:
        raise RmevalError(f"{root} has no checkpoints yet (checkpoints.csv is missing or empty)")
    if best and best is not True and best not in BEST_BY:
        raise InvalidInputError(f"--best {best!r}: choose {' or '.join(BEST_BY)}")
    if best == "success":
        row = best_by_success(root, table)
    else:
        row = best_checkpoint(table) if best else table.iloc[-1]
    return _choice(root, row)


def load_policy(config: RunConfig, path: str | Path, device: str = "cpu") -> Any:
    """Load a stable-baselines3 checkpoint (a pickled archive: only from trusted sources)."""
    from rmeval.training.trainer import algorithm_class

    try:
        return algorithm_class(config.algo).load(str(path), device=device)
    except RmevalError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise RmevalError(f"cannot load checkpoint {path}: {type(exc).__name__}: {exc}") from None


@dataclass
class Step:
    """One timestep of an episode: the state ``s_t`` after ``t`` actions.

    An episode of ``T`` actions has the ``T + 1`` states ``s_0`` (right after ``reset``) ..
    ``s_T``. What belongs to the action or transition is stored with the state it leads to:
    step ``t``'s ``reward`` and ``action`` are those of the transition ``s_{t-1} -> s_t``
    (NaN and None at step 0).

    Attributes:
        episode: episode number.
        step: ``t``, the number of actions taken so far (0: the state right after reset).
        obs: the observation of ``s_t``.
        reward: the environment's reward for the action that led to ``s_t`` (NaN at step 0).
        info: ``reset``'s info at step 0, else the info of the step into ``s_t``; with
            rendering, ``info["frame"]`` is the frame of ``s_t``.
        env: the environment (its state is ``s_t`` while the step is being handled).
        action: the action that led to ``s_t`` (None at step 0).
    """

    episode: int
    step: int
    obs: np.ndarray
    reward: float
    info: dict[str, Any]
    env: Any
    action: Any = None


def run_episodes(
    policy: Any,
    config: RunConfig,
    episodes: int,
    *,
    seed: int = 0,
    deterministic: bool = True,
    render: bool = False,
    include_reset: bool = False,
) -> Generator[Step, None, None]:
    """Step ``policy`` through ``episodes`` episodes of the run's environment (seeded, repeatable).

    Episode ``e`` starts from ``reset(seed=seed + e)`` and runs until it terminates or is
    truncated (``config.episode_steps`` actions). Each action yields the :class:`Step` of the
    state it leads to: steps ``1 .. T`` of an episode of ``T`` actions. With
    ``include_reset`` the reset state comes first as step 0 (reward NaN), so an episode
    yields its ``T + 1`` states ``s_0 .. s_T``: what ``rmeval rollout`` records. Without it
    (``rmeval evaluate``) every yielded step is one action, its reward and the state it
    leads to. With ``render`` each step's ``info["frame"]`` holds the frame of its state.
    """
    import torch

    from rmeval.training.vec_env import FRAME_KEY, make_env, render_frame

    torch.manual_seed(seed)
    env = make_env(config.env_id, config.env_kwargs, config.episode_steps, render_frames=render)
    try:
        for e in range(int(episodes)):
            obs, info = env.reset(seed=int(seed) + e)
            if include_reset:
                info = dict(info)
                if render:
                    info[FRAME_KEY] = render_frame(env)
                yield Step(e, 0, np.asarray(obs), float("nan"), info, env)
            t = 0
            while True:
                action, _ = policy.predict(obs, deterministic=deterministic)
                obs, reward, terminated, truncated, info = env.step(action)
                t += 1
                yield Step(e, t, np.asarray(obs), float(reward), info, env, action)
                if terminated or truncated:
                    break
    finally:
        env.close()


__all__ = ["BEST_BY", "CheckpointChoice", "Step", "best_by_success", "choose_checkpoint", "load_policy", "run_episodes"]
