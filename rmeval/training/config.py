"""A training run's configuration: everything needed to continue or reproduce it.

Saved as ``config.json`` in the run folder (strict JSON: reading it never executes code).
``rmeval train --resume`` rebuilds the environments, the reward model and the algorithm
from it; ``rmeval rollout`` and ``rmeval evaluate`` read the environment from it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmeval.errors import InvalidInputError, RmevalError
from rmeval.training.presets import TIME_LIMITS, Schedule, effective_schedule, env_step_schedule

CONFIG_FILE = "config.json"
CONFIG_FORMAT = "rmeval-train-run"
CONFIG_VERSION = 2
#: Versions this rmeval reads (version 1 counted train_freq/gradient_steps in environment steps).
READABLE_VERSIONS = (1, 2)
REWARDS: tuple[str, ...] = ("vlm", "ground-truth")
VEC_ENVS: tuple[str, ...] = ("auto", "dummy", "subproc")


@dataclass
class RunConfig:
    """Configuration of one training run (``config.json``).

    Attributes:
        env: environment name (``cartpole``, ``mountaincar``, ``humanoid``).
        env_id: gymnasium id.
        env_kwargs: keyword arguments of ``gymnasium.make``.
        task: task name (:mod:`rmeval.envs.tasks`).
        goal_prompts, baseline_prompts: the task's prompts (Table 3 of the paper).
        reward: ``"vlm"`` or ``"ground-truth"`` (the environment's own reward).
        model: the reward model's name (``ViT-L-14``, ``rmeval-tiny:random``), or None.
        random_weights: whether the reward model has random weights (a smoke run).
        model_fingerprint: identity of the reward model's weights.
        alpha: goal-baseline regularisation strength in [0, 1] (0: the CLIP reward).
        preset: ``"paper"`` or ``"quick"``.
        algo: ``"sac"`` or ``"dqn"``.
        total_steps: environment steps to train for (all environments together).
        episode_steps: episode length.
        learning_starts, checkpoint_every: environment steps (all environments together).
        train_freq, gradient_steps: ``gradient_steps`` updates every ``train_freq``
            vectorised steps, independent of ``n_envs`` (see :mod:`rmeval.training.presets`).
        time_limit: ``terminal`` (an episode cut by the time limit ends like a terminal
            state: no bootstrapping) or ``truncate`` (bootstrap from the next state).
        algo_kwargs: keyword arguments of the stable-baselines3 algorithm.
        n_envs: parallel environments (worker processes when more than one).
        vec_env: ``"auto"`` (worker processes when ``n_envs > 1``), ``"dummy"``, ``"subproc"``.
        reward_batch: frames gathered before rewards are computed (Algorithm 1's B); a
            multiple of ``n_envs``, at most the frames of one round.
        embed_batch_size: frames per forward pass of the reward model.
        precision: ``fp32``, ``fp16`` or ``bf16``.
        device: torch device of the reward model and the agent (``auto``: cuda when available).
        seed: seed of the agent and the environments.
        agent_threads: torch CPU threads for the agent's updates when it runs on a CPU
            (1: small networks are fastest on one thread).
        fit: how frames reach the reward model: ``crop``, ``squash`` (new runs' default: the
            whole frame, as the authors) or ``pad`` (:mod:`rmeval.preprocess`); ``crop`` in
            configs written before the option existed.
        reward_threads: torch CPU threads of the reward model (0: automatic,
            :func:`default_reward_threads`).
        stats_window: episodes averaged for the returns recorded beside checkpoints.
        created, command, versions: provenance.
    """

    env: str
    env_id: str
    task: str
    goal_prompts: list[str]
    baseline_prompts: list[str]
    reward: str
    preset: str
    algo: str
    total_steps: int
    episode_steps: int
    learning_starts: int
    train_freq: int
    gradient_steps: int
    checkpoint_every: int
    algo_kwargs: dict[str, Any]
    n_envs: int = 1
    reward_batch: int = 0
    model: str | None = None
    random_weights: bool = False
    model_fingerprint: str | None = None
    alpha: float = 0.0
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    vec_env: str = "auto"
    embed_batch_size: int = 64
    precision: str = "fp32"
    device: str = "auto"
    seed: int = 0
    agent_threads: int = 1
    reward_threads: int = 0
    time_limit: str = "truncate"
    fit: str = "crop"
    #: A judge reward's question template, with {goal} (``--question``); None for other rewards.
    judge_question: str | None = None
    stats_window: int = 100
    created: str = ""
    command: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    preset_notes: str = ""

    @property
    def schedule(self) -> Schedule:
        """The update schedule in stable-baselines3 units for ``n_envs`` environments."""
        return effective_schedule(self.train_freq, self.gradient_steps, self.n_envs)

    @property
    def uses_vlm(self) -> bool:
        return self.reward == "vlm"

    def validate(self) -> None:
        """Raise :class:`InvalidInputError` on values training cannot use."""
        if self.reward not in REWARDS:
            raise InvalidInputError(f"--reward must be one of {', '.join(REWARDS)}, got {self.reward!r}")
        if self.uses_vlm and not self.model:
            raise InvalidInputError("--reward vlm needs --model (e.g. --model ViT-L-14 or rmeval-tiny).")
        if self.time_limit not in TIME_LIMITS:
            raise InvalidInputError(f"--time-limit must be one of {', '.join(TIME_LIMITS)}, got {self.time_limit!r}")
        if not isinstance(self.reward_threads, int) or isinstance(self.reward_threads, bool) or self.reward_threads < 0:
            raise InvalidInputError(f"--threads must be a positive integer, got {self.reward_threads!r}")
        if self.fit not in ("crop", "squash", "pad"):
            raise InvalidInputError(f"--fit must be one of crop, squash, pad, got {self.fit!r}")
        if self.judge_question is not None:
            from rmeval.judges.question import check_template

            check_template(self.judge_question)
        if self.vec_env not in VEC_ENVS:
            raise InvalidInputError(f"vec_env must be one of {', '.join(VEC_ENVS)}, got {self.vec_env!r}")
        for name in ("total_steps", "episode_steps", "train_freq", "checkpoint_every", "n_envs", "embed_batch_size", "stats_window"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidInputError(f"{_flag(name)} must be a positive integer, got {value!r}")
        for name in ("learning_starts", "gradient_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidInputError(f"{name} must be a non-negative integer, got {value!r}")
        if not (isinstance(self.alpha, (int, float)) and math.isfinite(self.alpha) and 0.0 <= self.alpha <= 1.0):
            raise InvalidInputError(f"--alpha must lie in [0, 1], got {self.alpha!r}")
        if self.alpha > 0 and not self.baseline_prompts:
            raise InvalidInputError("--alpha > 0 needs baseline prompts; the task has none.")
        if not self.goal_prompts:
            raise InvalidInputError("the task has no goal prompt")
        if self.uses_vlm:
            sched = self.schedule
            if not isinstance(self.reward_batch, int) or self.reward_batch < 1:
                raise InvalidInputError(f"--reward-batch must be a positive integer, got {self.reward_batch!r}")
            if self.reward_batch % self.n_envs:
                raise InvalidInputError(
                    f"--reward-batch {self.reward_batch} does not fit --envs {self.n_envs}: each step of the "
                    f"{self.n_envs} environments renders {self.n_envs} frames together, so the reward batch "
                    f"must be a multiple of {self.n_envs} (e.g. {max(1, self.reward_batch // self.n_envs) * self.n_envs})."
                )
            if self.reward_batch > sched.steps_per_round:
                raise InvalidInputError(
                    f"--reward-batch {self.reward_batch} is larger than the {sched.steps_per_round} frames "
                    f"collected between two update rounds ({sched.train_freq} vectorised steps x {self.n_envs} "
                    f"environments); rewards are needed before each round, so use at most "
                    f"{sched.steps_per_round}."
                )
        buffer_size = int(self.algo_kwargs.get("buffer_size", 1_000_000))
        if buffer_size // self.n_envs < self.schedule.train_freq:
            raise InvalidInputError(
                f"the replay buffer ({buffer_size} transitions) is smaller than one round of "
                f"experience ({self.schedule.steps_per_round} steps); rewards could not be written back."
            )

    def to_dict(self) -> dict[str, Any]:
        data = {"format": CONFIG_FORMAT, "version": CONFIG_VERSION}
        data.update(dataclasses.asdict(self))
        sched = self.schedule
        data["effective_schedule"] = {
            "sb3_train_freq": sched.train_freq,
            "sb3_gradient_steps": sched.gradient_steps,
            "env_steps_per_round": sched.steps_per_round,
            "env_steps_per_update": sched.env_steps_per_update if sched.gradient_steps else None,
        }
        return data

    @classmethod
    def from_dict(cls, data: Any, *, source: str = CONFIG_FILE) -> RunConfig:
        if not isinstance(data, dict):
            raise RmevalError(f"{source}: not a JSON object; is this an rmeval run folder?")
        if data.get("format") != CONFIG_FORMAT:
            raise RmevalError(f"{source}: 'format' is {data.get('format')!r}, expected {CONFIG_FORMAT!r}")
        if data.get("version") not in READABLE_VERSIONS:
            raise RmevalError(f"{source}: unsupported run config version {data.get('version')!r} "
                              f"(this rmeval reads {', '.join(map(str, READABLE_VERSIONS))})")
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        missing = sorted(required - set(data))
        if missing:
            raise RmevalError(f"{source}: missing keys {missing}")
        values = {k: v for k, v in data.items() if k in names}
        if data["version"] == 1:
            # Version 1 counted the schedule in environment steps: convert, so the run resumes unchanged.
            try:
                old = env_step_schedule(int(values["train_freq"]), int(values["gradient_steps"]),
                                        int(values.get("n_envs", 1)))
            except (TypeError, ValueError, ZeroDivisionError):
                raise RmevalError(f"{source}: train_freq, gradient_steps and n_envs must be positive integers") from None
            values["train_freq"], values["gradient_steps"] = old.train_freq, old.gradient_steps
        try:
            return cls(**values)
        except TypeError as exc:
            raise RmevalError(f"{source}: {exc}") from None

    def save(self, run_dir: Path) -> Path:
        from rmeval.fileio import write_json

        path = Path(run_dir) / CONFIG_FILE
        write_json(path, self.to_dict(), what="the run configuration")
        return path


def _judge_question(model_id: str | None, question: str | None) -> str | None:
    """The question template of a judge reward (checked; the default when not given); None otherwise."""
    from rmeval.judges.names import is_judge_name
    from rmeval.judges.question import question_template

    if model_id is None or not is_judge_name(model_id):
        if question is not None:
            raise InvalidInputError("--question is for judge: reward models (--model judge:...); "
                                    f"{model_id or 'a ground-truth run'} has no question; leave it out.")
        return None
    return question_template(question)


def new_config(
    env: str,
    *,
    task: str | None = None,
    preset: str = "paper",
    reward: str = "vlm",
    model: str | None = None,
    alpha: float = 0.0,
    n_envs: int | None = None,
    reward_batch: int | None = None,
    time_limit: str | None = None,
    reward_threads: int = 0,
    fit: str | None = None,
    look: str | None = None,
    total_steps: int | None = None,
    episode_steps: int | None = None,
    checkpoint_every: int | None = None,
    learning_starts: int | None = None,
    embed_batch_size: int = 64,
    precision: str = "fp32",
    device: str = "auto",
    seed: int = 0,
    vec_env: str = "auto",
    command: str = "",
    question: str | None = None,
) -> RunConfig:
    """A validated configuration from a preset and overrides (what ``rmeval train`` builds).

    ``model`` is stored as given; :func:`rmeval.registry.parse_model` checks its syntax
    here, and whether its weights exist is checked when it loads. ``question``: a judge's
    question template with ``{goal}`` (default for a judge: the default template), stored
    as ``judge_question``; refused for other models.
    """
    import datetime as _dt
    import platform

    from rmeval import __version__
    from rmeval.envs.catalogue import get_env
    from rmeval.envs.tasks import get_task
    from rmeval.training.presets import get_preset

    tenv = get_env(env)
    task_name = task or tenv.default_task
    if task_name is None:
        from rmeval.envs.tasks import list_tasks

        names = ", ".join(t.name for t in list_tasks(env_id=tenv.id))
        raise InvalidInputError(f"--env {tenv.name} needs --task; one of: {names}.")
    the_task = get_task(task_name)
    if the_task.env_id != tenv.id:
        raise InvalidInputError(
            f"task {the_task.name!r} runs in {the_task.env_id}, not in --env {tenv.name} ({tenv.id})."
        )
    if reward not in REWARDS:
        raise InvalidInputError(f"--reward must be one of {', '.join(REWARDS)}, got {reward!r}")
    model_id: str | None = None
    random_weights = False
    if reward == "vlm":
        if not model:
            raise InvalidInputError("--reward vlm needs --model (e.g. --model ViT-L-14, or rmeval-tiny for a smoke run).")
        from rmeval.registry import parse_model

        ref = parse_model(model)
        model_id, random_weights = ref.id, ref.is_random
    elif model:
        raise InvalidInputError("--model is for --reward vlm; a --reward ground-truth run uses the environment's reward.")
    p = get_preset(tenv.name, preset)
    env_kwargs = dict(tenv.env_kwargs)
    if look is not None:
        if look not in tenv.looks:
            raise InvalidInputError(f"--look {look!r} does not exist for {tenv.name}; choose one of "
                                    f"{', '.join(tenv.looks)}.")
        if len(tenv.looks) > 1:
            env_kwargs["look"] = look
    if tenv.algo != p.algo:  # pragma: no cover - presets are consistent
        raise InvalidInputError(f"preset {p.name} uses {p.algo}, {tenv.name} trains with {tenv.algo}")
    cfg = RunConfig(
        env=tenv.name,
        env_id=tenv.id,
        env_kwargs=env_kwargs,
        task=the_task.name,
        goal_prompts=[the_task.goal_prompt],
        baseline_prompts=[the_task.baseline_prompt],
        reward=reward,
        model=model_id,
        random_weights=random_weights,
        alpha=float(alpha),
        preset=p.name,
        preset_notes=p.notes,
        algo=p.algo,
        total_steps=int(total_steps if total_steps is not None else p.total_steps),
        episode_steps=int(episode_steps if episode_steps is not None else p.episode_steps),
        learning_starts=int(learning_starts if learning_starts is not None else p.learning_starts),
        train_freq=p.train_freq,
        gradient_steps=p.gradient_steps,
        checkpoint_every=int(checkpoint_every if checkpoint_every is not None else p.checkpoint_every),
        algo_kwargs=p.algo_kwargs,
        n_envs=int(n_envs if n_envs is not None else p.n_envs),
        time_limit=str(time_limit or p.time_limit),
        reward_threads=int(reward_threads),
        fit=_fit(fit),
        vec_env=vec_env,
        reward_batch=0,
        embed_batch_size=int(embed_batch_size),
        precision=precision,
        device=device or "auto",
        seed=int(seed),
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        command=command,
        versions=_versions(),
        judge_question=_judge_question(model_id, question),
    )
    cfg.versions["python"] = platform.python_version()
    cfg.versions["rmeval"] = __version__
    if cfg.n_envs < 1:
        raise InvalidInputError(f"--envs must be at least 1, got {cfg.n_envs}")
    if reward == "vlm":
        if reward_batch is None:
            # The preset's batch when it fits this many environments, else one round.
            reward_batch = p.reward_batch if p.reward_batch and cfg.n_envs == p.n_envs else None
        cfg.reward_batch = int(reward_batch) if reward_batch is not None else cfg.schedule.steps_per_round
    elif reward_batch is not None:
        raise InvalidInputError("--reward-batch is for --reward vlm (ground-truth rewards need no frames).")
    cfg.validate()
    return cfg


def _fit(fit: str | None) -> str:
    from rmeval.preprocess import resolve_fit

    return resolve_fit(fit, rendered=True)  # training frames are rendered by rmeval


def default_reward_threads(n_envs: int, vec_env: str = "auto") -> int:
    """Torch CPU threads for the reward model when ``--threads`` is not given: half the usable cores.

    The reward model shares the cores with the environments (worker processes rendering
    frames when ``n_envs > 1``, or this process), the agent's updates and whatever else runs
    on the machine; torch's thread pool waits for its slowest thread at every parallel
    region, so a thread that loses its core stalls them all (on a loaded 2-core machine, 2
    threads scored 96 frames/s where 1 scored 2,471: benchmarks/README.md). Half the cores
    leaves room for the rest; ``n_envs`` and ``vec_env`` are accepted for a finer rule later.
    """
    import os

    del n_envs, vec_env
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // 2)


def _versions() -> dict[str, str]:
    from importlib import metadata

    out: dict[str, str] = {}
    for dist in ("stable-baselines3", "torch", "gymnasium", "open_clip_torch", "mujoco", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _flag(name: str) -> str:
    return {"total_steps": "--steps", "n_envs": "--envs", "embed_batch_size": "--batch-size",
            "checkpoint_every": "--checkpoint-every", "episode_steps": "--episode-steps"}.get(name, name)


def load_config(run_dir: str | Path) -> RunConfig:
    """The configuration of the run in ``run_dir``; a clear error when it is not a run folder."""
    root = Path(run_dir).expanduser()
    path = root / CONFIG_FILE
    if not root.is_dir():
        raise RmevalError(f"run folder {root} does not exist")
    if not path.is_file():
        raise RmevalError(f"{root} is not an rmeval run folder (no {CONFIG_FILE})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RmevalError(f"cannot read {path}: {exc}") from None
    return RunConfig.from_dict(data, source=str(path))


__all__ = ["CONFIG_FILE", "REWARDS", "VEC_ENVS", "RunConfig", "default_reward_threads", "load_config"]
