"""Evaluate a run's checkpoints under the ground-truth reward (CartPole and MountainCar).

For every checkpoint in ``checkpoints.csv`` the policy runs ``episodes`` episodes
(deterministic actions; episode ``e`` starts from ``reset(seed=seed + e)``, the same starts
for every checkpoint) in the run's environment, without rendering, and is scored by the
environment's own reward and a success criterion:

- **CartPole**: an episode succeeds when the pole is in the task's goal state
  (``|angle| <= 0.1`` rad, the CartPole task's goal rule) on at least ``threshold``
  (default 0.5) of its steps: the paper's human-evaluation rule ("the task is performed in
  at least 50% of the timesteps") applied to the goal predicate. Return: +1 per step with
  the pole up (within 12 degrees, cart on the track), -1 per step with it dropped.
- **MountainCar**: an episode succeeds when the car reaches the goal (``x >= 0.45``; the
  goal is absorbing). Return: +1 per step at the goal.

Steps here are actions: an episode of ``T`` actions has ``T`` rewards (its return is their
sum) and ``T`` states after them, ``s_1 .. s_T``, over which the goal fraction is taken;
the reset state ``s_0`` has no reward and is not counted. ``rmeval rollout`` of the same
checkpoint and seed records the same episode as ``T + 1`` rows, steps ``0 .. T`` (step 0
the reset state, ``env_reward`` NaN there), so the return is the sum of ``env_reward``
and this goal fraction is the share of goal labels among steps ``1 .. T``.

The Humanoid tasks have no ground-truth reward: roll their checkpoints out
(``rmeval rollout``) and score the episodes in the labelling app.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rmeval.envs.catalogue import list_envs
from rmeval.errors import InvalidInputError, RmevalError
from rmeval.training.checkpoints import read_checkpoints
from rmeval.training.config import RunConfig, load_config
from rmeval.training.policies import load_policy, run_episodes

#: Environments with a ground-truth success rule (the catalogue's).
EVALUATED_ENVS: tuple[str, ...] = tuple(e.name for e in list_envs() if e.ground_truth)
DEFAULT_THRESHOLD = 0.5
COLUMNS: tuple[str, ...] = (
    "step", "checkpoint", "episodes", "mean_return", "std_return", "min_return", "max_return", "success_rate",
    "mean_goal_fraction", "mean_vlm_return", "mean_env_return_train",
)


def success_rule(env: str, threshold: float = DEFAULT_THRESHOLD) -> str:
    """The success criterion in words."""
    if env == "cartpole":
        return f"pole within 0.1 rad of upright on at least {threshold:.0%} of the episode's steps"
    if env == "mountaincar":
        return "the car reaches the goal (x >= 0.45) during the episode"
    raise InvalidInputError(f"no success rule for {env!r}")


def evaluate_policy(
    policy: Any, config: RunConfig, episodes: int, *, seed: int = 0, threshold: float = DEFAULT_THRESHOLD
) -> dict[str, float]:
    """Return and success of ``episodes`` deterministic episodes of ``policy``."""
    returns = np.zeros(episodes)
    goal_steps = np.zeros(episodes)
    lengths = np.zeros(episodes)
    reached = np.zeros(episodes, dtype=bool)
    for s in run_episodes(policy, config, episodes, seed=seed, deterministic=True):
        returns[s.episode] += s.reward
        lengths[s.episode] += 1
        goal = bool(s.info.get("is_goal", False))
        goal_steps[s.episode] += goal
        reached[s.episode] |= bool(s.info.get("goal_reached", goal))
    fraction = goal_steps / np.maximum(lengths, 1)
    success = fraction >= threshold if config.env == "cartpole" else reached
    return {
        "episodes": int(episodes),
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std(ddof=1)) if episodes > 1 else 0.0,
        "min_return": float(returns.min()),
        "max_return": float(returns.max()),
        "success_rate": float(success.mean()),
        "mean_goal_fraction": float(fraction.mean()),
    }


def evaluate_run(
    run_dir: str | Path,
    *,
    episodes: int = 10,
    seed: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
    log: Callable[[str], None] = print,
) -> pd.DataFrame:
    """Evaluate every checkpoint listed in ``run_dir/checkpoints.csv`` (see the module docstring)."""
    if not isinstance(episodes, int) or episodes < 1:
        raise InvalidInputError(f"--episodes must be a positive integer, got {episodes!r}")
    if not 0.0 < threshold <= 1.0:
        raise InvalidInputError(f"--threshold must lie in (0, 1], got {threshold}")
    config = load_config(run_dir)
    if config.env not in EVALUATED_ENVS:
        raise InvalidInputError(
            f"{config.env} has no ground-truth reward to evaluate with; roll the checkpoints out "
            "(rmeval rollout --run ... --best) and score the episodes in the labelling app."
        )
    table = read_checkpoints(run_dir)
    if table.empty:
        raise RmevalError(f"{run_dir} has no checkpoints yet")
    rows = []
    for _, ck in table.iterrows():
        policy = load_policy(config, Path(run_dir) / str(ck["checkpoint"]))
        result = evaluate_policy(policy, config, episodes, seed=seed, threshold=threshold)
        rows.append({
            "step": int(ck["step"]),
            "checkpoint": str(ck["checkpoint"]),
            **result,
            "mean_vlm_return": float(ck["mean_vlm_return"]),
            "mean_env_return_train": float(ck["mean_env_return"]),
        })
        log(f"  step {int(ck['step']):>12,}: return {result['mean_return']:8.2f} +- {result['std_return']:.2f}   "
            f"success {result['success_rate']:.0%}")
    return pd.DataFrame(rows, columns=list(COLUMNS))


def plot_evaluation(table: pd.DataFrame, ax: Any = None, *, title: str | None = None) -> Any:
    """Return (mean and min-max band, left axis) and success rate (right axis) against training steps.

    A dotted line marks the checkpoint with the highest training VLM reward (``--best``).

    Draws on ``ax`` (a new figure when None) and returns the figure.
    """
    import matplotlib
    import matplotlib.ticker

    if ax is None:
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7.5, 4.5), constrained_layout=True)
    else:
        fig = ax.figure
    steps = table["step"].to_numpy(dtype=float)
    mean = table["mean_return"].to_numpy(dtype=float)
    std = table["std_return"].to_numpy(dtype=float)
    n = int(table["episodes"].iloc[0]) if "episodes" in table.columns and len(table) else None
    if {"min_return", "max_return"} <= set(table.columns):
        low, high, band = table["min_return"].to_numpy(dtype=float), table["max_return"].to_numpy(dtype=float), "min to max"
    else:
        low, high, band = mean - std, mean + std, "\u00b1 sd"
    label = "return: mean, " + band + (f" of {n} episodes" if n else "")
    ax.plot(steps, mean, "o-", color="tab:blue", label=label, zorder=3)
    ax.fill_between(steps, low, high, color="tab:blue", alpha=0.2, linewidth=0)
    ax.set_xlabel("training steps")
    ax.set_ylabel("episode return (ground truth)", color="tab:blue")
    ax.tick_params(axis="y", colors="tab:blue")
    ax.grid(alpha=0.3)
    right = ax.twinx()
    right.plot(steps, table["success_rate"].to_numpy(dtype=float) * 100, "s--", color="tab:orange", label="success rate")
    right.set_ylabel("success rate (%)", color="tab:orange")
    right.tick_params(axis="y", colors="tab:orange")
    right.set_ylim(-5, 105)
    if "mean_vlm_return" in table.columns and pd.to_numeric(table["mean_vlm_return"], errors="coerce").notna().any():
        vlm = pd.to_numeric(table["mean_vlm_return"], errors="coerce")
        best_step = float(table.loc[vlm[vlm == vlm.max()].index[-1], "step"])
        ax.axvline(best_step, color="tab:green", linestyle=":", label="highest training VLM reward (--best)")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")] + right.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], loc="upper center", bbox_to_anchor=(0.5, -0.16),
              ncol=min(3, len(lines)), fontsize="small", frameon=False)
    if title:
        ax.set_title(title)
    return fig


__all__ = ["COLUMNS", "DEFAULT_THRESHOLD", "evaluate_policy", "evaluate_run", "plot_evaluation", "success_rule"]
