"""Embedding engine and on-disk cache, with the tiny open_clip model."""

import numpy as np
import pytest
import torch

import rmeval.embedding.pipeline as embedding_mod
from rmeval.cache import EmbeddingCache, frame_keys
from rmeval.embedding import Embedder
from rmeval.errors import InvalidInputError


@pytest.fixture
def frames(cartpole_frames):
    return cartpole_frames[:, ::4, ::4].copy()  # (24, 100, 150, 3)


def test_embed_matches_direct_model_call(tiny_model, frames):
    from rmeval.preprocess import preprocess_frames

    emb = Embedder(tiny_model, batch_size=5).embed_frames(frames)
    with torch.no_grad():
        direct = tiny_model.model.encode_image(preprocess_frames(torch.from_numpy(frames), tiny_model.preprocess))
    assert emb.shape == (24, tiny_model.embed_dim) and emb.dtype == np.float32
    np.testing.assert_allclose(emb, direct.numpy(), atol=1e-5)


def test_batch_size_does_not_change_results(tiny_model, frames):
    a = Embedder(tiny_model, batch_size=1).embed_frames(frames)
    b = Embedder(tiny_model, batch_size=64).embed_frames(frames)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_second_run_encodes_nothing_and_changed_frame_is_reencoded(tiny_model, frames, tmp_path):
    cache = EmbeddingCache(tmp_path)
    first = Embedder(tiny_model, cache=cache)
    e1 = first.embed_frames(frames)
    assert (first.stats.encoded, first.stats.cached) == (24, 0)

    second = Embedder(tiny_model, cache=EmbeddingCache(tmp_path))  # fresh process view
    e2 = second.embed_frames(frames)
    assert (second.stats.encoded, second.stats.cached) == (0, 24)
    np.testing.assert_array_equal(e1, e2)

    changed = frames.copy()
    changed[5, 10, 10] ^= 0xFF
    third = Embedder(tiny_model, cache=EmbeddingCache(tmp_path))
    e3 = third.embed_frames(changed)
    assert (third.stats.encoded, third.stats.cached) == (1, 23)
    np.testing.assert_array_equal(np.delete(e3, 5, 0), np.delete(e1, 5, 0))


def test_cache_is_keyed_by_precision_and_weights(tiny_model, frames, tmp_path):
    from rmeval.models import load_model

    cache = EmbeddingCache(tmp_path)
    Embedder(tiny_model, cache=cache).embed_frames(frames)
    bf16 = Embedder(tiny_model, cache=cache, precision="bf16")
    bf16.embed_frames(frames)
    assert bf16.stats.encoded == 24
    other = Embedder(load_model("rmeval-tiny:random1", device="cpu"), cache=cache)
    other.embed_frames(frames)
    assert other.stats.encoded == 24


def test_duplicate_frames_encoded_once(tiny_model, frames, tmp_path):
    dup = np.concatenate([frames[:3], frames[:3], frames[:3]])
    e = Embedder(tiny_model, cache=EmbeddingCache(tmp_path))
    out = e.embed_frames(dup)
    assert e.stats.encoded == 3 and e.stats.cached == 6
    np.testing.assert_array_equal(out[:3], out[3:6])


def test_interrupted_run_keeps_finished_chunks(tiny_model, frames, tmp_path, monkeypatch):
    frame_bytes = int(np.prod(frames.shape[1:]))
    monkeypatch.setattr(embedding_mod, "CHUNK_BYTES", frame_bytes * 4)  # chunks of 4 frames
    calls = {"n": 0}
    original = Embedder.encode_batch

    def flaky(self, batch):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt  # killed while encoding the 4th chunk
        return original(self, batch)

    monkeypatch.setattr(Embedder, "encode_batch", flaky)
    with pytest.raises(KeyboardInterrupt):
        Embedder(tiny_model, batch_size=4, cache=EmbeddingCache(tmp_path)).embed_frames(frames)
    monkeypatch.setattr(Embedder, "encode_batch", original)
    store_dir = next((tmp_path / "v1" / "image").iterdir())
    assert len(list(store_dir.glob("shard-*.npy"))) == 3
    resumed = Embedder(tiny_model, batch_size=4, cache=EmbeddingCache(tmp_path))
    out = resumed.embed_frames(frames)
    assert (resumed.stats.encoded, resumed.stats.cached) == (12, 12)
    np.testing.assert_allclose(out, Embedder(tiny_model).embed_frames(frames), atol=1e-5)


