"""Whether trajectories succeeded, and the success rate with a bootstrap interval.

A rater scores a trajectory by the fraction of its timesteps in which the agent performs
the task. The trajectory is a *success* when that fraction reaches a threshold: at least
the threshold (``inclusive``, written ``">=0.5"``, the paper's ">= 50%") or above it
(``">0.5"``). A success rate is the share of trajectories that succeed, reported with a
seeded percentile-bootstrap confidence interval over trajectories.

Shared by the labelling app (:mod:`rmeval.labeling.trajectories`, rates per policy) and
the scaling analysis (:mod:`rmeval.scaling`, rates per model, the paper's Figure 4c).

- :func:`parse_threshold` / :func:`format_threshold`: ``">=0.5"`` <-> ``(0.5, True)``.
- :func:`check_threshold`: a threshold value, checked to lie in [0, 1].
- :func:`is_success`: fractions -> success flags.
- :func:`bootstrap_rate_ci`: 0/1 outcomes -> :class:`RateCI` ``(rate, low, high)``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from rmeval.errors import InvalidInputError

__all__ = [
    "DEFAULT_THRESHOLD",
    "RateCI",
    "bootstrap_rate_ci",
    "check_threshold",
    "format_threshold",
    "is_success",
    "parse_threshold",
]

#: Default success threshold: at least half of the timesteps.
DEFAULT_THRESHOLD = 0.5
#: Most resampled indices held in memory at once by :func:`bootstrap_rate_ci` (int64: 32 MiB).
MAX_DRAWS_PER_CHUNK = 2**22

_THRESHOLD_RE = re.compile(r"^\s*(>=|>)?\s*([^\s<>=]+)\s*$")


class RateCI(NamedTuple):
    """A success rate and its confidence interval, all in [0, 1].

    A tuple: ``rate, low, high = bootstrap_rate_ci(...)`` works.
    """

    rate: float
    low: float
    high: float


def check_threshold(value: float) -> float:
    """``value`` as a float, checked to be a share of timesteps in [0, 1].

    Raises:
        InvalidInputError: not a number, NaN, or outside [0, 1].
    """
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"the success threshold must be a number in [0, 1] (a share of timesteps), not {value!r}"
        ) from None
    if not 0.0 <= t <= 1.0:  # also rejects NaN
        raise InvalidInputError(
            f"the success threshold must lie in [0, 1] (a share of timesteps, e.g. 0.5 for 50%), not {value!r}"
        )
    return t


def parse_threshold(spec: str | float) -> tuple[float, bool]:
    """A threshold as written in score tables -> ``(value, inclusive)``.

    ``">=0.5"`` -> ``(0.5, True)`` (at least), ``">0.5"`` -> ``(0.5, False)`` (above),
    ``"0.5"`` or the number ``0.5`` -> ``(0.5, True)``. Spaces are allowed around the
    parts. The inverse of :func:`format_threshold`.

    Raises:
        InvalidInputError: text of another form (e.g. ``"<0.5"``, ``"50%"``, ``""``) or a
            value outside [0, 1].
    """
    if isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, bool):
        return check_threshold(float(spec)), True
    match = _THRESHOLD_RE.match(str(spec))
    value: float | None = None
    if match is not None:
        try:
            value = float(match.group(2))
        except ValueError:
            value = None
    if match is None or value is None:
        raise InvalidInputError(
            f"threshold {spec!r} is not of the form '>=0.5' (at least), '>0.5' (above) or '0.5' "
            "(at least), with the value a share of timesteps in [0, 1]"
        )
    return check_threshold(value), match.group(1) != ">"


def format_threshold(threshold: float, inclusive: bool = True) -> str:
    """``(0.5, True)`` -> ``">=0.5"``, ``(0.5, False)`` -> ``">0.5"``; read back by :func:`parse_threshold`."""
    return (">=" if inclusive else ">") + f"{check_threshold(threshold):g}"


def is_success(
    fraction: ArrayLike, threshold: float = DEFAULT_THRESHOLD, *, inclusive: bool = True
) -> np.ndarray:
    """``fraction >= threshold`` (``>`` when not ``inclusive``), elementwise.

    Fractions are rounded to 12 decimals before the comparison, so 50/100 or a mean of
    raters' fractions that should be 0.5 counts as 0.5 exactly.

    Args:
        fraction: Shares of timesteps on task, any shape (a scalar gives a 0-d array).
        threshold: In [0, 1].
        inclusive: ``>=`` (True) or ``>`` (False).

    Returns:
        Bool array of ``fraction``'s shape.

    Raises:
        InvalidInputError: a threshold outside [0, 1].
    """
    t = check_threshold(threshold)
    f = np.round(np.asarray(fraction, dtype=np.float64), 12)
    return f >= t if inclusive else f > t


def bootstrap_rate_ci(
    successes: ArrayLike, *, n_resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> RateCI:
    """Success rate of trajectories with a seeded percentile-bootstrap interval.

    Each resample draws ``n`` trajectories with replacement
    (``rng.integers(0, n, size=n)`` with ``rng = numpy.random.default_rng(seed)``); the
    interval is the ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles of the
    resampled rates. Resamples are drawn in chunks of at most
    :data:`MAX_DRAWS_PER_CHUNK` indices, so memory stays bounded for many trajectories.
    With all outcomes equal the interval collapses to the rate (a bootstrap cannot see
    beyond the sample).

    Args:
        successes: ``(n,)`` outcomes, bool or 0/1, one per trajectory, n >= 1.
        n_resamples: Bootstrap resamples, >= 1.
        level: Confidence level, strictly between 0 and 1.
        seed: Seed of the resampling; the same seed gives the same interval.

    Returns:
        :class:`RateCI` ``(rate, low, high)``, all in [0, 1], ``low <= rate <= high``
        in practice.

    Raises:
        InvalidInputError: no outcomes, not a 1-d array, values other than 0/1, or a bad
            ``n_resamples`` or ``level``.
    """
    s = np.asarray(successes)
    if s.ndim != 1:
        raise InvalidInputError(f"successes must be a 1-d array, one outcome per trajectory; got shape {s.shape}")
    if s.size == 0:
        raise InvalidInputError("no scored trajectories: a success rate needs at least one")
    if s.dtype.kind not in "biuf" or not np.isin(s, (0, 1)).all():
        raise InvalidInputError("successes must be bool or 0/1, one per trajectory")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise InvalidInputError(f"n_resamples must be a whole number >= 1, not {n_resamples!r}")
    if not isinstance(level, (int, float, np.integer, np.floating)) or not 0 < level < 1:
        raise InvalidInputError(f"level must lie strictly between 0 and 1 (e.g. 0.95), not {level!r}")
    s = s.astype(np.float64)
    n = s.size
    rng = np.random.default_rng(seed)
    rates = np.empty(int(n_resamples))
    chunk = max(1, min(int(n_resamples), MAX_DRAWS_PER_CHUNK // n))
    for b0 in range(0, int(n_resamples), chunk):
        b = min(chunk, int(n_resamples) - b0)
        rates[b0 : b0 + b] = s[rng.integers(0, n, size=(b, n))].mean(axis=1)
    low, high = np.percentile(rates, [50 * (1 - level), 50 * (1 + level)])
    return RateCI(float(s.mean()), float(low), float(high))
