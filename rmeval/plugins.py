"""Your own reward model on the command line: ``--models mypkg.rewards:MyRewardModel``.

A plug-in is a class, named ``module.path:Class``, whose instances implement one of two
protocols:

- :class:`rmeval.reward_model.RewardModel`: frames in, one reward per frame out, for a goal
  (and baseline) given as prompts. The reward does not depend on alpha: tables list the
  same rewards at every alpha.
- :class:`EmbeddingRewardModel`: frames in, embeddings out (and prompts in, embeddings
  out); rmeval computes the CLIP reward and the goal-baseline regularised reward for every
  alpha from them, exactly as for an open_clip model.

The class is built with no arguments, or with ``device=`` when its ``__init__`` takes one.
Its outputs are cached (``--cache-dir``) under its :meth:`identity`, so a model whose
identity does not change is not run again on frames it has seen; change the identity
whenever its outputs could change. A plug-in whose ``random_weights`` is True is marked as
random in every table and plot, like ``NAME:random``.

``judge:...`` names (generative judges) load through :mod:`rmeval.judges`.
"""

from __future__ import annotations

import importlib
import inspect
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rmeval.errors import InvalidInputError, ModelNotFoundError, RmevalError
from rmeval.registry import ModelRef, parse_model
from rmeval.reward_model import RewardModel

#: Frames handed to a plug-in at once.
PLUGIN_BATCH = 64


@runtime_checkable
class EmbeddingRewardModel(Protocol):
    """A model that embeds frames and prompts in one space (rmeval computes the rewards).

    Attributes:
        name: The model as typed.
        random_weights: True when the weights are random (every output marks them).
    """

    name: str
    random_weights: bool

    def identity(self) -> str:
        """A string that changes whenever the embeddings could change: part of the cache key."""
        ...

    def parameter_count(self) -> int | None:
        """Total parameters, or None when unknown."""
        ...

    def embed_images(self, frames: np.ndarray) -> np.ndarray:
        """``frames`` ((n, H, W, 3) uint8 RGB) -> (n, D) finite float embeddings."""
        ...

    def embed_texts(self, prompts: Sequence[str]) -> np.ndarray:
        """``prompts`` -> (P, D) finite float embeddings, in the images' space."""
        ...


PluginModel = RewardModel | EmbeddingRewardModel

_MEMBERS = {
    "RewardModel": ("name", "random_weights", "identity", "parameter_count", "frame_rewards"),
    "EmbeddingRewardModel": ("name", "random_weights", "identity", "parameter_count", "embed_images", "embed_texts"),
}


def _import_class(ref: ModelRef) -> type:
    module_name, _, class_name = ref.arch.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelNotFoundError(
            f"plug-in {ref.id}: cannot import module {module_name!r} ({exc}). Is it installed, or on "
            "PYTHONPATH? A plug-in is named module.path:Class."
        ) from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed while importing
        raise RmevalError(f"plug-in {ref.id}: importing {module_name} failed: {type(exc).__name__}: {exc}") from None
    cls = getattr(module, class_name, None)
    if cls is None or not inspect.isclass(cls):
        found = sorted(n for n, v in vars(module).items() if inspect.isclass(v) and not n.startswith("_")
                       and getattr(v, "__module__", "") == module.__name__)
        raise ModelNotFoundError(
            f"plug-in {ref.id}: module {module_name} has no class {class_name!r}; its classes: "
            f"{', '.join(found) or '(none)'}."
        )
    return cls


