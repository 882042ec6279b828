"""Environments rmeval renders and trains on.

Importing this package imports nothing heavy; each environment module loads gymnasium
(and MuJoCo, for the Humanoid) only when used.

Every fact about an environment (id, algorithm, looks, cameras, sizes, episode length)
lives in one catalogue, :mod:`rmeval.envs.catalogue` (:func:`get_env`, :func:`list_envs`).

Gymnasium environments (register them with :func:`register_rmeval_envs`, or import
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

from rmeval.envs.catalogue import EnvInfo, env_names, get_env, list_envs

#: Gymnasium ids of rmeval's environments.
ENV_IDS: tuple[str, ...] = tuple(env.id for env in list_envs())


def register_rmeval_envs() -> None:
    """Register rmeval's environments with Gymnasium, by string entry point. Safe to call more than once."""
    import gymnasium as gym

    for env in list_envs():
        if env.id in gym.registry:
            continue
        gym.register(id=env.id, entry_point=env.entry_point, max_episode_steps=env.episode_steps)


__all__ = ["ENV_IDS", "EnvInfo", "env_names", "get_env", "list_envs", "register_rmeval_envs"]
