"""rmeval/CartPole-v0: no early termination, negative reward while the pole is dropped."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import rmeval.envs.registration  # noqa: F401  (registers the ids)
from rmeval.envs import ENV_IDS, register_rmeval_envs
from rmeval.envs.cartpole import GOAL_PROMPT, UPRIGHT_THRESHOLD_RAD, is_goal
from rmeval.envs.cartpole_env import DROPPED_REWARD, UPRIGHT_REWARD, NoTerminationCartPoleEnv

ENV_ID = "rmeval/CartPole-v0"


def test_registration_is_idempotent() -> None:
    register_rmeval_envs()
    register_rmeval_envs()
    for env_id in ENV_IDS:
        assert env_id in gym.registry
    assert gym.spec(ENV_ID).max_episode_steps == 200


def test_passes_gymnasium_env_checker() -> None:
    from gymnasium.utils.env_checker import check_env

    env = gym.make(ENV_ID)
    check_env(env.unwrapped)
    env.close()


def test_make_by_module_prefix() -> None:
    env = gym.make("rmeval.envs.registration:rmeval/CartPole-v0")
    assert isinstance(env.unwrapped, NoTerminationCartPoleEnv)
    env.close()


def _always_push_right(env: gym.Env, steps: int) -> list[tuple[float, bool, bool, dict]]:
    out = []
    for _ in range(steps):
        _, reward, terminated, truncated, info = env.step(1)
        out.append((float(reward), terminated, truncated, info))
    return out


def test_runs_past_the_original_termination_until_the_time_limit() -> None:
    original = gym.make("CartPole-v1")
    original.reset(seed=3)
    original_end = None
    for step in range(1, 201):
        _, _, terminated, _, _ = original.step(1)
        if terminated:
            original_end = step
            break
    original.close()
    assert original_end is not None and original_end < 50  # pushing right drops the pole fast

    env = gym.make(ENV_ID)
    _obs, info = env.reset(seed=3)
    assert info["is_goal"] and not info["pole_dropped"]
    results = _always_push_right(env, 200)
    env.close()
    terminated = [r[1] for r in results]
    truncated = [r[2] for r in results]
    assert not any(terminated)
    assert truncated == [False] * 199 + [True]
    rewards = [r[0] for r in results]
    assert rewards[: original_end - 1] == [UPRIGHT_REWARD] * (original_end - 1)
    assert rewards[original_end - 1] == DROPPED_REWARD  # the step CartPole-v1 terminated on
    assert DROPPED_REWARD < 0 < UPRIGHT_REWARD
    assert all(r[3]["pole_dropped"] == (r[0] == DROPPED_REWARD) for r in results)


def test_state_stays_on_the_track_and_angle_wraps() -> None:
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    inner = env.unwrapped
    angles = []
    for _ in range(200):
        obs, *_ = env.step(1)
        assert abs(obs[0]) <= inner.x_threshold + 1e-6
        assert -math.pi - 1e-6 <= obs[2] < math.pi + 1e-6
        assert env.observation_space.contains(obs)
        angles.append(float(obs[2]))
    env.close()
    assert max(abs(a) for a in angles) > 1.0  # the pole really fell


def test_is_goal_info_matches_predicate() -> None:
    env = gym.make(ENV_ID)
    env.reset(seed=1)
    for _ in range(60):
        obs, _, _, _, info = env.step(env.action_space.sample())
        assert info["is_goal"] == bool(is_goal(obs[2]))
    env.close()
    assert bool(is_goal(UPRIGHT_THRESHOLD_RAD)) and not bool(is_goal(UPRIGHT_THRESHOLD_RAD + 0.01))
    assert GOAL_PROMPT == "pole vertically upright on top of the cart"


def test_custom_rewards() -> None:
    env = gym.make(ENV_ID, upright_reward=0.0, dropped_reward=-5.0)
    env.reset(seed=3)
    rewards = {float(env.step(1)[1]) for _ in range(100)}
    env.close()
    assert rewards == {0.0, -5.0}


def test_same_seed_same_frames() -> None:
    frames = []
    for _ in range(2):
        env = gym.make(ENV_ID)
        env.reset(seed=11)
        env.action_space.seed(11)
        for _ in range(30):
            env.step(env.action_space.sample())
        frames.append(env.render())
        env.close()
    assert frames[0].shape == (400, 600, 3) and frames[0].dtype == np.uint8
    np.testing.assert_array_equal(frames[0], frames[1])


@pytest.mark.slow
def test_long_random_rollouts_never_terminate() -> None:
    env = gym.make(ENV_ID)
    for episode in range(20):
        env.reset(seed=episode)
        for step in range(200):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            assert not terminated
            assert truncated == (step == 199)
    env.close()
