"""stable-baselines3 callbacks: rewards into the replay buffer (Algorithm 1), logs, checkpoints.

In stable-baselines3's off-policy loop each round is ``collect_rollouts`` (``train_freq``
steps; the callback's ``_on_rollout_start`` ... ``_on_step`` ... ``_on_rollout_end``) then
``train`` (the gradient steps). :class:`RewardRelabelCallback` runs at the end of each
collection, before ``train``: it takes the rewards :class:`~rmeval.training.vec_env.RewardSwapVecEnv`
computed for the round's frames and writes them at the replay-buffer rows where the
round's transitions were stored (a circular buffer: rows wrap around; one column per
environment). The updates then sample only rewarded transitions.

:class:`RunCallback` logs to TensorBoard and saves checkpoints at the start of a round
(after the previous round's updates, when every stored reward is final), and a last one
when training ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from rmeval.errors import RmevalError
from rmeval.training.checkpoints import CheckpointRecord, RunFolder
from rmeval.training.vec_env import RewardSwapVecEnv


class RewardRelabelCallback(BaseCallback):
    """Write the reward model's rewards into the replay buffer before each round of updates.

    Args:
        venv: the reward-swapping environment the algorithm collects from.
        on_relabel: optional ``f(rows, rewards)`` called after each write (rows: ``(T,)``
            buffer rows, rewards: ``(T, n_envs)``), for tests and diagnostics.
    """

    def __init__(
        self,
        venv: RewardSwapVecEnv,
        on_relabel: Callable[[np.ndarray, np.ndarray], None] | None = None,
    ) -> None:
        super().__init__()
        self.venv = venv
        self.on_relabel = on_relabel
        self._start_pos: int | None = None
        #: rewards written so far
        self.n_relabelled = 0

    def _on_rollout_start(self) -> None:
        self._start_pos = int(self.model.replay_buffer.pos)  # type: ignore[union-attr,attr-defined]

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self._relabel()

    def _on_training_end(self) -> None:
        # A rollout cut short (another callback stopped training) has no _on_rollout_end.
        if self.venv.n_unflushed:
            self._relabel()

    def _relabel(self) -> None:
        rewards = self.venv.flush()
        if self._start_pos is None or len(rewards) == 0:
            return
        buffer = self.model.replay_buffer  # type: ignore[union-attr,attr-defined]
        if getattr(buffer, "optimize_memory_usage", False):
            raise RmevalError("VLM rewards need a replay buffer with optimize_memory_usage=False")
        n = len(rewards)
        if n > buffer.buffer_size:
            raise RmevalError(f"{n} steps since the last update round do not fit the replay buffer ({buffer.buffer_size} rows)")
        stored = (int(buffer.pos) - self._start_pos) % buffer.buffer_size
        if stored != n % buffer.buffer_size:
            raise RmevalError(
                f"internal error: {n} rewards for {stored} stored transitions; the replay buffer was "
                "written outside the collection loop"
            )
        if self.venv.uses_frames:
            rows = (self._start_pos + np.arange(n)) % buffer.buffer_size
            buffer.rewards[rows] = rewards
            self.n_relabelled += rewards.size
            if self.on_relabel is not None:
                self.on_relabel(rows, rewards)
        self._start_pos = int(buffer.pos)


class RunCallback(BaseCallback):
    """TensorBoard scalars, progress lines and checkpoints of a training run.

    Args:
        venv: the reward-swapping environment (episode statistics).
        folder: the run folder.
        checkpoint_every: environment steps between checkpoints.
        next_checkpoint: first step at which to save (after a resume: the next multiple).
        log_every: environment steps between TensorBoard dumps.
        uses_vlm: whether the training reward is a VLM's.
        wall_time_s: wall time of earlier sessions of this run.
        log: where progress lines go.
    """

    def __init__(
        self,
        venv: RewardSwapVecEnv,
        folder: RunFolder,
        *,
        checkpoint_every: int,
        next_checkpoint: int,
        log_every: int,
        uses_vlm: bool,
        total_steps: int,
        wall_time_s: float = 0.0,
        log: Callable[[str], None] = print,
    ) -> None:
        super().__init__()
        self.venv = venv
        self.folder = folder
        self.checkpoint_every = int(checkpoint_every)
        self.next_checkpoint = int(next_checkpoint)
        self.log_every = max(1, int(log_every))
        self.uses_vlm = uses_vlm
        self.total_steps = int(total_steps)
        self.wall_time_before = float(wall_time_s)
        self.log = log
        self.saved: list[CheckpointRecord] = []
        self._t0 = time.perf_counter()
        self._next_log = 0
        self._last_saved_step = -1
        self._steps_at_start = 0
        self._finished_at_save = 0

    def _on_training_start(self) -> None:
        self._t0 = time.perf_counter()
        self._steps_at_start = self.num_timesteps
        self._next_log = self.num_timesteps + self.log_every
        self._last_saved_step = self.num_timesteps if self.num_timesteps > 0 else -1

    def wall_time(self) -> float:
        return self.wall_time_before + time.perf_counter() - self._t0

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        flush = self.venv.last_flush
        if flush:
            self.logger.record("reward/step_mean_" + ("vlm" if self.uses_vlm else "env"), flush["model_reward_mean"])
            self.logger.record("reward/step_mean_env", flush["env_reward_mean"])
        if self.uses_vlm and self.venv.frames_scored:
            self.logger.record("reward/frames_scored", self.venv.frames_scored)
            self.logger.record("reward/frames_per_s", self.venv.frames_scored / max(self.venv.reward_seconds, 1e-9))
        means = self.venv.episode_means()
        if means["episodes"]:
            if self.uses_vlm:
                self.logger.record("rollout/ep_vlm_return_mean", means["model_return"])
            self.logger.record("rollout/ep_env_return_mean", means["env_return"])
        elapsed = max(time.perf_counter() - self._t0, 1e-9)
        self.logger.record("time/steps_per_s", (self.num_timesteps - self._steps_at_start) / elapsed)

    def _on_rollout_start(self) -> None:
        # The previous round's updates are done and every stored reward is final.
        if self.num_timesteps >= self._next_log:
            self.logger.dump(step=self.num_timesteps)
            self._next_log = (self.num_timesteps // self.log_every + 1) * self.log_every
        if self.num_timesteps >= self.next_checkpoint:
            self._save()

    def _on_training_end(self) -> None:
        self.logger.dump(step=self.num_timesteps)
        if self.num_timesteps > self._last_saved_step:
            self._save()

    def _save(self) -> None:
        step = int(self.num_timesteps)
        # The episodes finished since the previous checkpoint (at most the window), so each
        # checkpoint's returns describe its own stretch of training; the last episode when
        # none finished since.
        new = self.venv.episodes_finished - self._finished_at_save
        self._finished_at_save = self.venv.episodes_finished
        record = self.folder.save_checkpoint(
            self.model,
            step,
            episodes=self.venv.recent_episodes(new if new > 0 else 1),
            window=list(self.venv.episodes),
            wall_time_s=self.wall_time(),
            uses_vlm=self.uses_vlm,
        )
        self.saved.append(record)
        self._last_saved_step = step
        self.next_checkpoint = (step // self.checkpoint_every + 1) * self.checkpoint_every
        elapsed = max(time.perf_counter() - self._t0, 1e-9)
        rate = (step - self._steps_at_start) / elapsed
        parts = [f"step {step:,}/{self.total_steps:,}", f"checkpoint {record.checkpoint}"]
        if record.episodes:
            if self.uses_vlm:
                parts.append(f"VLM return {record.mean_vlm_return:.4g}")
            parts.append(f"env return {record.mean_env_return:.4g} ({record.episodes} episodes)")
        parts.append(f"{rate:,.0f} steps/s")
        self.log("  " + "   ".join(parts))


__all__ = ["RewardRelabelCallback", "RunCallback"]
