"""General sample-based EPIC (Gleave et al. 2021) for rewards R(s, a, s')."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from rmeval.epic.bootstrap import resolve_seed
from rmeval.errors import InvalidInputError

#: A vectorised reward function ``fn(obs, act, next_obs) -> (N,)`` over a batch of N
#: transitions: obs ``(N, *obs_shape)``, act ``(N, *act_shape)``, next_obs ``(N, *obs_shape)``.
RewardFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

#: Upper bounds on one call of a reward function while averaging over the mean samples.
_MAX_EVALS_PER_CALL = 2**22
_MAX_BYTES_PER_CALL = 256 * 2**20
#: A canonical reward whose spread is at or below this fraction of the magnitude of the
#: terms it was computed from is constant up to rounding.
_CONSTANT_CANON_RTOL = 1e-10


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
    rng = np.random.default_rng(resolve_seed(seed))
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
