"""rmeval/MountainCarContinuous-v0: no early termination, absorbing goal, two looks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rmeval.envs.registration  # noqa: F401  (registers the ids)
from rmeval.envs import mountaincar
from rmeval.envs.mountaincar import (
    BASELINE_PROMPT,
    GOAL_PROMPT,
    GOAL_X,
    STATE_PARAMS,
    MountainCarStateRenderer,
    is_goal,
)
from rmeval.envs.mountaincar_env import GOAL_REWARD, AbsorbingGoalMountainCarEnv
from rmeval.envs.mountaincar_texture import FLAG_X, draw_textured_frame
from rmeval.errors import InvalidInputError

ENV_ID = "rmeval/MountainCarContinuous-v0"


def _pump(obs: np.ndarray) -> np.ndarray:
    """Energy-pumping policy: push in the direction of motion (reaches the goal in ~106 steps)."""
    return np.array([1.0 if obs[1] >= 0 else -1.0], dtype=np.float32)


def _first_termination_of_original(seed: int) -> int:
    env = gym.make("MountainCarContinuous-v0")
    obs, _ = env.reset(seed=seed)
    for step in range(1, 1000):
        obs, _, terminated, _, _ = env.step(_pump(obs))
        if terminated:
            env.close()
            return step
    raise AssertionError("the pumping policy should reach the goal")


def test_goal_is_absorbing_and_episode_runs_to_the_time_limit() -> None:
    original_end = _first_termination_of_original(seed=0)
    assert original_end < 150

    env = gym.make(ENV_ID)
    obs, info = env.reset(seed=0)
    assert not info["goal_reached"]
    positions, rewards, terminated, truncated, reached = [], [], [], [], []
    for _ in range(200):
        # after the goal, try hard to drive away: the state must not change
        action = _pump(obs) if not reached or not reached[-1] else np.array([-1.0], dtype=np.float32)
        obs, reward, term, trunc, info = env.step(action)
        positions.append(obs.copy())
        rewards.append(reward)
        terminated.append(term)
        truncated.append(trunc)
        reached.append(info["goal_reached"])
    env.close()

    assert not any(terminated)
    assert truncated == [False] * 199 + [True]
    first = reached.index(True)
    assert first + 1 == original_end  # reached on the step the original terminated
    assert all(reached[first:]) and not any(reached[:first])
    at_goal = np.array(positions[first:])
    assert at_goal[0, 0] >= GOAL_X
    np.testing.assert_array_equal(at_goal[:, 0], at_goal[0, 0])  # position fixed
    np.testing.assert_array_equal(at_goal[:, 1], 0.0)  # at rest
    assert rewards[first:] == [GOAL_REWARD] * (200 - first)
    assert rewards[:first] == [0.0] * first


@pytest.mark.parametrize("look", ["textured", "standard"])
def test_passes_gymnasium_env_checker(look: str) -> None:
    from gymnasium.utils.env_checker import check_env

    env = gym.make(ENV_ID, look=look)
    check_env(env.unwrapped)
    env.close()


def test_random_policy_never_terminates_and_gets_no_reward() -> None:
    env = gym.make(ENV_ID)
    env.reset(seed=5)
    env.action_space.seed(5)
    for step in range(200):
        _, reward, term, trunc, info = env.step(env.action_space.sample())
        assert not term
        assert trunc == (step == 199)
        assert reward == (GOAL_REWARD if info["goal_reached"] else 0.0)
    env.close()


@pytest.mark.parametrize(
    ("kwargs", "shape"),
    [
        ({}, (400, 400, 3)),
        ({"look": "standard"}, (400, 600, 3)),
        ({"look": "textured", "width": 224, "height": 224}, (224, 224, 3)),
        ({"look": "standard", "width": 224, "height": 224}, (224, 224, 3)),
        ({"look": "textured", "width": 600, "height": 400}, (400, 600, 3)),
    ],
)
def test_render_sizes(kwargs: dict, shape: tuple[int, int, int]) -> None:
    env = gym.make(ENV_ID, **kwargs)
    env.reset(seed=0)
    frame = env.render()
    env.close()
    assert frame.shape == shape and frame.dtype == np.uint8


@pytest.mark.parametrize("look", ["textured", "standard"])
def test_same_seed_same_frame(look: str) -> None:
    frames = []
    for _ in range(2):
        env = gym.make(ENV_ID, look=look)
        env.reset(seed=7)
        env.action_space.seed(7)
        for _ in range(25):
            env.step(env.action_space.sample())
        frames.append(env.render())
        env.close()
    np.testing.assert_array_equal(frames[0], frames[1])


def test_bad_options_raise() -> None:
    with pytest.raises(InvalidInputError, match="look"):
        AbsorbingGoalMountainCarEnv(look="photoreal")
    with pytest.raises(InvalidInputError, match="width"):
        AbsorbingGoalMountainCarEnv(width=3)


# ---- state renderer --------------------------------------------------------------------


def test_state_renderer_interface_and_constants() -> None:
    assert set(STATE_PARAMS) == {"x", "velocity"}
    assert GOAL_PROMPT == "a car at the peak of the mountain, next to the yellow flag"
    assert BASELINE_PROMPT == "a car in the mountain"
    assert "0.45" in mountaincar.GOAL_RULE
    np.testing.assert_array_equal(is_goal([-0.5, 0.44, 0.45, 0.6]), [False, False, True, True])
    with MountainCarStateRenderer() as renderer:
        frame = renderer.render({"x": 0.5})
        many = renderer.render_many([{"x": -1.2}, {"x": 0.0, "velocity": 0.01}, {"x": 0.6}])
        settings = renderer.settings()
    assert frame.shape == (400, 400, 3) and frame.dtype == np.uint8
    assert many.shape == (3, 400, 400, 3)
    assert settings["look"] == "textured" and settings["width"] == 400


def test_state_renderer_rejects_bad_states() -> None:
    with MountainCarStateRenderer() as renderer:
        with pytest.raises(InvalidInputError, match="angle"):
            renderer.render({"angle": 0.0})
        with pytest.raises(InvalidInputError, match="x must be in"):
            renderer.render({"x": 0.9})
    with pytest.raises(InvalidInputError, match="look"):
        MountainCarStateRenderer(look="fancy")


def test_standard_renderer_matches_environment_frame() -> None:
    env = gym.make(ENV_ID, look="standard")
    env.reset(seed=2)
    for _ in range(10):
        obs, *_ = env.step(np.array([0.5], dtype=np.float32))
    env_frame = env.render()
    env.close()
    with MountainCarStateRenderer(look="standard") as renderer:
        frame = renderer.render({"x": float(obs[0]), "velocity": float(obs[1])})
    assert frame.shape == (400, 600, 3)
    np.testing.assert_array_equal(frame, env_frame)


def test_velocity_does_not_change_the_frame_but_position_does() -> None:
    a = draw_textured_frame(-0.3, 224, 224)
    with MountainCarStateRenderer(width=224, height=224) as renderer:
        b = renderer.render({"x": -0.3, "velocity": 0.05})
        c = renderer.render({"x": 0.3})
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 0.5


def _yellow(frame: np.ndarray) -> np.ndarray:
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return (r > 200) & (g > 160) & (b < 90)


def _red(frame: np.ndarray) -> np.ndarray:
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return (r > 150) & (g < 70) & (b < 70)


def test_textured_frame_has_flag_at_peak_and_car_moves_towards_it() -> None:
    from rmeval.envs.mountaincar_texture import VIEW_X_RANGE

    size = 400
    far = draw_textured_frame(-0.5, size, size)
    near = draw_textured_frame(0.47, size, size)
    # a yellow flag right of the middle, in the upper part of the frame
    ys, xs = np.nonzero(_yellow(far))
    assert len(xs) > 100
    flag_col = (FLAG_X - VIEW_X_RANGE[0]) / (VIEW_X_RANGE[1] - VIEW_X_RANGE[0]) * size
    assert abs(np.median(xs) - flag_col) < 0.06 * size
    assert np.median(ys) < 0.5 * size
    # a red car: its centre follows x and sits next to the flag at the goal
    car_far = np.nonzero(_red(far))[1].mean()
    car_near = np.nonzero(_red(near))[1].mean()
    assert car_far < 0.45 * size
    assert abs(car_near - flag_col) < 0.1 * size
    # sky blue at the top, no car or flag there
    top = far[:10].reshape(-1, 3).astype(int)
    assert (top[:, 2] > top[:, 0] + 60).mean() > 0.9


def test_textured_drawing_is_deterministic() -> None:
    from rmeval.envs import mountaincar_texture

    a = draw_textured_frame(0.1, 160, 120)
    mountaincar_texture._background.cache_clear()
    mountaincar_texture._car_sprite.cache_clear()
    b = draw_textured_frame(0.1, 160, 120)
    np.testing.assert_array_equal(a, b)
