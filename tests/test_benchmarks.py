"""The benchmark scripts run on a CPU with tiny settings (their figures live in benchmarks/README.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def run_script(name: str, *args: str, timeout: int = 240) -> str:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    res = subprocess.run([sys.executable, str(BENCH / name), *args], capture_output=True, text=True,
                         timeout=timeout, env=env, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def test_embedding_benchmark_in_memory_and_from_disk():
    out = run_script("bench_embedding.py", "--models", "rmeval-tiny", "--batch-sizes", "16",
                     "--frames", "64", "--naive-frames", "8", "--matmul")
    assert "machine:" in out and "matmul" in out
    row = next(line for line in out.splitlines() if line.startswith("rmeval-tiny:random"))
    fields = row.split()
    assert fields[1] == "16" and fields[2] == "64"
    assert float(fields[3]) > 0 and float(fields[4]) > 0  # full and naive frames/s
    assert fields[6].endswith("%")  # share of the measured matmul rate
    disk = run_script("bench_embedding.py", "--models", "rmeval-tiny", "--batch-sizes", "32",
                      "--dataset", str(BENCH.parent / "datasets" / "cartpole-angle"))
    assert "disk -> cache" in disk and any(line.startswith("rmeval-tiny:random") for line in disk.splitlines())


def test_make_frames_then_read_side_only(tmp_path):
    """make_frames.py writes distinct 224x224 frames; --io-only times decoding and hashing them."""
    from rmeval.cache import frame_keys
    from rmeval.dataset import load_dataset

    out = run_script("make_frames.py", str(tmp_path / "frames"), "--frames", "650")
    assert "wrote 650 frames" in out
    ds = load_dataset(tmp_path / "frames")
    assert len(ds) == 650 and ds.frame_size == (224, 224)
    frames = ds.read_frames()
    assert len(set(frame_keys(frames).tolist())) == 650  # mirrored variants are new content
    np.testing.assert_array_equal(frames[600], frames[0][:, ::-1])
    io = run_script("bench_embedding.py", "--dataset", str(tmp_path / "frames"), "--io-only", "--read-workers", "2")
    row = io.splitlines()[-1].split()
    assert row[0] == "2" and all(float(v) > 0 for v in row[1:])


def test_make_frames_refuses_bad_counts_and_existing_output(tmp_path):
    def fails(*args: str) -> str:
        res = subprocess.run([sys.executable, str(BENCH / "make_frames.py"), *args], capture_output=True, text=True,
                             timeout=120, check=False)
        assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
        return res.stderr

    assert "--frames 0: give between 1 and" in fails(str(tmp_path / "none"), "--frames", "0")
    assert not (tmp_path / "none").exists()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert "exists" in fails(str(tmp_path / "taken"), "--frames", "5")
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_device_scripts_are_valid_bash():
    for script in sorted((BENCH / "device").glob("*.sh")):
        res = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
        assert res.returncode == 0, f"{script.name}: {res.stderr}"


def test_epic_benchmark_small():
    out = run_script("bench_epic.py", "--n", "5000", "--alphas", "3", "--resamples", "20")
    assert "epic_bootstrap_ci" in out and "95% CI" in out


@pytest.mark.slow
def test_render_and_train_benchmarks_small():
    out = run_script("bench_render.py", "--sizes", "224", "--workers", "1", "--frames", "20")
    assert "224x224" in out
    out = run_script("bench_train.py", "--envs-list", "cartpole", "--rewards", "ground-truth,rmeval-tiny",
                     "--steps", "150")
    assert "rmeval-tiny" in out


def test_metrics_benchmark_smoke():
    out = run_script("bench_metrics.py", "--models", "1", "--alphas", "2", "--resamples", "10")
    assert "machine:" in out and "load average before" in out
    assert "task confusion: 4 matrices" in out and "(0 skipped)" in out
    assert float(out.split("total:")[1].split()[0]) > 0
