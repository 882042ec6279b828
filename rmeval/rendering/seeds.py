"""Per-item random generators derived from (seed, purpose, item index).

Every random choice ``rmeval render`` makes for frame (or episode) ``i`` comes from
:func:`item_rng` with that ``i``, never from a generator shared across frames. So a
frame's content depends only on the seed and its own index: not on how many frames are
rendered, nor on how many worker processes render them.
"""

from __future__ import annotations

import numpy as np

#: Purposes: separate random streams for separate decisions about the same item.
SWEEP_RANDOMISE = 1
POSE_PERTURB = 2
POSE_ORDER = 3
ROLLOUT_EPISODE = 4


def item_rng(seed: int, purpose: int, index: int) -> np.random.Generator:
    """A generator for item ``index`` of ``purpose`` under ``seed`` (all non-negative ints)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(purpose), int(index))))


def item_seed(seed: int, purpose: int, index: int) -> int:
    """A 31-bit integer seed for item ``index`` (for APIs such as ``env.reset(seed=...)``)."""
    state = np.random.SeedSequence(int(seed), spawn_key=(int(purpose), int(index))).generate_state(1)
    return int(state[0] & 0x7FFFFFFF)
