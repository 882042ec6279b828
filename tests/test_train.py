"""rmeval train: presets, bad input, quick runs per environment, rewards in the replay buffer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmeval.training.presets import effective_schedule, get_preset

QUICK = ["--preset", "quick", "--steps", "200", "--checkpoint-every", "100", "--episode-steps", "50"]


# ----------------------------------------------------------------------------- presets


def test_paper_presets_are_the_papers_hyperparameters():
    h = get_preset("humanoid", "paper")
    assert (h.algo, h.total_steps, h.episode_steps, h.learning_starts) == ("sac", 10_000_000, 100, 50_000)
    assert (h.train_freq, h.gradient_steps, h.checkpoint_every) == (100, 100, 128_000)
    assert (h.algo_kwargs["tau"], h.algo_kwargs["gamma"], h.algo_kwargs["learning_rate"]) == (0.005, 0.95, 6e-4)
    c = get_preset("cartpole", "paper")
    assert (c.algo, c.total_steps, c.episode_steps, c.learning_starts) == ("dqn", 3_000_000, 200, 75_000)
    assert (c.train_freq, c.gradient_steps, c.checkpoint_every) == (200, 200, 64_000)
    assert c.algo_kwargs["learning_rate"] == 2.3e-3 and c.algo_kwargs["policy_kwargs"]["net_arch"] == [256, 256]
    m = get_preset("mountaincar", "paper")
    assert (m.algo, m.total_steps) == ("sac", 3_000_000)
    kw = m.algo_kwargs
    assert (kw["tau"], kw["gamma"], kw["learning_rate"], kw["ent_coef"]) == (0.01, 0.9999, 1e-4, 0.1)
    assert kw["policy_kwargs"]["net_arch"] == [64, 64]
    assert "not stated by the paper" in m.notes.lower()
    for env in ("humanoid", "cartpole", "mountaincar"):
        q = get_preset(env, "quick")
        assert q.learning_starts == 100 and q.algo_kwargs["buffer_size"] <= 10_000


def test_schedule_counts_vectorised_steps_as_the_authors_for_1_and_32_envs():
    one = effective_schedule(100, 100, 1)
    assert (one.train_freq, one.gradient_steps, one.steps_per_round, one.env_steps_per_update) == (100, 100, 100, 1.0)
    many = effective_schedule(100, 100, 32)
    # 100 gradient steps per 100 vectorised steps: one update per 32 environment steps, and a
    # round of 3,200 frames (the paper's CLIP batch).
    assert (many.train_freq, many.gradient_steps, many.steps_per_round, many.env_steps_per_update) == (100, 100, 3200, 32.0)


def test_humanoid_paper_preset_is_the_authors_launch(tmp_path):
    from rmeval.training.config import new_config

    h = get_preset("humanoid", "paper")
    assert (h.n_envs, h.reward_batch, h.algo_kwargs["batch_size"], h.time_limit) == (32, 3200, 512, "terminal")
    cfg = new_config("humanoid", task="kneeling", model="rmeval-tiny")
    assert (cfg.n_envs, cfg.reward_batch, cfg.schedule.steps_per_round) == (32, 3200, 3200)
    assert cfg.to_dict()["effective_schedule"]["env_steps_per_update"] == 32.0
    one = new_config("humanoid", task="kneeling", model="rmeval-tiny", n_envs=1)
    assert (one.reward_batch, one.schedule.gradient_steps) == (100, 100)
    for env in ("cartpole", "mountaincar"):
        assert get_preset(env, "paper").time_limit == "terminal"
        assert get_preset(env, "quick").time_limit == "truncate"


def test_version_1_configs_resume_with_their_old_schedule():
    from rmeval.training.config import RunConfig, new_config

    data = new_config("cartpole", preset="quick", model="rmeval-tiny", n_envs=4).to_dict()
    data.update(version=1, train_freq=100, gradient_steps=50)  # v1: environment steps
    cfg = RunConfig.from_dict(data)
    assert (cfg.schedule.train_freq, cfg.schedule.gradient_steps, cfg.schedule.steps_per_round) == (25, 50, 100)


def test_paper_launch_is_accepted_on_the_command_line():
    """`--envs 32 --reward-batch 3200` is the paper's setting; it used to be refused."""
    import argparse

    from rmeval.commands.train import add_parser
    from rmeval.training.config import new_config

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["train", "--env", "humanoid", "--task", "kneeling", "--envs", "32",
                              "--reward-batch", "3200", "--time-limit", "truncate", "--threads", "3"])
    assert (args.envs, args.reward_batch, args.time_limit, args.threads) == (32, 3200, "truncate", 3)

    cfg = new_config("humanoid", task="kneeling", model="rmeval-tiny", n_envs=32, reward_batch=3200)
    assert cfg.reward_batch == 3200 and cfg.schedule.steps_per_round == 3200


