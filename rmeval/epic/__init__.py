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

from rmeval.epic.bootstrap import epic_bootstrap_ci, epic_with_ci
from rmeval.epic.goal import epic_from_labels, pearson_with_labels
from rmeval.epic.sample import RewardFn, canonicalize_rewards, epic_distance, sample_epic_distance

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
