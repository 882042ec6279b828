"""Trajectory scoring (paper Appendix B): episodes, success and success rates with CIs.

A rater watches an episode and records in how many of its timesteps the agent performs
the task (``n_task`` of ``n_steps``). An episode is a *success* when
``n_task / n_steps >= threshold`` (default 0.5, the paper's ">= 50%"; pass
``inclusive=False`` for "above"). With several raters an episode's fraction is the mean of
their fractions. A policy's success rate is the share of its scored episodes that
succeed, with a seeded percentile bootstrap interval over episodes.

Policies: the dataset index column ``policy`` (or else ``checkpoint``) names the policy
or checkpoint of each frame's episode; without one every episode belongs to ``"all"``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rmeval.errors import InvalidInputError

__all__ = [
    "POLICY_COLUMNS",
    "DEFAULT_THRESHOLD",
    "QUICK_PERCENTS",
    "Episode",
    "policy_column",
    "episodes",
    "quick_counts",
    "is_success",
    "episode_fractions",
    "bootstrap_rate_ci",
    "success_rates",
    "scores_csv",
]

#: Index columns that name an episode's policy or checkpoint, in order of preference.
POLICY_COLUMNS = ("policy", "checkpoint")
#: Default success threshold: at least half of the timesteps.
DEFAULT_THRESHOLD = 0.5
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
    """``(percent, timesteps)`` for the quick buttons: ``round(percent / 100 * n_steps)``."""
    if n_steps < 1:
        raise InvalidInputError(f"an episode needs at least one timestep, got {n_steps}")
    return [(p, int(np.floor(p / 100 * n_steps + 0.5))) for p in QUICK_PERCENTS]


def _check_threshold(threshold: float) -> float:
    t = float(threshold)
    if not 0.0 <= t <= 1.0:
        raise InvalidInputError(f"the success threshold must lie in [0, 1] (a share of timesteps), not {threshold!r}")
    return t


def is_success(fraction: np.ndarray | float, threshold: float = DEFAULT_THRESHOLD, *, inclusive: bool = True) -> np.ndarray:
    """``fraction >= threshold`` (``>`` when not ``inclusive``), elementwise, as bool.

    Fractions are compared after rounding to 12 decimals, so 50/100 counts as 0.5 exactly.
    """
    t = _check_threshold(threshold)
    f = np.round(np.asarray(fraction, dtype=np.float64), 12)
    return f >= t if inclusive else f > t


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


def bootstrap_rate_ci(
    successes: np.ndarray, *, n_resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of a success rate.

    Resample b draws ``rng.integers(0, n, size=n)`` trajectories with replacement
    (``rng = numpy.random.default_rng(seed)``); the interval is the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles of the resampled rates.

    Args:
        successes: ``(n,)`` bool, one per trajectory, n >= 1.

    Returns:
        ``(low, high)`` in [0, 1].
    """
    s = np.asarray(successes, dtype=np.float64)
    if s.ndim != 1 or s.size == 0:
        raise InvalidInputError("the bootstrap needs at least one scored trajectory")
    if n_resamples < 1:
        raise InvalidInputError(f"n_resamples must be >= 1, not {n_resamples}")
    if not 0 < level < 1:
        raise InvalidInputError(f"level must lie strictly between 0 and 1, not {level}")
    rng = np.random.default_rng(seed)
    n = s.size
    rates = np.empty(n_resamples)
    chunk = max(1, min(n_resamples, 2**22 // n))
    for b0 in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - b0)
        rates[b0 : b0 + b] = s[rng.integers(0, n, size=(b, n))].mean(axis=1)
    low, high = np.percentile(rates, [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high)


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
    t = _check_threshold(threshold)
    fr = episode_fractions(scores, rater=rater)
    rows = []
    for policy, group in fr.groupby("policy", sort=True):
        ok = is_success(group["fraction"].to_numpy(), t, inclusive=inclusive)
        low, high = bootstrap_rate_ci(ok, n_resamples=n_resamples, level=level, seed=seed)
        rows.append(
            {
                "policy": policy,
                "n_trajectories": int(ok.size),
                "n_success": int(ok.sum()),
                "success_rate": float(ok.mean()),
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
    df["threshold"] = (">=" if inclusive else ">") + f"{threshold:g}"
    df["time"] = pd.to_datetime(df["time"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    cols = ["dataset", "episode", "policy", "rater", "n_task", "n_steps", "fraction", "success", "threshold", "time"]
    buf = io.StringIO()
    df[cols].to_csv(buf, index=False)
    return buf.getvalue()
