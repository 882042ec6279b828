"""Goal-based EPIC (Lemma 1): point-biserial rho between rewards and goal labels, and EPIC from it."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from rmeval.errors import InvalidInputError


def _as_rewards(rewards: ArrayLike) -> tuple[np.ndarray, bool]:
    """Rewards as a float64 ``(K, N)`` array, and whether the input was one row ``(N,)``."""
    arr = np.asarray(rewards)
    if arr.dtype.kind not in "biuf":
        raise InvalidInputError(
            f"rewards must be real numbers; got an array of dtype {arr.dtype}. "
            "Pass a numeric (N,) or (K, N) array."
        )
    if arr.ndim not in (1, 2):
        raise InvalidInputError(
            f"rewards must be 1-D (N,) or 2-D (K, N) (K reward variants, e.g. alphas, "
            f"sharing one label per frame); got ndim {arr.ndim} with shape {arr.shape}."
        )
    if arr.size == 0:
        raise InvalidInputError(
            f"rewards are empty (shape {arr.shape}); EPIC needs at least one reward row "
            "over labelled frames of both classes."
        )
    one_row = arr.ndim == 1
    arr2 = np.ascontiguousarray(arr, dtype=np.float64).reshape(-1, arr.shape[-1])
    finite = np.isfinite(arr2)
    if not finite.all():
        bad = np.flatnonzero(~finite.ravel())
        first = int(bad[0])
        if one_row:
            where = f"frame {first}"
        else:
            where = f"row {first // arr2.shape[1]}, frame {first % arr2.shape[1]}"
        raise InvalidInputError(
            f"rewards contain {bad.size} non-finite value(s) (NaN or inf); the first is at "
            f"{where} ({arr2.ravel()[first]!r}). Drop those frames or recompute their rewards."
        )
    return arr2, one_row


def _as_labels(labels: ArrayLike, n: int) -> np.ndarray:
    """Labels as a bool ``(N,)`` array (True = goal), checked against ``n`` frames."""
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise InvalidInputError(
            f"labels must be 1-D (N,), one 0/1 label per frame; got shape {lab.shape}."
        )
    if lab.size == 0:
        raise InvalidInputError("labels are empty; EPIC needs labelled frames of both classes.")
    if lab.shape[0] != n:
        raise InvalidInputError(
            f"length mismatch: rewards have {n} frames but labels have {lab.shape[0]}; "
            "give exactly one label per reward column (frame)."
        )
    if lab.dtype.kind == "b":
        return lab.astype(bool, copy=False)
    if lab.dtype.kind not in "iuf":
        raise InvalidInputError(
            f"labels must be 0/1 or booleans (1 = goal); got dtype {lab.dtype}."
        )
    is_zero = lab == 0
    is_one = lab == 1
    bad = ~(is_zero | is_one)
    if bad.any():
        idx = np.flatnonzero(bad)
        shown = ", ".join(repr(v.item()) for v in lab[idx[:5]])
        raise InvalidInputError(
            f"labels must be 0 or 1 (1 = goal); {idx.size} label(s) are not, the first at "
            f"frame {int(idx[0])} (values: {shown}). Map them to 0/1 (or booleans) first."
        )
    return is_one


def _check_both_classes(lab: np.ndarray) -> int:
    n = lab.shape[0]
    n_goal = int(np.count_nonzero(lab))
    if n_goal == n or n_goal == 0:
        cls = "goal" if n_goal == n else "non-goal"
        raise InvalidInputError(
            f"all {n} labelled frames are {cls}; EPIC needs both goal and non-goal frames "
            "(rho with a constant label is undefined). Label some frames of the other class."
        )
    return n_goal


def _check_not_constant(r: np.ndarray) -> None:
    """Raise when a reward row of ``r`` (K, N) is constant."""
    spread = r.max(axis=1) - r.min(axis=1)
    const = np.flatnonzero(spread == 0)
    if const.size:
        rows = ", ".join(str(int(k)) for k in const[:10])
        what = "the reward is" if r.shape[0] == 1 else f"reward row(s) {rows} are"
        raise InvalidInputError(
            f"{what} constant (zero variance, value {r[const[0], 0]!r}): rho with a "
            "constant reward is undefined, so EPIC is too. Check that the rewards vary "
            "across frames (e.g. that frames were not all encoded identically)."
        )


def validate(rewards: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray, bool, int]:
    r, one_row = _as_rewards(rewards)
    lab = _as_labels(labels, r.shape[1])
    n_goal = _check_both_classes(lab)
    _check_not_constant(r)
    return r, lab, one_row, n_goal


def rho_rows(r: np.ndarray, lab: np.ndarray, n_goal: int) -> np.ndarray:
    """Point-biserial rho of each row of ``r`` (K, N) with ``lab`` (N,) bool -> (K,)."""
    n = lab.shape[0]
    rc = r - r.mean(axis=1, keepdims=True)
    lc = lab.astype(np.float64) - n_goal / n
    num = rc @ lc
    den = np.sqrt(np.einsum("kn,kn->k", rc, rc) * float(lc @ lc))
    return np.clip(num / den, -1.0, 1.0)


def epic_of_rho(rho: np.ndarray) -> np.ndarray:
    return np.sqrt(np.clip((1.0 - rho) / 2.0, 0.0, None))


def _out(values: np.ndarray, one_row: bool) -> float | np.ndarray:
    return float(values[0]) if one_row else values


def pearson_with_labels(rewards: ArrayLike, labels: ArrayLike) -> float | np.ndarray:
    """Point-biserial Pearson correlation between rewards and binary goal labels.

    Args:
        rewards: ``(N,)`` rewards of N labelled frames, or ``(K, N)``: K reward variants
            (e.g. one per alpha) over the same frames. Any real dtype; computed in float64.
        labels: ``(N,)`` goal labels: bool, or 0/1 as ints or floats (1 = goal).

    Returns:
        rho in [-1, 1]: a float for ``(N,)`` rewards, a ``(K,)`` float64 array for
        ``(K, N)``. Equals ``np.corrcoef(rewards, labels)[0, 1]`` per row, but is computed
        from centred rewards so tiny spreads around a large offset stay exact.

    Raises:
        InvalidInputError: wrong ndim, empty input, length mismatch, non-finite rewards,
            labels outside {0, 1}, labels of one class only, or a constant reward row.
    """
    r, lab, one_row, n_goal = validate(rewards, labels)
    return _out(rho_rows(r, lab, n_goal), one_row)


def epic_from_labels(rewards: ArrayLike, labels: ArrayLike) -> float | np.ndarray:
    """EPIC distance between rewards and the goal indicator by Lemma 1.

    ``D = sqrt((1 - rho) / 2)`` with rho from :func:`pearson_with_labels`: 0 when the reward
    orders frames exactly like the labels (perfectly linearly), 1/sqrt(2) ~ 0.707 when
    uncorrelated, 1 when exactly opposite.

    Args:
        rewards: ``(N,)`` or ``(K, N)`` rewards (see :func:`pearson_with_labels`).
        labels: ``(N,)`` goal labels, bool or 0/1.

    Returns:
        A float in [0, 1] for ``(N,)`` rewards; a ``(K,)`` float64 array for ``(K, N)``.

    Raises:
        InvalidInputError: as :func:`pearson_with_labels`.
    """
    r, lab, one_row, n_goal = validate(rewards, labels)
    return _out(epic_of_rho(rho_rows(r, lab, n_goal)), one_row)
