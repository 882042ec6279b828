"""Bootstrap confidence intervals for goal-based EPIC: :func:`epic_bootstrap_ci`, :func:`epic_with_ci`."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from rmeval.epic.goal import epic_of_rho, rho_rows, validate
from rmeval.errors import InvalidInputError

#: Upper bound on the bytes of one chunk of bootstrap counts (B resamples x N frames, float64).
_BOOTSTRAP_CHUNK_BYTES = 256 * 2**20
#: Upper bound on the bytes of the per-frame bootstrap features; above it the K reward rows
#: are processed in groups (the resample counts are regenerated per group from the seed).
_BOOTSTRAP_FEATURE_BYTES = 1024 * 2**20
#: Resamples whose reward variance (rewards scaled to unit variance) is at or below this
#: are treated as constant-reward resamples: rho is undefined there.
_CONSTANT_RESAMPLE_VAR = 1e-12


def _check_bootstrap_args(n_resamples: Any, level: Any) -> tuple[int, float]:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, numbers.Integral):
        raise InvalidInputError(
            f"n_resamples must be a whole number >= 1; got {n_resamples!r}."
        )
    if n_resamples < 1:
        raise InvalidInputError(f"n_resamples must be >= 1; got {n_resamples}.")
    if isinstance(level, bool) or not isinstance(level, numbers.Real):
        raise InvalidInputError(f"level must be a number in (0, 1), e.g. 0.95; got {level!r}.")
    lv = float(level)
    if not (0.0 < lv < 1.0):
        raise InvalidInputError(
            f"level must lie strictly between 0 and 1 (e.g. 0.95 for a 95% interval); got {level!r}."
        )
    return int(n_resamples), lv


def _bootstrap_epic_samples(
    r: np.ndarray, lab: np.ndarray, n_resamples: int, seed: int
) -> tuple[np.ndarray, int]:
    """EPIC of every bootstrap resample for every row.

    Args:
        r: ``(K, N)`` float64 rewards (validated, no constant row).
        lab: ``(N,)`` bool labels with both classes.
        n_resamples: B_total >= 1.
        seed: integer seed; resample b uses the b-th ``rng.integers(0, N, size=N)`` of
            ``rng = np.random.default_rng(seed)`` as its frame indices.

    Returns:
        ``(epics, n_degenerate)``: epics ``(n_resamples, K)`` with NaN where rho is
        undefined (a resample of one label class only, or a constant reward for that row);
        n_degenerate counts the one-class resamples.
    """
    k_rows, n = r.shape
    # Centre and scale each row to unit variance: the features below then hold O(1)
    # values and the closed-form variances suffer no cancellation.
    rc = r - r.mean(axis=1, keepdims=True)
    rs = rc / np.sqrt(np.einsum("kn,kn->k", rc, rc) / n)[:, None]
    del rc
    labf = lab.astype(np.float64)

    per_row_bytes = 3 * 8 * n
    group = max(1, min(k_rows, (_BOOTSTRAP_FEATURE_BYTES - 8 * n) // per_row_bytes))
    chunk = max(1, min(n_resamples, _BOOTSTRAP_CHUNK_BYTES // (8 * n)))
    counts = np.empty((chunk, n), dtype=np.float64)
    epics = np.empty((n_resamples, k_rows), dtype=np.float64)
    n1_all = np.empty(n_resamples, dtype=np.float64)

    for g0 in range(0, k_rows, group):
        g1 = min(k_rows, g0 + group)
        kg = g1 - g0
        # Per-frame features (N, 1 + 3 kg): [label, r_k, r_k^2, r_k * label].
        feats = np.empty((n, 1 + 3 * kg), dtype=np.float64)
        feats[:, 0] = labf
        block = rs[g0:g1].T
        feats[:, 1 : 1 + kg] = block
        np.square(block, out=feats[:, 1 + kg : 1 + 2 * kg])
        np.multiply(block, labf[:, None], out=feats[:, 1 + 2 * kg :])
        del block

        rng = np.random.default_rng(seed)  # same resamples for every group of rows
        for b0 in range(0, n_resamples, chunk):
            b = min(chunk, n_resamples - b0)
            w = counts[:b]
            for i in range(b):
                w[i] = np.bincount(rng.integers(0, n, size=n), minlength=n)
            sums = (w @ feats) / n  # (b, 1 + 3 kg): resample means of each feature
            p = sums[:, 0]
            mean_r = sums[:, 1 : 1 + kg]
            var_r = sums[:, 1 + kg : 1 + 2 * kg] - mean_r**2
            cov = sums[:, 1 + 2 * kg :] - mean_r * p[:, None]
            var_l = p * (1.0 - p)
            with np.errstate(divide="ignore", invalid="ignore"):
                rho = cov / np.sqrt(var_r * var_l[:, None])
            rho[var_r <= _CONSTANT_RESAMPLE_VAR] = np.nan
            n1_all[b0 : b0 + b] = np.rint(p * n)
            epics[b0 : b0 + b, g0:g1] = epic_of_rho(np.clip(rho, -1.0, 1.0))
        del feats

    degenerate = (n1_all == 0) | (n1_all == n)
    epics[degenerate, :] = np.nan
    return epics, int(np.count_nonzero(degenerate))


def _percentile_ci(epics: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval per column of ``epics`` (B, K), ignoring NaN -> two (K,) arrays."""
    q = [50.0 * (1.0 - level), 50.0 * (1.0 + level)]
    k_rows = epics.shape[1]
    low = np.full(k_rows, np.nan)
    high = np.full(k_rows, np.nan)
    for k in range(k_rows):
        col = epics[:, k]
        col = col[~np.isnan(col)]
        if col.size:
            low[k], high[k] = np.percentile(col, q)
    return low, high


