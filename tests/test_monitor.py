"""Reward-hacking monitor: on-policy EPIC equals epic_from_labels on the same frames; the
warning rule; monitor.csv; report --run; rollout --best success."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rmeval.training.monitor import RewardHackingMonitor


def test_monitor_onpolicy_epic_equals_epic_from_labels_on_the_same_frames(tmp_path, tiny_model):
    from stable_baselines3.common.callbacks import BaseCallback

    from rmeval.epic import epic_bootstrap_ci, epic_from_labels
    from rmeval.training.config import new_config
    from rmeval.training.monitor import read_monitor
    from rmeval.training.reward_models import VLMReward
    from rmeval.training.trainer import train

    cfg = new_config("cartpole", preset="quick", model="rmeval-tiny", total_steps=300, checkpoint_every=200,
                     episode_steps=50, learning_starts=100, device="cpu")
    reward = VLMReward(tiny_model, cfg.goal_prompts, cfg.baseline_prompts)
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    class Record(BaseCallback):
        def _on_training_start(self) -> None:
            self.training_env.score_hooks.append(lambda frames, r, g: seen.append((frames.copy(), g.copy())))

        def _on_step(self) -> bool:
            return True

    result = train(cfg, tmp_path / "run", reward_model=reward, log=lambda m: None, extra_callbacks=[Record()],
                   monitor_every=100, monitor_window=10_000)
    frames = np.concatenate([f for f, _ in seen])
    goals = np.concatenate([g for _, g in seen])
    assert len(frames) == 300 and set(np.unique(goals)) <= {0.0, 1.0} and 0 < goals.sum() < len(goals)
    table = read_monitor(tmp_path / "run")
    assert table["step"].tolist() == [100, 200, 300]
    last = table.iloc[-1]
    # Score the same frames afresh with the same reward model: the monitor's numbers follow.
    fresh = reward(frames).astype(np.float64)
    assert last["onpolicy_epic"] == pytest.approx(float(epic_from_labels(fresh, goals.astype(bool))), abs=1e-9)
    lo, hi = epic_bootstrap_ci(fresh, goals.astype(bool), n_resamples=200, seed=cfg.seed)
    assert (last["epic_ci_low"], last["epic_ci_high"]) == pytest.approx((lo, hi), abs=1e-9)
    assert last["vlm_reward_mean"] == pytest.approx(fresh.mean(), abs=1e-6)
    assert last["true_success"] == pytest.approx(goals.mean())
    assert result.monitor_rows[-1]["step"] == 300
    assert (tmp_path / "run" / "tb").is_dir()


def test_warning_rule_fires_when_vlm_reward_rises_while_success_falls():
    m = RewardHackingMonitor(window=4, patience=3, min_drop=0.05)
    rising = [0.1, 0.2, 0.3, 0.4, 0.5]
    success = [[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    flags = []
    for i, (r, g) in enumerate(zip(rising, success)):
        m.observe(np.full(4, r) + np.arange(4) * 1e-3, np.array(g, dtype=float))
        flags.append(m.evaluate(step=(i + 1) * 100)["warning"])
    assert flags == [0, 0, 0, 1, 0]  # the fifth evaluation's success did not fall
    ok = RewardHackingMonitor(window=4, patience=3)
    for i, r in enumerate(rising):
        ok.observe(np.full(4, r), np.array([1, 1, 1, 0], dtype=float))
        assert ok.evaluate(step=i)["warning"] == 0
    assert np.isnan(ok.rows[-1]["onpolicy_epic"])  # constant rewards: EPIC undefined, left empty


def test_monitor_ignores_frames_without_a_goal_flag():
    m = RewardHackingMonitor(window=10)
    m.observe(np.array([0.1, 0.2, 0.3]), np.array([1.0, np.nan, 0.0]))
    r, g = m.arrays()
    assert r.tolist() == [0.1, 0.3] and g.tolist() == [True, False]


def _fake_run(root, monitor_steps, successes):
    from rmeval.training.checkpoints import CSV_COLUMNS
    from rmeval.training.config import new_config
    from rmeval.training.monitor import write_monitor

    cfg = new_config("cartpole", preset="quick", model="rmeval-tiny", device="cpu")
    root.mkdir(parents=True)
    (root / "checkpoints").mkdir()
    cfg.save(root)
    rows = [{"step": s, "checkpoint": f"checkpoints/step_{s:012d}.zip", "episodes": 1, "mean_vlm_return": 10.0 - i,
             "mean_env_return": 0.0, "wall_time_s": 1.0} for i, s in enumerate((200, 400, 600))]
    pd.DataFrame(rows)[list(CSV_COLUMNS)].to_csv(root / "checkpoints.csv", index=False)
    for r in rows:
        (root / r["checkpoint"]).write_bytes(b"")
    write_monitor(root, [{"step": s, "frames": 10, "n_goal": 1, "onpolicy_epic": 0.5, "epic_ci_low": 0.4,
                          "epic_ci_high": 0.6, "vlm_reward_mean": 0.2, "true_success": v, "warning": 0}
                         for s, v in zip(monitor_steps, successes)])


def test_best_success_picks_the_checkpoint_with_the_highest_true_success(tmp_path):
    from rmeval.errors import RmevalError
    from rmeval.training.policies import choose_checkpoint

    _fake_run(tmp_path / "r", [100, 200, 300, 400, 500, 600], [0.9, 0.1, 0.95, 0.6, 0.99, 0.3])
    assert choose_checkpoint(tmp_path / "r", best="reward").step == 200  # highest VLM return
    assert choose_checkpoint(tmp_path / "r", best="success").step == 400  # 0.6 beats 0.1 and 0.3 at checkpoints
    (tmp_path / "r" / "monitor.csv").unlink()
    with pytest.raises(RmevalError, match="monitor"):
        choose_checkpoint(tmp_path / "r", best="success")


def test_report_run_plots_the_monitor(tmp_path, run):
    from rmeval.run_report import plot_monitor
    from rmeval.training.monitor import read_monitor

    _fake_run(tmp_path / "r", [200, 400, 600], [0.5, 0.4, 0.3])
    code, _, err = run("report", "--run", str(tmp_path / "r"))
    assert code == 0, err
    page = (tmp_path / "r" / "report.html").read_text()
    assert "Reward-hacking monitor" in page and "data:image/png;base64," in page and "Warning rule" in page
    fig = plot_monitor(read_monitor(tmp_path / "r"))
    assert len(fig.axes) == 3
    code, _, err = run("report", "--run", str(tmp_path / "nothing"))
    assert code == 2 and "not a training run folder" in err


def test_run_logs_are_read_sorted_and_checked(tmp_path):
    """monitor.csv and checkpoints.csv share one reader: sorted by step, clear errors."""
    from rmeval.errors import RmevalError
    from rmeval.training.checkpoints import CHECKPOINTS_CSV, CSV_COLUMNS, read_checkpoints
    from rmeval.training.monitor import COLUMNS, MONITOR_CSV, read_monitor

    for name, columns, read in ((MONITOR_CSV, COLUMNS, read_monitor), (CHECKPOINTS_CSV, CSV_COLUMNS, read_checkpoints)):
        run = tmp_path / name.replace(".", "_")
        run.mkdir()
        empty = read(run)
        assert list(empty.columns) == list(columns) and len(empty) == 0
        rows = pd.DataFrame({c: [2, 1] if c == "step" else [0.5, 0.25] for c in columns})
        rows.to_csv(run / name, index=False)
        assert read(run)["step"].tolist() == [1, 2]
        rows.drop(columns=[columns[-1]]).to_csv(run / name, index=False)
        with pytest.raises(RmevalError, match=f"missing columns .*{columns[-1]}"):
            read(run)
