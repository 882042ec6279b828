"""Task confusion: does the prompt of one task fire on another task's frames?

For tasks ``i`` with prompt ``P_i`` and labelled datasets ``D_j`` (dataset j labelled for
task j), ``M[i, j]`` is a metric of the reward of ``P_i`` on ``D_j``'s frames against
``D_j``'s labels: AUROC (higher is better) or EPIC (lower is better). A discriminating reward
model has a strong diagonal; the summary gives the diagonal mean, the off-diagonal mean and
the share of columns whose best row is the diagonal. Cell intervals and the summary's
intervals come from the same stratified resamples of each dataset.
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
    as_labels,
    as_rewards,
    check_option,
    out,
    pearson_rows,
    percentile_ci,
    stratified_counts,
)
from rmeval.metrics.detection import _Sorted

__all__ = ["CONFUSION_METRICS", "TaskConfusion", "task_confusion"]

#: Metric name -> whether higher is better.
CONFUSION_METRICS = {"auroc": True, "epic": False}


@dataclass(frozen=True)
class TaskConfusion:
    """A T x T confusion matrix (one reward row) or K of them (K rows, one per alpha).

    Attributes:
        tasks: the T task names (rows: prompts, columns: datasets).
        metric: ``auroc`` or ``epic``.
        matrix, ci_low, ci_high: (T, T), or (K, T, T): [i, j] = prompt of task i on the dataset of task j.
        diagonal, off_diagonal: means of the diagonal and off-diagonal cells.
        diagonal_best: share of columns whose best row (highest AUROC, lowest EPIC) is the diagonal.
    """

    tasks: tuple[str, ...]
    metric: str
    matrix: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    diagonal: Estimate
    off_diagonal: Estimate
    diagonal_best: Estimate


def _cell_stat(metric: str, r: np.ndarray, lab: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(b, K) metric of reward rows r (K, n) under counts w (b, n)."""
    if metric == "auroc":
        return np.stack([_Sorted(r[k], lab).stats(w)[0][:, 0] for k in range(r.shape[0])], axis=1)
    y = lab.astype(np.float64)
    rho = pearson_rows(w, r, y)
    return np.sqrt(np.clip(1.0 - rho, 0.0, 2.0) / 2.0)


def _summary(mats: np.ndarray, higher: bool) -> np.ndarray:
    """(b, T, T) matrices -> (b, 3): diagonal mean, off-diagonal mean, diagonal-best share."""
    t = mats.shape[1]
    eye = np.eye(t, dtype=bool)
    diag = mats[:, eye].mean(axis=1)
    off = mats[:, ~eye].mean(axis=1)
    best = np.argmax(mats, axis=1) if higher else np.argmin(mats, axis=1)  # (b, T): best row per column
    share = (best == np.arange(t)).mean(axis=1)
    bad = ~np.isfinite(mats).all(axis=(1, 2))
    out = np.stack([diag, off, share.astype(np.float64)], axis=1)
    out[bad] = np.nan
    return out


def task_confusion(
    rewards: Sequence[Sequence[ArrayLike]],
    labels: Sequence[ArrayLike],
    tasks: Sequence[str],
    *,
    metric: str = "auroc",
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> TaskConfusion:
    """The confusion matrix of prompts against task datasets.

    Args:
        rewards: ``rewards[i][j]`` (n_j,) or (K, n_j): the reward of task i's prompt on dataset
            j's frames (K rows: one matrix per row, e.g. per alpha, from the same resamples).
        labels: ``labels[j]`` (n_j,): dataset j's 0/1 labels for task j (both classes).
        tasks: the T task names.
        metric: ``auroc`` or ``epic``.
        n_resamples, level, seed: the stratified bootstrap (dataset j's resample b is shared by
            every row i, so the summary's interval is consistent with the cells').

    Raises:
        InvalidInputError: fewer than 2 tasks, a ragged or mismatched matrix, one-class labels,
            a constant reward for EPIC.
    """
    boot = Bootstrap(n_resamples, level, seed).checked()
    check_option(metric, tuple(CONFUSION_METRICS), "metric")
    t = len(tasks)
    if t < 2:
        raise InvalidInputError(f"task confusion needs at least 2 tasks; got {t}.")
    if len(rewards) != t or any(len(row) != t for row in rewards) or len(labels) != t:
        raise InvalidInputError(f"rewards must be {t} x {t} (prompt x dataset) and labels {t} long.")
    parsed = [[as_rewards(rewards[i][j]) for j in range(t)] for i in range(t)]
    one = parsed[0][0][1]
    cells = [[c for c, _ in row] for row in parsed]
    k_rows = cells[0][0].shape[0]
    labs = [as_labels(labels[j], cells[0][j].shape[1]) for j in range(t)]
    for j in range(t):
        for i in range(t):
            if cells[i][j].shape != (k_rows, labs[j].shape[0]):
                raise InvalidInputError(
                    f"rewards[{i}][{j}] has shape {cells[i][j].shape}; dataset {j} needs ({k_rows}, {labs[j].shape[0]})."
                )
            if metric == "epic" and (np.ptp(cells[i][j], axis=1) == 0).any():
                raise InvalidInputError(f"the reward of task {tasks[i]!r} on dataset {tasks[j]!r} is constant: EPIC is undefined.")
    point = np.empty((k_rows, t, t))
    samples = np.empty((boot.n_resamples, k_rows, t, t))
    for j in range(t):
        b0 = 0
        for w in stratified_counts(labs[j], boot):
            for i in range(t):
                samples[b0 : b0 + w.shape[0], :, i, j] = _cell_stat(metric, cells[i][j], labs[j], w)
            b0 += w.shape[0]
        for i in range(t):
            point[:, i, j] = _cell_stat(metric, cells[i][j], labs[j], np.ones((1, labs[j].shape[0])))[0]
    low, high = percentile_ci(samples.reshape(boot.n_resamples, k_rows * t * t), boot.level)
    higher = CONFUSION_METRICS[metric]
    summ = _summary(point, higher)  # (K, 3)
    s_samples = _summary(samples.reshape(-1, t, t), higher).reshape(boot.n_resamples, k_rows, 3)
    ests = []
    for q in range(3):
        lo, hi = percentile_ci(s_samples[:, :, q], boot.level)
        ests.append(Estimate(out(summ[:, q], one), out(lo, one), out(hi, one), t, boot.level, boot.n_resamples))
    shape = (t, t) if one else (k_rows, t, t)
    return TaskConfusion(tuple(tasks), metric, point.reshape(shape), low.reshape(shape), high.reshape(shape), *ests)
