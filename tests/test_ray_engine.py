"""`rmeval embed --engine ray` on a local CPU Ray instance: same embeddings, same cache."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="the Ray engine needs ray[data] (pip install 'rmeval[ray]')")

from rmeval.cache import EmbeddingCache
from rmeval.cli import main
from rmeval.dataset import DatasetMetadata, write_dataset
from rmeval.embedding import Embedder
from rmeval.errors import ModelNotFoundError, WeightsUnavailableError
from rmeval.ray_engine import (
    _failure_text,
    _without_notices,
    embed_dataset_ray,
    ray_session,
    run_ray_embedding,
)

#: Ray notices rmeval keeps off stderr (see rmeval.ray_engine's docstring).
RAY_NOISE = ("Token authentication is enabled", "RAY_AUTH_MODE", "Progress bars disabled")
#: What rmeval's local Ray start-up wrote to stderr (filled by the local_ray fixture).
STARTUP_STDERR: dict[str, str] = {}


@contextlib.contextmanager
def _stderr_into(path: Path) -> Iterator[None]:
    """What would reach the terminal's stderr, into ``path``.

    File descriptor 2 (Ray's C++ core), sys.stderr (warnings) and the ``ray`` logger (its
    console handler holds the stream it was created with, so a swapped sys.stderr misses it).
    """
    sys.stderr.flush()
    saved_fd, saved_stream = os.dup(2), sys.stderr
    with open(path, "w") as f:
        handler = logging.StreamHandler(f)
        logging.getLogger("ray").addHandler(handler)
        os.dup2(f.fileno(), 2)
        sys.stderr = f
        try:
            yield
        finally:
            f.flush()
            sys.stderr = saved_stream
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            logging.getLogger("ray").removeHandler(handler)


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """A local 2-CPU Ray instance shared by this module's tests, started the way rmeval does."""
    if ray.is_initialized():  # pragma: no cover - a stray instance from elsewhere
        ray.shutdown()
    log = tmp_path_factory.mktemp("ray-startup") / "stderr.txt"
    with contextlib.ExitStack() as stack:
        with _stderr_into(log):
            stack.enter_context(ray_session(num_cpus=2))
        STARTUP_STDERR["text"] = log.read_text()
        yield ray
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def frames_dataset(tmp_path_factory):
    """30 frames of 40x56 noise, two of them exact duplicates of others."""
    rng = np.random.default_rng(7)
    frames = rng.integers(0, 256, size=(30, 40, 56, 3), dtype=np.uint8)
    frames[10] = frames[3]
    frames[25] = frames[3]
    index = pd.DataFrame({"episode": np.zeros(30, int), "step": np.arange(30), "label": pd.array([1, 0] * 15, dtype="Int8")})
    meta = DatasetMetadata(env="Noise-v0", task="noise", goal_prompts=["noise"], name="ray-noise")
    return write_dataset(tmp_path_factory.mktemp("ray") / "ray-noise", frames, index, meta)


def _local(dataset, cache=None, rows=None):
    from rmeval.models import load_model

    emb = Embedder(load_model("rmeval-tiny", device="cpu"), batch_size=8, cache=cache, progress=False)
    return emb.embed_dataset(dataset, rows), emb.stats


