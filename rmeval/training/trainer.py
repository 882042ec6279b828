"""Train an agent on a VLM reward (or the ground truth): :func:`train`.

Algorithm 1 of the paper with stable-baselines3's SAC or DQN:

1. the task embedding is computed once (:class:`~rmeval.training.reward_models.VLMReward`);
2. K environments step with the current policy, each rendering its frame after every
   step inside its worker (:class:`~rmeval.training.vec_env.RenderFrame`);
3. frames are embedded ``reward_batch`` at a time as they arrive and the rewards computed
   (:class:`~rmeval.training.vec_env.RewardSwapVecEnv`);
4. before each round of updates, the round's rewards are written into the replay buffer
   at the rows of its transitions (:class:`~rmeval.training.callbacks.RewardRelabelCallback`);
5. the updates run (``gradient_steps`` every ``train_freq`` vectorised steps, i.e. every
   ``train_freq * n_envs`` environment steps: the authors' schedule).

Episodes cut by the time limit are stored as terminal transitions (``time_limit
"terminal"``: the replay buffer's ``dones`` is 1 and ``timeouts`` 0, so targets do not
bootstrap) or as truncations (``"truncate"``: ``timeouts`` is 1, and stable-baselines3
bootstraps from the next state).

Resuming (``resume=True``) loads the last checkpoint of the run folder: the networks, the
optimisers' state, ``num_timesteps`` and the replay buffer; training then continues up to
``config.total_steps``. Episodes in progress when the process stopped are lost (the
environments start new ones), and the random number generators are not restored, so a
resumed run is not bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rmeval.errors import RmevalError
from rmeval.registry import ModelRef
from rmeval.training.checkpoints import CheckpointRecord, RunFolder, load_replay_buffer, remove_temporaries
from rmeval.training.config import RunConfig
from rmeval.training.reward_models import GroundTruthReward, RewardModel, VLMReward

ALGORITHMS = {"sac": "SAC", "dqn": "DQN"}


def algorithm_class(algo: str) -> Any:
    """stable-baselines3's class for ``"sac"`` or ``"dqn"``."""
    import stable_baselines3

    try:
        return getattr(stable_baselines3, ALGORITHMS[algo])
    except KeyError:
        raise RmevalError(f"unknown algorithm {algo!r}; rmeval trains with {', '.join(ALGORITHMS)}") from None


def reward_threads(config: RunConfig) -> int:
    """The reward model's torch CPU threads: ``--threads``, else :func:`default_reward_threads`."""
    from rmeval.training.config import default_reward_threads

    return int(config.reward_threads) or default_reward_threads(config.n_envs, config.vec_env)


def sb3_device(device: str) -> str:
    return "auto" if device in ("", "auto", None) else device


def build_reward_model(config: RunConfig, *, weights_dir: str | None = None) -> RewardModel:
    """The run's reward model (loads the CLIP model for VLM rewards)."""
    if not config.uses_vlm:
        return GroundTruthReward()
    from rmeval.judges.names import is_judge_name
    from rmeval.models import load_model
    from rmeval.registry import parse_model

    assert config.model is not None
    if is_judge_name(config.model):  # a generative judge: its own reward, no alpha
        from rmeval.judges.model import Judge
        from rmeval.judges.training import JudgeReward

        judge = Judge(config.model, device=None if config.device == "auto" else config.device,
                      precision=config.precision, batch_size=config.embed_batch_size, cache_dir=False,
                      weights_dir=weights_dir, question=config.judge_question)
        return JudgeReward(judge, config.goal_prompts)
    ref = parse_model(config.model)
    if not ref.is_open_clip:  # module.path:Class plug-in (or judge)
        from rmeval.plugins import PluginTrainReward, load_reward_model

        assert isinstance(ref, ModelRef)
        plugin = load_reward_model(ref, device=None if config.device == "auto" else config.device)
        config.random_weights = bool(plugin.random_weights)
        return PluginTrainReward(plugin, config.goal_prompts, config.baseline_prompts, alpha=config.alpha)
    loaded = load_model(config.model, device=None if config.device == "auto" else config.device, weights_dir=weights_dir)
    return VLMReward(
        loaded,
        config.goal_prompts,
        config.baseline_prompts,
        alpha=config.alpha,
        batch_size=config.embed_batch_size,
        precision=config.precision,
        threads=reward_threads(config),
        fit=config.fit,
    )


