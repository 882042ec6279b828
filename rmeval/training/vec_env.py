"""Environments for training: frames rendered in the workers, rewards swapped in batches.

- :class:`RenderFrame`: a gymnasium wrapper that renders after every ``step`` and puts the
  frame in ``info["frame"]``. It runs inside each worker process, *before* the vectorised
  environment's automatic reset, so the frame of an episode's last step is that step's and
  not the next episode's first.
- :func:`make_vec_env`: K environments in worker processes (stable-baselines3's
  ``SubprocVecEnv``, started with ``forkserver``: safe with MuJoCo's EGL contexts and
  torch threads) or in this process for K = 1 (``DummyVecEnv``).
- :class:`RewardSwapVecEnv`: a vectorised-environment wrapper (as imitation's
  ``RewardVecEnvWrapper``) that replaces the environment's reward by a
  :class:`~rmeval.training.reward_models.RewardModel`'s and keeps the original in
  ``info["env_reward"]``. VLM rewards follow Algorithm 1: frames are kept and embedded
  ``reward_batch`` at a time; ``step`` returns NaN placeholders and :meth:`flush` hands
  out the rewards of every step since the last flush, for
  :class:`~rmeval.training.callbacks.RewardRelabelCallback` to write into the replay
  buffer before the updates that use them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    SubprocVecEnv,
    VecEnv,
    VecEnvWrapper,
)
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from rmeval.errors import InvalidInputError, RmevalError
from rmeval.training.config import RunConfig
from rmeval.training.reward_models import RewardModel

#: ``info`` key of the environment's own reward.
ENV_REWARD_KEY = "env_reward"
#: ``info`` key of the rendered frame (removed by :class:`RewardSwapVecEnv`).
FRAME_KEY = "frame"
#: ``info`` key of the ground-truth goal predicate of the state after the step.
GOAL_KEY = "is_goal"
#: Start method of worker processes.
START_METHOD = "forkserver"


def render_frame(env: gym.Env) -> np.ndarray:
    """The frame of ``env``'s current state as (H, W, 3) uint8 (``render_mode='rgb_array'``)."""
    frame = env.render()
    if frame is None:
        raise RmevalError(f"{env.spec.id if env.spec else env}: render() gave no frame; "
                          "the environment must use render_mode='rgb_array'.")
    return np.ascontiguousarray(frame, dtype=np.uint8)


class RenderFrame(gym.Wrapper):
    """Render after every step; the frame goes in ``info["frame"]`` as (H, W, 3) uint8.

    ``reset`` renders nothing (training rewards belong to transitions, so the reset state
    needs no frame); call :func:`render_frame` for it.
    """

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        info[FRAME_KEY] = render_frame(self.env)
        return obs, reward, terminated, truncated, info


class PoseGoal(gym.Wrapper):
    """Put the Humanoid task's pose predicate of the state after each step in ``info["is_goal"]``."""

    def __init__(self, env: gym.Env, predicate: str) -> None:
        super().__init__(env)
        from rmeval.envs.pose_predicates import PREDICATES

        if predicate not in PREDICATES:
            raise InvalidInputError(f"unknown pose predicate {predicate!r}; known: {', '.join(PREDICATES)}")
        self._predicate = PREDICATES[predicate]

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        from rmeval.envs.pose_predicates import BodyPoints

        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        unwrapped = self.env.unwrapped
        info[GOAL_KEY] = bool(self._predicate(BodyPoints.from_mujoco(unwrapped.model, unwrapped.data)))  # type: ignore[attr-defined]
        return obs, reward, terminated, truncated, info


def make_env(
    env_id: str, env_kwargs: dict[str, Any], episode_steps: int, render_frames: bool, goal_predicate: str | None = None
) -> gym.Env:
    """One environment: ``gymnasium.make`` + ``Monitor`` (episode returns) + ``RenderFrame``.

    ``goal_predicate``: a pose predicate (:data:`rmeval.envs.pose_predicates.PREDICATES`) whose
    value goes in ``info["is_goal"]`` after each step, for environments that do not set it
    themselves (the Humanoid); CartPole and MountainCar always do.
    """
    from rmeval.envs import register_rmeval_envs

    register_rmeval_envs()
    kwargs = dict(env_kwargs)
    kwargs.setdefault("render_mode", "rgb_array")
    env = gym.make(env_id, max_episode_steps=int(episode_steps), **kwargs)
    env = Monitor(env)
    if goal_predicate:
        env = PoseGoal(env, goal_predicate)
    if render_frames:
        env = RenderFrame(env)
    return env


class _EnvFactory:
    """Picklable ``() -> env`` for worker processes."""

    def __init__(self, env_id: str, env_kwargs: dict[str, Any], episode_steps: int, render_frames: bool,
                 goal_predicate: str | None = None) -> None:
        self.args = (env_id, dict(env_kwargs), int(episode_steps), bool(render_frames), goal_predicate)

    def __call__(self) -> gym.Env:
        return make_env(*self.args)