# First Ray job of the module: Ray Data says "progress bars disabled" only once per process.
def test_embed_command_with_ray_engine(local_ray, frames_dataset, tmp_path, capfd):
    cache_dir = tmp_path / "cache"
    code = main(["embed", "--engine", "ray", "--models", "rmeval-tiny", "--dataset", str(frames_dataset.root),
                 "--cache-dir", str(cache_dir), "--batch-size", "16", "--no-progress"])
    out, err = capfd.readouterr()  # file descriptors too: Ray's C++ core writes to fd 2
    assert code == 0, err
    # rmeval's Ray start-up and job keep Ray's notices off stderr
    for noise in RAY_NOISE:
        assert noise not in STARTUP_STDERR["text"] and noise not in err, (noise, STARTUP_STDERR["text"], err)
    # the 2 repeated frames are cache hits when an earlier batch stored their twin, else repeats
    assert re.search(r"rmeval-tiny:random: 30 frames, 28 encoded, (2 from cache|0 from cache, 2 repeated), dim 32", out), out
    assert "(Ray)" in out
    assert "RANDOM weights" in out
    assert ray.is_initialized()  # the command reused the running instance and left it alone
    # the local engine then encodes nothing
    code = main(["embed", "--models", "rmeval-tiny", "--dataset", str(frames_dataset.root), "--cache-dir", str(cache_dir)])
    out, _ = capfd.readouterr()
    assert code == 0 and "0 encoded, 30 from cache" in out


def test_ray_engine_matches_local_and_fills_the_same_cache(local_ray, frames_dataset, tmp_path):
    cache_dir = tmp_path / "cache"
    rows = np.arange(29, -1, -1)  # any order: results come back in the order asked
    res = run_ray_embedding(frames_dataset, "rmeval-tiny", cache_dir=cache_dir, batch_size=8, precision="fp32",
                            num_gpus_per_replica=0, rows=rows, rows_per_call=8)
    expected, _ = _local(frames_dataset, rows=rows)
    assert res.embeddings.shape == expected.shape == (30, 32)
    np.testing.assert_allclose(res.embeddings, expected, rtol=1e-5, atol=1e-6)
    assert res.device == "cpu" and res.replicas == 1
    assert res.encoded + res.cached <= 30 and res.encoded >= 28  # repeated frames share one encoding
    # a later local run finds every frame in the cache the Ray workers wrote
    again, stats = _local(frames_dataset, cache=EmbeddingCache(cache_dir), rows=rows)
    assert stats.encoded == 0 and stats.cached == 30
    np.testing.assert_array_equal(again, res.embeddings)


def test_ray_engine_skips_frames_the_local_engine_cached(local_ray, frames_dataset, tmp_path):
    cache_dir = tmp_path / "cache"
    first, stats = _local(frames_dataset, cache=EmbeddingCache(cache_dir), rows=np.arange(12))
    assert stats.encoded == 11  # frame 10 duplicates frame 3
    out = embed_dataset_ray(frames_dataset, "rmeval-tiny", cache_dir=cache_dir, batch_size=8, precision="fp32",
                            num_gpus_per_replica=0, rows_per_call=10)
    np.testing.assert_array_equal(out[:12], first)
    full, _ = _local(frames_dataset)
    np.testing.assert_allclose(out, full, rtol=1e-5, atol=1e-6)


def test_ray_engine_errors(local_ray, frames_dataset, tmp_path):
    with pytest.raises(ModelNotFoundError, match="unknown model"):
        run_ray_embedding(frames_dataset, "no-such-model", cache_dir=tmp_path, num_gpus_per_replica=0)
    # raised on a worker (no weights offline), reported with rmeval's own message
    with pytest.raises(WeightsUnavailableError, match="ViT-B-32") as info:
        run_ray_embedding(frames_dataset, "ViT-B-32", cache_dir=tmp_path, num_gpus_per_replica=0, rows=[0, 1])
    assert "--models ViT-B-32:random" in str(info.value) and "ray::" not in str(info.value)
    from rmeval.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="GPU"):
        run_ray_embedding(frames_dataset, "rmeval-tiny", cache_dir=tmp_path, num_gpus_per_replica=1)


def test_embed_command_rejects_ray_options_without_ray(capsys):
    assert main(["embed", "--models", "rmeval-tiny", "--ray-address", "auto"]) == 2
    assert "only with --engine ray" in capsys.readouterr().err
    assert main(["embed", "--engine", "ray", "--models", "rmeval-tiny", "--device", "cpu"]) == 2
    assert "--num-gpus-per-replica" in capsys.readouterr().err


