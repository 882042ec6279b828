"""Shared fixtures: a tiny random open_clip model, real rendered CartPole frames, the bundled CartPole
dataset, a small noise dataset, and the CLI run in-process."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame renders offscreen
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach for a model hub


@pytest.fixture(scope="session")
def tiny_model():
    from rmeval.models import load_model

    return load_model("rmeval-tiny", device="cpu")


@pytest.fixture(scope="session")
def cartpole_frames() -> np.ndarray:
    """(24, 400, 600, 3) uint8 CartPole frames over angles and cart positions."""
    from rmeval.envs.cartpole import CartPoleStateRenderer

    with CartPoleStateRenderer() as r:
        return r.render_many([{"angle": a, "x": x} for a in np.linspace(-0.5, 0.5, 8) for x in (-1.0, 0.0, 1.0)])


@pytest.fixture
def run(capsys):
    """Run the rmeval CLI in this process: ``run("epic", "--models", ...)`` -> (exit code, stdout, stderr)."""
    from rmeval.cli import main

    def _run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


@pytest.fixture(scope="session")
def cartpole_dataset():
    """The bundled ``cartpole-angle`` dataset, loaded and checked once per session (do not modify it)."""
    from rmeval.dataset import load_dataset
    from rmeval.dataset.bundled import bundled_dataset

    return load_dataset(bundled_dataset("cartpole-angle"))


def _write_small_dataset(root: Path, n: int = 40, seed: int = 0) -> Path:
    from rmeval.dataset import DatasetMetadata, write_dataset

    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, size=(n, 48, 64, 3), dtype=np.uint8)
    index = pd.DataFrame(
        {"episode": np.arange(n) // 10, "step": np.arange(n) % 10, "label": pd.array((np.arange(n) % 4 == 0).astype(int), dtype="Int8")}
    )
    meta = DatasetMetadata(env="Noise-v0", task="noise", goal_prompts=["a <b>goal</b> & frame"],
                           baseline_prompts=["a frame"], name="noise", label_rule="every 4th frame")
    write_dataset(root, frames, index, meta)
    return root


@pytest.fixture
def small_dataset() -> Callable[..., Path]:
    """``small_dataset(root, n=40, seed=0)`` writes a tiny labelled dataset (n frames of 48x64 noise,
    every 4th labelled goal, named "noise") at ``root`` and returns ``root``."""
    return _write_small_dataset


@pytest.fixture(scope="session")
def tiny_judge_dir(tmp_path_factory):
    """A random tiny LLaVA-style judge built offline and saved like a user's checkpoint."""
    from rmeval.judges.build import build_judge

    return build_judge("rmeval-tiny-judge", tmp_path_factory.mktemp("judges") / "tiny")
