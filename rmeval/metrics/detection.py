"""Success detection from frame labels: AUROC, average precision, balanced accuracy at the
best threshold, and EPIC to the labels -- each with a stratified percentile bootstrap.

Rewards are ``(N,)`` or ``(K, N)`` (one row per alpha, sharing the labels); labels ``(N,)``
0/1 with both classes. Definitions (``notes.md`` section 9):

- AUROC: the probability that a random goal frame outranks a random non-goal frame, ties
  counted half (``sklearn.metrics.roc_auc_score``). A constant reward scores 0.5.
- Average precision: ``sum_t (R_t - R_{t-1}) P_t`` over the distinct reward values t taken
  as thresholds, highest first (``sklearn.metrics.average_precision_score``).
- Balanced accuracy ``(TPR + TNR) / 2`` of "goal when reward >= t", at the t that maximises
  it (the highest such t when several do); the threshold is reported.
- EPIC (Lemma 1): ``sqrt((1 - rho) / 2)``, rho the Pearson correlation of reward and label
  (:func:`rmeval.epic.epic_from_labels`); undefined for a constant reward.

Intervals resample goal and non-goal frames separately, so every resample has both
classes in the original proportions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from rmeval.errors import InvalidInputError
from rmeval.metrics._core import (
    Bootstrap,
    Estimate,
    as_labels,
    as_rewards,
    bootstrap,
    out,
    pearson_rows,
    percentile_ci,
    stratified_counts,
)

__all__ = [
    "SuccessDetection",
    "auroc",
    "average_precision",
    "balanced_accuracy",
    "epic_to_labels",
    "success_detection",
]


@dataclass(frozen=True)
class SuccessDetection:
    """Success-detection metrics of one reward row (floats) or K rows ((K,) arrays).

    Attributes:
        auroc, average_precision, balanced_accuracy: estimates with intervals.
        threshold: the reward threshold of the best balanced accuracy (goal when reward >= it).
        n, n_goal: labelled frames and goal frames.
    """

    auroc: Estimate
    average_precision: Estimate
    balanced_accuracy: Estimate
    threshold: float | np.ndarray
    n: int
    n_goal: int


class _Sorted:
    """One reward row sorted from high to low, with its tie groups."""

    def __init__(self, r: np.ndarray, lab: np.ndarray) -> None:
        order = np.argsort(-r, kind="stable")
        self.order = order
        self.values = r[order]
        self.y = lab[order].astype(np.float64)
        start = np.ones(r.shape[0], dtype=bool)
        start[1:] = self.values[1:] != self.values[:-1]
        self.starts = np.flatnonzero(start)

    def stats(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """AUROC, AP and best balanced accuracy (b, 3) for frame counts w (b, N) (original order),
        the best balanced accuracy's tie-group index (b,), and every group's balanced accuracy (b, G)."""
        ws = w[:, self.order]
        pos = ws * self.y.astype(ws.dtype)
        if self.starts.size < ws.shape[1]:  # ties: one threshold per tie group
            pos = np.add.reduceat(pos, self.starts, axis=1)  # (b, G): goal weight per tie group
            ws = np.add.reduceat(ws, self.starts, axis=1)
        neg = ws - pos
        tp = np.cumsum(pos, axis=1)
        seen = np.cumsum(ws, axis=1)
        fp = seen - tp
        p_tot = tp[:, -1:]
        n_tot = fp[:, -1:]
        auc = (neg * (tp - 0.5 * pos)).sum(axis=1) / (p_tot[:, 0] * n_tot[:, 0])
        with np.errstate(divide="ignore", invalid="ignore"):
            prec = np.where(seen > 0, tp / seen, 0.0)
        ap = (pos * prec).sum(axis=1) / p_tot[:, 0]
        ba = 0.5 * (tp / p_tot + 1.0 - fp / n_tot)
        best = np.argmax(ba, axis=1)
        return np.stack([auc, ap, ba[np.arange(ba.shape[0]), best]], axis=1), best, ba


def success_detection(
    rewards: ArrayLike,
    labels: ArrayLike,
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> SuccessDetection:
    """AUROC, average precision and best balanced accuracy (with its threshold) of rewards
    against goal labels, each with a stratified percentile-bootstrap interval.

    Args:
        rewards: (N,) or (K, N) finite rewards.
        labels: (N,) 0/1 or bool, both classes present.
        n_resamples, level, seed: the bootstrap (resample b is the same for every row).

    Raises:
        InvalidInputError: one class only, shape mismatch, non-finite rewards, bad settings.
    """
    boot = Bootstrap(n_resamples, level, seed).checked()
    r, one = as_rewards(rewards)
    lab = as_labels(labels, r.shape[1])
    return _detect_all(r, lab, boot, one)


def _detect_all(r: np.ndarray, lab: np.ndarray, boot: Bootstrap, one: bool) -> SuccessDetection:
    k_rows, n = r.shape
    rows = [_Sorted(r[k], lab) for k in range(k_rows)]
    point = np.empty((k_rows, 3))
    thresholds = np.empty(k_rows)
    for k, s in enumerate(rows):
        vals, best, _ = s.stats(np.ones((1, n)))
        point[k] = vals[0]
        thresholds[k] = s.values[s.starts[best[0]]]
    chunks = [np.stack([s.stats(w)[0] for s in rows], axis=2) for w in stratified_counts(lab, boot)]
    samples = np.concatenate(chunks, axis=0)  # (B, 3, K)
    ests = []
    for j in range(3):
        low, high = percentile_ci(samples[:, j, :], boot.level)
        ests.append(Estimate(out(point[:, j], one), out(low, one), out(high, one), n, boot.level, boot.n_resamples))
    return SuccessDetection(ests[0], ests[1], ests[2], out(thresholds, one), n, int(lab.sum()))


def auroc(rewards: ArrayLike, labels: ArrayLike, *, n_resamples: int = 1000, level: float = 0.95,
          seed: int = 0) -> Estimate:
    """AUROC of rewards (N,) or (K, N) against labels (N,), with a stratified bootstrap interval."""
    return success_detection(rewards, labels, n_resamples=n_resamples, level=level, seed=seed).auroc


def average_precision(rewards: ArrayLike, labels: ArrayLike, *, n_resamples: int = 1000, level: float = 0.95,
                      seed: int = 0) -> Estimate:
    """Average precision of rewards (N,) or (K, N) against labels (N,), with a stratified bootstrap interval."""
    return success_detection(rewards, labels, n_resamples=n_resamples, level=level, seed=seed).average_precision


def balanced_accuracy(rewards: ArrayLike, labels: ArrayLike, *, n_resamples: int = 1000, level: float = 0.95,
                      seed: int = 0) -> tuple[Estimate, float | np.ndarray]:
    """Best balanced accuracy of "goal when reward >= t" and its threshold t (see the module)."""
    res = success_detection(rewards, labels, n_resamples=n_resamples, level=level, seed=seed)
    return res.balanced_accuracy, res.threshold


def epic_to_labels(rewards: ArrayLike, labels: ArrayLike, *, n_resamples: int = 1000, level: float = 0.95,
                   seed: int = 0) -> Estimate:
    """EPIC distance (Lemma 1) of rewards (N,) or (K, N) to labels (N,), with a stratified
    bootstrap interval (``rmeval epic`` resamples frames without stratifying).

    Raises:
        InvalidInputError: a constant reward row (rho undefined), one class only, bad input.
    """
    from rmeval.epic import epic_from_labels

    boot = Bootstrap(n_resamples, level, seed).checked()
    r, one = as_rewards(rewards)
    lab = as_labels(labels, r.shape[1])
    if (np.ptp(r, axis=1) == 0).any():
        raise InvalidInputError("a reward row is constant: rho, and so EPIC, is undefined for it.")
    value = np.atleast_1d(np.asarray(epic_from_labels(r, lab), dtype=np.float64))
    y = lab.astype(np.float64)

    def stat(w: np.ndarray) -> np.ndarray:
        rho = pearson_rows(w, r, y)
        return np.sqrt(np.clip(1.0 - rho, 0.0, 2.0) / 2.0)

    return bootstrap(value, stat, stratified_counts(lab, boot), boot, r.shape[1], one)
