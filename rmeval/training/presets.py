"""The hyperparameter presets of the environments rmeval trains on (pure Python).

Three environments (:mod:`rmeval.envs.catalogue` says each one's id, algorithm and episode
length, as in the paper's Appendix C): ``cartpole`` (``rmeval/CartPole-v0``, DQN: the only discrete action space),
``mountaincar`` (``rmeval/MountainCarContinuous-v0``, SAC) and ``humanoid``
(``rmeval/Humanoid-v0``, SAC).

Two presets per environment:

``paper``
    The paper's hyperparameters (notes section 7; Appendix C). Values the paper does not
    state are stable-baselines3's defaults, written out so a run's ``config.json`` is
    complete; the few that Algorithm 1 needs and the paper leaves open are chosen here and
    listed in :attr:`Preset.notes` (MountainCar's update schedule and checkpoint interval).
``quick``
    A small configuration that runs on a CPU in minutes: small networks and buffers,
    learning after 100 steps, a few thousand steps. For smoke runs and tests; it is not
    expected to learn the task.

The update schedule is counted as the authors count it (stable-baselines3's ``train_freq``
and ``gradient_steps``): ``gradient_steps`` updates after every ``train_freq`` *vectorised*
steps, whatever the number of environments ``K``. One round is ``train_freq * K``
environment steps (the frames scored before the round), so with the Humanoid preset's 100
updates every 100 vectorised steps and 32 environments, one round is 3,200 frames (the
paper's CLIP batch) and one update per 32 environment steps. ``total_steps``,
``learning_starts`` and ``checkpoint_every`` count environment steps summed over all
environments, as stable-baselines3's ``num_timesteps`` does.

Episode ends: ``time_limit`` says how the last transition of an episode cut by the time
limit is stored. ``terminal``: as a terminal transition (no bootstrapping from the next
state; the authors' choice, used by the paper presets); ``truncate``: as a truncation (the
target bootstraps from the next state's value; the quick presets' choice, and what a
time limit that is not part of the task calls for).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rmeval.envs.catalogue import get_env
from rmeval.errors import InvalidInputError

PRESETS: tuple[str, ...] = ("paper", "quick")
ALGOS: tuple[str, ...] = ("dqn", "sac")
TIME_LIMITS: tuple[str, ...] = ("terminal", "truncate")


@dataclass(frozen=True)
class Preset:
    """A training configuration for one environment.

    Attributes:
        name: ``"paper"`` or ``"quick"``.
        env: environment name (:func:`rmeval.envs.catalogue.get_env`).
        algo: ``"dqn"`` or ``"sac"``.
        total_steps: environment steps to train for.
        episode_steps: episode length.
        learning_starts: environment steps collected before the first update.
        train_freq: vectorised steps (one step of every environment) between update
            rounds; the VLM rewards of the round's ``train_freq * n_envs`` frames are
            computed before it.
        gradient_steps: updates per round (independent of the number of environments).
        checkpoint_every: environment steps between checkpoints.
        n_envs: parallel environments (``--envs`` default).
        reward_batch: frames per reward computation (``--reward-batch`` default; None: one
            round, ``train_freq * n_envs``).
        time_limit: ``terminal`` or ``truncate`` (see the module docstring).
        algo_kwargs: keyword arguments of stable-baselines3's ``SAC``/``DQN``
            (``learning_rate``, ``gamma``, ``buffer_size``, ``policy_kwargs``, ...).
        notes: where values not stated by the paper come from.
    """

    name: str
    env: str
    algo: str
    total_steps: int
    episode_steps: int
    learning_starts: int
    train_freq: int
    gradient_steps: int
    checkpoint_every: int
    algo_kwargs: dict[str, Any]
    notes: str = ""
    n_envs: int = 1
    reward_batch: int | None = None
    time_limit: str = "truncate"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "env": self.env,
            "algo": self.algo,
            "total_steps": self.total_steps,
            "episode_steps": self.episode_steps,
            "learning_starts": self.learning_starts,
            "train_freq": self.train_freq,
            "gradient_steps": self.gradient_steps,
            "checkpoint_every": self.checkpoint_every,
            "algo_kwargs": _copy(self.algo_kwargs),
            "notes": self.notes,
            "n_envs": self.n_envs,
            "reward_batch": self.reward_batch,
            "time_limit": self.time_limit,
        }


def _copy(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_copy(v) for v in obj]
    return obj


# stable-baselines3 2.x defaults, written out (the paper: "all other parameters have the
# default value provided by stable-baselines3").
_SAC_DEFAULTS: dict[str, Any] = {
    "learning_rate": 3e-4,
    "buffer_size": 1_000_000,
    "batch_size": 256,
    "tau": 0.005,
    "gamma": 0.99,
    "ent_coef": "auto",
    "target_update_interval": 1,
    "target_entropy": "auto",
    "policy_kwargs": {"net_arch": [256, 256]},
}
_DQN_DEFAULTS: dict[str, Any] = {
    "learning_rate": 1e-4,
    "buffer_size": 1_000_000,
    "batch_size": 32,
    "tau": 1.0,
    "gamma": 0.99,
    "target_update_interval": 10_000,
    "exploration_fraction": 0.1,
    "exploration_initial_eps": 1.0,
    "exploration_final_eps": 0.05,
    "max_grad_norm": 10.0,
    "policy_kwargs": {"net_arch": [64, 64]},
}


def _kw(base: dict[str, Any], **over: Any) -> dict[str, Any]:
    out = _copy(base)
    out.update(_copy(over))
    return out


def _paper(env: str) -> Preset:
    info = get_env(env)
    if env == "humanoid":
        return Preset(
            "paper", env, info.algo, total_steps=10_000_000, episode_steps=info.episode_steps, learning_starts=50_000,
            train_freq=100, gradient_steps=100, checkpoint_every=128_000,
            algo_kwargs=_kw(_SAC_DEFAULTS, tau=0.005, gamma=0.95, learning_rate=6e-4, batch_size=512),
            n_envs=32, reward_batch=3200, time_limit="terminal",
            notes="Appendix C.2 and the authors' launch settings: 32 environments, 100 updates every "
            "100 vectorised steps (one round = 3,200 frames, the paper's CLIP batch, spread over 4 GPUs "
            "by the authors), SAC batch size 512, the time limit stored as terminal; other SAC "
            "parameters: stable-baselines3 defaults.",
        )
    if env == "cartpole":
        return Preset(
            "paper", env, info.algo, total_steps=3_000_000, episode_steps=info.episode_steps, learning_starts=75_000,
            train_freq=200, gradient_steps=200, checkpoint_every=64_000,
            algo_kwargs=_kw(_DQN_DEFAULTS, learning_rate=2.3e-3, policy_kwargs={"net_arch": [256, 256]}),
            time_limit="terminal",
            notes="Appendix C.1 (DQN): 200 updates every 200 vectorised steps, the time limit stored "
            "as terminal (the authors' code); other DQN parameters: stable-baselines3 defaults.",
        )
    if env == "mountaincar":
        return Preset(
            "paper", env, info.algo, total_steps=3_000_000, episode_steps=info.episode_steps, learning_starts=100,
            train_freq=200, gradient_steps=200, checkpoint_every=64_000,
            algo_kwargs=_kw(_SAC_DEFAULTS, tau=0.01, gamma=0.9999, learning_rate=1e-4, ent_coef=0.1,
                            policy_kwargs={"net_arch": [64, 64]}),
            time_limit="terminal",
            notes="Appendix C.1 (SAC): 3M steps, tau 0.01, gamma 0.9999, lr 1e-4, ent_coef 0.1, 2x64; "
            "the time limit stored as terminal (the authors' code). "
            "Not stated by the paper and chosen by rmeval: rewards are computed once per episode "
            "(train_freq 200 vectorised steps) with 200 updates per round "
            "(stable-baselines3's ratio for one environment), checkpoints every 64,000 steps as for "
            "CartPole; learning_starts is stable-baselines3's default (100).",
        )
    raise InvalidInputError(f"no paper preset for environment {env!r}")


def _quick(env: str) -> Preset:
    info = get_env(env)
    note = "rmeval's quick preset: small networks and buffers; runs on a CPU in minutes, not meant to learn the task."
    if env == "humanoid":
        return Preset(
            "quick", env, info.algo, total_steps=5_000, episode_steps=info.episode_steps, learning_starts=100,
            train_freq=100, gradient_steps=50, checkpoint_every=1_000,
            algo_kwargs=_kw(_SAC_DEFAULTS, tau=0.005, gamma=0.95, learning_rate=6e-4, buffer_size=5_000,
                            batch_size=64, policy_kwargs={"net_arch": [64, 64]}),
            notes=note,
        )
    if env == "cartpole":
        return Preset(
            "quick", env, info.algo, total_steps=10_000, episode_steps=info.episode_steps, learning_starts=100,
            train_freq=100, gradient_steps=50, checkpoint_every=2_000,
            algo_kwargs=_kw(_DQN_DEFAULTS, learning_rate=2.3e-3, buffer_size=10_000, batch_size=64,
                            target_update_interval=500, exploration_fraction=0.3,
                            policy_kwargs={"net_arch": [64, 64]}),
            notes=note,
        )
    if env == "mountaincar":
        return Preset(
            "quick", env, info.algo, total_steps=10_000, episode_steps=info.episode_steps, learning_starts=100,
            train_freq=100, gradient_steps=50, checkpoint_every=2_000,
            algo_kwargs=_kw(_SAC_DEFAULTS, tau=0.01, gamma=0.9999, learning_rate=3e-4, ent_coef=0.1,
                            buffer_size=10_000, batch_size=64, policy_kwargs={"net_arch": [64, 64]}),
            notes=note,
        )
    raise InvalidInputError(f"no quick preset for environment {env!r}")


def get_preset(env: str, name: str) -> Preset:
    """The preset ``name`` (``paper`` or ``quick``) for environment ``env``."""
    env = get_env(env).name
    key = str(name).strip().lower()
    if key == "paper":
        return _paper(env)
    if key == "quick":
        return _quick(env)
    raise InvalidInputError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")


@dataclass(frozen=True)
class Schedule:
    """The update schedule for ``n_envs`` parallel environments (stable-baselines3 units).

    Attributes:
        n_envs: parallel environments.
        train_freq: vectorised steps between update rounds (stable-baselines3's ``train_freq``).
        gradient_steps: updates per round (stable-baselines3's ``gradient_steps``).
        steps_per_round: environment steps per round (``train_freq * n_envs``): the frames
            whose rewards are computed before each round.
        env_steps_per_update: environment steps per gradient step.
    """

    n_envs: int
    train_freq: int
    gradient_steps: int

    @property
    def steps_per_round(self) -> int:
        return self.train_freq * self.n_envs

    @property
    def env_steps_per_update(self) -> float:
        return self.steps_per_round / self.gradient_steps if self.gradient_steps else math.inf


def effective_schedule(train_freq: int, gradient_steps: int, n_envs: int) -> Schedule:
    """The schedule of ``gradient_steps`` updates every ``train_freq`` vectorised steps with ``n_envs`` envs.

    The counts do not depend on ``n_envs`` (the authors' convention); the round grows with it.

    >>> effective_schedule(100, 100, 1).steps_per_round
    100
    >>> s = effective_schedule(100, 100, 32)
    >>> (s.train_freq, s.gradient_steps, s.steps_per_round, s.env_steps_per_update)
    (100, 100, 3200, 32.0)
    """
    if not isinstance(n_envs, int) or isinstance(n_envs, bool) or n_envs < 1:
        raise InvalidInputError(f"--envs must be at least 1, got {n_envs}")
    return Schedule(n_envs=n_envs, train_freq=int(train_freq), gradient_steps=int(gradient_steps))


def env_step_schedule(train_freq: int, gradient_steps: int, n_envs: int) -> Schedule:
    """Convert a schedule counted in *environment* steps (run configs of version 1) to vectorised steps.

    rmeval before config version 2 kept the ratio of updates to environment steps: ``train_freq``
    environment steps were ``ceil(train_freq / n_envs)`` vectorised steps, with the gradient steps
    scaled to match. Used to resume such runs unchanged.
    """
    vec = max(1, math.ceil(train_freq / n_envs))
    grads = max(1, round(gradient_steps * vec * n_envs / train_freq)) if gradient_steps > 0 else 0
    return Schedule(n_envs=n_envs, train_freq=vec, gradient_steps=grads)


__all__ = [
    "ALGOS",
    "PRESETS",
    "TIME_LIMITS",
    "Preset",
    "Schedule",
    "effective_schedule",
    "env_step_schedule",
    "get_preset",
]
