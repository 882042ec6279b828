"""Does the reward rise as the task progresses? Value-order correlation (GVL) and correlation
with a ground-truth progress signal, with intervals that resample whole trajectories.

Frames are given as parallel arrays: rewards ``(N,)`` or ``(K, N)``, ``episodes`` (N,) (the
trajectory of each frame) and ``steps`` (N,) (its position in the trajectory).

- :func:`value_order_correlation`: per trajectory, the Spearman correlation of reward and
  step; the mean over trajectories. A trajectory whose rewards are constant has no defined
  correlation and is left out of the mean (counted in ``n_undefined``).
- :func:`progress_correlation`: Pearson and Spearman of reward against a ground-truth
  progress value per frame (car position, negative distance to the goal pose), pooled
  over the frames of the chosen trajectories.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from rmeval.errors import InvalidInputError
from rmeval.metrics._core import (
    Bootstrap,
    Estimate,
    as_groups,
    as_rewards,
    bootstrap,
    cluster_counts,
    pearson_rows,
    weighted_midranks,
    weighted_pearson,
)

__all__ = ["MIN_STEPS", "ProgressCorrelation", "ValueOrder", "progress_correlation", "value_order_correlation"]

#: Fewest frames a trajectory needs for value-order correlation.
MIN_STEPS = 3


@dataclass(frozen=True)
class ValueOrder:
    """Mean per-trajectory Spearman(reward, step).

    Attributes:
        mean: the mean over trajectories with a defined correlation; ``n`` counts them.
        per_trajectory: (K, m) correlations (NaN where undefined), columns in ``trajectories`` order.
        trajectories: the trajectory ids used.
        n_undefined: (K,) trajectories left out per row (constant rewards).
    """

    mean: Estimate
    per_trajectory: np.ndarray
    trajectories: np.ndarray
    n_undefined: np.ndarray


@dataclass(frozen=True)
class ProgressCorrelation:
    """Pearson and Spearman of reward against ground-truth progress over frames; ``n`` counts
    trajectories (the resampled unit), ``n_frames`` frames."""

    pearson: Estimate
    spearman: Estimate
    n_frames: int


def _select(
    rewards: ArrayLike, episodes: ArrayLike, trajectories: Sequence[object] | np.ndarray | None
) -> tuple[np.ndarray, bool, np.ndarray, np.ndarray, np.ndarray]:
    r, one = as_rewards(rewards)
    ep = as_groups(episodes, r.shape[1], "episodes")
    if trajectories is not None:
        chosen = np.asarray(list(trajectories))
        missing = np.setdiff1d(chosen, ep)
        if missing.size:
            raise InvalidInputError(f"trajectories {missing[:5].tolist()} are not among the episodes.")
        keep = np.isin(ep, chosen)
        if not keep.any():
            raise InvalidInputError("no trajectory selected: the filter left none.")
        r, ep = r[:, keep], ep[keep]
    else:
        keep = np.ones(ep.shape[0], dtype=bool)
    ids, inverse = np.unique(ep, return_inverse=True)
    return r, one, keep, ids, inverse


def _midranks(x: np.ndarray) -> np.ndarray:
    return weighted_midranks(np.ones((1, x.shape[0])), x)[0]


def value_order_correlation(
    rewards: ArrayLike,
    episodes: ArrayLike,
    steps: ArrayLike,
    *,
    trajectories: Sequence[object] | np.ndarray | None = None,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> ValueOrder:
    """GVL's value-order correlation: mean over trajectories of Spearman(reward_t, t).

    Args:
        rewards: (N,) or (K, N).
        episodes: (N,) trajectory id of each frame.
        steps: (N,) step of each frame (distinct within a trajectory).
        trajectories: the ids to use (e.g. the successful ones); None: all.
        n_resamples, level, seed: the bootstrap over trajectories.

    Raises:
        InvalidInputError: a trajectory with fewer than ``MIN_STEPS`` frames or repeated
            steps, no trajectory with a defined correlation, bad shapes.
    """
    boot = Bootstrap(n_resamples, level, seed).checked()
    r, one, keep, ids, inverse = _select(rewards, episodes, trajectories)
    st = np.asarray(as_groups(steps, keep.shape[0], "steps"), dtype=np.float64)[keep]
    k_rows = r.shape[0]
    m = ids.shape[0]
    per = np.full((k_rows, m), np.nan)
    for j in range(m):
        cols = np.flatnonzero(inverse == j)
        if cols.size < MIN_STEPS:
            raise InvalidInputError(
                f"trajectory {ids[j]!r} has {cols.size} frame(s); value-order correlation needs at least {MIN_STEPS}."
            )
        t = st[cols]
        if np.unique(t).size != t.size:
            raise InvalidInputError(f"trajectory {ids[j]!r} repeats a step; steps must be distinct within a trajectory.")
        rt = _midranks(t)
        for k in range(k_rows):
            rk = r[k, cols]
            if np.ptp(rk) > 0:
                per[k, j] = np.corrcoef(_midranks(rk), rt)[0, 1]
    valid = np.isfinite(per)
    n_undefined = (~valid).sum(axis=1)
    if (n_undefined == m).any():
        raise InvalidInputError(
            "every selected trajectory has constant rewards: value-order correlation is undefined."
        )
    filled = np.where(valid, per, 0.0)
    value = filled.sum(axis=1) / valid.sum(axis=1)

    def stat(c: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (c @ filled.T) / (c @ valid.T.astype(np.float64))

    mean = bootstrap(value, stat, cluster_counts(m, boot), boot, int(valid.sum(axis=1).min()), one)
    return ValueOrder(mean, per, ids, n_undefined)


def progress_correlation(
    rewards: ArrayLike,
    progress: ArrayLike,
    episodes: ArrayLike,
    *,
    trajectories: Sequence[object] | np.ndarray | None = None,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> ProgressCorrelation:
    """Pearson and Spearman of reward against a ground-truth progress value, over the frames of
    the chosen trajectories, with intervals resampling whole trajectories.

    Args:
        rewards: (N,) or (K, N).
        progress: (N,) finite ground-truth progress (higher = closer to the goal).
        episodes: (N,) trajectory id of each frame.
        trajectories: ids to use; None: all.

    Raises:
        InvalidInputError: constant progress or reward, fewer than 2 trajectories, bad input.
    """
    boot = Bootstrap(n_resamples, level, seed).checked()
    r, one, keep, ids, inverse = _select(rewards, episodes, trajectories)
    g_all, _ = as_rewards(as_groups(progress, keep.shape[0], "progress"), "progress")
    g = g_all[0][keep]
    if ids.shape[0] < 2:
        raise InvalidInputError("progress correlation needs at least 2 trajectories (the bootstrap resamples them).")
    if np.ptp(g) == 0:
        raise InvalidInputError("the progress column is constant: no correlation is defined.")
    if (np.ptp(r, axis=1) == 0).any():
        raise InvalidInputError("a reward row is constant: no correlation with progress is defined.")
    m = ids.shape[0]
    n = g.shape[0]

    def frame_w(c: np.ndarray) -> np.ndarray:
        return c[:, inverse]

    def stat_p(c: np.ndarray) -> np.ndarray:
        w = frame_w(c)
        return pearson_rows(w, r, g)

    def stat_s(c: np.ndarray) -> np.ndarray:
        w = frame_w(c)
        rg = weighted_midranks(w, g)
        return np.stack([weighted_pearson(w, weighted_midranks(w, r[k]), rg) for k in range(r.shape[0])], axis=1)

    ones = np.ones((1, m))
    pearson = bootstrap(stat_p(ones)[0], stat_p, cluster_counts(m, boot), boot, m, one)
    spearman = bootstrap(stat_s(ones)[0], stat_s, cluster_counts(m, boot), boot, m, one)
    return ProgressCorrelation(pearson, spearman, n)
