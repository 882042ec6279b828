"""CLIP rewards as pure functions of embeddings (paper Section 3; notes section 1).

- :func:`clip_reward`: ``R_CLIP(s) = <s, g>`` with ``s``, ``g`` L2-normalised (eq. 2).
- :func:`regularized_reward`: the goal-baseline regularised reward (Definition 1, eq. 3),
  ``R_reg(s) = 1 - 0.5 * || alpha * proj_L(s) + (1 - alpha) * s - g ||^2`` with ``L`` the
  line through ``b`` and ``g``. Since ``g`` lies on ``L`` this is
  ``1 - 0.5 * || M (s - g) ||^2`` with ``M = alpha * d d^T + (1 - alpha) I`` and
  ``d = (g - b) / ||g - b||``. Expanding with ``u = s - g`` and ``t = <u, d>``:
  ``||M u||^2 = (1 - alpha)^2 ||u||^2 + (1 - (1 - alpha)^2) t^2``, so K alphas cost two
  dot products per frame plus arithmetic.
- :func:`combine_prompts`: several prompts for one goal: normalise each, average,
  normalise again.

Inputs are numpy arrays or anything array-like; torch is not needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from rmeval.errors import InvalidInputError


def _as_matrix(x: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise InvalidInputError(f"{name} must have shape (N, D), got {np.shape(x)}")
    if not np.isfinite(arr).all():
        raise InvalidInputError(f"{name} contains NaN or infinite values")
    return arr


def _as_vector(x: ArrayLike, name: str, dim: int) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 1:
        raise InvalidInputError(
            f"{name} must be one embedding of shape (D,), got {np.shape(x)}; "
            "combine several prompts first with combine_prompts()."
        )
    if arr.shape[0] != dim:
        raise InvalidInputError(
            f"{name} has dimension {arr.shape[0]} but the image embeddings have {dim}: "
            "were they computed with the same model?"
        )
    if not np.isfinite(arr).all():
        raise InvalidInputError(f"{name} contains NaN or infinite values")
    return arr


def normalize(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """L2-normalise along ``axis`` (float64). Zero vectors raise InvalidInputError."""
    arr = np.asarray(x, dtype=np.float64)
    norm = np.linalg.norm(arr, axis=axis, keepdims=True)
    if (norm == 0).any():
        raise InvalidInputError("cannot normalise a zero embedding")
    return arr / norm


def combine_prompts(text_embs: ArrayLike) -> np.ndarray:
    """One direction for several prompts of the same goal (or baseline).

    Args:
        text_embs: (P, D) embeddings of P prompts (or (D,) for one prompt).

    Returns:
        (D,) unit vector: each prompt normalised, averaged, and the average normalised again.
    """
    arr = np.asarray(text_embs, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise InvalidInputError(f"text embeddings must have shape (P, D) with P >= 1, got {np.shape(text_embs)}")
    return normalize(normalize(arr).mean(axis=0))


def clip_reward(image_emb: ArrayLike, goal_emb: ArrayLike) -> np.ndarray:
    """CLIP reward: cosine similarity of each frame with the goal.

    Args:
        image_emb: (N, D) image embeddings (any norm).
        goal_emb: (D,) goal embedding (any norm).

    Returns:
        (N,) float64 rewards in [-1, 1].
    """
    s = normalize(_as_matrix(image_emb, "image_emb"))
    g = normalize(_as_vector(goal_emb, "goal_emb", s.shape[1]))
    return s @ g


def _check_alphas(alphas: ArrayLike) -> np.ndarray:
    a = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if a.ndim != 1 or a.size == 0:
        raise InvalidInputError(f"alphas must be a number or a 1-D list of numbers, got {alphas!r}")
    if not np.isfinite(a).all() or (a < 0).any() or (a > 1).any():
        raise InvalidInputError(f"alpha must lie in [0, 1], got {a.tolist()}")
    return a


def regularized_reward(
    image_emb: ArrayLike,
    goal_emb: ArrayLike,
    baseline_emb: ArrayLike | None,
    alphas: float | Sequence[float] | ArrayLike,
) -> np.ndarray:
    """Goal-baseline regularised reward for K alphas in one call.

    Args:
        image_emb: (N, D) image embeddings (any norm; normalised inside).
        goal_emb: (D,) goal embedding (normalised inside).
        baseline_emb: (D,) baseline embedding, or None (only allowed when every alpha is 0).
        alphas: K values in [0, 1]; 0 gives :func:`clip_reward`, 1 keeps only the
            component along the baseline-to-goal direction.

    Returns:
        (K, N) float64 rewards, row k for ``alphas[k]``.
    """
    a = _check_alphas(alphas)
    s = normalize(_as_matrix(image_emb, "image_emb"))
    g = normalize(_as_vector(goal_emb, "goal_emb", s.shape[1]))
    cos = s @ g  # (N,); ||s - g||^2 = 2 - 2 cos
    if baseline_emb is None:
        if (a > 0).any():
            raise InvalidInputError(
                "alpha > 0 needs a baseline prompt (e.g. --baseline 'a humanoid robot'); "
                "without one only alpha = 0 (the plain CLIP reward) is defined."
            )
        return np.broadcast_to(cos, (a.size, cos.size)).copy()
    b = normalize(_as_vector(baseline_emb, "baseline_emb", s.shape[1]))
    direction = g - b
    length = np.linalg.norm(direction)
    if length < 1e-8 and (a > 0).any():
        raise InvalidInputError(
            "the goal and baseline embeddings coincide, so the baseline-to-goal direction is "
            "undefined; use a baseline prompt that differs from the goal."
        )
    d = direction / length if length >= 1e-8 else direction
    u_sq = np.clip(2.0 - 2.0 * cos, 0.0, None)  # ||s - g||^2
    t = s @ d - g @ d  # <s - g, d>
    keep = (1.0 - a)[:, None] ** 2  # (K, 1)
    sq = keep * u_sq[None, :] + (1.0 - keep) * (t * t)[None, :]
    out = 1.0 - 0.5 * sq
    # alpha = 0 is exactly the cosine (avoid the 1 - (1 - cos) rounding).
    out[a == 0] = cos
    return out
