"""`rmeval embed --engine ray` on a local CPU Ray instance: same embeddings, same cache."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="the Ray engine needs ray[data] (pip install 'rmeval[ray]')")

from rmeval.cache import EmbeddingCache  # noqa: E402
from rmeval.cli import main  # noqa: E402
from rmeval.dataset import DatasetMetadata, write_dataset  # noqa: E402
from rmeval.embedding import Embedder  # noqa: E402
from rmeval.errors import ModelNotFoundError, WeightsUnavailableError  # noqa: E402
from rmeval.ray_engine import embed_dataset_ray, run_ray_embedding  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    """A local 2-CPU Ray instance shared by this module's tests, shut down at the end."""
    if ray.is_initialized():  # pragma: no cover - a stray instance from elsewhere
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    try:
        yield ray
    finally:
        ray.shutdown()
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


def test_ray_engine_matches_local_and_fills_the_same_cache(local_ray, frames_dataset, tmp_path):
    cache_dir = tmp_path / "cache"
    rows = np.arange(29, -1, -1)  # any order: results come back in the order asked
    res = run_ray_embedding(frames_dataset, "rmeval-tiny", cache_dir=cache_dir, batch_size=8, precision="fp32",
                            num_gpus_per_replica=0, rows=rows, rows_per_call=8)
    expected, _ = _local(frames_dataset, rows=rows)
    assert res.embeddings.shape == expected.shape == (30, 32)
    np.testing.assert_allclose(res.embeddings, expected, rtol=1e-5, atol=1e-6)
    assert res.device == "cpu" and res.replicas == 1
    assert res.encoded + res.cached == 30 and res.encoded >= 28  # duplicates may share one encoding
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


def test_embed_command_with_ray_engine(local_ray, frames_dataset, tmp_path, capsys):
    cache_dir = tmp_path / "cache"
    code = main(["embed", "--engine", "ray", "--models", "rmeval-tiny", "--dataset", str(frames_dataset.root),
                 "--cache-dir", str(cache_dir), "--batch-size", "16", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "rmeval-tiny:random: 30 frames, 28 encoded, 2 from cache, dim 32" in out and "(Ray)" in out
    assert "RANDOM weights" in out
    assert ray.is_initialized()  # the command reused the running instance and left it alone
    # the local engine then encodes nothing
    code = main(["embed", "--models", "rmeval-tiny", "--dataset", str(frames_dataset.root), "--cache-dir", str(cache_dir)])
    out, _ = capsys.readouterr()
    assert code == 0 and "0 encoded, 30 from cache" in out


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