def load_reward_model(model: str | ModelRef, *, device: str | None = None) -> PluginModel:
    """Build the plug-in (``module.path:Class``) named ``model`` (judges load through
    :func:`rmeval.judges.load_judge`).

    Raises:
        ModelNotFoundError: the module or class does not exist.
        InvalidInputError: the instance implements neither protocol (the message lists
            what is missing).
    """
    ref = parse_model(model) if isinstance(model, str) else model
    if not isinstance(ref, ModelRef) or ref.weights != "plugin":
        raise InvalidInputError(f"{ref.id} is an open_clip model; load it with rmeval.models.load_model.")
    cls = _import_class(ref)
    try:
        params = inspect.signature(cls).parameters
        obj = cls(device=device) if "device" in params else cls()
    except RmevalError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's constructor failed
        raise RmevalError(f"plug-in {ref.id}: building {cls.__name__}() failed: {type(exc).__name__}: {exc}") from None
    if not getattr(obj, "name", None):
        try:
            obj.name = ref.id
        except AttributeError:
            pass
    if isinstance(obj, RewardModel) or isinstance(obj, EmbeddingRewardModel):
        return obj
    lacks = {proto: [m for m in members if not hasattr(obj, m)] for proto, members in _MEMBERS.items()}
    raise InvalidInputError(
        f"plug-in {ref.id}: {cls.__name__} implements neither rmeval.reward_model.RewardModel (lacks "
        f"{', '.join(lacks['RewardModel'])}) nor rmeval.plugins.EmbeddingRewardModel (lacks "
        f"{', '.join(lacks['EmbeddingRewardModel'])}). See the README's plug-in example."
    )


def _finite(values: np.ndarray, shape: tuple[int, ...], what: str, ref_id: str) -> np.ndarray:
    out = np.asarray(values, dtype=np.float64)
    if out.shape != shape:
        raise RmevalError(f"plug-in {ref_id}: {what} has shape {out.shape}, expected {shape}")
    if not np.isfinite(out).all():
        raise RmevalError(f"plug-in {ref_id}: {what} holds NaN or inf")
    return out


@dataclass
class PluginStats:
    """Frames a plug-in ran on, and frames that came from the cache."""

    encoded: int = 0
    cached: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def plugin_rewards(
    plugin: PluginModel,
    read_frames: Callable[[np.ndarray], np.ndarray],
    rows: np.ndarray,
    alphas: Sequence[float],
    goal_prompts: Sequence[str],
    baseline_prompts: Sequence[str],
    *,
    cache: Any = None,
    stats: PluginStats | None = None,
) -> np.ndarray:
    """Rewards of the frames ``read_frames(rows)`` under a plug-in, for every alpha.

    Args:
        plugin: From :func:`load_reward_model`.
        read_frames: rows (m,) -> (m, H, W, 3) uint8 frames.
        rows: (n,) row indices.
        alphas: K alphas (a :class:`RewardModel`'s rewards are the same at every alpha).
        cache: An :class:`rmeval.cache.EmbeddingCache`, or None for no caching.

    Returns:
        (K, n) float64 rewards.
    """
    from rmeval.cache import frame_keys
    from rmeval.rewards import combine_prompts, regularized_reward

    stats = stats if stats is not None else PluginStats()
    t0 = time.perf_counter()
    ident = str(plugin.identity())
    n = len(rows)
    embedding = isinstance(plugin, EmbeddingRewardModel) and not isinstance(plugin, RewardModel)
    values: np.ndarray | None = None
    store = None
    if embedding:
        goal_texts = _as_2d(plugin.embed_texts(list(goal_prompts)), len(goal_prompts), "embed_texts", plugin.name)  # type: ignore[union-attr]
        base_texts = (_as_2d(plugin.embed_texts(list(baseline_prompts)), len(baseline_prompts), "embed_texts",  # type: ignore[union-attr]
                             plugin.name) if baseline_prompts else None)
    if not embedding and cache is not None:
        fields = {"plugin": ident, "output": "reward", "goal": json.dumps(list(goal_prompts)),
                  "baseline": json.dumps(list(baseline_prompts))}
        store = cache.store("image", plugin.name, fields, 1)
    for lo in range(0, n, PLUGIN_BATCH):
        chunk = np.asarray(rows[lo: lo + PLUGIN_BATCH])
        frames = read_frames(chunk)
        keys = frame_keys(frames) if cache is not None else None
        if embedding:
            if store is None and cache is not None:  # as wide as the text embeddings (one space)
                store = cache.store("image", plugin.name, {"plugin": ident, "output": "image-embedding"}, goal_texts.shape[1])
            found, out = store.lookup(keys) if store is not None else (np.zeros(len(chunk), bool), None)
            missing = np.flatnonzero(~found)
            if len(missing):
                emb = _as_2d(plugin.embed_images(frames[missing]), len(missing), "embed_images", plugin.name)  # type: ignore[union-attr]
                if out is None:
                    out = np.zeros((len(chunk), emb.shape[1]), dtype=np.float32)
                elif emb.shape[1] != out.shape[1]:
                    raise RmevalError(f"plug-in {plugin.name}: embed_images changed width ({out.shape[1]} -> {emb.shape[1]})")
                out[missing] = emb
                if store is not None and keys is not None:
                    store.add(keys[missing], emb)
        else:
            found, out = (store.lookup(keys) if store is not None else (np.zeros(len(chunk), bool), np.zeros((len(chunk), 1))))
            missing = np.flatnonzero(~found)
            if len(missing):
                got = plugin.frame_rewards(frames[missing], list(goal_prompts), list(baseline_prompts))  # type: ignore[union-attr]
                got = _finite(got, (len(missing),), "frame_rewards(...)", plugin.name)
                out = out.astype(np.float64)
                out[missing, 0] = got
                if store is not None and keys is not None:
                    store.add(keys[missing], got[:, None].astype(np.float32))
        stats.encoded += len(missing)
        stats.cached += len(chunk) - len(missing)
        values = out if values is None else np.concatenate([values, out])
    if values is None:
        values = np.zeros((0, 1))
    stats.seconds += time.perf_counter() - t0
    if not embedding:
        return np.repeat(values[:, 0][None, :].astype(np.float64), len(alphas), axis=0)
    goal = combine_prompts(goal_texts)
    baseline = combine_prompts(base_texts) if base_texts is not None else None
    if values.shape[1] != goal.shape[0]:
        raise RmevalError(f"plug-in {plugin.name}: image embeddings are {values.shape[1]}-d, text embeddings {goal.shape[0]}-d")
    return np.asarray(regularized_reward(values.astype(np.float32), goal, baseline, alphas), dtype=np.float64)