def test_partial_and_corrupt_shards_are_not_trusted(tiny_model, frames, tmp_path):
    cache = EmbeddingCache(tmp_path)
    good = Embedder(tiny_model, cache=cache).embed_frames(frames)
    store_dir = next((tmp_path / "v1" / "image").iterdir())
    shard = next(store_dir.glob("shard-*.npy"))
    # a write that died before its rename, and a shard cut short by a failing disk
    (store_dir / ".tmp-shard-dead.npy").write_bytes(shard.read_bytes()[:100])
    shard.write_bytes(shard.read_bytes()[:-50])
    again = Embedder(tiny_model, cache=EmbeddingCache(tmp_path))
    with pytest.warns(UserWarning, match="ignoring unreadable embedding-cache shard"):
        out = again.embed_frames(frames)
    assert again.stats.encoded == 24
    np.testing.assert_allclose(out, good, atol=1e-5)


def test_text_embeddings_cached(tiny_model, tmp_path):
    prompts = ["pole vertically upright on top of the cart", "pole and cart"]
    first = Embedder(tiny_model, cache=EmbeddingCache(tmp_path))
    t1 = first.embed_texts(prompts)
    second = Embedder(tiny_model, cache=EmbeddingCache(tmp_path))
    t2 = second.embed_texts(prompts[::-1])
    assert first.stats.texts_encoded == 2 and second.stats.texts_encoded == 0
    np.testing.assert_array_equal(t1, t2[::-1])
    assert not np.allclose(t1[0], t1[1])


def test_frame_keys_depend_on_content_and_shape(frames):
    k = frame_keys(frames[:2])
    assert k[0] != k[1]
    flat = frames[:1].reshape(1, 150, 100, 3)
    assert frame_keys(flat)[0] != k[0]


def test_bad_arguments(tiny_model, tmp_path):
    with pytest.raises(InvalidInputError, match="batch-size"):
        Embedder(tiny_model, batch_size=0)
    with pytest.raises(InvalidInputError, match="precision"):
        Embedder(tiny_model, precision="fp8")
    with pytest.raises(InvalidInputError, match="uint8"):
        Embedder(tiny_model).embed_frames(np.zeros((2, 8, 8, 3), dtype=np.float32))
    with pytest.raises(InvalidInputError, match="prompts"):
        Embedder(tiny_model).embed_texts(["", "x"])
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    from rmeval.errors import RmevalError

    with pytest.raises(RmevalError, match="cannot create the embedding cache directory"):
        EmbeddingCache(blocker / "cache")


def test_stores_are_listed_with_their_model(tiny_model, frames, tmp_path):
    e = Embedder(tiny_model, cache=EmbeddingCache(tmp_path))
    e.embed_frames(frames[:4])
    e.embed_texts(["a prompt"])
    listed = EmbeddingCache(tmp_path).stores("image")
    assert len(listed) == 1
    info, store = listed[0]
    assert info["name"] == "rmeval-tiny:random" and info["precision"] == "fp32"
    found, _emb = store.lookup(frame_keys(frames[:6]))
    assert found.tolist() == [True] * 4 + [False] * 2
    assert [i["name"] for i, _ in EmbeddingCache(tmp_path).stores("text")] == ["rmeval-tiny:random"]


