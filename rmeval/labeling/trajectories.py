"""Trajectory scoring (paper Appendix B): episodes, success and success rates with CIs.

A rater watches an episode and records in how many of its timesteps the agent performs
the task (``n_task`` of ``n_steps``). An episode is a *success* when
``n_task / n_steps >= threshold`` (default 0.5, the paper's ">= 50%"; pass
``inclusive=False`` for "above"). With several raters an episode's fraction is the mean of
their fractions. A policy's success rate is the share of its scored episodes that
succeed, with a seeded percentile bootstrap interval over episodes. The threshold, the
success test and the bootstrap are :mod:`rmeval.success`'s (shared with
:mod:`rmeval.scaling`); this module groups episodes by policy.

Policies: the dataset index column ``policy`` (or else ``checkpoint``) names the policy
or checkpoint of each frame's episode; without one every episode belongs to ``"all"``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rmeval.errors import InvalidInputError
from rmeval.success import (
    DEFAULT_THRESHOLD,
    bootstrap_rate_ci,
    check_threshold,
    format_threshold,
    is_success,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "POLICY_COLUMNS",
    "QUICK_PERCENTS",
    "Episode",
    "episode_fractions",
    "episodes",
    "policy_column",
    "quick_counts",
    "scores_csv",
    "success_rates",
]

#: Index columns that name an episode's policy or checkpoint, in order of preference.
POLICY_COLUMNS = ("policy", "checkpoint")
#: Quick buttons: these percentages of the episode's timesteps.
QUICK_PERCENTS = (0, 25, 50, 75, 100)
#: Policy name when the dataset has no policy column.
ALL = "all"


@dataclass(frozen=True)
class Episode:
    """One episode of a dataset.

    Attributes:
        episode: the episode id (index column ``episode``).
        policy: the policy/checkpoint (``"all"`` without a policy column).
        rows: ``(T,)`` row positions of its frames, ordered by step.
        steps: ``(T,)`` their step numbers.
    """

    episode: int
    policy: str
    rows: np.ndarray
    steps: np.ndarray

    @property
    def n_steps(self) -> int:
        return int(self.rows.shape[0])


def policy_column(index: pd.DataFrame) -> str | None:
    """The first of :data:`POLICY_COLUMNS` in ``index``, or None."""
    return next((c for c in POLICY_COLUMNS if c in index.columns), None)


def episodes(index: pd.DataFrame) -> list[Episode]:
    """The dataset's episodes in order of episode id, each with its frames by step."""
    col = policy_column(index)
    out: list[Episode] = []
    for ep, group in index.groupby("episode", sort=True):
        group = group.sort_values("step", kind="stable")
        policy = ALL
        if col is not None:
            values = group[col].dropna().astype(str).unique()
            policy = values[0] if len(values) else ALL
        out.append(
            Episode(
                episode=int(ep),
                policy=str(policy),
                rows=group.index.to_numpy(dtype=np.intp),
                steps=group["step"].to_numpy(dtype=np.int64),
            )
        )
    return out


def quick_counts(n_steps: int) -> list[tuple[int, int]]:
    """``(percent, timesteps)`` for the quick buttons: ``percent / 100 * n_steps`` rounded to the nearest
    whole timestep, halves up (25 % of 10 timesteps is 3, which is 30 %: the button says so)."""
    if n_steps < 1:
        raise InvalidInputError(f"an episode needs at least one timestep, got {n_steps}")
    return [(p, (2 * p * n_steps + 100) // 200) for p in QUICK_PERCENTS]  # integers: no float rounding


def episode_fractions(scores: pd.DataFrame, *, rater: str | None = None) -> pd.DataFrame:
    """One row per scored episode: its policy, raters and mean fraction of timesteps on task.

    Args:
        scores: :meth:`LabelStore.current_scores` output.
        rater: use only this rater's scores (None: average over raters).

    Returns:
        DataFrame with columns ``episode``, ``policy``, ``n_raters``, ``fraction``, ordered
        by episode.
    """
    s = scores if rater is None else scores[scores["rater"] == rater]
    if s.empty:
        return pd.DataFrame({"episode": pd.Series(dtype="int64"), "policy": pd.Series(dtype=object),
                             "n_raters": pd.Series(dtype="int64"), "fraction": pd.Series(dtype="float64")})
    s = s.assign(fraction=s["n_task"] / s["n_steps"])
    out = (
        s.groupby("episode", sort=True)
        .agg(policy=("policy", "last"), n_raters=("rater", "nunique"), fraction=("fraction", "mean"))
        .reset_index()
    )
    out["policy"] = out["policy"].replace("", ALL)
    return out


def success_rates(
    scores: pd.DataFrame,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    inclusive: bool = True,
    rater: str | None = None,
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Success rate per policy with a bootstrap confidence interval.

    Returns:
        DataFrame with columns ``policy``, ``n_trajectories``, ``n_success``,
        ``success_rate``, ``ci_low``, ``ci_high``, ``threshold``, ``inclusive``; one row per
        policy with a scored episode.
    """
    t = check_threshold(threshold)
    fr = episode_fractions(scores, rater=rater)
    rows = []
    for policy, group in fr.groupby("policy", sort=True):
        ok = is_success(group["fraction"].to_numpy(), t, inclusive=inclusive)
        rate, low, high = bootstrap_rate_ci(ok, n_resamples=n_resamples, level=level, seed=seed)
        rows.append(
            {
                "policy": policy,
                "n_trajectories": int(ok.size),
                "n_success": int(ok.sum()),
                "success_rate": rate,
                "ci_low": low,
                "ci_high": high,
                "threshold": t,
                "inclusive": inclusive,
            }
        )
    cols = ["policy", "n_trajectories", "n_success", "success_rate", "ci_low", "ci_high", "threshold", "inclusive"]
    return pd.DataFrame(rows, columns=cols)


def scores_csv(
    scores: pd.DataFrame, dataset: str, *, threshold: float = DEFAULT_THRESHOLD, inclusive: bool = True
) -> str:
    """Trajectory scores as CSV text, one row per (rater, episode) with its success flag.

    Columns: ``dataset, episode, policy, rater, n_task, n_steps, fraction, success,
    threshold, time`` (``time`` as ISO 8601 UTC).
    """
    df = scores.copy()
    df.insert(0, "dataset", dataset)
    df["policy"] = df["policy"].replace("", ALL)
    df["fraction"] = df["n_task"] / df["n_steps"]
    df["success"] = is_success(df["fraction"].to_numpy(), threshold, inclusive=inclusive)
    df["threshold"] = format_threshold(threshold, inclusive)
    df["time"] = pd.to_datetime(df["time"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    cols = ["dataset", "episode", "policy", "rater", "n_task", "n_steps", "fraction", "success", "threshold", "time"]
    buf = io.StringIO()
    df[cols].to_csv(buf, index=False)
    return buf.getvalue()