def _as_2d(values: Any, rows: int, what: str, name: str) -> np.ndarray:
    out = np.asarray(values, dtype=np.float32)
    if out.ndim != 2 or out.shape[0] != rows or out.shape[1] < 1:
        raise RmevalError(f"plug-in {name}: {what} returned shape {out.shape}, expected ({rows}, D)")
    if not np.isfinite(out).all():
        raise RmevalError(f"plug-in {name}: {what} returned NaN or inf")
    return out


class PluginTrainReward:
    """A plug-in as the reward of a training run (:mod:`rmeval.training.reward_models`'s protocol)."""

    uses_frames = True

    def __init__(self, plugin: PluginModel, goal_prompts: Sequence[str], baseline_prompts: Sequence[str] = (),
                 alpha: float = 0.0) -> None:
        self.plugin = plugin
        self.goal_prompts = list(goal_prompts)
        self.baseline_prompts = list(baseline_prompts)
        self.alpha = float(alpha)
        self.name = f"{plugin.name} alpha={self.alpha:g}"
        #: identity of the model, recorded in the run's configuration
        self.fingerprint = f"plugin|{plugin.identity()}"
        self.n_frames = 0

    @property
    def is_random(self) -> bool:
        return bool(self.plugin.random_weights)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames)
        if len(frames) == 0:
            return np.zeros(0, dtype=np.float32)
        self.n_frames += len(frames)
        rewards = plugin_rewards(self.plugin, lambda rows: frames[rows], np.arange(len(frames)), [self.alpha],
                                 self.goal_prompts, self.baseline_prompts)
        return rewards[0].astype(np.float32)