def test_auto_batch_size_on_cpu(tiny_model):
    assert Embedder(tiny_model, batch_size="auto").batch_size == 64
    with pytest.raises(InvalidInputError, match="'auto'"):
        Embedder(tiny_model, batch_size="big")


@pytest.mark.slow
def test_compiled_image_tower_matches_eager_on_a_short_last_batch(tiny_model, frames):
    """21 frames at batch 8: the last batch (5) is padded for the compiled graph."""
    eager = Embedder(tiny_model, batch_size=8).embed_frames(frames[:21])
    compiled = Embedder(tiny_model, batch_size=8, compile=True).embed_frames(frames[:21])
    np.testing.assert_allclose(compiled, eager, atol=1e-4)


def test_compile_pads_short_batches_to_one_shape(tiny_model, frames):
    """With compile=True the image tower only ever sees full batches; padding is dropped."""
    emb = Embedder(tiny_model, batch_size=8, compile=True)
    shapes = []

    def tower(x: torch.Tensor) -> torch.Tensor:  # the real model, recording input shapes
        shapes.append(tuple(x.shape))
        return tiny_model.model.encode_image(x)

    emb._encode_image = tower
    out = emb.embed_frames(frames[:21])
    assert {s[0] for s in shapes} == {8} and len(shapes) == 3
    np.testing.assert_allclose(out, Embedder(tiny_model, batch_size=8).embed_frames(frames[:21]), atol=1e-5)


def test_partly_cached_chunk_with_duplicates_keeps_row_order(tiny_model, frames, tmp_path):
    """Cached rows, new rows and repeats of new rows interleave: every row gets its own frame's embedding."""
    expected = Embedder(tiny_model).embed_frames(frames)
    cache = EmbeddingCache(tmp_path)
    Embedder(tiny_model, cache=cache).embed_frames(frames[::2])  # every other frame cached
    order = np.random.default_rng(0).permutation(np.concatenate([np.arange(24), np.arange(1, 24, 2)]))
    e = Embedder(tiny_model, batch_size=5, cache=EmbeddingCache(tmp_path))
    out = e.embed_frames(frames[order])
    assert (e.stats.encoded, e.stats.cached) == (12, 24)
    np.testing.assert_allclose(out, expected[order], atol=1e-5)


def test_chunks_start_short_then_fill_chunk_bytes(tiny_model, frames, monkeypatch):
    monkeypatch.setattr(embedding_mod, "CHUNK_BYTES", int(np.prod(frames.shape[1:])) * 12)
    bounds = Embedder(tiny_model, batch_size=4)._chunk_bounds(30, frames.shape[1:])
    assert bounds == [(0, 8), (8, 20), (20, 30)]
    assert Embedder(tiny_model, batch_size=64)._chunk_bounds(5, frames.shape[1:]) == [(0, 5)]
    assert Embedder(tiny_model)._chunk_bounds(0, frames.shape[1:]) == []


def test_frame_keys_same_with_threads():
    f = np.random.default_rng(1).integers(0, 256, (300, 16, 16, 3), dtype=np.uint8)
    f[7] = f[250]
    keys = frame_keys(f, workers=4)
    np.testing.assert_array_equal(keys, frame_keys(f))
    assert keys[7] == keys[250] and len(set(keys.tolist())) == 299


def test_attention_runs_through_sdpa_under_autocast(tiny_model, frames, monkeypatch):
    """With bf16/fp16 (autocast, as on a GPU) every attention block calls PyTorch's SDPA."""
    import torch.nn.functional as F

    calls = []
    original = F.scaled_dot_product_attention

    def counting(*args, **kwargs):
        calls.append(args[0].shape)
        return original(*args, **kwargs)

    monkeypatch.setattr(F, "scaled_dot_product_attention", counting)
    Embedder(tiny_model, batch_size=4, precision="bf16").embed_frames(frames[:4])
    n_blocks = len(tiny_model.model.visual.transformer.resblocks)
    assert len(calls) == n_blocks
