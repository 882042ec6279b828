"""CartPole states rendered as frames, and the "pole upright" goal predicate.

The frames come from gymnasium's own CartPole-v1 renderer (600x400 RGB), with the state
set directly, so a sweep over pole angles shows exactly the poses the paper's Figure 2
plots. Needs pygame (``gymnasium[classic-control]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rmeval.envs.catalogue import get_env
from rmeval.envs.state_rendering import check_state_params, make_rgb_env

#: Pole angle (radians, 0 = upright) at or below which a state counts as a goal state.
#: 0.1 rad is about 5.7 degrees, half of CartPole-v1's own 12-degree failure angle.
UPRIGHT_THRESHOLD_RAD = 0.1

#: State variables in gymnasium's order, with the values used when a sweep fixes them.
STATE_PARAMS: dict[str, float] = {"x": 0.0, "x_dot": 0.0, "angle": 0.0, "angle_dot": 0.0}

GOAL_PROMPT = "pole vertically upright on top of the cart"
BASELINE_PROMPT = "pole and cart"
GOAL_RULE = f"goal when |angle| <= {UPRIGHT_THRESHOLD_RAD} rad (pole near upright)"


def is_goal(angle: float | np.ndarray) -> np.ndarray:
    """True where the pole is within :data:`UPRIGHT_THRESHOLD_RAD` of upright."""
    return np.abs(np.asarray(angle, dtype=float)) <= UPRIGHT_THRESHOLD_RAD + 1e-12


class CartPoleStateRenderer:
    """Renders CartPole frames for given states. Reuse one instance for many frames."""

    env_id = get_env("cartpole").state_renderer_id

    def __init__(self) -> None:
        self._env = make_rgb_env(self.env_id)

    def render(self, params: Mapping[str, float]) -> np.ndarray:
        """One (400, 600, 3) uint8 frame for the state ``params`` (missing keys: defaults)."""
        check_state_params("CartPole", params, STATE_PARAMS)
        state = [float(params.get(k, d)) for k, d in STATE_PARAMS.items()]
        self._env.unwrapped.state = np.array(state, dtype=np.float64)
        frame = self._env.render()
        return np.ascontiguousarray(frame, dtype=np.uint8)

    def render_many(self, states: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Frames for several states, stacked as (N, 400, 600, 3) uint8."""
        return np.stack([self.render(s) for s in states])

    def settings(self) -> dict[str, Any]:
        frame = self.render({})
        return {"env_id": self.env_id, "renderer": "gymnasium", "width": int(frame.shape[1]), "height": int(frame.shape[0])}

    def close(self) -> None:
        self._env.close()

    def __enter__(self) -> CartPoleStateRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