@dataclass
class TrainResult:
    """What :func:`train` did."""

    run_dir: Path
    steps: int
    resumed_from: int
    checkpoints: list[CheckpointRecord] = field(default_factory=list)
    wall_time_s: float = 0.0
    frames_scored: int = 0
    reward_seconds: float = 0.0
    monitor_rows: list[dict[str, Any]] = field(default_factory=list)


def _log_every(config: RunConfig) -> int:
    per_round = config.schedule.steps_per_round
    target = max(per_round, config.total_steps // 2000)
    return int(math.ceil(target / per_round) * per_round)


def train(
    config: RunConfig,
    run_dir: str | Path,
    *,
    reward_model: RewardModel | None = None,
    resume: bool = False,
    log: Callable[[str], None] = print,
    extra_callbacks: list[Any] | None = None,
    on_relabel: Callable[[np.ndarray, np.ndarray], None] | None = None,
    weights_dir: str | None = None,
    monitor_every: int | None = None,
    monitor_window: int | None = None,
) -> TrainResult:
    """Train (or resume) the run ``run_dir`` with ``config``.

    Args:
        config: the run's configuration (saved as ``config.json`` for a new run).
        run_dir: the run folder; must not exist (or be empty) unless ``resume``.
        reward_model: the reward (default: built from ``config``).
        resume: continue from the run's last checkpoint.
        log: where progress lines go.
        extra_callbacks: more stable-baselines3 callbacks (run after rmeval's).
        on_relabel: ``f(rows, rewards)`` after each write of rewards into the replay buffer.
        weights_dir: where pretrained CLIP weights are looked up.
        monitor_every: environment steps between evaluations of the reward-hacking monitor
            (:mod:`rmeval.training.monitor`; VLM rewards only; also at each checkpoint);
            default a quarter of ``checkpoint_every``; 0 turns the monitor off.
        monitor_window: recent frames the monitor looks at (default 2,000).
    """
    from stable_baselines3.common.callbacks import CallbackList
    from stable_baselines3.common.logger import configure

    from rmeval.training.callbacks import RewardRelabelCallback, RunCallback
    from rmeval.training.vec_env import RewardSwapVecEnv, make_vec_env

    config.validate()
    folder = RunFolder(run_dir)
    state: dict[str, Any] | None = None
    if resume:
        remove_temporaries(folder.root)
        state = folder.read_resume()
    if reward_model is None:
        reward_model = build_reward_model(config, weights_dir=weights_dir)
    if bool(reward_model.uses_frames) != config.uses_vlm:
        raise RmevalError(f"the reward model ({reward_model.name}) does not match --reward {config.reward}")
    if not resume and folder.root.exists() and (not folder.root.is_dir() or any(folder.root.iterdir())):
        raise RmevalError(f"{folder.root} already exists; pass --resume to continue that run, or choose another --out.")

    import torch

    threads_before = torch.get_num_threads()
    agent_device = sb3_device(config.device)
    if agent_device == "cpu" or (agent_device == "auto" and not torch.cuda.is_available()):
        torch.set_num_threads(max(1, int(config.agent_threads)))
    venv = make_vec_env(config, render_frames=reward_model.uses_frames)
    try:
        if not resume:
            folder.create()
            config.save(folder.root)
        env = RewardSwapVecEnv(venv, reward_model, config.reward_batch or config.n_envs, stats_window=config.stats_window)
        algo_cls = algorithm_class(config.algo)
        sched = config.schedule
        if state is not None:
            model = algo_cls.load(folder.root / state["checkpoint"], env=env, device=sb3_device(config.device))
            load_replay_buffer(model.replay_buffer, folder.root / state["replay_buffer"])
            for episode in state.get("episodes", []):
                env.episodes.append({k: (float("nan") if v is None else v) for k, v in episode.items()})
            if int(model.num_timesteps) != int(state["step"]):
                raise RmevalError(
                    f"{state['checkpoint']} holds step {model.num_timesteps}, resume.json says {state['step']}"
                )
        else:
            model = algo_cls(
                "MlpPolicy",
                env,
                learning_starts=config.learning_starts,
                train_freq=sched.train_freq,
                gradient_steps=sched.gradient_steps,
                seed=config.seed,
                device=sb3_device(config.device),
                verbose=0,
                **_algo_kwargs(config),
            )
        model.set_logger(configure(str(folder.tb_dir), ["tensorboard"]))
        start = int(model.num_timesteps)
        run_cb = RunCallback(
            env,
            folder,
            checkpoint_every=config.checkpoint_every,
            next_checkpoint=(start // config.checkpoint_every + 1) * config.checkpoint_every,
            log_every=_log_every(config),
            uses_vlm=config.uses_vlm,
            total_steps=config.total_steps,
            wall_time_s=float(state.get("wall_time_s", 0.0)) if state else 0.0,
            log=log,
        )
        callbacks: list[Any] = [RewardRelabelCallback(env, on_relabel=on_relabel), run_cb]
        monitor_cb = None
        every = config.checkpoint_every // 4 if monitor_every is None else int(monitor_every)
        if config.uses_vlm and every > 0:
            from rmeval.training.monitor import DEFAULT_WINDOW, RewardHackingMonitor, monitor_callback

            monitor = RewardHackingMonitor(monitor_window or DEFAULT_WINDOW, seed=config.seed)
            env.score_hooks.append(lambda frames, rewards, goals: monitor.observe(rewards, goals))
            monitor_cb = monitor_callback(monitor, folder.root, every=max(every, sched.steps_per_round),
                                          checkpoint_every=config.checkpoint_every, log=log)
            callbacks.append(monitor_cb)
        callbacks.extend(extra_callbacks or [])
        remaining = config.total_steps - start
        t0 = time.perf_counter()
        if remaining > 0:
            model.learn(
                total_timesteps=remaining,
                callback=CallbackList(callbacks),
                log_interval=None,
                reset_num_timesteps=state is None,
                progress_bar=False,
            )
        return TrainResult(
            run_dir=folder.root,
            steps=int(model.num_timesteps),
            resumed_from=start,
            checkpoints=run_cb.saved,
            wall_time_s=time.perf_counter() - t0,
            frames_scored=env.frames_scored,
            reward_seconds=env.reward_seconds,
            monitor_rows=list(monitor_cb.rows) if monitor_cb is not None else [],
        )
    finally:
        venv.close()
        torch.set_num_threads(threads_before)


def _algo_kwargs(config: RunConfig) -> dict[str, Any]:
    kwargs = {k: (dict(v) if isinstance(v, dict) else v) for k, v in config.algo_kwargs.items()}
    if "policy_kwargs" in kwargs:
        pk = dict(kwargs["policy_kwargs"])
        if "net_arch" in pk:
            pk["net_arch"] = list(pk["net_arch"])
        kwargs["policy_kwargs"] = pk
    kwargs["optimize_memory_usage"] = False  # rewards are written back by row
    # time_limit "terminal": the buffer keeps timeouts at 0, so a time-limit end is a terminal state.
    kwargs["replay_buffer_kwargs"] = {"handle_timeout_termination": config.time_limit == "truncate"}
    return kwargs


__all__ = ["TrainResult", "algorithm_class", "build_reward_model", "reward_threads", "train"]
