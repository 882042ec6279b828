"""The order in which frames are shown for labelling, and moving through it.

Three orders (:data:`ORDERS`):

- ``sequential``: the dataset's row order.
- ``random``: a permutation from ``numpy.random.default_rng(seed)`` (same seed, same order).
- ``informative``: "most informative first", from rewards of cached models
  (:func:`informativeness`): frames whose rewards lie closest to each model's
  goal/non-goal boundary, or on which the models disagree most, come first.

An order is an ``(N,)`` array of row positions; a *position* is an index into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from rmeval.errors import InvalidInputError

__all__ = ["ORDERS", "OrderMode", "boundary_threshold", "frame_order", "informativeness", "next_position"]

OrderMode = Literal["sequential", "random", "informative"]
#: Order names with what the page shows for them.
ORDERS: dict[str, str] = {
    "sequential": "Sequential",
    "random": "Random (seeded)",
    "informative": "Most informative first",
}


def boundary_threshold(rewards: ArrayLike, labels: ArrayLike | None = None) -> float:
    """A reward value separating goal from non-goal frames for one model.

    Args:
        rewards: ``(N,)`` finite rewards of one model.
        labels: optional ``(N,)`` labels, 1 / 0 / NaN (or pandas <NA>) for unknown.

    Returns:
        With labelled frames of both classes: the midpoint of the mean reward of goal and
        of non-goal frames. Otherwise the two-means (Otsu-like) split of the rewards:
        start at the median and repeat ``t = (mean below t + mean at or above t) / 2``
        until it settles.
    """
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 1 or r.size == 0:
        raise InvalidInputError(f"rewards must be a non-empty 1-D array, got shape {r.shape}")
    if labels is not None:
        lab = np.asarray(labels, dtype=np.float64)
        if lab.shape != r.shape:
            raise InvalidInputError(f"labels shape {lab.shape} differs from rewards shape {r.shape}")
        goal, non = lab == 1, lab == 0
        if goal.any() and non.any():
            return float((r[goal].mean() + r[non].mean()) / 2)
    t = float(np.median(r))
    for _ in range(100):
        lo, hi = r[r < t], r[r >= t]
        if lo.size == 0 or hi.size == 0:
            break
        new = float((lo.mean() + hi.mean()) / 2)
        if new == t:
            break
        t = new
    return t


def informativeness(rewards: ArrayLike, labels: ArrayLike | None = None) -> np.ndarray:
    """How useful a human label of each frame is, given M reward models.

    For each model m the rewards are turned into a signed distance to that model's
    boundary in units of its reward spread, ``d_m = (r_m - t_m) / sd(r_m)`` (``t_m`` from
    :func:`boundary_threshold`). A frame scores ``std_m(d_m) - |mean_m(d_m)|``: high when
    the models' average lies near the boundary or when the models disagree. With one
    model that is ``-|d|``. NaN rewards (a frame a model has no cached embedding for) are
    ignored for that model; a frame no model has scores -inf (shown last).

    Args:
        rewards: ``(M, N)`` (or ``(N,)``) rewards of M models for N frames.
        labels: optional ``(N,)`` current labels (1 / 0 / NaN) used to place the boundaries.

    Returns:
        ``(N,)`` float64 scores; higher = show earlier.
    """
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim == 1:
        r = r[None, :]
    if r.ndim != 2 or r.shape[1] == 0:
        raise InvalidInputError(f"rewards must have shape (models, frames), got {np.shape(rewards)}")
    lab = None if labels is None else np.asarray(labels, dtype=np.float64)
    d = np.full(r.shape, np.nan)
    for m in range(r.shape[0]):
        ok = np.isfinite(r[m])
        if ok.sum() < 2:
            continue
        sd = float(np.std(r[m, ok]))
        if sd == 0:
            continue
        t = boundary_threshold(r[m, ok], None if lab is None else lab[ok])
        d[m, ok] = (r[m, ok] - t) / sd
    have = np.isfinite(d).sum(axis=0)
    out = np.full(r.shape[1], -np.inf)
    cols = have > 0
    if cols.any():
        dd = d[:, cols]
        mean = np.nanmean(dd, axis=0)
        spread = np.nanstd(dd, axis=0)
        out[cols] = spread - np.abs(mean)
    return out


def frame_order(
    n: int,
    mode: OrderMode = "sequential",
    *,
    seed: int = 0,
    scores: ArrayLike | None = None,
) -> np.ndarray:
    """Row positions ``(n,)`` in the order frames are shown.

    Args:
        n: number of frames.
        mode: ``sequential``, ``random`` or ``informative``.
        seed: seed of the ``random`` order.
        scores: ``(n,)`` :func:`informativeness` scores, required for ``informative``
            (highest first; ties keep row order).
    """
    if n < 0:
        raise InvalidInputError(f"n must be >= 0, not {n}")
    if mode == "sequential":
        return np.arange(n, dtype=np.intp)
    if mode == "random":
        return np.random.default_rng(seed).permutation(n).astype(np.intp)
    if mode == "informative":
        if scores is None:
            raise InvalidInputError("the 'most informative first' order needs rewards from cached models")
        s = np.asarray(scores, dtype=np.float64)
        if s.shape != (n,):
            raise InvalidInputError(f"scores must have shape ({n},), got {s.shape}")
        return np.argsort(-s, kind="stable").astype(np.intp)
    raise InvalidInputError(f"unknown order {mode!r}; choose one of {', '.join(ORDERS)}")


def next_position(order: Sequence[int] | np.ndarray, done: ArrayLike, start: int, *, wrap: bool = True) -> int | None:
    """The first position at or after ``start`` whose frame is not done.

    Args:
        order: ``(N,)`` row positions.
        done: ``(N,)`` bool by row (not by position): True = nothing to do for that frame.
        start: position to start looking from (may be ``N``).
        wrap: continue from position 0 after the end.

    Returns:
        The position, or None when every frame is done (or none is left before the end
        without ``wrap``).
    """
    order_arr = np.asarray(order, dtype=np.intp)
    done_arr = np.asarray(done, dtype=bool)
    n = order_arr.shape[0]
    if n == 0:
        return None
    pending = ~done_arr[order_arr]  # by position
    start = max(0, int(start))
    after = np.flatnonzero(pending[start:])
    if after.size:
        return start + int(after[0])
    if wrap:
        before = np.flatnonzero(pending[:start])
        if before.size:
            return int(before[0])
    return None
