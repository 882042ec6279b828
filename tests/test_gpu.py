"""Checks that need a CUDA device (run with `bash scripts/test.sh -m gpu`).

Frames come from the bundled CartPole dataset (not rendered here), so these tests need
only torch, open_clip and rmeval: benchmarks/device/gpu_checks.sh runs them on a bare
GPU machine.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.fixture(scope="module")
def cartpole_frames() -> np.ndarray:
    """(24, 400, 600, 3) uint8 CartPole renders from datasets/cartpole-angle."""
    from rmeval.dataset import load_dataset

    ds = load_dataset(Path(__file__).resolve().parents[1] / "datasets" / "cartpole-angle")
    return ds.read_frames(np.linspace(0, len(ds) - 1, 24).astype(int))


def test_gpu_preprocessing_matches_cpu(cartpole_frames):
    """The float32 GPU path stays within a few 8-bit levels of the CPU (PIL-exact) path."""
    from rmeval.preprocess import PreprocessConfig, preprocess_frames

    cfg = PreprocessConfig(size=(224, 224))
    cpu = preprocess_frames(torch.from_numpy(cartpole_frames), cfg)
    gpu = preprocess_frames(torch.from_numpy(cartpole_frames).cuda(), cfg).cpu()
    levels = (cpu - gpu).abs() * torch.tensor(cfg.std).view(1, 3, 1, 1) * 255
    assert levels.mean().item() < 0.05 and levels.max().item() <= 16


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_gpu_embeddings_match_cpu(cartpole_frames, precision):
    from rmeval.embedding import Embedder
    from rmeval.models import load_model

    cpu = Embedder(load_model("ViT-B-32:random", device="cpu")).embed_frames(cartpole_frames)
    gpu_model = load_model("ViT-B-32:random", device="cuda")
    emb = Embedder(gpu_model, batch_size="auto", precision=precision)
    assert emb.batch_size >= 8
    gpu = emb.embed_frames(cartpole_frames)
    cos = (cpu * gpu).sum(1) / np.linalg.norm(cpu, axis=1) / np.linalg.norm(gpu, axis=1)
    assert cos.min() > (0.9999 if precision == "fp32" else 0.99)


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_gpu_queueing_a_chunk_never_waits_for_the_device(cartpole_frames):
    """Queueing batches and the pinned copy back make no synchronising CUDA call (after warm-up)."""
    import warnings

    from rmeval.embedding import Embedder
    from rmeval.models import load_model

    emb = Embedder(load_model("ViT-B-32:random", device="cuda"), batch_size=8, precision="bf16")
    frames = np.concatenate([cartpole_frames] * 2)  # 48 frames: 6 batches
    emb._launch(frames, lambda n: None).wait()  # warm-up: lazy init, cuDNN/cuBLAS handles, pinned blocks
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            job = emb._launch(frames, lambda n: None)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    syncs = [str(w.message) for w in caught if "synchroniz" in str(w.message).lower()]
    assert not syncs, syncs
    assert job.wait().shape == (48, 512)


def test_gpu_dataset_pipeline_with_cache_matches_cpu(tmp_path):
    """Disk -> GPU -> cache over several chunks (with repeats across chunks), then all from the cache."""
    import pandas as pd

    import rmeval.embedding.pipeline as embedding_mod
    from rmeval.cache import EmbeddingCache
    from rmeval.dataset import DatasetMetadata, write_dataset
    from rmeval.embedding import Embedder
    from rmeval.models import load_model

    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, size=(100, 64, 64, 3), dtype=np.uint8)
    frames[60:70] = frames[0:10]  # repeats in a later chunk
    index = pd.DataFrame({"episode": np.zeros(100, int), "step": np.arange(100), "label": pd.array([1, 0] * 50, dtype="Int8")})
    ds = write_dataset(tmp_path / "noise", frames, index,
                       DatasetMetadata(env="Noise-v0", task="noise", goal_prompts=["noise"], name="noise"))
    cpu = Embedder(load_model("ViT-B-32:random", device="cpu")).embed_frames(frames)
    old = embedding_mod.CHUNK_BYTES
    embedding_mod.CHUNK_BYTES = 64 * 64 * 3 * 24  # chunks of 24 frames
    try:
        gpu_model = load_model("ViT-B-32:random", device="cuda")
        first = Embedder(gpu_model, batch_size=8, precision="bf16", cache=EmbeddingCache(tmp_path / "c"))
        out = first.embed_dataset(ds)
        again = Embedder(gpu_model, batch_size=8, precision="bf16", cache=EmbeddingCache(tmp_path / "c"))
        out2 = again.embed_dataset(ds)
    finally:
        embedding_mod.CHUNK_BYTES = old
    assert (first.stats.encoded, first.stats.cached) == (90, 10)
    assert (again.stats.encoded, again.stats.cached) == (0, 100)
    assert _cosine(cpu, out).min() > 0.99
    np.testing.assert_array_equal(out, out2)
    np.testing.assert_array_equal(out[60:70], out[0:10])


def test_gpu_compiled_tower_matches_eager(cartpole_frames):
    from rmeval.embedding import Embedder
    from rmeval.models import load_model

    model = load_model("ViT-B-32:random", device="cuda")
    frames = cartpole_frames[:21]  # batch 8: the last batch (5) is padded for the compiled graph
    eager = Embedder(model, batch_size=8, precision="bf16").embed_frames(frames)
    compiled = Embedder(model, batch_size=8, precision="bf16", compile=True).embed_frames(frames)
    assert _cosine(eager, compiled).min() > 0.999


def test_gpu_large_models_fit_with_auto_batch(cartpole_frames):
    """ViT-L-14 in bf16 with an automatic batch size (random weights: no hub needed)."""
    from rmeval.embedding import Embedder
    from rmeval.models import load_model

    emb = Embedder(load_model("ViT-L-14:random", device="cuda"), batch_size="auto", precision="bf16")
    assert emb.batch_size >= 64
    out = emb.embed_frames(np.concatenate([cartpole_frames] * 4))
    assert out.shape == (96, 768) and np.isfinite(out).all()


def test_gpu_cli_embed_then_epic_reads_the_cache(run, tmp_path):
    """`rmeval embed` on the GPU fills the cache that `rmeval epic` then reads (nothing re-encoded)."""
    cache = str(tmp_path / "cache")
    code, out, err = run("embed", "--models", "ViT-B-32:random", "--device", "cuda", "--precision", "bf16",
                         "--batch-size", "auto", "--cache-dir", cache, "--no-progress")
    assert code == 0, err
    assert "on cuda" in out and "random weights" in out.lower()
    code, out, err = run("epic", "--models", "ViT-B-32:random", "--device", "cuda", "--precision", "bf16",
                         "--cache-dir", cache, "--alpha", "0:1:0.5", "--out", str(tmp_path / "res"))
    assert code == 0, err
    assert "0 frames encoded, 305 from cache" in out and "random weights" in out.lower()
