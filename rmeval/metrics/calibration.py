"""Calibration of rewards that are probabilities (a judge's p(yes)): Brier score and expected
calibration error, with stratified percentile-bootstrap intervals.

``probabilities`` are ``(N,)`` or ``(K, N)`` in [0, 1]; labels ``(N,)`` 0/1 with both classes.

- Brier score: ``mean((p - y)^2)``; 0 is perfect, 0.25 is a constant 0.5.
- Expected calibration error over ``n_bins`` equal-width bins of p (bin b holds
  ``b/n_bins <= p < (b+1)/n_bins``, the last bin includes 1):
  ``ECE = sum_b (n_b / N) |mean(p in b) - mean(y in b)|``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from rmeval.errors import InvalidInputError
from rmeval.metrics._core import Bootstrap, Estimate, as_labels, as_rewards, bootstrap, stratified_counts

__all__ = ["Calibration", "brier_score", "calibration", "expected_calibration_error"]


@dataclass(frozen=True)
class Calibration:
    """Brier score and ECE (floats for one row, (K,) arrays for K rows), ``n_bins`` bins."""

    brier: Estimate
    ece: Estimate
    n_bins: int


def _probabilities(probabilities: ArrayLike) -> tuple[np.ndarray, bool]:
    p, one = as_rewards(probabilities, "probabilities")
    if (p < 0).any() or (p > 1).any():
        raise InvalidInputError(
            f"probabilities must lie in [0, 1] (a judge's p(yes)); got values from {p.min():g} to {p.max():g}. "
            "Calibration metrics do not apply to unnormalised rewards such as CLIP similarities."
        )
    return p, one


def calibration(
    probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    n_bins: int = 10,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Calibration:
    """Brier score and expected calibration error of probabilities against goal labels.

    Raises:
        InvalidInputError: values outside [0, 1], one class only, n_bins < 1, bad shapes.
    """
    boot = Bootstrap(n_resamples, level, seed).checked()
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise InvalidInputError(f"n_bins must be a positive integer; got {n_bins!r}.")
    p, one = _probabilities(probabilities)
    lab = as_labels(labels, p.shape[1])
    y = lab.astype(np.float64)
    k_rows, n = p.shape
    err = p - y  # (K, N)
    sq = err**2
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)  # (K, N)
    onehot = [np.zeros((n, n_bins)) for _ in range(k_rows)]
    for k in range(k_rows):
        onehot[k][np.arange(n), bins[k]] = err[k]

    def stat_brier(w: np.ndarray) -> np.ndarray:
        return (w @ sq.T) / w.sum(axis=1, keepdims=True)

    def stat_ece(w: np.ndarray) -> np.ndarray:
        tot = w.sum(axis=1)
        return np.stack([np.abs(w @ onehot[k]).sum(axis=1) / tot for k in range(k_rows)], axis=1)

    ones = np.ones((1, n))
    brier = bootstrap(stat_brier(ones)[0], stat_brier, stratified_counts(lab, boot), boot, n, one)
    ece = bootstrap(stat_ece(ones)[0], stat_ece, stratified_counts(lab, boot), boot, n, one)
    return Calibration(brier, ece, n_bins)


def brier_score(probabilities: ArrayLike, labels: ArrayLike, **kwargs: float) -> Estimate:
    """Brier score ``mean((p - y)^2)`` with an interval (keywords as :func:`calibration`)."""
    return calibration(probabilities, labels, **kwargs).brier  # type: ignore[arg-type]


def expected_calibration_error(probabilities: ArrayLike, labels: ArrayLike, **kwargs: float) -> Estimate:
    """Expected calibration error over equal-width bins (keywords as :func:`calibration`)."""
    return calibration(probabilities, labels, **kwargs).ece  # type: ignore[arg-type]
