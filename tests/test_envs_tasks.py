"""The task registry: the paper's ten tasks, prompts and predicates."""

from __future__ import annotations

import dataclasses

import pytest

from rmeval.envs import ENV_IDS, cartpole, mountaincar
from rmeval.envs.tasks import HUMANOID_BASELINE_PROMPT, Task, get_task, list_tasks, task_names
from rmeval.errors import InvalidInputError

PAPER_TABLE_3 = {
    "cartpole": ("pole vertically upright on top of the cart", "pole and cart"),
    "mountaincar": ("a car at the peak of the mountain, next to the yellow flag", "a car in the mountain"),
    "kneeling": ("a humanoid robot kneeling", "a humanoid robot"),
    "lotus_position": ("a humanoid robot seated down, meditating in the lotus position", "a humanoid robot"),
    "standing_up": ("a humanoid robot standing up", "a humanoid robot"),
    "arms_raised": ("a humanoid robot standing up, with both arms raised", "a humanoid robot"),
    "doing_splits": ("a humanoid robot practicing gymnastics, doing the side splits", "a humanoid robot"),
    "hands_on_hips": ("a humanoid robot standing up with hands on hips", "a humanoid robot"),
    "arms_crossed": ("a humanoid robot standing up, with its arms crossed", "a humanoid robot"),
    "standing_on_one_leg": ("a humanoid robot standing up on one leg", "a humanoid robot"),
}


def test_all_paper_tasks_with_their_prompts() -> None:
    tasks = list_tasks()
    assert [t.name for t in tasks] == list(PAPER_TABLE_3)
    for task in tasks:
        assert (task.goal_prompt, task.baseline_prompt) == PAPER_TABLE_3[task.name]
        assert task.env_id in ENV_IDS
        assert task.goal_rule
    assert len(list_tasks(env_id="rmeval/Humanoid-v0")) == 8
    assert all(t.is_humanoid for t in list_tasks(env_id="rmeval/Humanoid-v0"))
    assert HUMANOID_BASELINE_PROMPT == "a humanoid robot"


def test_prompts_agree_with_environment_modules() -> None:
    assert get_task("cartpole").goal_prompt == cartpole.GOAL_PROMPT
    assert get_task("cartpole").baseline_prompt == cartpole.BASELINE_PROMPT
    assert get_task("mountaincar").goal_prompt == mountaincar.GOAL_PROMPT
    assert get_task("mountaincar").baseline_prompt == mountaincar.BASELINE_PROMPT


def test_predicates_name_existing_functions() -> None:
    from rmeval.envs.pose_predicates import PREDICATES

    for task in list_tasks(env_id="rmeval/Humanoid-v0"):
        # every Humanoid task has a predicate named after it
        assert task.predicate == task.name and task.predicate in PREDICATES
    assert [t.name for t in list_tasks() if t.predicate is None] == []


def test_get_task_is_forgiving_about_spelling_and_strict_about_names() -> None:
    assert get_task("Doing splits").name == "doing_splits"
    assert get_task("  standing-up ").name == "standing_up"
    assert get_task("Lotus position").name == "lotus_position"
    with pytest.raises(InvalidInputError) as info:
        get_task("backflip")
    message = str(info.value)
    assert "backflip" in message
    for name in task_names():
        assert name in message


def test_tasks_are_frozen() -> None:
    task = get_task("kneeling")
    assert isinstance(task, Task)
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.goal_prompt = "x"  # type: ignore[misc]
    assert task.paper_success_rate == 1.0
    assert get_task("arms_crossed").paper_success_rate == 0.0
