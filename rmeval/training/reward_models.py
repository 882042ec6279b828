"""Reward models for training: a protocol and two implementations.

A :class:`RewardModel` maps a batch of rendered frames to one reward per frame. Training
calls it on the frames of the states *after* each step (the reward of transition
``(s, a, s')`` is ``R(s')``, the paper's goal-based rewards).

- :class:`VLMReward`: the CLIP reward, or the goal-baseline regularised reward for
  ``alpha > 0`` (:func:`rmeval.rewards.regularized_reward`). The goal and baseline
  embeddings are computed once, at construction (Algorithm 1: "precompute task embedding").
- :class:`GroundTruthReward`: the environment's own reward; it needs no frames, and
  training with it renders nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from rmeval.errors import InvalidInputError

if TYPE_CHECKING:
    from rmeval.models import LoadedModel


@runtime_checkable
class RewardModel(Protocol):
    """Frames in, rewards out.

    Attributes:
        uses_frames: False for rewards that come from the environment itself (then
            ``__call__`` is never used and no frames are rendered).
        name: a short description for logs.
    """

    uses_frames: bool
    name: str

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """``(N, H, W, 3)`` uint8 RGB frames -> ``(N,)`` float32 rewards."""
        ...


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads, then restore the previous count."""
    import torch

    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n != before:
            torch.set_num_threads(before)


class VLMReward:
    """CLIP reward (``alpha = 0``) or goal-baseline regularised reward of frames.

    Args:
        model: a loaded CLIP model (:func:`rmeval.models.load_model`).
        goal_prompts: prompts describing the goal (several: normalised, averaged, normalised).
        baseline_prompts: prompts describing the scene without the goal (needed for alpha > 0).
        alpha: regularisation strength in [0, 1].
        batch_size: frames per forward pass.
        precision: ``fp32``, ``fp16`` or ``bf16``.
        fit: how frames reach the model (``crop``, ``squash``, ``pad``; None: the model's
            own preprocessing), see :mod:`rmeval.preprocess`.
        threads: torch CPU threads while embedding (default: torch's count when the reward
            model is built). Training runs the agent's small networks on one thread (many
            threads only add synchronisation there) and gives the CLIP model all of them.
    """

    uses_frames = True

    def __init__(
        self,
        model: LoadedModel,
        goal_prompts: Sequence[str],
        baseline_prompts: Sequence[str] = (),
        alpha: float = 0.0,
        batch_size: int = 64,
        precision: str = "fp32",
        threads: int | None = None,
        fit: str | None = None,
    ) -> None:
        import torch

        from rmeval.embedding import Embedder
        from rmeval.rewards import combine_prompts, regularized_reward

        if not goal_prompts:
            raise InvalidInputError("VLMReward needs at least one goal prompt")
        self.model = model
        self.alpha = float(alpha)
        self.goal_prompts = list(goal_prompts)
        self.baseline_prompts = list(baseline_prompts)
        self.embedder = Embedder(model, batch_size=batch_size, precision=precision, cache=None, progress=False, fit=fit)
        self.goal_emb = combine_prompts(self.embedder.embed_texts(self.goal_prompts))
        self.baseline_emb = combine_prompts(self.embedder.embed_texts(self.baseline_prompts)) if self.baseline_prompts else None
        # Fail now (bad alpha, alpha > 0 without a baseline), not in the middle of training.
        regularized_reward(self.goal_emb[None, :], self.goal_emb, self.baseline_emb, self.alpha)
        self._reward = regularized_reward
        self.name = f"{model.ref.id} alpha={self.alpha:g} fit={self.embedder.preprocess.fit}"
        #: frames embedded so far
        self.n_frames = 0
        self.threads = int(threads) if threads else torch.get_num_threads()

    @property
    def is_random(self) -> bool:
        return bool(self.model.is_random)

    def embed(self, frames: np.ndarray) -> np.ndarray:
        """``(N, D)`` image embeddings of the frames."""
        return self.embedder.embed_frames(frames)

    def rewards_from_embeddings(self, image_emb: np.ndarray) -> np.ndarray:
        """``(N,)`` float32 rewards of precomputed image embeddings."""
        return self._reward(image_emb, self.goal_emb, self.baseline_emb, self.alpha)[0].astype(np.float32)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames)
        if len(frames) == 0:
            return np.zeros(0, dtype=np.float32)
        self.n_frames += len(frames)
        with torch_threads(self.threads):
            emb = self.embed(frames)
        return self.rewards_from_embeddings(emb)


class GroundTruthReward:
    """The environment's own reward (baselines). Needs no frames."""

    uses_frames = False
    name = "ground truth (environment reward)"

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        raise TypeError("the ground-truth reward comes from the environment, not from frames")


__all__ = ["GroundTruthReward", "RewardModel", "VLMReward", "torch_threads"]
