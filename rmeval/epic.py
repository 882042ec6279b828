"""EPIC distances: goal-based (Lemma 1, with bootstrap CIs) and general sample-based.

Two ways to compute the EPIC pseudometric of Gleave et al. (2021),
``D_EPIC(R1, R2) = sqrt(1 - rho(C(R1), C(R2))) / sqrt(2)``, where ``C`` is the canonically
shaped reward and ``rho`` the Pearson correlation over a distribution of transitions:

* **Goal-based tasks** (the paper's Lemma 1). When both rewards depend only on the state
  and one of them is the binary goal indicator, canonicalisation drops out and
  ``D_EPIC = sqrt((1 - rho(R, 1_goal)) / 2)`` with ``rho`` the point-biserial correlation
  between the reward of each labelled frame and its goal label. See
  :func:`pearson_with_labels`, :func:`epic_from_labels`, :func:`epic_bootstrap_ci` and
  :func:`epic_with_ci`. All accept one reward row ``(N,)`` or ``K`` rows ``(K, N)`` that
  share the labels (e.g. one row per regularisation strength alpha).
* **General rewards** ``R(s, a, s')``: the sample-based canonicalisation of the reference
  implementation (HumanCompatibleAI/evaluating-rewards, ``sample_canon_shaping``). See
  :func:`canonicalize_rewards`, :func:`epic_distance` and :func:`sample_epic_distance`.

Everything here is a pure function over numpy arrays, computed in float64; rewards are
centred before any sum, so CLIP rewards (about 0.25 with a spread of about 0.01) lose no
precision. Bad input raises :class:`rmeval.errors.InvalidInputError`. This module imports
numpy only (no torch).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from rmeval.errors import InvalidInputError

__all__ = [
    "RewardFn",
    "canonicalize_rewards",
    "epic_bootstrap_ci",
    "epic_distance",
    "epic_from_labels",
    "epic_with_ci",
    "pearson_with_labels",
    "sample_epic_distance",
]

#: A vectorised reward function ``fn(obs, act, next_obs) -> (N,)`` over a batch of N
#: transitions: obs ``(N, *obs_shape)``, act ``(N, *act_shape)``, next_obs ``(N, *obs_shape)``.
RewardFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

#: Upper bound on the bytes of one chunk of bootstrap counts (B resamples x N frames, float64).
_BOOTSTRAP_CHUNK_BYTES = 256 * 2**20
#: Upper bound on the bytes of the per-frame bootstrap features; above it the K reward rows
#: are processed in groups (the resample counts are regenerated per group from the seed).
_BOOTSTRAP_FEATURE_BYTES = 1024 * 2**20
#: Resamples whose reward variance (rewards scaled to unit variance) is at or below this
#: are treated as constant-reward resamples: rho is undefined there.
_CONSTANT_RESAMPLE_VAR = 1e-12

#: Upper bounds on one call of a reward function while averaging over the mean samples.
_MAX_EVALS_PER_CALL = 2**22
_MAX_BYTES_PER_CALL = 256 * 2**20
#: A canonical reward whose spread is at or below this fraction of the magnitude of the
#: terms it was computed from is constant up to rounding.
_CONSTANT_CANON_RTOL = 1e-10


# --------------------------------------------------------------------------------------
# Goal-based EPIC (Lemma 1)
# --------------------------------------------------------------------------------------


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


def _validate(rewards: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray, bool, int]:
    r, one_row = _as_rewards(rewards)
    lab = _as_labels(labels, r.shape[1])
    n_goal = _check_both_classes(lab)
    _check_not_constant(r)
    return r, lab, one_row, n_goal


def _rho_rows(r: np.ndarray, lab: np.ndarray, n_goal: int) -> np.ndarray:
    """Point-biserial rho of each row of ``r`` (K, N) with ``lab`` (N,) bool -> (K,)."""
    n = lab.shape[0]
    rc = r - r.mean(axis=1, keepdims=True)
    lc = lab.astype(np.float64) - n_goal / n
    num = rc @ lc
    den = np.sqrt(np.einsum("kn,kn->k", rc, rc) * float(lc @ lc))
    return np.clip(num / den, -1.0, 1.0)


def _epic_of_rho(rho: np.ndarray) -> np.ndarray:
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
    r, lab, one_row, n_goal = _validate(rewards, labels)
    return _out(_rho_rows(r, lab, n_goal), one_row)


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
    r, lab, one_row, n_goal = _validate(rewards, labels)
    return _out(_epic_of_rho(_rho_rows(r, lab, n_goal)), one_row)


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
            epics[b0 : b0 + b, g0:g1] = _epic_of_rho(np.clip(rho, -1.0, 1.0))
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


def _resolve_seed(seed: int | None) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer or None; got {seed!r}.")
    return int(seed)


def _bootstrap(
    r: np.ndarray, lab: np.ndarray, n_resamples: int, level: float, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    epics, n_degenerate = _bootstrap_epic_samples(r, lab, n_resamples, _resolve_seed(seed))
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
    r, lab, one_row, _ = _validate(rewards, labels)
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
    r, lab, one_row, n_goal = _validate(rewards, labels)
    k_rows, n = r.shape
    rho = _rho_rows(r, lab, n_goal)
    low, high = _bootstrap(r, lab, n_res, lv, seed)
    result: dict[str, np.ndarray] = {
        "epic": _epic_of_rho(rho),
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


# --------------------------------------------------------------------------------------
# General sample-based EPIC (Gleave et al. 2021)
# --------------------------------------------------------------------------------------


def _check_gamma(gamma: Any) -> float:
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise InvalidInputError(f"gamma must be a number in [0, 1]; got {gamma!r}.")
    g = float(gamma)
    if not (0.0 <= g <= 1.0):
        raise InvalidInputError(f"gamma (discount) must lie in [0, 1]; got {gamma!r}.")
    return g


def _check_batch(
    obs: ArrayLike, act: ArrayLike, next_obs: ArrayLike, mean_obs: ArrayLike, mean_act: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    arrays = {
        "obs": np.asarray(obs),
        "act": np.asarray(act),
        "next_obs": np.asarray(next_obs),
        "mean_obs": np.asarray(mean_obs),
        "mean_act": np.asarray(mean_act),
    }
    for name, a in arrays.items():
        if a.ndim == 0:
            raise InvalidInputError(
                f"{name} must be an array whose first axis indexes samples; got a scalar."
            )
    o, a, no, mo, ma = arrays.values()
    n = o.shape[0]
    if n == 0:
        raise InvalidInputError("obs is empty: canonicalisation needs at least one transition.")
    if a.shape[0] != n or no.shape[0] != n:
        raise InvalidInputError(
            f"shape mismatch: obs, act and next_obs must hold the same number of transitions; "
            f"got {o.shape[0]}, {a.shape[0]} and {no.shape[0]}."
        )
    if no.shape[1:] != o.shape[1:]:
        raise InvalidInputError(
            f"shape mismatch: next_obs has per-sample shape {no.shape[1:]} but obs has "
            f"{o.shape[1:]}; both are states of the same space."
        )
    m = mo.shape[0]
    if m == 0:
        raise InvalidInputError(
            "mean_obs is empty: canonicalisation averages over at least one (action, next "
            "state) sample."
        )
    if ma.shape[0] != m:
        raise InvalidInputError(
            f"shape mismatch: mean_obs and mean_act are paired samples (A_j, S'_j) and must "
            f"have the same length; got {m} and {ma.shape[0]}."
        )
    if mo.shape[1:] != o.shape[1:]:
        raise InvalidInputError(
            f"shape mismatch: mean_obs has per-sample shape {mo.shape[1:]} but obs has "
            f"{o.shape[1:]}."
        )
    if ma.shape[1:] != a.shape[1:]:
        raise InvalidInputError(
            f"shape mismatch: mean_act has per-sample shape {ma.shape[1:]} but act has "
            f"{a.shape[1:]}."
        )
    return o, a, no, mo, ma


def _call_reward(
    reward_fn: RewardFn, obs: np.ndarray, act: np.ndarray, next_obs: np.ndarray, name: str
) -> np.ndarray:
    n = obs.shape[0]
    out = np.asarray(reward_fn(obs, act, next_obs))
    if out.shape not in ((n,), (n, 1)):
        raise InvalidInputError(
            f"shape mismatch: {name} returned shape {out.shape} for a batch of {n} "
            f"transitions; a reward function must return one reward per transition, ({n},)."
        )
    if out.dtype.kind not in "biuf":
        raise InvalidInputError(f"{name} returned dtype {out.dtype}; rewards must be real numbers.")
    out = out.reshape(n).astype(np.float64, copy=False)
    finite = np.isfinite(out)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise InvalidInputError(
            f"{name} returned {bad.size} non-finite reward(s) (NaN or inf) in a batch of {n}; "
            f"the first at position {int(bad[0])} ({out[bad[0]]!r}). Fix the reward function "
            "or the sampled states."
        )
    return out


def _tile_first(x: np.ndarray, reps: int) -> np.ndarray:
    return np.tile(x, (reps,) + (1,) * (x.ndim - 1))


def _mean_rewards(
    reward_fn: RewardFn,
    states: np.ndarray,
    mean_obs: np.ndarray,
    mean_act: np.ndarray,
    name: str,
) -> np.ndarray:
    """``m(x) = mean_j R(x, mean_act[j], mean_obs[j])`` for each of L states -> (L,)."""
    n_states, m = states.shape[0], mean_obs.shape[0]
    row_bytes = 2 * states[:1].nbytes + mean_act[:1].nbytes
    per_call = min(_MAX_EVALS_PER_CALL // m, _MAX_BYTES_PER_CALL // max(1, m * row_bytes))
    per_call = max(1, min(n_states, per_call))
    act_tiled = _tile_first(mean_act, per_call)
    next_tiled = _tile_first(mean_obs, per_call)
    out = np.empty(n_states, dtype=np.float64)
    for start in range(0, n_states, per_call):
        x = states[start : start + per_call]
        k = x.shape[0]
        rews = _call_reward(
            reward_fn, np.repeat(x, m, axis=0), act_tiled[: k * m], next_tiled[: k * m], name
        )
        out[start : start + k] = rews.reshape(k, m).mean(axis=1)
    return out


def _canonical(
    reward_fn: RewardFn,
    obs: np.ndarray,
    act: np.ndarray,
    next_obs: np.ndarray,
    mean_obs: np.ndarray,
    mean_act: np.ndarray,
    gamma: float,
    name: str,
) -> tuple[np.ndarray, float]:
    """Canonical rewards ``(N,)`` and the magnitude of the terms they were computed from."""
    n, m = obs.shape[0], mean_obs.shape[0]
    raw = _call_reward(reward_fn, obs, act, next_obs, name)
    all_states = np.concatenate((mean_obs, obs, next_obs), axis=0)
    try:  # evaluate each distinct state once (discrete spaces repeat states a lot)
        uniq, inverse = np.unique(all_states, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
    except (TypeError, ValueError):
        uniq, inverse = all_states, np.arange(all_states.shape[0])
    means = _mean_rewards(reward_fn, uniq, mean_obs, mean_act, name)[inverse]
    m_mean, m_obs, m_next = means[:m], means[m : m + n], means[m + n :]
    total = float(m_mean.mean())
    canon = raw + gamma * m_next - m_obs - gamma * total
    scale = max(float(np.abs(raw).max()), float(np.abs(means).max()))
    return canon, scale


def canonicalize_rewards(
    reward_fn: RewardFn,
    obs: ArrayLike,
    act: ArrayLike,
    next_obs: ArrayLike,
    *,
    mean_obs: ArrayLike,
    mean_act: ArrayLike,
    gamma: float = 0.99,
) -> np.ndarray:
    """Sample-based canonically shaped reward (Gleave et al. 2021, ``sample_canon_shaping``).

    ``C(s, a, s') = R(s, a, s') + gamma * m(s') - m(s) - gamma * mean_i m(mean_obs[i])``
    with ``m(x) = mean_j R(x, mean_act[j], mean_obs[j])`` over the M paired samples
    ``(A_j, S'_j)``. Like the reference, the total mean averages ``m`` over the ``mean_obs``
    samples themselves, which makes C exactly invariant to potential shaping
    ``R + gamma * phi(s') - phi(s)`` for any choice of samples. m is evaluated once per
    distinct state, by calling ``reward_fn`` on the state repeated M times against the
    samples, in chunks of at most 2^22 evaluations (and 256 MiB of tiled inputs) per call.

    Args:
        reward_fn: vectorised ``fn(obs, act, next_obs) -> (B,)``.
        obs: ``(N, *obs_shape)`` states of the batch of transitions.
        act: ``(N, *act_shape)`` actions (``(N,)`` for discrete actions).
        next_obs: ``(N, *obs_shape)`` next states.
        mean_obs: ``(M, *obs_shape)`` next-state samples S'_j for the means.
        mean_act: ``(M, *act_shape)`` action samples A_j paired with mean_obs.
        gamma: discount in [0, 1].

    Returns:
        ``(N,)`` float64 canonical rewards of the batch.

    Raises:
        InvalidInputError: mismatched shapes, gamma outside [0, 1], or a reward function
            returning the wrong shape or non-finite values.
    """
    g = _check_gamma(gamma)
    o, a, no, mo, ma = _check_batch(obs, act, next_obs, mean_obs, mean_act)
    canon, _ = _canonical(reward_fn, o, a, no, mo, ma, g, "reward_fn")
    return canon


def _centred_or_raise(canon: np.ndarray, scale: float, name: str) -> np.ndarray:
    centred = canon - canon.mean()
    spread = float(np.sqrt(np.mean(centred**2)))
    if spread <= _CONSTANT_CANON_RTOL * scale:
        raise InvalidInputError(
            f"the canonical reward of {name} is constant over the {canon.size} transitions "
            f"(zero variance: spread {spread:.3g} against reward magnitude {scale:.3g}), so "
            "rho and the EPIC distance are undefined. The reward is equivalent to a constant "
            "up to potential shaping on this sample; use a different reward or more varied "
            "transitions."
        )
    return centred


def epic_distance(
    reward_a: RewardFn,
    reward_b: RewardFn,
    obs: ArrayLike,
    act: ArrayLike,
    next_obs: ArrayLike,
    *,
    mean_obs: ArrayLike,
    mean_act: ArrayLike,
    gamma: float = 0.99,
) -> float:
    """Sample-based EPIC distance ``sqrt(1 - rho(C_a, C_b)) / sqrt(2)``.

    Both rewards are canonicalised by :func:`canonicalize_rewards` with the same samples;
    rho is the Pearson correlation of the canonical rewards over the N transitions (their
    empirical distribution). 0: equivalent up to positive scale and potential shaping;
    ~0.707: uncorrelated; 1: opposite.

    Args:
        reward_a, reward_b: vectorised reward functions ``fn(obs, act, next_obs) -> (B,)``.
        obs: ``(N, *obs_shape)``; act: ``(N, *act_shape)``; next_obs: ``(N, *obs_shape)``:
            the transitions, N >= 2.
        mean_obs: ``(M, *obs_shape)``; mean_act: ``(M, *act_shape)``: paired samples for the
            canonicalisation means.
        gamma: discount in [0, 1].

    Returns:
        The distance, a float in [0, 1].

    Raises:
        InvalidInputError: as :func:`canonicalize_rewards`, fewer than 2 transitions, or a
            canonical reward with zero variance (a reward constant up to shaping).
    """
    g = _check_gamma(gamma)
    o, a, no, mo, ma = _check_batch(obs, act, next_obs, mean_obs, mean_act)
    if o.shape[0] < 2:
        raise InvalidInputError(
            f"epic_distance needs at least 2 transitions for a correlation; got {o.shape[0]}."
        )
    ca, scale_a = _canonical(reward_a, o, a, no, mo, ma, g, "reward_a")
    cb, scale_b = _canonical(reward_b, o, a, no, mo, ma, g, "reward_b")
    xa = _centred_or_raise(ca, scale_a, "reward_a")
    xb = _centred_or_raise(cb, scale_b, "reward_b")
    rho = float(xa @ xb) / math.sqrt(float(xa @ xa) * float(xb @ xb))
    rho = min(1.0, max(-1.0, rho))
    return math.sqrt(max(0.0, 1.0 - rho)) / math.sqrt(2.0)


def _positive_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidInputError(f"{name} must be a whole number >= {minimum}; got {value!r}.")
    return int(value)


def _count(x: ArrayLike, name: str, expected: int) -> np.ndarray:
    arr = np.asarray(x)
    got = arr.shape[0] if arr.ndim else 0
    if got != expected:
        raise InvalidInputError(
            f"shape mismatch: {name} returned {got} samples (shape {arr.shape}) when asked "
            f"for {expected}; a sampler must return arrays whose first axis has length n."
        )
    return arr


def sample_epic_distance(
    reward_a: RewardFn,
    reward_b: RewardFn,
    sample_transitions: Callable[[int, np.random.Generator], tuple[Any, Any, Any]],
    sample_obs: Callable[[int, np.random.Generator], Any],
    sample_act: Callable[[int, np.random.Generator], Any],
    *,
    n_samples: int = 4096,
    n_mean_samples: int = 4096,
    gamma: float = 0.99,
    seed: int | None = 0,
) -> float:
    """EPIC distance from freshly sampled transitions and mean samples.

    Draws, with ``rng = np.random.default_rng(seed)`` and in this order,
    ``obs, act, next_obs = sample_transitions(n_samples, rng)``,
    ``mean_obs = sample_obs(n_mean_samples, rng)`` and
    ``mean_act = sample_act(n_mean_samples, rng)``, then returns :func:`epic_distance`.
    Defaults follow the reference implementation (gamma 0.99, 4096 and 4096 samples).

    Args:
        reward_a, reward_b: vectorised reward functions ``fn(obs, act, next_obs) -> (B,)``.
        sample_transitions: ``(n, rng) -> (obs (n, *obs_shape), act (n, *act_shape),
            next_obs (n, *obs_shape))``.
        sample_obs: ``(n, rng) -> (n, *obs_shape)`` states for the means (S'_j).
        sample_act: ``(n, rng) -> (n, *act_shape)`` actions for the means (A_j).
        n_samples: transitions N >= 2. n_mean_samples: mean samples M >= 1.
        gamma: discount in [0, 1]. seed: seed of the generator passed to the samplers.

    Returns:
        The distance, a float in [0, 1].

    Raises:
        InvalidInputError: as :func:`epic_distance`, bad counts, or samplers returning the
            wrong number of samples.
    """
    n = _positive_int(n_samples, "n_samples", 2)
    m = _positive_int(n_mean_samples, "n_mean_samples", 1)
    g = _check_gamma(gamma)
    rng = np.random.default_rng(_resolve_seed(seed))
    batch = sample_transitions(n, rng)
    if not isinstance(batch, (tuple, list)) or len(batch) != 3:
        raise InvalidInputError(
            "sample_transitions must return a tuple (obs, act, next_obs); got "
            f"{type(batch).__name__}."
        )
    obs, act, next_obs = (
        _count(x, f"sample_transitions ({nm})", n)
        for x, nm in zip(batch, ("obs", "act", "next_obs"))
    )
    mean_obs = _count(sample_obs(m, rng), "sample_obs", m)
    mean_act = _count(sample_act(m, rng), "sample_act", m)
    return epic_distance(
        reward_a, reward_b, obs, act, next_obs, mean_obs=mean_obs, mean_act=mean_act, gamma=g
    )
