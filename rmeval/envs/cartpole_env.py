"""CartPole without early termination (the paper's Appendix C.1).

gymnasium's CartPole-v1 ends the episode when the pole leans more than 12 degrees or
the cart leaves the track. That leaks task success to the agent (with termination any
positive reward teaches balancing), so the paper removes termination and instead gives a
negative reward for dropping the pole. :class:`NoTerminationCartPoleEnv` does this:

* ``terminated`` is always ``False``; episodes end only by truncation at the time limit
  (``rmeval/CartPole-v0``: 200 steps, the paper's episode length).
* reward per step: ``upright_reward`` (+1.0) while the pole is up, ``dropped_reward``
  (-1.0) while it is dropped. "Dropped" is CartPole-v1's own failure condition:
  ``|angle| > 12 degrees`` or the cart at the end of the track (``|x| >= 2.4``).
* the pole may swing all the way round: the angle is wrapped into [-pi, pi).
* the track has walls: the cart stops at ``|x| = 2.4`` (velocity set to 0), so it stays
  inside the rendered frame.
* ``info["is_goal"]``: the goal predicate :func:`rmeval.envs.cartpole.is_goal`
  (``|angle| <= 0.1`` rad); ``info["pole_dropped"]``: the negative-reward condition.

Frames are gymnasium's CartPole frames (600x400 RGB; ``render_mode="rgb_array"`` by default).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

from rmeval.envs.cartpole import is_goal
from rmeval.envs.catalogue import get_env

#: Reward per step while the pole is up, and while it is dropped.
UPRIGHT_REWARD = 1.0
DROPPED_REWARD = -1.0
#: Episode length of ``rmeval/CartPole-v0`` (paper, Appendix C.1), from the catalogue.
EPISODE_STEPS = get_env("cartpole").episode_steps


class NoTerminationCartPoleEnv(CartPoleEnv):
    """CartPole-v1 dynamics; never terminates; negative reward while the pole is dropped.

    Args:
        render_mode: gymnasium render mode, ``"rgb_array"`` by default.
        upright_reward: reward of a step that ends with the pole up.
        dropped_reward: reward of a step that ends with the pole dropped.
    """

    def __init__(
        self,
        render_mode: str | None = "rgb_array",
        upright_reward: float = UPRIGHT_REWARD,
        dropped_reward: float = DROPPED_REWARD,
    ) -> None:
        super().__init__(render_mode=render_mode)
        self.upright_reward = float(upright_reward)
        self.dropped_reward = float(dropped_reward)
        high = np.array(
            [self.x_threshold * 2, np.finfo(np.float32).max, math.pi, np.finfo(np.float32).max],
            dtype=np.float32,
        )
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)

    def pole_dropped(self) -> bool:
        """CartPole-v1's failure condition on the current state."""
        x, _, theta, _ = self.state  # type: ignore[misc]
        return bool(abs(x) >= self.x_threshold or abs(theta) > self.theta_threshold_radians)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        # gymnasium warns when stepping past termination; there is no termination here.
        self.steps_beyond_terminated = None
        super().step(action)
        x, x_dot, theta, theta_dot = (float(v) for v in self.state)  # type: ignore[union-attr]
        if abs(x) > self.x_threshold:  # the cart hits the wall at the end of the track
            x = math.copysign(self.x_threshold, x)
            x_dot = 0.0
        theta = (theta + math.pi) % (2 * math.pi) - math.pi
        self.state = np.array((x, x_dot, theta, theta_dot), dtype=np.float64)
        dropped = self.pole_dropped()
        reward = self.dropped_reward if dropped else self.upright_reward
        info = {"is_goal": bool(is_goal(theta)), "pole_dropped": dropped}
        return np.array(self.state, dtype=np.float32), reward, False, False, info

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = super().reset(seed=seed, options=options)
        info = dict(info)
        info["is_goal"] = bool(is_goal(float(self.state[2])))  # type: ignore[index]
        info["pole_dropped"] = self.pole_dropped()
        return obs, info
