"""The embedding engine: uint8 frames in, CLIP embeddings out, in batches, with a cache.

:class:`Embedder` wraps a :class:`~rmeval.models.LoadedModel`. Frames travel to the
model's device as uint8 (a quarter of the bytes of float32, through pinned memory on
CUDA), are preprocessed there as tensor operations (:mod:`rmeval.preprocess`) and encoded
under autocast for ``fp16``/``bf16``. With an :class:`~rmeval.cache.EmbeddingCache`, frames
whose content was embedded before by the same model, preprocessing and precision are not
encoded again; new embeddings are written chunk by chunk, so an interrupted run keeps
what it finished.

Embeddings are returned as float32 numpy arrays, *not* normalised (rewards normalise).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from rmeval.cache import EmbeddingCache, EmbeddingStore, frame_keys, text_keys
from rmeval.errors import InvalidInputError
from rmeval.models import LoadedModel
from rmeval.preprocess import preprocess_frames

if TYPE_CHECKING:
    from rmeval.dataset import Dataset

PRECISIONS = ("fp32", "fp16", "bf16")
_AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
#: Frames read and hashed together; a chunk's new embeddings become one cache shard.
CHUNK_BYTES = 256 * 1024 * 1024


@dataclass
class EmbedStats:
    """Counts of one Embedder's work: frames/prompts encoded by the model vs found in the cache."""

    encoded: int = 0
    cached: int = 0
    texts_encoded: int = 0
    texts_cached: int = 0


