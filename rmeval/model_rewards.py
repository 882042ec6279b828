"""Rewards of a dataset's frames under several models: the loop behind ``epic``, ``landscape``
and the scaling histograms.

For each model: load it, embed the frames (through the cache: frames embedded before are
not encoded again), embed the goal and baseline prompts once, and compute the reward for
every alpha from those embeddings. A model that fails with an rmeval error (weights that
cannot be had, say) is recorded and skipped; the others go on. A broken dataset raises,
since it is broken for every model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rmeval.errors import DatasetError, InvalidInputError, RmevalError
from rmeval.registry import ModelRef


@dataclass(frozen=True)
class RewardSettings:
    """What to compute and how to embed.

    ``precision`` is one precision, or a mapping model id -> precision (so that a results
    table's ``precision`` column finds the same cache entries).
    """

    alphas: Sequence[float]
    goal_prompts: Sequence[str]
    baseline_prompts: Sequence[str] = ()
    device: str | None = None
    batch_size: int | str = 64
    precision: str | Mapping[str, str] = "fp32"
    cache_dir: str | Path | None = None
    weights_dir: str | Path | None = None
    progress: bool | None = None
    compile: bool = False
    #: More prompt sets, name -> (goal prompts, baseline prompts), scored on the same image
    #: embeddings (``rmeval bench``'s task confusion): ``ModelRewards.extra[name]``.
    extra_prompts: Mapping[str, tuple[Sequence[str], Sequence[str]]] = field(default_factory=dict)

    def precision_for(self, model_id: str) -> str:
        if isinstance(self.precision, str):
            return self.precision
        return self.precision.get(model_id, "fp32")


def check_prompts(alphas: Sequence[float], goal_prompts: Sequence[str], baseline_prompts: Sequence[str]) -> None:
    """Raise InvalidInputError when the prompts cannot give rewards for these alphas."""
    if not goal_prompts:
        raise InvalidInputError("no goal prompt: the dataset's metadata has none; pass --goal 'PROMPT'.")
    if any(a > 0 for a in alphas) and not baseline_prompts:
        raise InvalidInputError(
            "alpha > 0 needs a baseline prompt and the dataset's metadata has none; pass "
            "--baseline 'PROMPT' or use --alpha 0."
        )


@dataclass
class ModelRewards:
    """One model's rewards.

    Attributes:
        ref: The model.
        rewards: (K, n) rewards, row k for ``settings.alphas[k]``, columns in ``rows`` order.
        params_m: Total parameters in millions (registry value, else counted).
        stats: ``encoded``, ``cached`` (frames), ``seconds``, ``device``.
        extra: (K, n) rewards for each of ``settings.extra_prompts``.
    """

    ref: ModelRef
    rewards: np.ndarray
    params_m: float
    stats: dict[str, Any]
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def rewards_per_model(
    dataset: Any,
    rows: Sequence[int] | np.ndarray | None,
    models: Sequence[ModelRef | str],
    settings: RewardSettings,
    *,
    failures: dict[str, str],
    log: Callable[[str], None] = lambda msg: None,
) -> Iterator[ModelRewards]:
    """Yield each model's rewards on ``dataset``'s frames ``rows`` (None: all), one model at a time.

    Models that fail are added to ``failures`` (model -> message) and skipped. Only one
    model's embeddings are held at a time.
    """
    from rmeval.cache import EmbeddingCache
    from rmeval.embedding import Embedder
    from rmeval.models import load_model
    from rmeval.registry import parse_model
    from rmeval.rewards import combine_prompts, regularized_reward

    check_prompts(settings.alphas, settings.goal_prompts, settings.baseline_prompts)
    cache = EmbeddingCache(settings.cache_dir)
    for model in models:
        name = model if isinstance(model, str) else model.id
        try:
            t0 = time.perf_counter()
            ref = parse_model(model) if isinstance(model, str) else model
            loaded = load_model(ref, device=settings.device, weights_dir=settings.weights_dir)
            embedder = Embedder(
                loaded, batch_size=settings.batch_size, precision=settings.precision_for(name), cache=cache,
                progress=settings.progress, compile=settings.compile,
            )
            image = embedder.embed_dataset(dataset, rows)
            goal = combine_prompts(embedder.embed_texts(list(settings.goal_prompts)))
            baseline = (
                combine_prompts(embedder.embed_texts(list(settings.baseline_prompts)))
                if settings.baseline_prompts else None
            )
            rewards = regularized_reward(image, goal, baseline, settings.alphas)
            extra = {}
            for key, (goal_p, base_p) in settings.extra_prompts.items():
                check_prompts(settings.alphas, goal_p, base_p)
                g = combine_prompts(embedder.embed_texts(list(goal_p)))
                b = combine_prompts(embedder.embed_texts(list(base_p))) if base_p else None
                extra[key] = regularized_reward(image, g, b, settings.alphas)
            stats = {
                "encoded": embedder.stats.encoded,
                "cached": embedder.stats.cached,
                "seconds": round(time.perf_counter() - t0, 3),
                "device": str(loaded.device),
            }
            params_m = ref.spec.params_m if ref.spec else loaded.n_params / 1e6
            del loaded, embedder, image
        except DatasetError:
            raise
        except RmevalError as exc:
            failures[name] = str(exc)
            log(f"{name}: FAILED: {str(exc).splitlines()[0]}")
            continue
        log(
            f"{ref.id}: {stats['encoded']} frames encoded, {stats['cached']} from cache "
            f"({stats['seconds']:.1f} s on {stats['device']})"
        )
        yield ModelRewards(ref=ref, rewards=rewards, params_m=params_m, stats=stats, extra=extra)
