"""Kill a training process (SIGKILL) after its first checkpoint, --resume it, lose nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmeval.cli import main

TOTAL = 600


def _resume_step(out: Path) -> int:
    try:
        return int(json.loads((out / "resume.json").read_text())["step"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.timeout(300)
def test_kill_and_resume_continues_the_step_count_and_keeps_every_checkpoint(tmp_path, capsys):
    from stable_baselines3 import DQN

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "rmeval", "train", "--env", "cartpole", "--model", "rmeval-tiny",
           "--preset", "quick", "--steps", str(TOTAL), "--checkpoint-every", "200", "--episode-steps", "50",
           "--envs", "2", "--out", str(out)]
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", HF_HUB_OFFLINE="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        # rounds of 100 vectorised steps x 2 environments = 200 steps; checkpoints follow rounds
        while _resume_step(out) < 400:
            if proc.poll() is not None:
                pytest.fail(f"training ended before its first checkpoint:\n{proc.stdout.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("no checkpoint within 240 s")
            time.sleep(0.02)
    finally:
        # the process group this test started: the trainer and its environment workers
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    before = pd.read_csv(out / "checkpoints.csv")
    assert 2 <= len(before) and before["step"].max() < TOTAL, "the kill came too late to test anything"
    state = json.loads((out / "resume.json").read_text())
    assert 400 <= state["step"] <= before["step"].max()

    code = main(["train", "--resume", "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert code == 0, stdout + err
    assert f"last checkpoint at step {state['step']:,}" in stdout

    after = pd.read_csv(out / "checkpoints.csv")
    assert after["step"].tolist() == list(range(200, TOTAL + 1, 200))
    # no checkpoint listed before the kill is lost (a step listed past resume.json's is redone)
    kept = before[before["step"] <= state["step"]]
    pd.testing.assert_frame_equal(after.iloc[: len(kept)].reset_index(drop=True), kept.reset_index(drop=True))
    assert not list(out.glob(".*tmp-*")) and not list((out / "checkpoints").glob(".*tmp-*"))  # any writer's temporaries
    final = None
    for path in after["checkpoint"]:
        final = DQN.load(out / path, device="cpu")
    assert final is not None and final.num_timesteps == TOTAL
    # the optimiser kept its state: Adam's step count is every update of the run (50 updates
    # after each round of 200 steps past learning_starts=100: 3 rounds), not only the resumed ones
    adam = final.policy.optimizer.state_dict()["state"]
    assert int(next(iter(adam.values()))["step"]) == 3 * 50
    # the replay buffer was restored: it holds the whole run (300 steps of 2 environments)
    with np.load(out / "replay_buffer.npz", allow_pickle=False) as buf:
        assert buf["meta"][0] == TOTAL // 2 and np.isfinite(buf["rewards"]).all()
    # resuming a finished run does nothing
    assert main(["train", "--resume", "--out", str(out)]) == 0
    assert pd.read_csv(out / "checkpoints.csv")["step"].tolist() == after["step"].tolist()
    # --resume refuses to change how the run is configured
    assert main(["train", "--resume", "--out", str(out), "--alpha", "0.5"]) == 2
    assert "differs from the run's" in capsys.readouterr().err
