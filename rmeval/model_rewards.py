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
from typing import Any

import numpy as np

from rmeval.embedding_options import EmbeddingOptions
from rmeval.errors import DatasetError, InvalidInputError, RmevalError, StorageError
from rmeval.registry import ModelRef


@dataclass(frozen=True)
class RewardSettings:
    """What to compute (alphas, prompts) and how to embed (:class:`EmbeddingOptions`)."""

    alphas: Sequence[float]
    goal_prompts: Sequence[str]
    baseline_prompts: Sequence[str] = ()
    embedding: EmbeddingOptions = field(default_factory=EmbeddingOptions)
    #: A judge's question template (``--question``; None: the dataset's, else the default).
    question: str | None = None
    #: More prompt sets, name -> (goal prompts, baseline prompts), scored on the same image
    #: embeddings (``rmeval bench``'s task confusion): ``ModelRewards.extra[name]``.
    extra_prompts: Mapping[str, tuple[Sequence[str], Sequence[str]]] = field(default_factory=dict)


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
        params_m: Total parameters in millions (registry value, else counted; NaN when a
            plug-in does not say).
        stats: ``encoded``, ``cached`` (cache hits), ``repeated`` (frames identical to another
            frame of the dataset, encoded once), ``seconds``, ``device``.
        alphas_apply: False for a :class:`~rmeval.reward_model.RewardModel` (a judge): it
            has one reward, repeated in every row of ``rewards``.
        p_yes: (n,) a judge's p(yes) normalised over yes+no, else None.
        extra: (K, n) rewards for each of ``settings.extra_prompts``.
        random_weights: True when the weights are random (``NAME:random``, or a plug-in
            that says so).
        image_gflops: Image-tower GFLOPs (:mod:`rmeval.sizes`; NaN when unknown).
    """

    ref: Any
    rewards: np.ndarray
    params_m: float
    stats: dict[str, Any]
    alphas_apply: bool = True
    p_yes: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    random_weights: bool = False
    image_gflops: float = float("nan")


def _plugin_rewards(
    dataset: Any, rows: Sequence[int] | np.ndarray | None, ref: Any, settings: RewardSettings, cache: Any
) -> ModelRewards:
    """Rewards of a plug-in (``module.path:Class``) or judge, through the cache under its identity."""
    from rmeval.plugins import PluginStats, load_reward_model, plugin_rewards

    t0 = time.perf_counter()
    assert isinstance(ref, ModelRef)
    plugin = load_reward_model(ref, device=settings.embedding.device)
    stats = PluginStats()
    rows_arr = np.arange(len(dataset)) if rows is None else np.asarray(rows, dtype=np.int64)
    rewards = plugin_rewards(
        plugin, lambda r: dataset.read_frames(r), rows_arr, settings.alphas, settings.goal_prompts,
        settings.baseline_prompts, cache=cache, stats=stats,
    )
    extra = {
        key: plugin_rewards(plugin, lambda r: dataset.read_frames(r), rows_arr, settings.alphas, goal_p, base_p,
                            cache=cache)
        for key, (goal_p, base_p) in settings.extra_prompts.items()
    }
    count = plugin.parameter_count()
    return ModelRewards(
        ref=ref, rewards=rewards, params_m=float(count) / 1e6 if count else float("nan"),
        stats={"encoded": stats.encoded, "cached": stats.cached, "seconds": round(time.perf_counter() - t0, 3),
               "device": settings.embedding.device or "plug-in's own", "repeated": 0},
        extra=extra,
        random_weights=bool(plugin.random_weights),
    )


def _judge_rewards(
    dataset: Any, rows: Sequence[int] | np.ndarray | None, ref: Any, settings: RewardSettings,
) -> ModelRewards:
    """Rewards of a model that is not an open_clip encoder (a judge): frames in chunks through
    its ``frame_rewards`` (cached per frame by the judge)."""
    from rmeval.judges.model import Judge

    t0 = time.perf_counter()
    options = settings.embedding
    batch = options.batch_size if isinstance(options.batch_size, int) else 16
    judge = Judge(
        ref, device=options.device, precision=options.precision_for(ref.id), batch_size=batch,
        question=settings.question, cache_dir=options.cache_dir, weights_dir=options.weights_dir,
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
        "seconds": round(time.perf_counter() - t0, 3), "device": str(judge.device), "repeated": 0,
        "question": judge.template, "judge_random_weights": judge.random_weights,
    }
    params_m = (judge.parameter_count() or 0) / 1e6
    return ModelRewards(
        ref=ref, rewards=rewards, params_m=params_m, stats=stats, alphas_apply=False, p_yes=scores.p_yes, extra=extra,
        random_weights=bool(judge.random_weights),
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
    from rmeval.sizes import ref_size

    check_prompts(settings.alphas, settings.goal_prompts, settings.baseline_prompts)
    options = settings.embedding
    cache = EmbeddingCache(options.cache_dir)
    for model in models:
        name = model if isinstance(model, str) else model.id
        result: ModelRewards | None = None
        try:
            t0 = time.perf_counter()
            ref = parse_model(model) if isinstance(model, str) else model
            if getattr(ref, "is_judge", False):  # a generative judge: one reward, alphas do not apply
                result = _judge_rewards(dataset, rows, ref, settings)
            elif not ref.is_open_clip:  # a plug-in (module.path:Class)
                result = _plugin_rewards(dataset, rows, ref, settings, cache)
        except (DatasetError, StorageError):
            raise
        except RmevalError as exc:
            failures[name] = str(exc)
            continue
        if result is not None:
            stats = result.stats
            verb = "judged" if getattr(ref, "is_judge", False) else "scored"
            log(f"{ref.id}: {stats['encoded']} frames {verb}, {stats['cached']} from cache "
                f"({stats['seconds']:.1f} s on {stats['device']}{'; random weights' if result.random_weights else ''})")
            yield result
            continue
        try:
            assert isinstance(ref, ModelRef)
            loaded = load_model(ref, device=options.device, weights_dir=options.weights_dir)
            embedder = Embedder(loaded, cache=cache, **options.embedder_kwargs(name, dataset))
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
                "repeated": embedder.stats.repeated,
                "seconds": round(time.perf_counter() - t0, 3),
                "device": str(loaded.device),
            }
            params_m = ref.spec.params_m if ref.spec else loaded.n_params / 1e6
            size = ref_size(ref, cache_dir=options.cache_dir) if ref.spec is None else None
            gflops = ref.spec.image_gflops if ref.spec else (size.image_gflops if size else float("nan"))
            del loaded, embedder, image
        except (DatasetError, StorageError):  # the data or the disk: every model would fail alike
            raise
        except RmevalError as exc:
            failures[name] = str(exc)  # the caller reports it (once)
            continue
        log(
            f"{ref.id}: {stats['encoded']} frames encoded, {stats['cached']} from cache"
            + (f", {stats['repeated']} repeated" if stats["repeated"] else "") + " "
            f"({stats['seconds']:.1f} s on {stats['device']})"
        )
        yield ModelRewards(ref=ref, rewards=rewards, params_m=params_m, stats=stats, extra=extra,
                           random_weights=ref.is_random, image_gflops=gflops)
