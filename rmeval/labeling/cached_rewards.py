"""Rewards of models whose embeddings are already in the embedding cache (no model is loaded).

``rmeval embed`` / ``rmeval epic`` store image embeddings keyed by the frames' pixels and
text embeddings keyed by the prompt. For a dataset this module finds every cached model
(an image store plus a text store of the same weights and precision that holds the goal
prompts), looks up the frames' embeddings, and computes rewards with
:func:`rmeval.rewards.regularized_reward`. Frames a model has no embedding for get NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rmeval.errors import RmevalError

__all__ = ["CachedModel", "cached_models", "dataset_frame_keys", "has_cached_models"]

#: Frames read (and hashed) at a time.
_CHUNK = 64


@dataclass
class CachedModel:
    """One cached model's embeddings for a dataset.

    Attributes:
        model: the model id (``ViT-B-32:laion2b_s34b_b79k``, ``rmeval-tiny:random``, ...).
        precision: the precision the embeddings were computed in.
        image_emb: ``(N, D)`` float32 image embeddings, zeros where not ``found``.
        found: ``(N,)`` bool, True where the frame's embedding is cached.
        goal: ``(D,)`` combined goal-prompt embedding.
        baseline: ``(D,)`` combined baseline-prompt embedding, or None when not cached.
    """

    model: str
    precision: str
    image_emb: np.ndarray
    found: np.ndarray
    goal: np.ndarray
    baseline: np.ndarray | None

    @property
    def coverage(self) -> float:
        """Share of the dataset's frames with a cached embedding."""
        return float(self.found.mean()) if self.found.size else 0.0

    def rewards(self, alphas: list[float] | None = None) -> np.ndarray:
        """``(K, N)`` rewards for ``alphas`` (default ``[0]``), NaN for frames not found.

        alpha > 0 needs the baseline (:class:`rmeval.errors.InvalidInputError` otherwise).
        """
        from rmeval.rewards import regularized_reward

        a = [0.0] if alphas is None else list(alphas)
        out = np.full((len(a), self.found.shape[0]), np.nan)
        if self.found.any():
            out[:, self.found] = regularized_reward(self.image_emb[self.found], self.goal, self.baseline, a)
        return out


def dataset_frame_keys(dataset: Any) -> np.ndarray:
    """``(N,)`` cache keys of a dataset's frames (reads every frame, in chunks)."""
    from rmeval.cache import frame_keys

    n = len(dataset)
    keys = np.empty(n, dtype="S16")
    for start in range(0, n, _CHUNK):
        rows = np.arange(start, min(n, start + _CHUNK))
        keys[start : start + len(rows)] = frame_keys(dataset.read_frames(rows))
    return keys


def _cache(cache_dir: str | Path | None) -> Any | None:
    from rmeval.cache import EmbeddingCache, default_cache_dir

    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    if not root.is_dir():
        return None
    try:
        return EmbeddingCache(root)
    except RmevalError:
        return None


def has_cached_models(cache_dir: str | Path | None = None) -> bool:
    """Whether the cache holds any image embeddings at all (cheap: no frame is read)."""
    cache = _cache(cache_dir)
    return bool(cache is not None and (cache.stores("image") or (cache.root / "v1" / "judge").is_dir()))


def cached_models(
    dataset: Any,
    goal_prompts: list[str],
    baseline_prompts: list[str],
    *,
    cache_dir: str | Path | None = None,
    keys: np.ndarray | None = None,
    incomplete: list[str] | None = None,
) -> list[Any]:
    """Every cached model with at least one of the dataset's frames and the goal prompts
    (open_clip models as :class:`CachedModel`, then generative judges as
    :class:`rmeval.judges.cache.CachedJudge`, which has the same interface).

    Args:
        dataset: a :class:`rmeval.dataset.Dataset`.
        goal_prompts, baseline_prompts: prompts to look up (combined as in ``rmeval epic``).
        cache_dir: the cache root (default: ``$RMEVAL_CACHE_DIR`` or ``~/.cache/rmeval``).
        keys: precomputed :func:`dataset_frame_keys` (computed when None).
        incomplete: if given, the ids of models that have some of the frames cached but
            not the goal prompts are appended to it (``rmeval epic`` caches both,
            ``rmeval embed`` only frames).

    Returns:
        The models sorted by id (each model/precision once: the store covering the most
        frames).
    """
    from rmeval.cache import text_keys
    from rmeval.rewards import combine_prompts

    cache = _cache(cache_dir)
    if cache is None or not goal_prompts:
        return []
    image_stores = cache.stores("image")
    judges_dir = cache.root / "v1" / "judge"
    if not image_stores and not judges_dir.is_dir():
        return []
    text_stores = cache.stores("text")
    if keys is None:
        keys = dataset_frame_keys(dataset)
    best: dict[tuple[str, str], CachedModel] = {}
    for info, store in image_stores:
        found, emb = store.lookup(keys)
        if not found.any():
            continue
        goal = baseline = None
        for tinfo, tstore in text_stores:
            if (tinfo.get("model"), tinfo.get("precision"), tinfo.get("dim")) != (
                info.get("model"), info.get("precision"), info.get("dim")
            ):
                continue
            gfound, gemb = tstore.lookup(text_keys(goal_prompts))
            if not gfound.all():
                continue
            goal = combine_prompts(gemb)
            if baseline_prompts:
                bfound, bemb = tstore.lookup(text_keys(baseline_prompts))
                if bfound.all():
                    baseline = combine_prompts(bemb)
            break
        if goal is None:
            if incomplete is not None:
                incomplete.append(str(info.get("name", store.directory.name)))
            continue
        name = str(info.get("name", store.directory.name))
        precision = str(info.get("precision", ""))
        model = CachedModel(name, precision, emb, found, goal, baseline)
        key = (name, precision)
        if key not in best or model.found.sum() > best[key].found.sum():
            best[key] = model
    models: list[Any] = [best[k] for k in sorted(best)]
    if judges_dir.is_dir():  # generative judges' cached scores (their own reward; no alpha)
        from rmeval.judges.cache import cached_judges
        from rmeval.judges.question import question_template

        try:
            template = question_template(None, getattr(dataset.metadata, "extra", None))
        except RmevalError:
            template = None
        if template is not None:
            models.extend(cached_judges(keys, list(goal_prompts), template, cache.root))
    return models
