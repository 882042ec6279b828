"""The paper's tasks as data: environment, goal and baseline prompts, goal rule.

Ten tasks: CartPole, MountainCar and the eight Humanoid tasks of the paper's Table 3
(prompts copied verbatim; the paper did no prompt engineering). Each :class:`Task` says
which gymnasium environment it runs in (:mod:`rmeval.envs` ids), how a state is judged a
goal state, and, for the Humanoid, which automatic predicate of
:mod:`rmeval.envs.pose_predicates` gives first-estimate labels (every task has one;
``None`` would mean human labels only). ``paper_success_rate`` is the human-rated
success of the paper's ViT-bigG-14 agent (Table 1; classic-control tasks: not reported
as a rate).

>>> get_task("kneeling").goal_prompt
'a humanoid robot kneeling'
>>> [t.name for t in list_tasks(env_id="rmeval/CartPole-v0")]
['cartpole']

This module imports nothing but the standard library and the catalogue
(:mod:`rmeval.envs.catalogue`), which gives the environment ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from rmeval.envs.catalogue import get_env
from rmeval.errors import InvalidInputError

_HUMANOID_ID = get_env("humanoid").id

HUMANOID_BASELINE_PROMPT = "a humanoid robot"


@dataclass(frozen=True)
class Task:
    """One task: where it runs, how it is specified in words, and what counts as success.

    Attributes:
        name: identifier (lower case, underscores), e.g. ``"doing_splits"``.
        title: human-readable name, as in the paper's tables.
        env_id: gymnasium id of the environment (``rmeval/...``).
        goal_prompt: the paper's goal prompt (Table 3).
        baseline_prompt: the paper's baseline prompt (Table 3).
        goal_rule: in words, when a state is a goal state.
        predicate: name of the automatic goal predicate (a key of
            :data:`rmeval.envs.pose_predicates.PREDICATES` for the Humanoid, or
            ``"cartpole.is_goal"`` / ``"mountaincar.is_goal"``); ``None`` when only a
            human can label.
        paper_success_rate: the paper's human-rated success rate (Table 1), or ``None``.
    """

    name: str
    title: str
    env_id: str
    goal_prompt: str
    baseline_prompt: str
    goal_rule: str
    predicate: str | None = None
    paper_success_rate: float | None = None

    @property
    def is_humanoid(self) -> bool:
        """Whether the task runs in the Humanoid environment."""
        return self.env_id == _HUMANOID_ID


def _humanoid(
    name: str, title: str, goal_prompt: str, goal_rule: str, predicate: str | None, success: float
) -> Task:
    return Task(
        name=name,
        title=title,
        env_id=_HUMANOID_ID,
        goal_prompt=goal_prompt,
        baseline_prompt=HUMANOID_BASELINE_PROMPT,
        goal_rule=goal_rule,
        predicate=predicate,
        paper_success_rate=success,
    )


_TASKS: tuple[Task, ...] = (
    Task(
        name="cartpole",
        title="CartPole",
        env_id=get_env("cartpole").id,
        goal_prompt="pole vertically upright on top of the cart",
        baseline_prompt="pole and cart",
        goal_rule="the pole is within 0.1 rad of vertical (|angle| <= 0.1)",
        predicate="cartpole.is_goal",
    ),
    Task(
        name="mountaincar",
        title="MountainCar",
        env_id=get_env("mountaincar").id,
        goal_prompt="a car at the peak of the mountain, next to the yellow flag",
        baseline_prompt="a car in the mountain",
        goal_rule="the car is at or past x = 0.45, by the flag at the peak",
        predicate="mountaincar.is_goal",
    ),
    _humanoid(
        "kneeling",
        "Kneeling",
        "a humanoid robot kneeling",
        "one or both knees on the ground, trunk upright",
        "kneeling",
        1.00,
    ),
    _humanoid(
        "lotus_position",
        "Lotus position",
        "a humanoid robot seated down, meditating in the lotus position",
        "seated on the ground, legs crossed, trunk upright",
        "lotus_position",
        1.00,
    ),
    _humanoid(
        "standing_up",
        "Standing up",
        "a humanoid robot standing up",
        "upright on its feet",
        "standing_up",
        1.00,
    ),
    _humanoid(
        "arms_raised",
        "Arms raised",
        "a humanoid robot standing up, with both arms raised",
        "standing, both hands above the head",
        "arms_raised",
        1.00,
    ),
    _humanoid(
        "doing_splits",
        "Doing splits",
        "a humanoid robot practicing gymnastics, doing the side splits",
        "legs spread wide apart on the ground, pelvis low, trunk upright",
        "doing_splits",
        1.00,
    ),
    _humanoid(
        "hands_on_hips",
        "Hands on hips",
        "a humanoid robot standing up with hands on hips",
        "standing, both hands resting on the hips",
        "hands_on_hips",
        0.64,
    ),
    _humanoid(
        "arms_crossed",
        "Arms crossed",
        "a humanoid robot standing up, with its arms crossed",
        "standing, arms folded across the chest",
        "arms_crossed",
        0.00,
    ),
    _humanoid(
        "standing_on_one_leg",
        "Standing on one leg",
        "a humanoid robot standing up on one leg",
        "upright, one foot on the ground and the other lifted",
        "standing_on_one_leg",
        0.00,
    ),
)

_BY_NAME: dict[str, Task] = {task.name: task for task in _TASKS}


def _normalise(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def list_tasks(env_id: str | None = None) -> list[Task]:
    """All tasks in the paper's order, or those of one environment id."""
    return [t for t in _TASKS if env_id is None or t.env_id == env_id]


def task_names() -> list[str]:
    """Names accepted by :func:`get_task`."""
    return [t.name for t in _TASKS]


def get_task(name: str) -> Task:
    """The task called ``name`` (case, spaces and hyphens ignored: "Doing splits" works).

    Raises:
        InvalidInputError: no such task; the message lists the known names.
    """
    if not isinstance(name, str):
        raise InvalidInputError(f"a task name must be a string, got {type(name).__name__}.")
    key = _normalise(name)
    task = _BY_NAME.get(key)
    if task is None:
        titles = {_normalise(t.title): t for t in _TASKS}
        task = titles.get(key)
    if task is None:
        raise InvalidInputError(f"unknown task {name!r}; known tasks: {', '.join(task_names())}.")
    return task


__all__ = ["HUMANOID_BASELINE_PROMPT", "Task", "get_task", "list_tasks", "task_names"]