def make_vec_env(config: RunConfig, *, render_frames: bool, n_envs: int | None = None) -> VecEnv:
    """``n_envs`` (default ``config.n_envs``) environments of the run, seeded later by the algorithm."""
    n = int(n_envs or config.n_envs)
    predicate = pose_goal_predicate(config) if render_frames else None
    factories: list[Callable[[], gym.Env]] = [
        _EnvFactory(config.env_id, config.env_kwargs, config.episode_steps, render_frames, predicate) for _ in range(n)
    ]
    kind = config.vec_env
    if kind == "auto":
        kind = "subproc" if n > 1 else "dummy"
    if kind == "dummy":
        return DummyVecEnv(factories)
    return SubprocVecEnv(factories, start_method=START_METHOD)


def pose_goal_predicate(config: RunConfig) -> str | None:
    """The pose predicate that labels the run's states (Humanoid tasks), else None."""
    if config.env != "humanoid":
        return None
    from rmeval.envs.tasks import get_task

    return get_task(config.task).predicate


class RewardSwapVecEnv(VecEnvWrapper):
    """Replace the environment's reward by a reward model's; keep the original in ``info``.

    With a reward model that uses frames (``uses_frames``), the wrapped environments must
    put a frame in ``info["frame"]`` (:class:`RenderFrame`). Frames are kept and scored
    ``reward_batch`` frames at a time as steps come in; ``step`` returns NaN placeholder
    rewards, and :meth:`flush` scores what is left and returns the rewards of every step
    since the previous flush, in order. With :class:`GroundTruthReward` the environment's
    reward passes through unchanged.

    Episode statistics (:attr:`episodes`): the reward model's return and the environment's
    return of the last ``stats_window`` finished episodes.

    Args:
        venv: the vectorised environments.
        reward_model: the reward.
        reward_batch: frames per reward computation; a multiple of ``venv.num_envs``
            (default: ``num_envs``).
        stats_window: finished episodes kept in :attr:`episodes`.
    """

    def __init__(
        self,
        venv: VecEnv,
        reward_model: RewardModel,
        reward_batch: int | None = None,
        stats_window: int = 100,
    ) -> None:
        super().__init__(venv)
        n = self.num_envs
        batch = int(reward_batch or n)
        if batch < 1 or batch % n:
            raise InvalidInputError(
                f"reward batch {batch} does not fit {n} environments: it must be a positive multiple of {n}."
            )
        self.reward_model = reward_model
        self.uses_frames = bool(reward_model.uses_frames)
        self.reward_batch = batch
        self._steps_per_batch = batch // n
        # steps whose frames are not scored yet: (frames (n, H, W, 3), dones (n,), env rewards (n,),
        # ground-truth goal flags (n,), NaN where the environment gives none)
        self._pending: deque[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = deque()
        #: ``f(frames, rewards, goals)`` called after each scoring: (m, H, W, 3) frames, (m,) model
        #: rewards, (m,) goal flags (1.0 / 0.0, NaN when unknown), step-major (the reward-hacking monitor).
        self.score_hooks: list[Callable[[np.ndarray, np.ndarray, np.ndarray], None]] = []
        # scored steps not yet handed out by flush(): rewards (n,)
        self._ready: list[np.ndarray] = []
        self._ep_model = np.zeros(n, dtype=np.float64)
        self._ep_env = np.zeros(n, dtype=np.float64)
        self._ep_len = np.zeros(n, dtype=np.int64)
        #: last finished episodes: {"model_return", "env_return", "length"}
        self.episodes: deque[dict[str, float]] = deque(maxlen=int(stats_window))
        #: episodes finished since this wrapper was created
        self.episodes_finished = 0
        #: frames scored so far, seconds spent scoring them
        self.frames_scored = 0
        self.reward_seconds = 0.0
        #: per flush: mean model reward and mean environment reward of the flushed steps
        self.last_flush: dict[str, float] = {}
        self._flush_env: list[np.ndarray] = []

    # ------------------------------------------------------------------ VecEnv API
    def reset(self) -> VecEnvObs:
        if self._pending:
            self._score(len(self._pending))
        obs = self.venv.reset()
        # Episodes cut by a reset are not finished episodes: forget their partial sums.
        self._ep_model[:] = 0.0
        self._ep_env[:] = 0.0
        self._ep_len[:] = 0
        return obs

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        env_rewards = np.asarray(rewards, dtype=np.float32).reshape(self.num_envs)
        for i, info in enumerate(infos):
            info[ENV_REWARD_KEY] = float(env_rewards[i])
        dones_arr = np.asarray(dones, dtype=bool).reshape(self.num_envs)
        if not self.uses_frames:
            for info in infos:
                info.pop(FRAME_KEY, None)
            self._account(env_rewards, env_rewards, dones_arr, model_is_env=True)
            self._ready.append(env_rewards.copy())
            return obs, env_rewards, dones, infos
        try:
            frames = np.stack([info.pop(FRAME_KEY) for info in infos])
        except KeyError:
            raise RmevalError(
                "RewardSwapVecEnv: the environments put no frame in info['frame']; wrap each "
                "environment in rmeval.training.vec_env.RenderFrame."
            ) from None
        goals = np.array([float(info[GOAL_KEY]) if GOAL_KEY in info else np.nan for info in infos], dtype=np.float64)
        self._pending.append((frames, dones_arr, env_rewards, goals))
        if len(self._pending) >= self._steps_per_batch:
            self._score(self._steps_per_batch)
        return obs, np.full(self.num_envs, np.nan, dtype=np.float32), dones, infos

    def close(self) -> None:
        self._pending.clear()
        self.venv.close()

    # ------------------------------------------------------------------ rewards
    def _score(self, n_steps: int) -> None:
        """Score the first ``n_steps`` pending steps in one call of the reward model."""
        steps = [self._pending.popleft() for _ in range(min(n_steps, len(self._pending)))]
        if not steps:
            return
        frames = np.concatenate([s[0] for s in steps])  # step-major: step 0 env 0..n-1, step 1 ...
        t0 = time.perf_counter()
        rewards = np.asarray(self.reward_model(frames), dtype=np.float32)
        self.reward_seconds += time.perf_counter() - t0
        if rewards.shape != (len(frames),):
            raise RmevalError(
                f"the reward model returned shape {rewards.shape} for {len(frames)} frames; expected ({len(frames)},)"
            )
        self.frames_scored += len(frames)
        rewards = rewards.reshape(len(steps), self.num_envs)
        for (_, dones, env_rewards, _), row in zip(steps, rewards, strict=True):
            self._account(row, env_rewards, dones, model_is_env=False)
            self._ready.append(row)
        if self.score_hooks:
            goals = np.concatenate([s[3] for s in steps])
            flat = rewards.reshape(-1)
            for hook in self.score_hooks:
                hook(frames, flat, goals)

    def _account(self, model_rewards: np.ndarray, env_rewards: np.ndarray, dones: np.ndarray, *, model_is_env: bool) -> None:
        self._ep_model += model_rewards
        self._ep_env += env_rewards
        self._ep_len += 1
        self._flush_env.append(np.asarray(env_rewards, dtype=np.float32))
        for i in np.flatnonzero(dones):
            self.episodes_finished += 1
            self.episodes.append(
                {
                    "model_return": float("nan") if model_is_env else float(self._ep_model[i]),
                    "env_return": float(self._ep_env[i]),
                    "length": int(self._ep_len[i]),
                }
            )
            self._ep_model[i] = 0.0
            self._ep_env[i] = 0.0
            self._ep_len[i] = 0

    @property
    def n_pending(self) -> int:
        """Steps whose rewards are not scored yet."""
        return len(self._pending)

    @property
    def n_unflushed(self) -> int:
        """Steps (scored or not) whose rewards :meth:`flush` has not handed out yet."""
        return len(self._pending) + len(self._ready)

    def flush(self) -> np.ndarray:
        """Score every pending frame; return ``(T, num_envs)`` rewards of the steps since the last flush."""
        if self._pending:
            self._score(len(self._pending))
        out = np.stack(self._ready) if self._ready else np.zeros((0, self.num_envs), dtype=np.float32)
        env = np.stack(self._flush_env) if self._flush_env else np.zeros((0, self.num_envs), dtype=np.float32)
        self._ready = []
        self._flush_env = []
        self.last_flush = {
            "steps": float(len(out)),
            "model_reward_mean": float(out.mean()) if out.size else float("nan"),
            "env_reward_mean": float(env.mean()) if env.size else float("nan"),
        }
        return out

    def recent_episodes(self, n: int) -> list[dict[str, float]]:
        """The last ``n`` finished episodes (at most :attr:`episodes`' window), oldest first."""
        n = max(0, min(int(n), len(self.episodes)))
        return list(self.episodes)[len(self.episodes) - n :]

    def episode_means(self) -> dict[str, float]:
        """Mean model and environment returns over :attr:`episodes` (NaN when empty)."""
        if not self.episodes:
            return {"episodes": 0, "model_return": float("nan"), "env_return": float("nan")}
        model = [e["model_return"] for e in self.episodes]
        env = [e["env_return"] for e in self.episodes]
        return {
            "episodes": len(self.episodes),
            "model_return": float(np.mean(model)),
            "env_return": float(np.mean(env)),
        }


__all__ = [
    "ENV_REWARD_KEY",
    "FRAME_KEY",
    "GOAL_KEY",
    "PoseGoal",
    "RenderFrame",
    "RewardSwapVecEnv",
    "make_env",
    "make_vec_env",
    "pose_goal_predicate",
    "render_frame",
]
