"""Shared machinery of :mod:`rmeval.metrics`: input checks, the :class:`Estimate` result, and
the weighted percentile bootstrap.

Every bootstrap here is a *weights* bootstrap: a resample is a vector of counts (how often
each frame, trajectory or policy was drawn), drawn with ``numpy.random.Generator.multinomial``
(the same distribution as drawing with replacement). A metric is then computed from the
original data and the counts, so nothing is re-sorted per resample. Frame metrics draw the
goal and non-goal frames separately (stratified: each resample keeps both class sizes);
trajectory metrics draw whole trajectories; ranking draws policies.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from rmeval.errors import InvalidInputError

#: Most float64 values in one chunk of resample counts (64 MiB).
MAX_CHUNK_VALUES = 2**23


@dataclass(frozen=True)
class Estimate:
    """A metric's value and its percentile-bootstrap interval.

    For one reward row ``(N,)`` the numbers are floats; for K rows ``(K, N)`` (one per
    alpha, say) they are ``(K,)`` arrays. ``ci_low``/``ci_high`` are NaN where no resample
    gave a defined value.

    Attributes:
        value: the metric on the data as given.
        ci_low, ci_high: the percentile interval at ``level``.
        n: the units counted (frames, trajectories, policies or pairs, see the function).
        level: the interval's confidence level.
        n_resamples: bootstrap resamples drawn.
    """

    value: float | np.ndarray
    ci_low: float | np.ndarray
    ci_high: float | np.ndarray
    n: int
    level: float
    n_resamples: int

    def row(self, k: int) -> Estimate:
        """Row ``k`` of a K-row estimate, as floats."""
        return Estimate(
            float(np.asarray(self.value).reshape(-1)[k]), float(np.asarray(self.ci_low).reshape(-1)[k]),
            float(np.asarray(self.ci_high).reshape(-1)[k]), self.n, self.level, self.n_resamples,
        )


@dataclass(frozen=True)
class Bootstrap:
    """Bootstrap settings: ``n_resamples`` >= 1, ``level`` in (0, 1), ``seed`` >= 0."""

    n_resamples: int = 1000
    level: float = 0.95
    seed: int = 0

    def checked(self) -> Bootstrap:
        b, lv, s = self.n_resamples, self.level, self.seed
        if isinstance(b, bool) or not isinstance(b, numbers.Integral) or b < 1:
            raise InvalidInputError(f"n_resamples must be a whole number >= 1; got {b!r}.")
        if isinstance(lv, bool) or not isinstance(lv, numbers.Real) or not 0.0 < float(lv) < 1.0:
            raise InvalidInputError(f"level must lie strictly between 0 and 1 (e.g. 0.95); got {lv!r}.")
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise InvalidInputError(f"seed must be a non-negative integer; got {s!r}.")
        return Bootstrap(int(b), float(lv), int(s))


def as_rewards(rewards: ArrayLike, what: str = "rewards") -> tuple[np.ndarray, bool]:
    """Rewards as float64 ``(K, N)`` and whether the input was one row ``(N,)``."""
    try:
        arr = np.asarray(rewards, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{what} must be numbers, (N,) or (K, N).") from None
    if arr.ndim not in (1, 2):
        raise InvalidInputError(f"{what} must be (N,) or (K, N); got shape {arr.shape}.")
    one = arr.ndim == 1
    arr2 = arr[None, :] if one else arr
    if arr2.shape[1] == 0 or arr2.shape[0] == 0:
        raise InvalidInputError(f"{what} are empty.")
    if not np.isfinite(arr2).all():
        first = int(np.flatnonzero(~np.isfinite(arr2.ravel()))[0])
        raise InvalidInputError(
            f"{what} contain non-finite values (NaN or inf), the first at column {first % arr2.shape[1]}; "
            "drop those frames or recompute them."
        )
    return arr2, one


def as_labels(labels: ArrayLike, n: int) -> np.ndarray:
    """0/1 or boolean labels as a bool ``(N,)`` array with both classes."""
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != n:
        raise InvalidInputError(f"labels must be (N,) with N = {n} (one per reward column); got shape {lab.shape}.")
    if lab.dtype.kind not in "biuf" or not np.isin(lab, (0, 1)).all():
        raise InvalidInputError("labels must be 0 or 1 (1 = goal) or booleans; map them first.")
    out = lab.astype(bool)
    n_goal = int(out.sum())
    if n_goal in (0, n):
        cls = "goal" if n_goal == n else "non-goal"
        raise InvalidInputError(
            f"all {n} labelled frames are {cls}: the metric needs goal and non-goal frames; label some of the other class."
        )
    return out


def as_groups(values: ArrayLike, n: int, what: str) -> np.ndarray:
    """A (N,) array of group ids (episodes, policies), checked against ``n``."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InvalidInputError(f"{what} must be (N,) with N = {n} (one per reward column); got shape {arr.shape}.")
    return arr


def out(values: np.ndarray, one: bool) -> float | np.ndarray:
    return float(values[0]) if one else values


