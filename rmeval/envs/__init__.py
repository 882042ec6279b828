"""Environments rmeval renders and trains on.

Importing this package imports nothing heavy; each environment module loads gymnasium
(and MuJoCo, for the Humanoid) only when used.

Gymnasium environments (register them with :func:`register_envs`, or import
:mod:`rmeval.envs.registration`, or name the module in the id:
``gymnasium.make("rmeval.envs.registration:rmeval/Humanoid-v0")``):

``rmeval/CartPole-v0``
    CartPole-v1 without termination (the paper's Appendix C.1): +1 per step with the pole
    up, -1 per step with it dropped (beyond 12 degrees, or the cart at the end of the
    track); 200 steps. :class:`rmeval.envs.cartpole_env.NoTerminationCartPoleEnv`.
``rmeval/MountainCarContinuous-v0``
    MountainCarContinuous-v0 without termination and with the goal (x >= 0.45)
    absorbing; +1 per step at the goal; 200 steps; ``look="textured"`` (default) or
    ``"standard"``. :class:`rmeval.envs.mountaincar_env.AbsorbingGoalMountainCarEnv`.
``rmeval/Humanoid-v0``
    MuJoCo Humanoid-v5 with a realistic look and a fixed camera (Section 4.3), never
    terminating early; 100 steps; ``look="textured"|"original"``,
    ``camera="fixed"|"tracking"``, ``width``/``height`` (224x224 by default).
    :class:`rmeval.envs.humanoid.TexturedHumanoidEnv`.

All three render ``rgb_array`` frames by default. Keyword arguments of
``gymnasium.make`` go to the environment (``look=``, ``width=``, ...), and
``max_episode_steps=`` overrides the episode length.

Other modules: :mod:`rmeval.envs.tasks` (the paper's tasks and prompts as data),
:mod:`rmeval.envs.pose_predicates` (automatic Humanoid goal labels and example poses),
:mod:`rmeval.envs.cartpole`, :mod:`rmeval.envs.mountaincar` and
:class:`rmeval.envs.humanoid.HumanoidPoseRenderer` (frames of given states).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EnvSpec:
    """One rmeval environment: gymnasium id, entry point, episode length, default kwargs."""

    id: str
    entry_point: str
    max_episode_steps: int
    kwargs: tuple[tuple[str, Any], ...] = ()


#: The environments :func:`register_envs` registers.
ENV_SPECS: tuple[EnvSpec, ...] = (
    EnvSpec("rmeval/CartPole-v0", "rmeval.envs.cartpole_env:NoTerminationCartPoleEnv", 200),
    EnvSpec("rmeval/MountainCarContinuous-v0", "rmeval.envs.mountaincar_env:AbsorbingGoalMountainCarEnv", 200),
    EnvSpec("rmeval/Humanoid-v0", "rmeval.envs.humanoid:TexturedHumanoidEnv", 100),
)

#: Gymnasium ids of rmeval's environments.
ENV_IDS: tuple[str, ...] = tuple(spec.id for spec in ENV_SPECS)


def register_envs() -> None:
    """Register rmeval's environments with gymnasium. Safe to call more than once."""
    import gymnasium as gym

    for spec in ENV_SPECS:
        if spec.id in gym.registry:
            continue
        gym.register(
            id=spec.id,
            entry_point=spec.entry_point,
            max_episode_steps=spec.max_episode_steps,
            kwargs=dict(spec.kwargs),
        )


__all__ = ["ENV_IDS", "ENV_SPECS", "EnvSpec", "register_envs"]
