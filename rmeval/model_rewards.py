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
    question: str | None = None
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
        alphas_apply: False for a :class:`~rmeval.reward_model.RewardModel` (a judge): it
            has one reward, repeated in every row of ``rewards``.
        p_yes: (n,) a judge's p(yes) normalised over yes+no, else None.
        extra: (K, n) rewards for each of ``settings.extra_prompts``.
    """

    ref: Any
    rewards: np.ndarray
    params_m: float
    stats: dict[str, Any]
    alphas_apply: bool = True
    p_yes: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def _reward_model_rewards(
    dataset: Any, rows: Sequence[int] | np.ndarray | None, ref: Any, settings: RewardSettings,
) -> ModelRewards:
    """Rewards of a model that is not an open_clip encoder (a judge): frames in chunks through
    its ``frame_rewards`` (cached per frame by the judge)."""
    from rmeval.judges.model import Judge

    t0 = time.perf_counter()
    batch = settings.batch_size if isinstance(settings.batch_size, int) else 16
    judge = Judge(
        ref, device=settings.device, precision=settings.precision_for(ref.id), batch_size=batch,
        question=settings.question, cache_dir=settings.cache_dir, weights_dir=settings.weights_dir,
    )
    rows = np.arange(len(dataset)) if rows is None else np.asarray(rows, dtype=np.int64)
    chunk = max(judge.batch_size, 256)
    log_yes, log_no = [], []
    extra_parts: dict[str, list[np.ndarray]] = {key: [] for key in settings.extra_prompts}
    for lo in range(0, len(rows), chunk):
        frames = dataset.read_frames(rows[lo:lo + chunk])
        scores = judge.scores(frames, settings.goal_prompts)
        log_yes.append(scores.log_p_yes)
        log_no.append(scores.log_p_no)
        for key, (goal_p, _base_p) in settings.extra_prompts.items():  # other tasks' questions
            extra_parts[key].append(judge.scores(frames, goal_p).reward)
    from rmeval.judges.reward import JudgeScores

    k = max(1, len(settings.alphas))
    extra = {
        key: np.repeat((np.concatenate(parts) if parts else np.zeros(0))[None, :], k, axis=0)
        for key, parts in extra_parts.items()
    }

    scores = JudgeScores(
        log_p_yes=np.concatenate(log_yes) if log_yes else np.zeros(0),
        log_p_no=np.concatenate(log_no) if log_no else np.zeros(0),
    )
    rewards = np.repeat(scores.reward[None, :], k, axis=0)
    stats = {
        "encoded": judge.stats["scored"], "cached": judge.stats["cached"],
        "seconds": round(time.perf_counter() - t0, 3), "device": str(judge.device),
        "question": judge.template, "judge_random_weights": judge.random_weights,
    }
    params_m = (judge.parameter_count() or 0) / 1e6
    return ModelRewards(
        ref=ref, rewards=rewards, params_m=params_m, stats=stats, alphas_apply=False, p_yes=scores.p_yes, extra=extra,
    )


def rewards_per_model(
    dataset: Any,
    rows: Sequence[int] | np.ndarray | None,
    models: Sequence[Any],
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
        judged: ModelRewards | None = None
        try:
            t0 = time.perf_counter()
            ref = parse_model(model) if isinstance(model, str) else model
            if getattr(ref, "is_judge", False):
                judged = _reward_model_rewards(dataset, rows, ref, settings)
        except DatasetError:
            raise
        except RmevalError as exc:
            failures[name] = str(exc)
            log(f"{name}: FAILED: {str(exc).splitlines()[0]}")
            continue
        if judged is not None:
            log(
                f"{ref.id}: {judged.stats['encoded']} frames judged, {judged.stats['cached']} from cache "
                f"({judged.stats['seconds']:.1f} s on {judged.stats['device']})"
            )
            yield judged
            continue
        try:
            assert isinstance(ref, ModelRef)
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