def test_time_limit_flag_is_in_the_stored_transitions(tmp_path):
    """terminal: a time-limit end is stored done=1, timeout=0 (no bootstrap); truncate: timeout=1."""
    from rmeval.training.config import new_config
    from rmeval.training.trainer import train

    for mode in ("terminal", "truncate"):
        cfg = new_config("cartpole", preset="quick", reward="ground-truth", total_steps=200, checkpoint_every=200,
                         episode_steps=20, n_envs=1, vec_env="dummy", time_limit=mode)
        train(cfg, tmp_path / mode, log=lambda s: None)
        with np.load(tmp_path / mode / "replay_buffer.npz", allow_pickle=False) as buf:
            dones, timeouts, obs = buf["dones"][:200, 0], buf["timeouts"][:200, 0], buf["next_observations"][:200, 0]
        # episodes that reached the 20-step limit with the pole still up (|angle| < 12 degrees, |x| < 2.4)
        ends = np.flatnonzero(dones)
        limit_ends = [i for i in ends if abs(obs[i, 2]) < 0.2 and abs(obs[i, 0]) < 2.4]
        assert limit_ends, "no episode reached the time limit"
        want = 0.0 if mode == "terminal" else 1.0
        assert all(timeouts[i] == want for i in limit_ends), (mode, timeouts[limit_ends])
        # what the target uses: done * (1 - timeout), 1 = no bootstrapping
        effective = dones[limit_ends] * (1 - timeouts[limit_ends])
        assert (effective == (1.0 if mode == "terminal" else 0.0)).all()
        assert json.loads((tmp_path / mode / "config.json").read_text())["time_limit"] == mode


def test_reward_threads_option_is_applied(tmp_path, tiny_model):
    import torch

    from rmeval.training.config import default_reward_threads, new_config
    from rmeval.training.reward_models import VLMReward
    from rmeval.training.trainer import reward_threads

    cfg = new_config("cartpole", preset="quick", model="rmeval-tiny", reward_threads=1)
    assert reward_threads(cfg) == 1
    auto = new_config("cartpole", preset="quick", model="rmeval-tiny", n_envs=4)
    assert reward_threads(auto) == default_reward_threads(4, "auto") >= 1
    seen: list[int] = []

    class Spy(VLMReward):
        def embed(self, frames: np.ndarray) -> np.ndarray:
            seen.append(torch.get_num_threads())
            return super().embed(frames)

    before = torch.get_num_threads()
    want = 1 if before != 1 else 2
    spy = Spy(tiny_model, cfg.goal_prompts, threads=want)
    spy(np.zeros((3, 32, 32, 3), np.uint8))
    assert seen == [want] and torch.get_num_threads() == before
    with pytest.raises(Exception, match="--threads"):
        new_config("cartpole", preset="quick", model="rmeval-tiny", reward_threads=-1)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--env", "pong", "--model", "rmeval-tiny"], "unknown environment 'pong'"),
        (["--env", "humanoid", "--model", "rmeval-tiny"], "needs --task"),
        (["--env", "humanoid", "--task", "backflip", "--model", "rmeval-tiny"], "unknown task 'backflip'"),
        (["--env", "cartpole", "--task", "kneeling", "--model", "rmeval-tiny"], "runs in rmeval/Humanoid-v0"),
        (["--env", "cartpole", "--model", "NoSuchNet-9"], "unknown model 'NoSuchNet-9'"),
        (["--env", "cartpole"], "needs --model"),
        (["--env", "cartpole", "--reward", "ground-truth", "--model", "rmeval-tiny"], "--model is for --reward vlm"),
        (["--env", "cartpole", "--model", "rmeval-tiny", "--envs", "4", "--reward-batch", "6"], "does not fit --envs 4"),
        (["--env", "cartpole", "--model", "rmeval-tiny", "--preset", "quick", "--reward-batch", "400"], "larger than the 100 frames"),
        (["--env", "cartpole", "--model", "rmeval-tiny", "--alpha", "1.5"], "--alpha must lie in [0, 1]"),
        (["--env", "cartpole", "--model", "rmeval-tiny", "--steps", "0"], "--steps must be a positive integer"),
        (["--env", "cartpole", "--model", "rmeval-tiny", "--device", "cuda:7"], "cuda"),
    ],
)
def test_bad_input_fails_before_anything_starts(run, tmp_path, argv, message):
    out = tmp_path / "run"
    code, stdout, err = run("train", *argv, "--out", str(out))
    assert code == 2, stdout + err
    assert message in err, err
    assert "Traceback" not in err
    assert not out.exists()


