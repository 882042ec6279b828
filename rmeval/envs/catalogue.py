"""The one catalogue of rmeval's environments: every table of environment facts reads it.

Each :class:`EnvInfo` says, for one environment: the short name ``--env`` takes, the
Gymnasium id and entry point it is registered under, the training algorithm, the
episode length, the looks, cameras and render qualities (the first of each is the
default), the default frame size of ``rmeval render``, the keyword arguments training
passes to ``gymnasium.make``, the default task, and whether it can be swept and has a
ground-truth success rule.

>>> get_env("humanoid").episode_steps
100
>>> [e.name for e in list_envs()]
['cartpole', 'mountaincar', 'humanoid']

This module imports nothing but the standard library and :mod:`rmeval.errors`; it
registers nothing (:func:`rmeval.envs.register_rmeval_envs` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rmeval.errors import InvalidInputError


@dataclass(frozen=True)
class EnvInfo:
    """Facts about one rmeval environment.

    Attributes:
        name: short name (``--env``), e.g. ``"cartpole"``.
        id: Gymnasium id, e.g. ``"rmeval/CartPole-v0"``.
        entry_point: ``"module:Class"`` Gymnasium registers the id with.
        algo: stable-baselines3 algorithm it trains with (``"dqn"`` or ``"sac"``).
        episode_steps: episode length (the registered time limit).
        looks: looks a frame can be drawn with; the first is the default.
        cameras: cameras (the first is the default); empty: one fixed view.
        qualities: render qualities (the first is the default); empty: one quality.
        render_size: default (width, height) of ``rmeval render``; None: the renderer's
            native size.
        train_kwargs: keyword arguments of ``gymnasium.make`` for training and rollouts.
        default_task: task when ``--task`` is not given (None: ``--task`` is required).
        aliases: other accepted spellings of the name (lower case).
        state_renderer_id: id recorded as ``env_id`` by the renderer that draws given states
            (gymnasium's own environment for the classic-control ones).
        sweepable: whether ``rmeval render --sweep`` works (a one-number state to sweep).
        ground_truth: whether checkpoints can be evaluated under a ground-truth success rule.
        goal_param: the state variable whose value alone decides a goal state (the
            ``is_goal`` of ``rmeval.envs.<name>`` takes it); None: no such variable.
    """

    name: str
    id: str
    entry_point: str
    algo: str
    episode_steps: int
    looks: tuple[str, ...]
    cameras: tuple[str, ...] = ()
    qualities: tuple[str, ...] = ()
    render_size: tuple[int, int] | None = None
    train_kwargs: tuple[tuple[str, Any], ...] = ()
    default_task: str | None = None
    aliases: tuple[str, ...] = ()
    state_renderer_id: str = ""
    sweepable: bool = False
    ground_truth: bool = False
    goal_param: str | None = None

    @property
    def env_kwargs(self) -> dict[str, Any]:
        """:attr:`train_kwargs` as a new dict."""
        return dict(self.train_kwargs)


_ENVS: tuple[EnvInfo, ...] = (
    EnvInfo(
        name="cartpole",
        id="rmeval/CartPole-v0",
        entry_point="rmeval.envs.cartpole_env:NoTerminationCartPoleEnv",
        algo="dqn",  # the only discrete action space
        episode_steps=200,  # paper, Appendix C.1
        looks=("standard",),
        default_task="cartpole",
        aliases=("cartpole-v0", "rmeval/cartpole-v0"),
        state_renderer_id="CartPole-v1",
        sweepable=True,
        ground_truth=True,
        goal_param="angle",
    ),
    EnvInfo(
        name="mountaincar",
        id="rmeval/MountainCarContinuous-v0",
        entry_point="rmeval.envs.mountaincar_env:AbsorbingGoalMountainCarEnv",
        algo="sac",
        episode_steps=200,
        looks=("textured", "standard"),
        render_size=(224, 224),
        # Training renders at CLIP's input size: 3x faster than the textured look's native
        # 400x400, and the embedder resizes to 224 anyway.
        train_kwargs=(("look", "textured"), ("width", 224), ("height", 224)),
        default_task="mountaincar",
        aliases=("mountaincarcontinuous", "mountaincarcontinuous-v0", "rmeval/mountaincarcontinuous-v0"),
        state_renderer_id="MountainCarContinuous-v0",
        sweepable=True,
        ground_truth=True,
        goal_param="x",
    ),
    EnvInfo(
        name="humanoid",
        id="rmeval/Humanoid-v0",
        entry_point="rmeval.envs.humanoid:TexturedHumanoidEnv",
        algo="sac",
        episode_steps=100,  # paper, Appendix C.2
        looks=("textured", "robot", "original"),
        cameras=("fixed", "tracking"),
        qualities=("fast", "fine"),
        render_size=(224, 224),  # CLIP's input size
        aliases=("humanoid-v0", "rmeval/humanoid-v0"),
        state_renderer_id="rmeval/Humanoid-v0",
    ),
)


def list_envs() -> list[EnvInfo]:
    """Every environment, in the catalogue's order."""
    return list(_ENVS)


def env_names() -> list[str]:
    """Short names :func:`get_env` accepts (besides aliases and Gymnasium ids)."""
    return [e.name for e in _ENVS]


def get_env(name: str) -> EnvInfo:
    """The environment called ``name`` (case-insensitive; aliases and Gymnasium ids work).

    Raises:
        InvalidInputError: no such environment; the message lists the known names.
    """
    key = str(name).strip().lower()
    for env in _ENVS:
        if key == env.name or key == env.id.lower() or key in env.aliases:
            return env
    raise InvalidInputError(f"unknown environment {name!r}; choose one of {', '.join(env_names())}.")


__all__ = ["EnvInfo", "env_names", "get_env", "list_envs"]