def resolve_seed(seed: int | None) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer or None; got {seed!r}.")
    return int(seed)


def _bootstrap(
    r: np.ndarray, lab: np.ndarray, n_resamples: int, level: float, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    epics, n_degenerate = _bootstrap_epic_samples(r, lab, n_resamples, resolve_seed(seed))
    if n_degenerate:
        n = lab.shape[0]
        n_goal = int(np.count_nonzero(lab))
        tail = (
            "no resample was usable, so the interval is NaN"
            if n_degenerate == n_resamples
            else f"the interval uses the other {n_resamples - n_degenerate}"
        )
        warnings.warn(
            f"{n_degenerate} of {n_resamples} bootstrap resamples drew frames of one class "
            f"only ({n_goal} goal frames out of {n}) and were skipped; {tail}. "
            "Label more frames of the rarer class for a reliable interval.",
            RuntimeWarning,
            stacklevel=3,
        )
    return _percentile_ci(epics, level)


def epic_bootstrap_ci(
    rewards: ArrayLike,
    labels: ArrayLike,
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int | None = 0,
) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap confidence interval of :func:`epic_from_labels`.

    Resamples the N (reward, label) frames with replacement, ``n_resamples`` times; every
    reward row uses the same resampled frames. Resample b takes the frame indices of the
    b-th call ``rng.integers(0, N, size=N)`` of ``rng = np.random.default_rng(seed)``, so
    the result is deterministic for a seed and equals a plain loop over those indices.
    Resamples that draw frames of one class only have no rho: they are skipped (with a
    RuntimeWarning saying how many); likewise, per row, a resample whose rewards are all
    equal. The interval is ``np.percentile`` (linear interpolation) of the remaining EPIC
    values at ``(1 - level) / 2`` and ``(1 + level) / 2``; NaN if none remains.

    Fast: each chunk of resamples becomes a count matrix W (B, N), and one matrix product
    ``W @ F`` with per-frame features F (N, 1 + 3K) = [label, r, r^2, r*label] (rewards
    centred and scaled per row, float64) gives rho of every resample and row in closed
    form. W is kept under 256 MiB; F takes about ``8 * N * (1 + 3K)`` bytes (rows are
    processed in groups above 1 GiB).

    Args:
        rewards: ``(N,)`` or ``(K, N)`` rewards.
        labels: ``(N,)`` goal labels, bool or 0/1.
        n_resamples: number of bootstrap resamples, >= 1.
        level: coverage of the interval, strictly inside (0, 1).
        seed: non-negative integer seed (None: fresh entropy, not reproducible).

    Returns:
        ``(low, high)``: two floats for ``(N,)`` rewards, two ``(K,)`` arrays for ``(K, N)``.

    Raises:
        InvalidInputError: as :func:`epic_from_labels`, or a bad n_resamples, level or seed.
    """
    n_res, lv = _check_bootstrap_args(n_resamples, level)
    r, lab, one_row, _ = validate(rewards, labels)
    low, high = _bootstrap(r, lab, n_res, lv, seed)
    if one_row:
        return float(low[0]), float(high[0])
    return low, high


def epic_with_ci(
    rewards: ArrayLike,
    labels: ArrayLike,
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int | None = 0,
) -> dict[str, Any]:
    """EPIC by Lemma 1 with its bootstrap interval and the numbers behind it.

    Args:
        rewards: ``(N,)`` or ``(K, N)`` rewards.
        labels: ``(N,)`` goal labels, bool or 0/1.
        n_resamples, level, seed: as :func:`epic_bootstrap_ci`.

    Returns:
        A dict with keys ``epic``, ``ci_low``, ``ci_high``, ``rho``, ``mean_goal``,
        ``mean_non_goal`` (raw, uncentred mean reward of goal / non-goal frames), ``n``
        (frames) and ``n_goal`` (goal frames). For ``(N,)`` rewards each value is a python
        float (``n`` and ``n_goal``: int); for ``(K, N)`` each is a ``(K,)`` array (``n``
        and ``n_goal`` repeated), so ``pandas.DataFrame(result)`` gives one row per variant.

    Raises:
        InvalidInputError: as :func:`epic_bootstrap_ci`.
    """
    n_res, lv = _check_bootstrap_args(n_resamples, level)
    r, lab, one_row, n_goal = validate(rewards, labels)
    k_rows, n = r.shape
    rho = rho_rows(r, lab, n_goal)
    low, high = _bootstrap(r, lab, n_res, lv, seed)
    result: dict[str, np.ndarray] = {
        "epic": epic_of_rho(rho),
        "ci_low": low,
        "ci_high": high,
        "rho": rho,
        "mean_goal": r[:, lab].mean(axis=1),
        "mean_non_goal": r[:, ~lab].mean(axis=1),
        "n": np.full(k_rows, n, dtype=np.int64),
        "n_goal": np.full(k_rows, n_goal, dtype=np.int64),
    }
    if one_row:
        return {
            key: (int(v[0]) if v.dtype.kind == "i" else float(v[0])) for key, v in result.items()
        }
    return dict(result)
