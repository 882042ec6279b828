"""A judge as the reward of Algorithm 1's training loop (``rmeval train --reward vlm --model judge:...``).

Frames of the states after each step go through the judge in batches; the reward is
``log p(yes) - log p(no)``. Alpha does not apply. Scores are not cached during training
(visited states rarely repeat exactly, and the cache would grow with every step).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rmeval.errors import InvalidInputError
from rmeval.judges.model import Judge


class JudgeReward:
    """Training reward model (``uses_frames``, ``name``, ``__call__(frames)``) backed by a :class:`Judge`."""

    uses_frames = True

    def __init__(self, judge: Judge, goal_prompts: Sequence[str]) -> None:
        if not goal_prompts:
            raise InvalidInputError("a judge reward needs at least one goal prompt")
        self.model = judge
        self.goal_prompts = list(goal_prompts)
        self.name = f"{judge.ref.id} (judge: log p(yes) - log p(no); alpha does not apply)"
        self.n_frames = 0

    @property
    def is_random(self) -> bool:
        return bool(self.model.random_weights)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames)
        if len(frames) == 0:
            return np.zeros(0, dtype=np.float32)
        self.n_frames += len(frames)
        return self.model.frame_rewards(frames, self.goal_prompts, ()).astype(np.float32)
