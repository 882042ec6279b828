"""Does the reward order policies and trajectories as the ground truth does? Policy ranking
(Kendall tau-b and Spearman, resampling policies) and preference accuracy on trajectory
pairs (resampling trajectories).

- :func:`trajectory_returns`: frames -> one return per trajectory (the sum of its frames'
  rewards) and the trajectories' ids.
- :func:`policy_ranking`: per policy k a ground-truth score ``G_k`` (mean return, success
  rate) and a reward-model score ``R_k`` (its mean episode return under the reward model):
  Kendall tau-b (``scipy.stats.kendalltau``'s default) and Spearman of R against G.
- :func:`preference_accuracy`: over all pairs (a, b) with ``G_a > G_b``, the share with
  ``R_a > R_b``; a tie in R counts one half, so a constant reward scores 0.5 (chance).
"""

from __future__ import annotations

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
    weighted_midranks,
    weighted_pearson,
)

__all__ = ["MIN_POLICIES", "PolicyRanking", "group_means", "policy_ranking", "preference_accuracy",
           "trajectory_returns"]

#: Fewest policies a ranking needs.
MIN_POLICIES = 3


@dataclass(frozen=True)
class PolicyRanking:
    """Kendall tau-b and Spearman between reward-model and ground-truth policy scores; ``n``
    counts policies."""

    kendall_tau: Estimate
    spearman: Estimate


def trajectory_returns(rewards: ArrayLike, episodes: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Sum of each trajectory's frame rewards.

    Args:
        rewards: (N,) or (K, N).
        episodes: (N,) trajectory id of each frame.

    Returns:
        ``(ids, returns)``: ids (m,) sorted, returns (K, m) (K = 1 for one row).
    """
    r, _ = as_rewards(rewards)
    ep = as_groups(episodes, r.shape[1], "episodes")
    ids, inverse = np.unique(ep, return_inverse=True)
    sums = np.zeros((r.shape[0], ids.shape[0]))
    for k in range(r.shape[0]):
        sums[k] = np.bincount(inverse, weights=r[k], minlength=ids.shape[0])
    return ids, sums


def group_means(values: ArrayLike, groups: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` (m,) or (K, m) per group (m,) -> ``(group ids (p,), means (K, p))``."""
    v, _ = as_rewards(values, "values")
    g = as_groups(groups, v.shape[1], "groups")
    ids, inverse = np.unique(g, return_inverse=True)
    counts = np.bincount(inverse, minlength=ids.shape[0])
    means = np.stack([np.bincount(inverse, weights=v[k], minlength=ids.shape[0]) / counts for k in range(v.shape[0])])
    return ids, means


def _pair_signs(x: np.ndarray) -> np.ndarray:
    return np.sign(x[:, None] - x[None, :])


def _truth(truth: ArrayLike, m: int, what: str) -> np.ndarray:
    g, _ = as_rewards(truth, what)
    if g.shape != (1, m):
        raise InvalidInputError(f"{what} must be (m,) with m = {m}, one per column of the scores; got {g.shape}.")
    return g[0]


def policy_ranking(
    scores: ArrayLike,
    truth: ArrayLike,
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> PolicyRanking:
    """Kendall tau-b and Spearman of reward-model policy scores against ground truth.

    Args:
        scores: (m,) or (K, m) reward-model score per policy (e.g. mean episode return).
        truth: (m,) ground-truth score per policy (mean return or success rate).
        n_resamples, level, seed: the bootstrap over policies.

    Raises:
        InvalidInputError: fewer than ``MIN_POLICIES`` policies, constant truth or a constant
            score row (no ranking), bad shapes.
    """
    boot = Bootstrap(n_resamples, level, seed).checked()
    s, one = as_rewards(scores, "scores")
    m = s.shape[1]
    g = _truth(truth, m, "truth")
    if m < MIN_POLICIES:
        raise InvalidInputError(f"policy ranking needs at least {MIN_POLICIES} policies; got {m}.")
    if np.ptp(g) == 0:
        raise InvalidInputError("every policy has the same ground-truth score: there is no ranking to recover.")
    if (np.ptp(s, axis=1) == 0).any():
        raise InvalidInputError("a score row is the same for every policy: its rank correlation is undefined.")
    sg = _pair_signs(g)
    ss = [_pair_signs(s[k]) for k in range(s.shape[0])]

    def tau(c: np.ndarray) -> np.ndarray:
        den_g = np.einsum("bi,ij,bj->b", c, sg * sg, c)
        res = []
        for sk in ss:
            num = np.einsum("bi,ij,bj->b", c, sk * sg, c)
            den = np.einsum("bi,ij,bj->b", c, sk * sk, c)
            with np.errstate(divide="ignore", invalid="ignore"):
                res.append(np.where((den > 0) & (den_g > 0), num / np.sqrt(den * den_g), np.nan))
        return np.stack(res, axis=1)

    def rho(c: np.ndarray) -> np.ndarray:
        rg = weighted_midranks(c, g)
        return np.stack([weighted_pearson(c, weighted_midranks(c, s[k]), rg) for k in range(s.shape[0])], axis=1)

    ones = np.ones((1, m))
    return PolicyRanking(
        bootstrap(tau(ones)[0], tau, cluster_counts(m, boot), boot, m, one),
        bootstrap(rho(ones)[0], rho, cluster_counts(m, boot), boot, m, one),
    )


def preference_accuracy(
    scores: ArrayLike,
    truth: ArrayLike,
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Share of trajectory pairs ordered by ground truth that the reward orders the same way.

    Args:
        scores: (m,) or (K, m) reward-model return per trajectory.
        truth: (m,) ground-truth return per trajectory.

    Returns:
        The accuracy; ``n`` counts the ordered pairs (``G_a > G_b``).

    Raises:
        InvalidInputError: no pair with different ground truth, bad shapes.
    """
    boot = Bootstrap(n_resamples, level, seed).checked()
    s, one = as_rewards(scores, "scores")
    m = s.shape[1]
    g = _truth(truth, m, "truth")
    ordered = (g[:, None] > g[None, :]).astype(np.float64)  # (a, b): G_a > G_b
    n_pairs = int(ordered.sum())
    if n_pairs == 0:
        raise InvalidInputError("every trajectory has the same ground-truth return: no ordered pair to score.")
    agree = [ordered * (0.5 * (1.0 + _pair_signs(s[k]))) for k in range(s.shape[0])]

    def acc(c: np.ndarray) -> np.ndarray:
        den = np.einsum("bi,ij,bj->b", c, ordered, c)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.stack([np.einsum("bi,ij,bj->b", c, a, c) / den for a in agree], axis=1)

    return bootstrap(acc(np.ones((1, m)))[0], acc, cluster_counts(m, boot), boot, n_pairs, one)
