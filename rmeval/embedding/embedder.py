"""The model side of the embedding engine: :class:`Embedder` encodes frames and prompts on a device.

It composes the :mod:`cache layer <rmeval.embedding.cache_layer>` (what is already
embedded, what to store) and the :mod:`chunk pipeline <rmeval.embedding.pipeline>` (chunks
read ahead and run in overlap); see :mod:`rmeval.embedding` for the whole picture.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from rmeval.cache import EmbeddingCache, EmbeddingStore, frame_keys
from rmeval.embedding import pipeline
from rmeval.embedding.cache_layer import CacheLayer, EmbedStats, PendingChunk
from rmeval.errors import InvalidInputError, RmevalError
from rmeval.models import LoadedModel
from rmeval.preprocess import preprocess_frames

if TYPE_CHECKING:
    from rmeval.dataset import Dataset

PRECISIONS = ("fp32", "fp16", "bf16")
_AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
#: Upper bound of the batch size ``batch_size="auto"`` probes on a GPU.
AUTO_BATCH_MAX = 1024


class EncodeJob:
    """Embeddings under way: on the host already, or arriving in pinned memory (CUDA event)."""

    def __init__(self, result: np.ndarray | torch.Tensor, ready: torch.cuda.Event | None = None) -> None:
        self._result = result
        self._ready = ready

    def wait(self) -> np.ndarray:
        """(N, D) float32 embeddings, once they have arrived."""
        if self._ready is not None:
            self._ready.synchronize()
        if isinstance(self._result, torch.Tensor):
            # A private copy: the pinned buffer goes back to PyTorch's host allocator.
            return self._result.numpy().copy()
        return self._result


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
        batch_size: int | str = 64,
        precision: str = "fp32",
        cache: EmbeddingCache | None = None,
        progress: bool | None = None,
        compile: bool = False,
        read_workers: int | None = None,
    ) -> None:
        if batch_size != "auto" and (not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1):
            raise InvalidInputError(f"--batch-size must be a positive integer or 'auto', got {batch_size!r}")
        if precision not in PRECISIONS:
            raise InvalidInputError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.model = model
        self.precision = precision
        self.batch_size = self._auto_batch_size() if batch_size == "auto" else int(batch_size)
        self.cache = cache
        self.progress = progress
        self.read_workers = read_workers or min(32, os.cpu_count() or 4)
        self.stats = EmbedStats()
        self._cache_layer = CacheLayer(model, precision, cache, self.stats, self.read_workers)
        self._encode_image: Callable[[torch.Tensor], torch.Tensor] = model.model.encode_image
        self._compiled = bool(compile)
        if compile:
            # dynamic=False: one graph for the one batch shape (short batches are padded).
            self._encode_image = torch.compile(model.model.encode_image, dynamic=False)

    def _auto_batch_size(self, largest: int = AUTO_BATCH_MAX) -> int:
        """Largest power-of-two batch (up to ``largest``) that fits the GPU; 64 on a CPU."""
        dev = self.model.device
        if dev.type != "cuda":
            return 64
        h, w = self.model.preprocess.size
        best, bs = 0, 8
        while bs <= largest:
            try:
                with torch.inference_mode(), self._autocast():
                    x = torch.zeros(bs, 3, h, w, device=dev)
                    self.model.model.encode_image(x)
                torch.cuda.synchronize(dev)
                best, bs = bs, bs * 2
            except torch.OutOfMemoryError:
                break
            finally:
                torch.cuda.empty_cache()
        if best == 0:
            raise RmevalError(
                f"{self.model.ref.id} does not fit on {dev} even at batch 8; use a smaller model "
                "or --precision bf16."
            )
        # Headroom for the raw frames and preprocessing buffers of a real batch.
        return max(8, best // 2)

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

    def _check_frames(self, x: torch.Tensor) -> None:
        if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[-1] != 3:
            raise InvalidInputError(
                f"frames must be uint8 RGB of shape (N, H, W, 3), got {tuple(x.shape)} {x.dtype}"
            )

    def _encode_on_device(self, frames: np.ndarray | torch.Tensor, *, autocast: bool = True) -> torch.Tensor:
        """(B, H, W, 3) uint8 -> (B, D) embeddings left on the model's device (no sync).

        With ``compile=True`` a batch smaller than ``batch_size`` is padded with blank
        frames (their outputs dropped), so the compiled graph sees one shape only.
        """
        x = torch.as_tensor(frames)
        self._check_frames(x)
        n = len(x)
        if self._compiled and 0 < n < self.batch_size:
            x = torch.cat([x, x.new_zeros((self.batch_size - n, *x.shape[1:]))])
        dev = self.model.device
        if dev.type == "cuda":
            # uint8 through pinned memory: a quarter of float32's bytes, copied asynchronously
            # while the GPU still works on the previous batch.
            x = x.pin_memory().to(dev, non_blocking=True)
        pixels = preprocess_frames(x, self.model.preprocess)
        with self._autocast() if autocast else contextlib.nullcontext():
            return self._encode_image(pixels)[:n]

    @torch.inference_mode()
    def encode_batch(self, frames: np.ndarray | torch.Tensor) -> np.ndarray:
        """Encode one batch without the cache.

        Args:
            frames: (B, H, W, 3) uint8 RGB.

        Returns:
            (B, D) float32 image embeddings.
        """
        return self._encode_on_device(frames).float().cpu().numpy()

    @torch.inference_mode()
    def _launch(self, frames: np.ndarray, bar: Callable[[int], None]) -> EncodeJob:
        """Start encoding ``frames`` (N, H, W, 3) uint8; the job's :meth:`~EncodeJob.wait` gives (N, D).

        On a CPU this encodes there and then. On a GPU every batch is queued without
        synchronising, the results are gathered on the device and copied into pinned host
        memory asynchronously, and an event marks their arrival: the caller can prepare
        (and queue) the next chunk while this one runs.
        """
        n = len(frames)
        if n == 0 or self.model.device.type != "cuda":
            out = np.empty((n, self.model.embed_dim), dtype=np.float32)
            for start in range(0, n, self.batch_size):
                batch = frames[start : start + self.batch_size]
                out[start : start + len(batch)] = self.encode_batch(batch)
                bar(len(batch))
            return EncodeJob(out)
        parts = []
        with self._autocast():  # one autocast region per chunk: weights are cast once
            for start in range(0, n, self.batch_size):
                batch = frames[start : start + self.batch_size]
                parts.append(self._encode_on_device(batch, autocast=False).float())
                bar(len(batch))
        result = torch.cat(parts) if len(parts) > 1 else parts[0]
        host = torch.empty(result.shape, dtype=torch.float32, pin_memory=True)
        host.copy_(result, non_blocking=True)
        ready = torch.cuda.Event()
        ready.record()
        return EncodeJob(host, ready)

    # ---------------------------------------------------------------- cache and pipeline
    def cache_store(self, kind: str) -> EmbeddingStore | None:
        """The cache store this embedder reads and writes for ``kind`` (``image``/``text``), or None without a cache."""
        return self._cache_layer.store(kind)

    def _run(self, chunks: Iterator[pipeline.Chunk], out: np.ndarray, bar: Callable[[int], None]) -> None:
        """Run ``chunks`` through the pipeline into ``out``: cache lookup, encoding, cache write."""

        def start(frames: np.ndarray, keys: np.ndarray | None, in_flight: PendingChunk | None) -> PendingChunk:
            return self._cache_layer.start_chunk(frames, self._launch, bar, keys, in_flight)

        pipeline.run_chunks(chunks, out, start, self._cache_layer.finish_chunk)

    def _chunk_bounds(self, n: int, frame_shape: Sequence[int]) -> list[tuple[int, int]]:
        """(start, stop) rows of each chunk (see :func:`rmeval.embedding.pipeline.chunk_bounds`)."""
        return pipeline.chunk_bounds(n, frame_shape, self.batch_size)

    # ---------------------------------------------------------------- public API
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
        bounds = self._chunk_bounds(n, frames.shape[1:])
        update, close = pipeline.progress_bar(self.progress, n, f"embedding {self.model.ref.id}")
        try:
            chunks = ((frames[lo:hi], None) for lo, hi in bounds)
            self._run(chunks, out, update)
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
        row_chunks = [rows[lo:hi] for lo, hi in self._chunk_bounds(n, (h, w, 3))]
        hashing = self.cache is not None

        def read(rows_chunk: np.ndarray) -> pipeline.Chunk:
            frames = dataset.read_frames(rows_chunk, workers=self.read_workers)
            return frames, (frame_keys(frames, workers=self.read_workers) if hashing else None)

        update, close = pipeline.progress_bar(self.progress, n, f"embedding {self.model.ref.id}")
        chunks = pipeline.read_ahead(row_chunks, read)
        try:
            self._run(chunks, out, update)
        finally:
            chunks.close()  # waits for a read still under way
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
        return self._cache_layer.texts(prompts, self._encode_texts)

    def _encode_texts(self, prompts: list[str]) -> np.ndarray:
        """(P, D) float32 embeddings of ``prompts`` from the model (no cache)."""
        tokens = self.model.tokenizer(prompts).to(self.model.device)
        with self._autocast():
            return self.model.model.encode_text(tokens).float().cpu().numpy()
