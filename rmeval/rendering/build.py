"""From a render job to a dataset (format v1): plan the index, then render and write.

:func:`plan_dataset` turns a :class:`RenderJob` into a :class:`RenderPlan`: the full index
(episode, step, label, state columns, extra columns) and the metadata, computed
deterministically from the seed without drawing a frame. :func:`write_plan` then renders
every row's state (with one or several worker processes; the frames do not depend on the
number) and writes the dataset atomically with :func:`rmeval.dataset.write_dataset`.

Three kinds of job (``mode``):

``sweep`` (CartPole, MountainCar)
    a grid over state parameters, others fixed or randomised (:mod:`~rmeval.rendering.sweep`);
    labels from the environment's goal predicate.
``rollout`` (all three)
    episodes with random actions or a policy (:mod:`~rmeval.rendering.rollouts`).
``poses`` (Humanoid)
    perturbed constructed poses (:mod:`~rmeval.rendering.poses`), optionally followed by
    rollout episodes.

Humanoid datasets are labelled by the chosen task's pose predicate (``label`` and
``auto_label``, left missing for tasks without one) and carry every predicate's label as
``auto_<task>`` columns, so human labels can be compared with each predicate.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rmeval import __version__
from rmeval.envs.catalogue import get_env
from rmeval.errors import InvalidInputError
from rmeval.rendering.poses import PoseSetSpec, pose_set_states, predicate_columns
from rmeval.rendering.renderers import RenderSettings, open_renderer, state_params
from rmeval.rendering.rollouts import Policy, RolloutSpec, simulate_rollouts
from rmeval.rendering.sweep import SweepSpec, goal_labels, range_summary, sweep_index

MODES: tuple[str, ...] = ("sweep", "rollout", "poses")

# Environment facts (episode lengths, the ids recorded in ``metadata.json``: of the state
# renderers for sweeps, of rmeval's gymnasium environments for rollouts and pose sets)
# come from the catalogue, rmeval.envs.catalogue.

#: Value of the ``policy`` column for constructed poses.
CONSTRUCTED = "constructed"


@dataclass
class RenderJob:
    """Everything ``rmeval render`` was asked for.

    Attributes:
        settings: how frames look (environment, look, camera, size, quality).
        sweep / rollouts / poses: what to render (see the module docstring); a sweep
            excludes the others, poses may come with rollouts.
        task: task name (:func:`rmeval.envs.tasks.get_task`); required for the Humanoid.
        seed: seed of every random choice.
        policy: observation -> action for rollouts (None: random actions).
        command: the command line that rebuilds the dataset (stored in the metadata).
    """

    settings: RenderSettings
    sweep: SweepSpec | None = None
    rollouts: RolloutSpec | None = None
    poses: PoseSetSpec | None = None
    task: str | None = None
    seed: int = 0
    policy: Policy | None = None
    command: str = ""

    @property
    def mode(self) -> str:
        if self.sweep is not None:
            return "sweep"
        return "poses" if self.poses is not None else "rollout"


@dataclass
class RenderPlan:
    """A dataset before rendering: the index and the metadata's parts.

    ``index`` has ``episode``, ``step``, ``label`` (``Int8``), the state columns and any
    extra columns, one row per frame, without ``frame``; ``render_extra`` goes into the
    metadata's ``render`` object after the renderer's own settings.
    """

    settings: RenderSettings
    mode: str
    index: pd.DataFrame
    state_columns: list[str]
    env_id: str
    task: str
    goal_prompts: list[str]
    baseline_prompts: list[str]
    label_rule: str
    description: str
    render_extra: dict[str, Any] = field(default_factory=dict)
    command: str = ""

    def label_counts(self) -> dict[str, tuple[int, int]]:
        """Label column -> (goal frames, labelled frames), for ``label`` and ``auto_*``."""
        out: dict[str, tuple[int, int]] = {}
        for col in ["label", *[c for c in self.index.columns if c.startswith("auto_")]]:
            s = self.index[col]
            out[col] = (int((s == 1).sum()), int(s.notna().sum()))
        return out


def _check_job(job: RenderJob, env: str) -> None:
    given = [name for name, spec in (("--sweep", job.sweep), ("--episodes", job.rollouts), ("--poses", job.poses)) if spec is not None]
    if not given:
        raise InvalidInputError(
            "say what to render: --sweep NAME=RANGE (CartPole, MountainCar), --episodes N "
            "(rollouts) or --task TASK --poses N (Humanoid pose sets)."
        )
    if job.sweep is not None and len(given) > 1:
        raise InvalidInputError(f"a sweep cannot be combined with {given[1]}; render them as separate datasets.")
    if job.poses is not None and env != "humanoid":
        raise InvalidInputError(f"--poses builds Humanoid pose sets; {env} has none (use --sweep or --episodes).")
    if not isinstance(job.seed, int) or job.seed < 0:
        raise InvalidInputError(f"--seed must be a non-negative integer, got {job.seed!r}.")


def _task(env: str, name: str | None) -> Any:
    from rmeval.envs.tasks import get_task, list_tasks

    env_id = get_env(env).id
    if name is None:
        if env == "humanoid":
            names = ", ".join(t.name for t in list_tasks(env_id))
            raise InvalidInputError(f"the humanoid needs --task (it sets the prompts and the labels); one of: {names}.")
        return get_task(env)
    task = get_task(name)
    if task.env_id != env_id:
        names = ", ".join(t.name for t in list_tasks(env_id))
        raise InvalidInputError(f"task {task.name!r} is not a {env} task; {env} tasks: {names}.")
    return task


def _humanoid_labels(index: pd.DataFrame, task: Any, names: tuple[str, ...]) -> pd.DataFrame:
    """Add ``label``, ``auto_label`` and every ``auto_<task>`` column to a Humanoid index."""
    auto = predicate_columns(index[list(names)].to_numpy(dtype=np.float64))
    out = index.reset_index(drop=True).copy()
    if task.predicate is not None:
        chosen = auto[f"auto_{task.predicate}"]
    else:
        chosen = pd.array([pd.NA] * len(out), dtype="Int8")
    out["label"] = pd.array(chosen, dtype="Int8")
    out["auto_label"] = pd.array(chosen, dtype="Int8")
    for col in auto.columns:
        out[col] = auto[col].to_numpy()
        out[col] = out[col].astype("Int8")
    return out


def plan_dataset(job: RenderJob) -> RenderPlan:
    """The index and metadata of the dataset ``job`` describes (no frames drawn)."""
    settings = job.settings.resolved()
    env = settings.env
    _check_job(job, env)
    task = _task(env, job.task)
    params = state_params(env)
    names = tuple(params)
    extra: dict[str, Any] = {}

    if job.sweep is not None:
        sweep = job.sweep
        index = sweep_index(env, sweep, params)
        extra["sweeps"] = {k: range_summary(v) for k, v in sweep.sweeps.items()}
        if sweep.randomise:
            extra["randomise"] = {k: list(v) for k, v in sweep.randomise.items()}
            extra["seed"] = sweep.seed
        if sweep.repeats > 1:
            extra["repeats"] = sweep.repeats
        title = "CartPole" if env == "cartpole" else f"MountainCar ({settings.look} look)"
        description = f"{title} states swept over {', '.join(sweep.sweeps)}"
        if sweep.randomise:
            description += f", with {', '.join(sweep.randomise)} drawn at random per frame"
        description += f"; rendered by rmeval {__version__}."
        env_id = get_env(env).state_renderer_id
    else:
        parts: list[pd.DataFrame] = []
        episode_offset = 0
        if job.poses is not None:
            poses = job.poses
            states = pose_set_states(poses)
            states.insert(0, "episode", 0)
            states.insert(1, "step", np.arange(len(states)))
            states["source"] = "pose"
            states["policy"] = CONSTRUCTED
            states["env_reward"] = math.nan
            parts.append(states)
            episode_offset = 1
            extra["poses"] = poses.to_dict()
        if job.rollouts is not None:
            rollouts = simulate_rollouts(env, job.rollouts, names, policy=job.policy, look=settings.look)
            rollouts["episode"] += episode_offset
            if env == "humanoid":
                rollouts["source"] = "rollout"
                rollouts["pose"] = ""
                rollouts["yaw_deg"] = math.nan
            parts.append(rollouts)
            extra["rollouts"] = job.rollouts.to_dict()
            if env == "mountaincar":
                # the car's position is its progress towards the goal (x >= 0.45): `rmeval bench` reads this
                extra["progress_column"] = "x"
        extra["seed"] = job.seed
        index = pd.concat(parts, ignore_index=True)
        index["episode"] = index["episode"].astype(np.int64)
        index["step"] = index["step"].astype(np.int64)
        if env == "humanoid":
            index = _humanoid_labels(index, task, names)
            # (no episode_return / episode_success: the bundled pose sets' rebuild commands keep their columns)
            extras = ["source", "pose", "yaw_deg", "policy", "env_reward", "auto_label",
                      *[c for c in index.columns if c.startswith("auto_") and c != "auto_label"]]
        else:
            index["label"] = pd.array(goal_labels(env, index), dtype="Int8")
            extras = ["policy", "env_reward", "episode_return", "episode_success"]
        index = index[["episode", "step", "label", *names, *extras]]
        env_id = get_env(env).id
        pieces = []
        if job.poses is not None:
            pieces.append(f"{job.poses.count} perturbed constructed poses")
        if job.rollouts is not None:
            r = job.rollouts
            stride = f", every {r.every}th kept" if r.every > 1 else ""
            if "," in r.policy:
                pieces.append(f"{r.episodes} episodes of {r.steps} steps{stride} per scripted policy ({r.policy})")
            else:
                pieces.append(f"{r.episodes} {r.policy}-action episodes of {r.steps} steps{stride}")
        look = f" ({settings.look} look)" if env != "cartpole" else ""
        description = f"{env_id}{look}, task {task.title!r}: {' and '.join(pieces)}; rendered by rmeval {__version__}."

    if env == "cartpole":
        from rmeval.envs import cartpole as mod
    elif env == "mountaincar":
        from rmeval.envs import mountaincar as mod  # type: ignore[no-redef]
    if env == "humanoid":
        goal, baseline = [task.goal_prompt], [task.baseline_prompt]
        label_rule = (
            f"automatic pose predicate {task.predicate!r} (rmeval.envs.pose_predicates): "
            f"{task.goal_rule}; a first estimate that human labels override"
            if task.predicate else ""
        )
    else:
        goal, baseline, label_rule = [mod.GOAL_PROMPT], [mod.BASELINE_PROMPT], mod.GOAL_RULE
    return RenderPlan(
        settings=settings,
        mode=job.mode,
        index=index.reset_index(drop=True),
        state_columns=list(names),
        env_id=env_id,
        task=task.name,
        goal_prompts=goal,
        baseline_prompts=baseline,
        label_rule=label_rule,
        description=description,
        render_extra=extra,
        command=job.command,
    )


def write_plan(
    plan: RenderPlan,
    out: str | Path,
    *,
    name: str = "",
    workers: int = 1,
    overwrite: bool = False,
    progress: bool | None = None,
    log: Callable[[str], None] = lambda msg: None,
) -> Any:
    """Render the plan's frames and write the dataset; return it (a :class:`rmeval.dataset.Dataset`)."""
    from rmeval.dataset import DatasetMetadata, write_dataset
    from rmeval.rendering.parallel import render_frames

    if not isinstance(workers, int) or workers < 1:
        raise InvalidInputError(f"--workers must be a positive integer, got {workers!r}.")
    out_path = Path(out).expanduser()
    if out_path.exists() and not overwrite:
        # fail before rendering anything (write_dataset checks again)
        from rmeval.errors import DatasetError

        raise DatasetError(
            f"{out_path.absolute()} exists; pass --overwrite to replace it, or choose another directory"
        )
    renderer = open_renderer(plan.settings)
    try:
        render: dict[str, Any] = {**renderer.settings(), **plan.render_extra}
        if plan.command:
            render["command"] = plan.command
        metadata = DatasetMetadata(
            env=plan.env_id,
            task=plan.task,
            goal_prompts=list(plan.goal_prompts),
            baseline_prompts=list(plan.baseline_prompts),
            render=render,
            state_columns=list(plan.state_columns),
            label_rule=plan.label_rule,
            name=name,
            description=plan.description,
        )
        states = plan.index[plan.state_columns].to_dict(orient="records")
        log(f"rendering {len(states)} frames with {workers} worker{'s' if workers > 1 else ''}")
        frames = render_frames(plan.settings, states, workers=workers, renderer=renderer, progress=progress)
        with contextlib.closing(frames):
            return write_dataset(out, frames, plan.index, metadata, overwrite=overwrite)
    finally:
        renderer.close()
