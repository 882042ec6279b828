"""Helpers for the labelling app's tests: a small dataset, a fake embedding cache, the app server, chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmeval.dataset import Dataset, DatasetMetadata, write_dataset

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app.py"
N_EPISODES, N_STEPS = 3, 4
GOAL = "a bright square in the middle"
BASELINE = "a square"


def make_frames(n: int, height: int = 48, width: int = 72) -> np.ndarray:
    """(n, H, W, 3) uint8 frames: a square whose brightness and position vary with i."""
    frames = np.zeros((n, height, width, 3), dtype=np.uint8)
    frames[..., 2] = 40
    for i in range(n):
        x = 4 + (i * 5) % (width - 16)
        frames[i, 16:32, x : x + 12, :] = 30 + (i * 37) % 220
    return frames


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Dataset:
    """3 episodes x 4 steps (12 frames of 72x48), policies ckpt-a/ckpt-a/ckpt-b, an auto_label column."""
    n = N_EPISODES * N_STEPS
    episode = np.repeat(np.arange(N_EPISODES), N_STEPS)
    index = pd.DataFrame(
        {
            "episode": episode,
            "step": np.tile(np.arange(N_STEPS), N_EPISODES),
            "label": pd.array([None] * n, dtype="Int8"),
            "auto_label": pd.array([int(i % 3 == 0) for i in range(n)], dtype="Int8"),
            "policy": np.where(episode < 2, "ckpt-a", "ckpt-b"),
        }
    )
    meta = DatasetMetadata(
        env="Test-v0", task="square", goal_prompts=[GOAL], baseline_prompts=[BASELINE], name="tiny",
        label_rule="", description="labelling tests",
    )
    return write_dataset(tmp_path / "tiny", make_frames(n), index, meta)


@pytest.fixture
def ruled_dataset(tmp_path: Path) -> Dataset:
    """Like the bundled dataset: labels made by a rule (label_rule set), no auto_label column."""
    n = 8
    index = pd.DataFrame(
        {
            "episode": np.zeros(n, dtype=int),
            "step": np.arange(n),
            "label": pd.array([int(i < 3) for i in range(n)], dtype="Int8"),
        }
    )
    meta = DatasetMetadata(env="Test-v0", task="square", goal_prompts=[GOAL], name="ruled", label_rule="goal when i < 3")
    return write_dataset(tmp_path / "ruled", make_frames(n), index, meta)


def fake_cache(root: Path, dataset: Dataset, *, models: int = 2, dim: int = 8, seed: int = 0, prompts: bool = True) -> None:
    """Write random embeddings of every frame (and the prompts) for ``models`` fake models.

    Uses the same stores and keys as :class:`rmeval.embedding.Embedder`, so
    :func:`rmeval.labeling.cached_rewards.cached_models` finds them without loading a model.
    """
    from rmeval.cache import EmbeddingCache, frame_keys, text_keys

    cache = EmbeddingCache(root)
    rng = np.random.default_rng(seed)
    keys = frame_keys(dataset.read_frames())
    for m in range(models):
        name = f"fake-{m}:random"
        image = cache.store("image", name, {"model": f"fake{m}", "preprocess": "p", "precision": "fp32"}, dim)
        image.add(keys, rng.normal(size=(len(keys), dim)))
        if prompts:
            text = cache.store("text", name, {"model": f"fake{m}", "precision": "fp32"}, dim)
            prompts_ = list(dataset.metadata.goal_prompts) + list(dataset.metadata.baseline_prompts)
            text.add(text_keys(prompts_), rng.normal(size=(len(prompts_), dim)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AppServer:
    """``rmeval label`` running as a subprocess on a free localhost port."""

    def __init__(self, dataset: Path, db: Path, workdir: Path, cache_dir: Path | None = None) -> None:
        self.dataset, self.db, self.workdir, self.cache_dir = dataset, db, workdir, cache_dir
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 40.0, *, same_port: bool = False) -> AppServer:
        """Start the server (on the port it had with ``same_port``, as a user restarting it would)."""
        if not (same_port and self.port):
            self.port = free_port()
        cmd = [sys.executable, "-m", "rmeval", "label", "--dataset", str(self.dataset), "--db", str(self.db),
               "--port", str(self.port)]
        if self.cache_dir is not None:
            cmd += ["--cache-dir", str(self.cache_dir)]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log, "ab") as log:  # the child keeps its own copy of the handle
            self.proc = subprocess.Popen(cmd, cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app server exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the app server did not answer within {timeout} s:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: the server dies at once, like a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


#: Flags for Debian's chromium, headless (notes section 8); Playwright adds --headless and --user-data-dir.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Debian chromium driven by Playwright (skips when either is missing)."""
    path = chromium_path()
    if path is None:
        pytest.skip("Debian's chromium is not installed (bash scripts/test.sh installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