def percentile_ci(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of ``samples`` (B, K) per column, ignoring NaN -> two (K,) arrays."""
    q = [50.0 * (1.0 - level), 50.0 * (1.0 + level)]
    low = np.full(samples.shape[1], np.nan)
    high = np.full(samples.shape[1], np.nan)
    for k in range(samples.shape[1]):
        col = samples[:, k]
        col = col[np.isfinite(col)]
        if col.size:
            low[k], high[k] = np.percentile(col, q)
    return low, high


def _chunks(n_resamples: int, width: int) -> Iterator[int]:
    size = max(1, min(n_resamples, MAX_CHUNK_VALUES // max(1, width)))
    for b0 in range(0, n_resamples, size):
        yield min(size, n_resamples - b0)


def _draw_counts(rng: np.random.Generator, m: int, b: int) -> np.ndarray:
    """(b, m) counts of m draws with replacement from m units, per resample.

    float32: counts are small whole numbers (exact), and the resample statistics need no
    more precision than float32 gives; point estimates are computed in float64.
    """
    draws = rng.integers(0, m, size=(b, m)) + (np.arange(b) * m)[:, None]
    return np.bincount(draws.ravel(), minlength=b * m).reshape(b, m).astype(np.float32)


def cluster_counts(m: int, boot: Bootstrap) -> Iterator[np.ndarray]:
    """Chunks of (b, m) counts: m units drawn with replacement, m draws per resample."""
    rng = np.random.default_rng(boot.seed)
    for b in _chunks(boot.n_resamples, m):
        yield _draw_counts(rng, m, b)


def stratified_counts(labels: np.ndarray, boot: Bootstrap) -> Iterator[np.ndarray]:
    """Chunks of (b, N) counts, goal and non-goal frames drawn separately (class sizes kept)."""
    rng = np.random.default_rng(boot.seed)
    pos = np.flatnonzero(labels)
    neg = np.flatnonzero(~labels)
    n = labels.shape[0]
    for b in _chunks(boot.n_resamples, n):
        w = np.zeros((b, n), dtype=np.float32)
        w[:, pos] = _draw_counts(rng, pos.size, b)
        w[:, neg] = _draw_counts(rng, neg.size, b)
        yield w


def bootstrap(
    value: np.ndarray,
    stat: Callable[[np.ndarray], np.ndarray],
    counts: Iterator[np.ndarray],
    boot: Bootstrap,
    n: int,
    one: bool,
) -> Estimate:
    """Estimate from a point value (K,) and ``stat(counts (b, M)) -> (b, K)`` over the resamples."""
    samples = np.concatenate([stat(w) for w in counts], axis=0)
    low, high = percentile_ci(samples, boot.level)
    return Estimate(out(value, one), out(low, one), out(high, one), n, boot.level, boot.n_resamples)


def pearson_rows(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of x (K, n) with y (n,) under frame weights w (b, n) -> (b, K).

    Shift- and scale-invariant, so each row is centred and scaled once and every weighted
    moment of every row comes from one matrix product. NaN where a side has no spread
    under the weights (up to rounding).
    """
    xs = x - x.mean(axis=1, keepdims=True)
    xs = xs / np.maximum(np.abs(xs).max(axis=1, keepdims=True), 1e-300)
    ys = y - y.mean()
    ys = ys / max(float(np.abs(ys).max()), 1e-300)
    feats = np.concatenate([np.ones((1, ys.size)), ys[None], (ys * ys)[None], xs, xs * xs, xs * ys[None]], axis=0)
    mom = w.astype(np.float64) @ feats.T  # (b, 3 + 3K)
    k = x.shape[0]
    sw = mom[:, :1]
    my = mom[:, 1:2] / sw
    vy = mom[:, 2:3] / sw - my * my
    mx = mom[:, 3 : 3 + k] / sw
    vx = mom[:, 3 + k : 3 + 2 * k] / sw - mx * mx
    cov = mom[:, 3 + 2 * k :] / sw - mx * my
    ok = (vx > 1e-20) & (vy > 1e-20)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = cov / np.sqrt(vx * vy)
    return np.where(ok, np.clip(rho, -1.0, 1.0), np.nan)


def weighted_pearson(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of x and y under frame weights -> (b,).

    ``w`` is (b, n); ``x`` and ``y`` are (n,) or (b, n) (per-resample values such as ranks).
    NaN where either side has no spread under the weights (up to rounding).
    """
    if x.ndim == 1 and y.ndim == 1:
        return pearson_rows(w, x[None, :], y)[:, 0]
    sw2 = w.sum(axis=1, keepdims=True)
    dx = x - (w * x).sum(axis=1, keepdims=True) / sw2
    dy = y - (w * y).sum(axis=1, keepdims=True) / sw2
    vx = (w * dx * dx).sum(axis=1)
    vy = (w * dy * dy).sum(axis=1)
    cov = (w * dx * dy).sum(axis=1)
    tiny_x = 1e-20 * np.max(np.abs(x)) ** 2 * sw2[:, 0]
    tiny_y = 1e-20 * np.max(np.abs(y)) ** 2 * sw2[:, 0]
    ok = (vx > tiny_x) & (vy > tiny_y)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = cov / np.sqrt(vx * vy)
    return np.where(ok, np.clip(rho, -1.0, 1.0), np.nan)


def weighted_midranks(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Mid-ranks of x (n,) in each resample given by counts w (b, n) -> (b, n).

    The rank a frame's copies share when the resample (each frame repeated by its count)
    is ranked with ties averaged, as ``scipy.stats.rankdata`` does.
    """
    order = np.argsort(x, kind="stable")
    xs = x[order]
    ws = w[:, order]
    start = np.ones(xs.shape[0], dtype=bool)
    start[1:] = xs[1:] != xs[:-1]
    starts = np.flatnonzero(start)
    group = np.cumsum(start) - 1
    per_group = np.add.reduceat(ws, starts, axis=1)  # (b, G)
    before = np.cumsum(per_group, axis=1) - per_group
    ranks_sorted = (before + (per_group + 1.0) / 2.0)[:, group]
    ranks = np.empty_like(ranks_sorted)
    ranks[:, order] = ranks_sorted
    return ranks


def check_option(value: Any, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise InvalidInputError(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
    return str(value)