class Embedder:
    """Batched, cached image and text embedding for one model.

    Args:
        model: A loaded model.
        batch_size: Frames per forward pass.
        precision: ``fp32``, ``fp16`` or ``bf16`` (autocast; meant for GPUs).
        cache: Embedding cache, or None to always encode.
        progress: Show a progress bar (None: only on a terminal for runs of 1,000+ frames).
    """

    def __init__(
        self,
        model: LoadedModel,
        *,
        batch_size: int = 64,
        precision: str = "fp32",
        cache: EmbeddingCache | None = None,
        progress: bool | None = None,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidInputError(f"--batch-size must be a positive integer, got {batch_size!r}")
        if precision not in PRECISIONS:
            raise InvalidInputError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.model = model
        self.batch_size = batch_size
        self.precision = precision
        self.cache = cache
        self.progress = progress
        self.stats = EmbedStats()
        self._image_store: EmbeddingStore | None = None
        self._text_store: EmbeddingStore | None = None

    # ---------------------------------------------------------------- raw encoding
    def _autocast(self) -> contextlib.AbstractContextManager[None]:
        if self.precision == "fp32":
            return contextlib.nullcontext()
        try:
            return torch.autocast(self.model.device.type, dtype=_AUTOCAST_DTYPES[self.precision])
        except RuntimeError as exc:
            raise InvalidInputError(
                f"--precision {self.precision} is not supported on {self.model.device}: {exc}; use fp32."
            ) from None

    @torch.inference_mode()
    def encode_batch(self, frames: np.ndarray | torch.Tensor) -> np.ndarray:
        """Encode one batch without the cache.

        Args:
            frames: (B, H, W, 3) uint8 RGB.

        Returns:
            (B, D) float32 image embeddings.
        """
        x = torch.as_tensor(frames)
        if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[-1] != 3:
            raise InvalidInputError(
                f"frames must be uint8 RGB of shape (N, H, W, 3), got {tuple(x.shape)} {x.dtype}"
            )
        dev = self.model.device
        if dev.type == "cuda":
            x = x.pin_memory().to(dev, non_blocking=True)
        else:
            x = x.to(dev)
        pixels = preprocess_frames(x, self.model.preprocess)
        with self._autocast():
            emb = self.model.model.encode_image(pixels)
        return emb.float().cpu().numpy()

    def _encode_all(self, frames: np.ndarray, bar: Callable[[int], None]) -> np.ndarray:
        out = np.empty((len(frames), self.model.embed_dim), dtype=np.float32)
        for start in range(0, len(frames), self.batch_size):
            batch = frames[start : start + self.batch_size]
            out[start : start + len(batch)] = self.encode_batch(batch)
            bar(len(batch))
        return out

    # ---------------------------------------------------------------- cache
    def _store(self, kind: str) -> EmbeddingStore | None:
        if self.cache is None:
            return None
        if kind == "image":
            if self._image_store is None:
                self._image_store = self.cache.store(
                    "image",
                    self.model.ref.id,
                    {
                        "model": self.model.fingerprint,
                        "preprocess": self.model.preprocess.key(),
                        "precision": self.precision,
                    },
                    self.model.embed_dim,
                )
            return self._image_store
        if self._text_store is None:
            self._text_store = self.cache.store(
                "text", self.model.ref.id, {"model": self.model.fingerprint, "precision": self.precision},
                self.model.embed_dim,
            )
        return self._text_store

    def _embed_chunk(self, frames: np.ndarray, bar: Callable[[int], None]) -> np.ndarray:
        store = self._store("image")
        if store is None:
            self.stats.encoded += len(frames)
            return self._encode_all(frames, bar)
        keys = frame_keys(frames)
        found, out = store.lookup(keys)
        hits = int(found.sum())
        self.stats.cached += hits
        bar(hits)
        missing = np.flatnonzero(~found)
        if len(missing):
            # Identical frames inside the chunk are encoded once.
            _, first, inverse = np.unique(keys[missing], return_index=True, return_inverse=True)
            todo = missing[first]
            emb = self._encode_all(frames[todo], bar)
            out[missing] = emb[inverse.reshape(-1)]
            bar(len(missing) - len(todo))
            store.add(keys[todo], emb)
            self.stats.encoded += len(todo)
            self.stats.cached += len(missing) - len(todo)
        return out

    # ---------------------------------------------------------------- public API
    def _progress_bar(self, total: int, desc: str) -> tuple[Callable[[int], None], Callable[[], None]]:
        show = self.progress
        if show is None:
            show = total >= 1000 and sys.stderr.isatty()
        if not show:
            return (lambda n: None), (lambda: None)
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, unit="frame", dynamic_ncols=True)
        return bar.update, bar.close

    def _chunk_rows(self, frame_shape: Sequence[int]) -> int:
        frame_bytes = max(1, int(np.prod(frame_shape)))
        rows = max(self.batch_size, CHUNK_BYTES // frame_bytes)
        return max(self.batch_size, rows // self.batch_size * self.batch_size)

    def embed_frames(self, frames: np.ndarray) -> np.ndarray:
        """Embed frames, using and filling the cache.

        Args:
            frames: (N, H, W, 3) uint8 RGB.

        Returns:
            (N, D) float32 embeddings, in the order of ``frames``.
        """
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise InvalidInputError(
                f"frames must be uint8 RGB of shape (N, H, W, 3), got {frames.shape} {frames.dtype}"
            )
        n = len(frames)
        out = np.empty((n, self.model.embed_dim), dtype=np.float32)
        step = self._chunk_rows(frames.shape[1:])
        update, close = self._progress_bar(n, f"embedding {self.model.ref.id}")
        try:
            for start in range(0, n, step):
                out[start : start + step] = self._embed_chunk(frames[start : start + step], update)
        finally:
            close()
        return out

    def embed_dataset(self, dataset: Dataset, rows: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Embed a dataset's frames (all, or ``rows``), reading the next chunk while encoding.

        Returns:
            (n, D) float32 embeddings in the order of ``rows``.
        """
        rows = np.arange(len(dataset)) if rows is None else np.asarray(rows, dtype=np.int64)
        n = len(rows)
        out = np.empty((n, self.model.embed_dim), dtype=np.float32)
        h, w = dataset.frame_size
        step = self._chunk_rows((h, w, 3))
        chunks = [rows[i : i + step] for i in range(0, n, step)]
        update, close = self._progress_bar(n, f"embedding {self.model.ref.id}")
        try:
            with ThreadPoolExecutor(max_workers=1) as reader:
                pending = reader.submit(dataset.read_frames, chunks[0]) if chunks else None
                start = 0
                for i, chunk in enumerate(chunks):
                    assert pending is not None
                    frames = pending.result()
                    if i + 1 < len(chunks):
                        pending = reader.submit(dataset.read_frames, chunks[i + 1])
                    out[start : start + len(chunk)] = self._embed_chunk(frames, update)
                    start += len(chunk)
        finally:
            close()
        return out

    @torch.inference_mode()
    def embed_texts(self, prompts: Sequence[str]) -> np.ndarray:
        """Embed prompts (cached).

        Returns:
            (P, D) float32 text embeddings.
        """
        prompts = list(prompts)
        if not prompts or any(not isinstance(p, str) or not p.strip() for p in prompts):
            raise InvalidInputError(f"prompts must be non-empty strings, got {prompts!r}")
        store = self._store("text")
        keys = text_keys(prompts)
        if store is not None:
            found, out = store.lookup(keys)
        else:
            found, out = np.zeros(len(prompts), dtype=bool), np.zeros((len(prompts), self.model.embed_dim), np.float32)
        missing = np.flatnonzero(~found)
        self.stats.texts_cached += len(prompts) - len(missing)
        if len(missing):
            tokens = self.model.tokenizer([prompts[i] for i in missing]).to(self.model.device)
            with self._autocast():
                emb = self.model.model.encode_text(tokens).float().cpu().numpy()
            out[missing] = emb
            self.stats.texts_encoded += len(missing)
            if store is not None:
                store.add(keys[missing], emb)
        return out
