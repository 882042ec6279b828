"""The reward-model protocol: what rmeval needs of a model that is not an open_clip encoder.

open_clip encoders go through rmeval's embedding path (cached image and text embeddings, any
number of alphas from one pass). Any other model -- a generative judge (``judge:...``), a
user's own network named ``module.path:Class`` -- implements :class:`RewardModel`: frames in,
one reward per frame out, for a goal (and optional baseline) given as prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class RewardModel(Protocol):
    """A model that scores frames against a goal.

    Attributes:
        name: The model as typed (``judge:/models/smol``, ``mypkg.rewards:MyRewardModel``).
        random_weights: True when the weights are random: its numbers say nothing about a
            trained model, and every output marks them.
    """

    name: str
    random_weights: bool

    def identity(self) -> str:
        """A string that changes whenever the rewards could change (weights, config, code
        version): part of every cache key."""
        ...

    def parameter_count(self) -> int | None:
        """Total parameters, or None when unknown."""
        ...

    def frame_rewards(
        self, frames: np.ndarray, goal_prompts: Sequence[str], baseline_prompts: Sequence[str]
    ) -> np.ndarray:
        """Rewards of ``frames`` ((n, H, W, 3) uint8 RGB): (n,) finite float64, higher = closer to the goal."""
        ...