def test_existing_run_folder_needs_resume(run, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "something").write_text("x")
    code, _, err = run("train", "--env", "cartpole", "--model", "rmeval-tiny", "--out", str(out))
    assert code == 2 and "already exists; pass --resume" in err
    code, _, err = run("train", "--resume", "--out", str(out))
    assert code == 2 and "not an rmeval run folder" in err
    code, _, err = run("train", "--resume", "--out", str(tmp_path / "nothing"))
    assert code == 2 and "does not exist" in err


# ----------------------------------------------------------------------------- quick runs


def _tb_tags(folder: Path) -> set[str]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags: set[str] = set()
    for events in folder.glob("events.out.tfevents.*"):
        acc = EventAccumulator(str(events))
        acc.Reload()
        tags.update(acc.Tags()["scalars"])
    return tags


@pytest.mark.parametrize(
    ("env", "extra"),
    [
        ("cartpole", []),
        ("mountaincar", []),
        ("humanoid", ["--task", "kneeling"]),
    ],
)
def test_quick_run_writes_checkpoints_and_logs(run, tmp_path, env, extra):
    from stable_baselines3 import DQN, SAC

    out = tmp_path / "run"
    code, stdout, err = run("train", "--env", env, *extra, "--model", "rmeval-tiny", *QUICK, "--out", str(out))
    assert code == 0, stdout + err
    assert "RANDOM weights" in err
    table = pd.read_csv(out / "checkpoints.csv")
    assert table["step"].tolist() == [100, 200]
    assert table["mean_vlm_return"].notna().all() and table["mean_env_return"].notna().all()
    assert (table["episodes"] >= 1).all()
    cls = DQN if env == "cartpole" else SAC
    for path in table["checkpoint"]:
        assert cls.load(out / path, device="cpu").num_timesteps in (100, 200)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"] == "rmeval-tiny:random" and cfg["random_weights"] is True
    assert cfg["algo"] == ("dqn" if env == "cartpole" else "sac") and cfg["total_steps"] == 200
    assert cfg["goal_prompts"] and cfg["versions"]["stable-baselines3"]
    with np.load(out / "replay_buffer.npz", allow_pickle=False) as buf:
        rewards = buf["rewards"]
        assert rewards.shape == (200, 1) and np.isfinite(rewards).all()
    tags = _tb_tags(out / "tb")
    assert {"rollout/ep_vlm_return_mean", "rollout/ep_env_return_mean", "reward/step_mean_vlm", "time/steps_per_s"} <= tags
    assert "train/loss" in tags or "train/critic_loss" in tags


def test_ground_truth_run_keeps_environment_rewards(tmp_path):
    from rmeval.training.config import new_config
    from rmeval.training.trainer import train

    cfg = new_config("cartpole", preset="quick", reward="ground-truth", total_steps=200, checkpoint_every=200,
                     episode_steps=50, n_envs=2, vec_env="dummy")
    result = train(cfg, tmp_path / "gt", log=lambda s: None)
    assert result.steps == 200 and result.frames_scored == 0
    with np.load(tmp_path / "gt" / "replay_buffer.npz", allow_pickle=False) as buf:
        assert set(np.unique(buf["rewards"])) <= {-1.0, 1.0}
    row = pd.read_csv(tmp_path / "gt" / "checkpoints.csv").iloc[-1]
    assert np.isnan(row["mean_vlm_return"]) and row["episodes"] == 4


# ----------------------------------------------------------------------------- Algorithm 1


class _Recorder:
    """A reward model that records every frame batch it scores."""

    uses_frames = True

    def __init__(self, inner):
        self.inner = inner
        self.name = "recorder"
        self.batches: list[np.ndarray] = []

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        self.batches.append(np.array(frames))
        return self.inner(frames)


