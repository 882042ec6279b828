"""Shared fixtures: a tiny random open_clip model and real rendered CartPole frames."""

from __future__ import annotations

import os

import numpy as np
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
def tiny_judge_dir(tmp_path_factory):
    """A random tiny LLaVA-style judge built offline and saved like a user's checkpoint."""
    from rmeval.judges.build import build_judge

    return build_judge("rmeval-tiny-judge", tmp_path_factory.mktemp("judges") / "tiny")
