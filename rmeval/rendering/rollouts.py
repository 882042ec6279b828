"""Rollouts: run episodes in rmeval's environments and record their states.

The states are simulated here, in one process, without rendering; the frames are drawn
afterwards from the recorded states (:mod:`rmeval.rendering.parallel`), so rollouts render
with any number of workers. (For the Humanoid a frame drawn from a recorded ``qpos`` equals
the environment's own frame up to a grey level on a few pixels; see
:class:`rmeval.envs.humanoid.HumanoidPoseRenderer`.)

Episode ``e`` is reset with the seed :func:`rmeval.rendering.seeds.item_seed` ``(seed,
ROLLOUT_EPISODE, e)`` and its random actions come from a generator seeded the same way,
so an episode does not depend on how many episodes are run. A *policy* is any callable
``policy(observation) -> action``; ``None`` means uniformly random actions.

Steps (the same in ``rmeval rollout``, :mod:`rmeval.training.rollout`): step 0 is the
state right after ``reset``, step ``t`` the state after ``t`` actions; ``env_reward`` at
step ``t`` is the reward for the action that led to it (NaN at step 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rmeval.errors import InvalidInputError
from rmeval.rendering.seeds import ROLLOUT_EPISODE, item_rng, item_seed

#: A policy: observation -> action.
Policy = Callable[[np.ndarray], Any]

#: At most this many frames from rollouts.
MAX_ROLLOUT_FRAMES = 200_000


@dataclass(frozen=True)
class RolloutSpec:
    """Which rollouts to record.

    Attributes:
        episodes: number of episodes.
        steps: timesteps per episode (frames ``s_0 .. s_{steps-1}``; ``steps - 1`` actions).
        every: keep every ``every``-th timestep (0, every, 2*every, ...).
        seed: seed of the resets and random actions.
        policy: name of the policy, recorded in the index's ``policy`` column; a
            comma-separated list of scripted policies (:mod:`rmeval.rendering.scripted`)
            runs ``episodes`` episodes of each, numbered on.
    """

    episodes: int
    steps: int
    every: int = 1
    seed: int = 0
    policy: str = "random"

    def check(self) -> None:
        for name, value in (("--episodes", self.episodes), ("--steps", self.steps), ("--every", self.every)):
            if not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"{name} must be a positive integer, got {value!r}.")
        if self.n_frames() > MAX_ROLLOUT_FRAMES:
            raise InvalidInputError(f"the rollouts make {self.n_frames()} frames; at most {MAX_ROLLOUT_FRAMES}.")

    def policies(self) -> list[str]:
        return [p.strip() for p in self.policy.split(",")]

    def n_frames(self) -> int:
        return self.episodes * len(self.policies()) * len(range(0, self.steps, self.every))

    def to_dict(self) -> dict[str, Any]:
        return {"episodes": self.episodes, "steps": self.steps, "every": self.every, "policy": self.policy}


def _make_env(env: str, look: str | None) -> Any:
    if env == "cartpole":
        from rmeval.envs.cartpole_env import NoTerminationCartPoleEnv

        return NoTerminationCartPoleEnv(render_mode=None)
    if env == "mountaincar":
        from rmeval.envs.mountaincar_env import AbsorbingGoalMountainCarEnv

        return AbsorbingGoalMountainCarEnv(render_mode=None, look=look or "textured")
    if env == "humanoid":
        from rmeval.envs.humanoid import TexturedHumanoidEnv

        return TexturedHumanoidEnv(render_mode=None)
    raise InvalidInputError(f"unknown environment {env!r}.")


def _state(env: str, unwrapped: Any) -> list[float]:
    if env == "humanoid":
        return [float(v) for v in unwrapped.data.qpos]
    return [float(v) for v in np.asarray(unwrapped.state, dtype=np.float64)]


def _random_action(env: str, space: Any, rng: np.random.Generator) -> Any:
    if env == "cartpole":
        return int(rng.integers(0, 2))
    low = np.asarray(space.low, dtype=np.float64)
    high = np.asarray(space.high, dtype=np.float64)
    return rng.uniform(low, high).astype(space.dtype)


def simulate_rollouts(
    env: str,
    spec: RolloutSpec,
    state_names: tuple[str, ...],
    *,
    policy: Policy | None = None,
    look: str | None = None,
) -> pd.DataFrame:
    """Run the episodes and record the kept timesteps.

    Args:
        env: ``cartpole``, ``mountaincar`` or ``humanoid``.
        spec: episodes, steps, stride, seed.
        state_names: names of the state entries (``state_params(env)`` order).
        policy: observation -> action; None for uniformly random actions.
        look: MountainCar look (does not change the dynamics).

    Returns:
        DataFrame with ``episode``, ``step``, one float column per state entry,
        ``env_reward`` (the environment's reward for the step that led to the state; NaN
        at step 0), ``policy``, ``episode_return`` (the sum of every step's reward in the
        episode, kept or not) and ``episode_success`` (MountainCar: the goal was reached;
        elsewhere missing); the Humanoid's datasets leave the last two out; ``spec.n_frames()`` rows, by episode then step.
    """
    from rmeval.rendering.scripted import scripted_policy

    spec.check()
    sim = _make_env(env, look)
    unwrapped = sim.unwrapped
    rows: list[dict[str, Any]] = []
    try:
        plan = [(name, e) for name in spec.policies() for e in range(spec.episodes)]
        for episode, (name, _) in enumerate(plan):
            act = policy if policy is not None else scripted_policy(env, name)
            rng = item_rng(spec.seed, ROLLOUT_EPISODE, episode)
            obs, _ = sim.reset(seed=item_seed(spec.seed, ROLLOUT_EPISODE, episode))
            reward = float("nan")
            total = 0.0
            success = False
            first = len(rows)
            for t in range(spec.steps):
                if t % spec.every == 0:
                    state = _state(env, unwrapped)
                    if len(state) != len(state_names):
                        raise InvalidInputError(f"{env} has {len(state)} state entries; got {len(state_names)} names.")
                    rows.append(
                        {"episode": episode, "step": t, **dict(zip(state_names, state)),
                         "env_reward": reward, "policy": name}
                    )
                if t + 1 < spec.steps:
                    action = act(obs) if act is not None else _random_action(env, sim.action_space, rng)
                    obs, r, _, _, info = sim.step(action)
                    reward = float(r)
                    total += reward
                    success = success or bool(info.get("goal_reached", False))
            for row in rows[first:]:
                row["episode_return"] = total
                row["episode_success"] = float(success) if env == "mountaincar" else float("nan")
    finally:
        sim.close()
    return pd.DataFrame(
        rows, columns=["episode", "step", *state_names, "env_reward", "policy", "episode_return", "episode_success"],
    )