def test_replay_buffer_rewards_equal_the_reward_model_on_the_same_frames(tmp_path, tiny_model):
    """2 environments, batches of 20 frames, a 60-row circular buffer that wraps around."""
    from rmeval.envs.cartpole import CartPoleStateRenderer
    from rmeval.training.config import new_config
    from rmeval.training.reward_models import VLMReward
    from rmeval.training.trainer import train

    cfg = new_config("cartpole", preset="quick", model="rmeval-tiny", total_steps=300, checkpoint_every=300,
                     episode_steps=40, n_envs=2, reward_batch=20, vec_env="dummy")
    cfg.train_freq = 50  # rounds of 50 vectorised steps (100 frames)
    cfg.algo_kwargs["buffer_size"] = 120  # 60 rows x 2 environments; 150 steps per env wrap it
    recorder = _Recorder(VLMReward(tiny_model, cfg.goal_prompts, cfg.baseline_prompts))
    frames_of_row: dict[int, np.ndarray] = {}
    seen = {"frames": 0}

    def on_relabel(rows: np.ndarray, rewards: np.ndarray) -> None:
        frames = np.concatenate(recorder.batches)[seen["frames"]:]
        assert len(frames) == rewards.size  # step-major: (T * n_envs) frames for (T, n_envs) rewards
        seen["frames"] += len(frames)
        for k, row in enumerate(rows):
            frames_of_row[int(row)] = frames[2 * k : 2 * k + 2]

    captured = {}

    from stable_baselines3.common.callbacks import BaseCallback

    class Grab(BaseCallback):
        def _on_step(self) -> bool:
            return True

        def _on_training_end(self) -> None:
            captured["buffer"] = self.model.replay_buffer

    result = train(cfg, tmp_path / "run", reward_model=recorder, log=lambda s: None,
                   extra_callbacks=[Grab()], on_relabel=on_relabel)
    assert result.steps == 300
    assert all(len(b) <= 20 for b in recorder.batches) and max(len(b) for b in recorder.batches) == 20
    buffer = captured["buffer"]
    assert buffer.full and buffer.buffer_size == 60 and sorted(frames_of_row) == list(range(60))
    frames = np.stack([frames_of_row[r] for r in range(60)])  # (60, 2, H, W, 3)
    fresh = VLMReward(tiny_model, cfg.goal_prompts, cfg.baseline_prompts)
    expected = fresh(frames.reshape(-1, *frames.shape[2:])).reshape(60, 2)
    np.testing.assert_allclose(buffer.rewards, expected, rtol=0, atol=1e-5)
    assert np.isfinite(buffer.rewards).all()
    # ... and the frames are those of the transitions' next states (the reward is R(s')).
    with CartPoleStateRenderer() as renderer:
        for row in (0, 17, 59):
            for env in (0, 1):
                x, x_dot, angle, angle_dot = (float(v) for v in buffer.next_observations[row, env])
                frame = renderer.render({"x": x, "x_dot": x_dot, "angle": angle, "angle_dot": angle_dot})
                # float32 observations may move an edge by a pixel; one step of motion moves hundreds
                assert (frame != frames_of_row[row][env]).any(axis=-1).sum() <= 20


def test_vlm_reward_matches_the_reward_module(tiny_model, cartpole_frames):
    from rmeval.embedding import Embedder
    from rmeval.rewards import combine_prompts, regularized_reward
    from rmeval.training.reward_models import GroundTruthReward, RewardModel, VLMReward

    goal, base = ["pole vertically upright on top of the cart"], ["pole and cart"]
    r = VLMReward(tiny_model, goal, base, alpha=0.5, batch_size=7)
    assert isinstance(r, RewardModel) and isinstance(GroundTruthReward(), RewardModel)
    emb = Embedder(tiny_model)
    want = regularized_reward(emb.embed_frames(cartpole_frames), combine_prompts(emb.embed_texts(goal)),
                              combine_prompts(emb.embed_texts(base)), 0.5)[0]
    got = r(cartpole_frames)
    assert got.dtype == np.float32 and got.shape == (len(cartpole_frames),)
    np.testing.assert_allclose(got, want, atol=1e-5)


class _MeanPixel:
    """Reward = mean pixel value / 255; records batch sizes."""

    uses_frames = True
    name = "mean pixel"

    def __init__(self):
        self.sizes: list[int] = []

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        self.sizes.append(len(frames))
        return frames.reshape(len(frames), -1).mean(axis=1).astype(np.float32) / 255.0


def test_reward_swap_vec_env_batches_flushes_and_keeps_env_reward():
    from stable_baselines3.common.vec_env import DummyVecEnv

    from rmeval.training.vec_env import RewardSwapVecEnv, make_env

    venv = DummyVecEnv([lambda: make_env("rmeval/CartPole-v0", {}, 5, render_frames=True)] * 2)
    model = _MeanPixel()
    env = RewardSwapVecEnv(venv, model, reward_batch=6)
    env.reset()
    env_rewards = []
    for t in range(7):
        _, rewards, dones, infos = env.step(np.array([t % 2, (t + 1) % 2]))
        assert np.isnan(rewards).all() and all("frame" not in i for i in infos)
        env_rewards.append([i["env_reward"] for i in infos])
        assert dones.tolist() == [t in (4,), t in (4,)]
    assert model.sizes == [6, 6] and env.n_pending == 1  # 3 steps x 2 envs per batch
    out = env.flush()
    assert model.sizes == [6, 6, 2] and env.n_pending == 0 and out.shape == (7, 2)
    assert np.isfinite(out).all() and env.flush().shape == (0, 2)
    assert [e["length"] for e in env.episodes] == [5, 5]
    np.testing.assert_allclose([e["env_return"] for e in env.episodes], np.sum(env_rewards[:5], axis=0))
    np.testing.assert_allclose([e["model_return"] for e in env.episodes], out[:5].sum(axis=0), rtol=1e-6)
    with pytest.raises(Exception, match="multiple of 2"):
        RewardSwapVecEnv(venv, model, reward_batch=3)
    env.close()