def test_only_the_named_notices_are_dropped():
    class Keep(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.DEBUG)
            self.messages: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.messages.append(record.getMessage())

    logger, kept = logging.getLogger("ray.data._internal.progress"), Keep()
    logger.addHandler(kept)
    try:
        with _without_notices([("ray.data._internal.progress", "Progress bars disabled")]):
            logger.warning("Progress bars disabled. To enable, set ...")
            logger.warning("Progress bars for operators disabled.")  # another message: kept
        logger.warning("Progress bars disabled. after the block")  # the filter is gone again
    finally:
        logger.removeHandler(kept)
    assert kept.messages == ["Progress bars for operators disabled.", "Progress bars disabled. after the block"]
    assert not logger.filters


def test_a_failed_task_is_reported_with_its_own_error():
    # str() of the exception Ray Data raises when a task fails (Ray 2.60): the task's error
    # comes first, Ray's advice on retries last.
    text = (
        "\x1b[36mray::MapBatches(read_frames_batch)()\x1b[39m (pid=17373, ip=192.0.2.2)\n"
        '  File "/work/rmeval/ray_engine.py", line 5, in read_frames_batch\n'
        "    frames[i] = frame\n"
        "numpy.core._exceptions._ArrayMemoryError: Unable to allocate 2.0 GiB for an array\n\n"
        "The above exception was the direct cause of the following exception:\n\n"
        "\x1b[36mray::MapBatches(read_frames_batch)()\x1b[39m (pid=17373, ip=192.0.2.2)\n"
        "ray.exceptions.UserCodeException: UDF failed to process a data block.\n"
        "Failed to apply UDF transform after 1/1 attempts (total backoff 0.0s).\n"
        "To change retry attempts, backoff, or which errors are retried, configure ..."
    )
    assert _failure_text(RuntimeError(text)) == (
        "numpy.core._exceptions._ArrayMemoryError: Unable to allocate 2.0 GiB for an array"
    )
    # no traceback in the text (an actor that died): its first line
    died = RuntimeError("The actor died unexpectedly before finishing this task.\n\tclass_name: MapWorker")
    assert _failure_text(died) == "The actor died unexpectedly before finishing this task."
    assert _failure_text(RuntimeError("")) == "RuntimeError"


class _Cluster:
    """What `_plan` reads of a Ray cluster: its total resources."""

    def __init__(self, cpus: float, gpus: float) -> None:
        self._res = {"CPU": cpus, **({"GPU": gpus} if gpus else {})}

    def cluster_resources(self) -> dict[str, float]:
        return self._res


@pytest.mark.parametrize(
    ("cpus", "gpus", "per_replica", "replicas", "expected"),
    [
        (64, 8, None, None, (1.0, 8, "cuda")),  # one replica per GPU by default
        (64, 8, 2.0, None, (2.0, 4, "cuda")),  # a model too big for one GPU
        (64, 8, 0.5, None, (0.5, 16, "cuda")),  # two small replicas share a GPU
        (64, 8, 1.0, 3, (1.0, 3, "cuda")),  # --replicas caps the pool
        (16, 0, None, None, (0.0, 4, "cpu")),  # no GPUs: CPU replicas, half the CPUs up to 4
        (2, 0, None, None, (0.0, 1, "cpu")),
        (16, 4, 0.0, 2, (0.0, 2, "cpu")),  # CPU replicas asked for on a GPU cluster
    ],
)
def test_replica_plan_follows_the_cluster(cpus, gpus, per_replica, replicas, expected):
    from rmeval.ray_engine import _plan

    assert _plan(_Cluster(cpus, gpus), per_replica, replicas) == expected


def test_replica_plan_refuses_more_gpus_than_the_cluster_has():
    from rmeval.errors import InvalidInputError
    from rmeval.ray_engine import _plan

    with pytest.raises(InvalidInputError, match="has 2 GPU"):
        _plan(_Cluster(16, 2), 4.0, None)
