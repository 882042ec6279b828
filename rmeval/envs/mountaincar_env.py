"""MountainCar (continuous actions) without early termination, with an absorbing goal.

gymnasium's ``MountainCarContinuous-v0`` ends the episode when the car reaches the goal
(x >= 0.45). The paper (Appendix C.1) removes termination, which leaks task success, and
makes the goal state absorbing instead, so that nothing a policy does after reaching the
goal changes its return. :class:`AbsorbingGoalMountainCarEnv` does this:

* the dynamics are ``MountainCarContinuous-v0``'s until the car first reaches
  ``x >= 0.45``; from then on it stays where it arrived (position fixed, velocity 0)
  whatever the actions, for the rest of the episode;
* ``terminated`` is always ``False``; episodes end by truncation at the time limit
  (``rmeval/MountainCarContinuous-v0``: 200 steps, the length the paper's code base
  used for MountainCar; pass ``max_episode_steps`` to ``gymnasium.make`` to change it);
* reward per step: ``goal_reward`` (+1.0) on every step that ends at the goal, 0.0
  otherwise (the paper: "a positive reward for reaching the goal position"); there is no
  control cost;
* ``info["is_goal"]``: :func:`rmeval.envs.mountaincar.is_goal` of the position;
  ``info["goal_reached"]``: whether the goal has been reached in this episode (equal to
  ``is_goal`` because the goal is absorbing).

Frames: ``look="textured"`` (default; rmeval's mountain, car and flag, 400x400) or
``look="standard"`` (gymnasium's, 600x400); ``width``/``height`` set the size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.envs.classic_control.continuous_mountain_car import Continuous_MountainCarEnv

from rmeval.envs.catalogue import get_env
from rmeval.envs.mountaincar import (
    GOAL_X,
    check_look_and_size,
    is_goal,
    render_state,
    resize_frame,
)

#: Reward of each step that ends in the (absorbing) goal state.
GOAL_REWARD = 1.0
#: Episode length of ``rmeval/MountainCarContinuous-v0``, from the catalogue.
EPISODE_STEPS = get_env("mountaincar").episode_steps


class AbsorbingGoalMountainCarEnv(Continuous_MountainCarEnv):
    """MountainCarContinuous-v0 dynamics; never terminates; the goal x >= 0.45 is absorbing.

    Args:
        render_mode: gymnasium render mode, ``"rgb_array"`` by default.
        look: ``"textured"`` or ``"standard"``.
        width, height: frame size (defaults: the look's native size).
        goal_reward: reward of each step that ends at the goal.
    """

    # gymnasium.Env declares metadata as a plain class attribute; a ClassVar here would clash with it
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}  # noqa: RUF012

    def __init__(
        self,
        render_mode: str | None = "rgb_array",
        look: str = "textured",
        width: int | None = None,
        height: int | None = None,
        goal_reward: float = GOAL_REWARD,
    ) -> None:
        self.frame_width, self.frame_height = check_look_and_size(look, width, height)
        super().__init__(render_mode=render_mode)
        self.look = look
        self.goal_reward = float(goal_reward)
        self.goal_position = GOAL_X
        self.goal_reached = False

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.goal_reached:
            # absorbing: the car stays where it reached the goal, at rest
            self.state = np.array([float(self.state[0]), 0.0], dtype=np.float32)  # type: ignore[index]
        else:
            super().step(action)
            position = float(self.state[0])  # type: ignore[index]
            if bool(is_goal(position)):
                self.goal_reached = True
                self.state = np.array([position, 0.0], dtype=np.float32)
        reward = self.goal_reward if self.goal_reached else 0.0
        info = {"is_goal": bool(is_goal(float(self.state[0]))), "goal_reached": self.goal_reached}  # type: ignore[index]
        return np.array(self.state, dtype=np.float32), reward, False, False, info

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = super().reset(seed=seed, options=options)
        self.goal_reached = bool(is_goal(float(self.state[0])))  # type: ignore[index]
        info = dict(info)
        info["is_goal"] = self.goal_reached
        info["goal_reached"] = self.goal_reached
        return obs, info

    def render(self) -> np.ndarray | None:  # type: ignore[override]
        """The frame of the current state: (height, width, 3) uint8."""
        if self.render_mode != "rgb_array":
            return super().render()  # gymnasium warns about a missing render mode
        x = float(self.state[0])  # type: ignore[index]
        if self.look == "textured":
            return render_state(x, float(self.state[1]), look="textured", width=self.frame_width, height=self.frame_height)  # type: ignore[index]
        frame = super().render()
        assert frame is not None
        return resize_frame(frame, self.frame_width, self.frame_height)
