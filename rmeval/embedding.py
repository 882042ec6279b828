"""The embedding engine: uint8 frames in, CLIP embeddings out, in batches, with a cache.

:class:`Embedder` wraps a :class:`~rmeval.models.LoadedModel`. Frames travel to the
model's device as uint8 (a quarter of the bytes of float32, through pinned memory on
CUDA), are preprocessed there as tensor operations (:mod:`rmeval.preprocess`) and encoded
under autocast for ``fp16``/``bf16``. With an :class:`~rmeval.cache.EmbeddingCache`, frames
whose content was embedded before by the same model, preprocessing and precision are not
encoded again; new embeddings are written chunk by chunk, so an interrupted run keeps
what it finished.

Embeddings are returned as float32 numpy arrays, *not* normalised (rewards normalise).

Work runs as a pipeline of chunks (about :data:`CHUNK_BYTES` of frames each; the first
is two batches, so the model starts early): while chunk i is encoded, chunk i+1 is read
from disk (PNG decoding and hashing on ``read_workers`` threads) and, once chunk i is
queued, chunk i+1 is looked up in the cache and queued too before chunk i's results are
collected and written to the cache.

On a GPU: batches are queued without synchronising (nothing in the loop makes the host
wait for the device; normalisation constants are made once per device); a chunk's
results are copied to pinned host memory asynchronously and waited for with a CUDA
event, after the next chunk is queued. ``batch_size="auto"`` probes the largest batch
that fits; ``compile=True`` wraps the image tower in ``torch.compile`` (short batches are
padded, so there is one graph). Attention runs through PyTorch's scaled-dot-product
attention (open_clip's ``nn.MultiheadAttention`` with ``need_weights=False``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from rmeval.cache import EmbeddingCache, EmbeddingStore, frame_keys, text_keys
from rmeval.errors import InvalidInputError, RmevalError
from rmeval.models import LoadedModel
from rmeval.preprocess import preprocess_frames

if TYPE_CHECKING:
    from rmeval.dataset import Dataset

PRECISIONS = ("fp32", "fp16", "bf16")
_AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
#: Upper bound of the batch size ``batch_size="auto"`` probes on a GPU.
AUTO_BATCH_MAX = 1024
#: Frames read and hashed together; a chunk's new embeddings become one cache shard.
CHUNK_BYTES = 256 * 1024 * 1024


@dataclass
class EmbedStats:
    """Counts of one Embedder's work: frames/prompts encoded by the model vs found in the cache."""

    encoded: int = 0
    cached: int = 0
    texts_encoded: int = 0
    texts_cached: int = 0


class _EncodeJob:
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


@dataclass
class _PendingChunk:
    """A chunk between :meth:`Embedder._start_chunk` and :meth:`Embedder._finish_chunk`.

    ``out`` (n, D) holds the cached rows (None without a cache: then the job gives all of
    them); the job's (m, D) embeddings go to rows ``missing`` via ``emb[gather]`` and into
    the cache under ``new_keys`` (m,). Rows ``deferred`` (keys ``deferred_keys``) are
    read from the cache after the previous chunk, which encodes them, is finished.
    """

    job: _EncodeJob | None = None
    out: np.ndarray | None = None
    missing: np.ndarray | None = None
    gather: np.ndarray | None = None
    new_keys: np.ndarray | None = None
    deferred: np.ndarray | None = None
    deferred_keys: np.ndarray | None = None


class Embedder:
    """Batched, cached image and text embedding for one model.

    Args:
        model: A loaded model.
        batch_size: Frames per forward pass.
        precision: ``fp32``, ``fp16`` or ``bf16`` (autocast; meant for GPUs).
        cache: Embedding cache, or None to always encode.
        progress: Show a progress bar (None: only on a terminal for runs of 1,000+ frames).
        fit: How frames reach the model (``crop``, ``squash``, ``pad``: see
            :mod:`rmeval.preprocess`); None: the model's own preprocessing (open_clip's crop).
            Part of the image cache key.
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
        fit: str | None = None,
    ) -> None:
        if batch_size != "auto" and (not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1):
            raise InvalidInputError(f"--batch-size must be a positive integer or 'auto', got {batch_size!r}")
        if precision not in PRECISIONS:
            raise InvalidInputError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.model = model
        #: the preprocessing frames get: the model's, with the geometry ``fit``
        self.preprocess = model.preprocess.with_fit(fit)
        self.precision = precision
        self.batch_size = self._auto_batch_size() if batch_size == "auto" else int(batch_size)
        self.cache = cache
        self.progress = progress
        self.read_workers = read_workers or min(32, os.cpu_count() or 4)
        self.stats = EmbedStats()
        self._image_store: EmbeddingStore | None = None
        self._text_store: EmbeddingStore | None = None
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
        pixels = preprocess_frames(x, self.preprocess)
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
    def _launch(self, frames: np.ndarray, bar: Callable[[int], None]) -> _EncodeJob:
        """Start encoding ``frames`` (N, H, W, 3) uint8; the job's :meth:`~_EncodeJob.wait` gives (N, D).

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
            return _EncodeJob(out)
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
        return _EncodeJob(host, ready)

    # ---------------------------------------------------------------- cache
    def cache_store(self, kind: str) -> EmbeddingStore | None:
        """The cache store this embedder reads and writes for ``kind`` (``image``/``text``), or None without a cache."""
        if self.cache is None:
            return None
        if kind == "image":
            if self._image_store is None:
                self._image_store = self.cache.store(
                    "image",
                    self.model.ref.id,
                    {
                        "model": self.model.fingerprint,
                        "preprocess": self.preprocess.key(),
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

    def _start_chunk(
        self,
        frames: np.ndarray,
        bar: Callable[[int], None],
        keys: np.ndarray | None = None,
        in_flight: _PendingChunk | None = None,
    ) -> _PendingChunk:
        """Look ``frames`` up in the cache and start encoding the new ones (see :meth:`_launch`).

        Frames that ``in_flight`` (the previous chunk, not yet finished) is encoding are not
        encoded again: they are read from the cache once that chunk is finished.
        """
        store = self.cache_store("image")
        if store is None:
            self.stats.encoded += len(frames)
            return _PendingChunk(job=self._launch(frames, bar))
        if keys is None:
            keys = frame_keys(frames, workers=self.read_workers)
        found, out = store.lookup(keys)
        hits = int(found.sum())
        self.stats.cached += hits
        bar(hits)
        missing = np.flatnonzero(~found)
        deferred = None
        if in_flight is not None and in_flight.new_keys is not None and len(missing):
            later = np.isin(keys[missing], in_flight.new_keys)
            if later.any():
                deferred, missing = missing[later], missing[~later]
                self.stats.cached += len(deferred)
                bar(len(deferred))
        if not len(missing):
            return _PendingChunk(out=out, deferred=deferred, deferred_keys=None if deferred is None else keys[deferred])
        # Identical frames inside the chunk are encoded once. The frames to encode keep
        # their order in the chunk, so a chunk with nothing cached is encoded in place.
        _, first, inverse = np.unique(keys[missing], return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        todo = missing[first[order]]
        duplicates = len(missing) - len(todo)
        self.stats.encoded += len(todo)
        self.stats.cached += duplicates
        bar(duplicates)
        if len(todo) == len(frames):
            source = frames
        elif todo[-1] - todo[0] + 1 == len(todo):
            source = frames[todo[0] : todo[-1] + 1]
        else:
            source = frames[todo]
        return _PendingChunk(
            job=self._launch(source, bar), out=out, missing=missing, gather=rank[inverse.reshape(-1)], new_keys=keys[todo],
            deferred=deferred, deferred_keys=None if deferred is None else keys[deferred],
        )

    def _finish_chunk(self, pending: _PendingChunk) -> np.ndarray:
        """Wait for a chunk's embeddings, write the new ones to the cache; (n, D) float32."""
        emb = pending.job.wait() if pending.job is not None else None
        if pending.out is None:
            assert emb is not None
            return emb
        if emb is not None:
            assert pending.missing is not None and pending.gather is not None and pending.new_keys is not None
            pending.out[pending.missing] = emb[pending.gather]
            store = self.cache_store("image")
            assert store is not None
            store.add(pending.new_keys, emb)
        if pending.deferred is not None:
            store = self.cache_store("image")
            assert store is not None and pending.deferred_keys is not None
            found, emb_later = store.lookup(pending.deferred_keys)
            if not found.all():  # the chunk that was encoding them failed
                raise RmevalError("embeddings of frames shared with the previous chunk are missing from the cache")
            pending.out[pending.deferred] = emb_later
        return pending.out

    def _embed_chunks(
        self,
        chunks: Iterator[tuple[np.ndarray, np.ndarray | None]],
        out: np.ndarray,
        bar: Callable[[int], None],
    ) -> None:
        """Embed ``(frames, keys or None)`` chunks into consecutive rows of ``out``.

        A two-stage pipeline: chunk i+1 is looked up and queued before chunk i's results
        are collected, so a GPU is never left idle between chunks. If anything fails, the
        chunk already under way is still finished and cached before the error propagates.
        """
        pending: tuple[_PendingChunk, int, int] | None = None
        start = 0
        try:
            for frames, keys in chunks:
                in_flight = pending[0] if pending is not None else None
                current = (self._start_chunk(frames, bar, keys, in_flight), start, start + len(frames))
                start += len(frames)
                if pending is not None:
                    job, lo, hi = pending
                    pending = None
                    out[lo:hi] = self._finish_chunk(job)
                pending = current
            if pending is not None:
                job, lo, hi = pending
                pending = None
                out[lo:hi] = self._finish_chunk(job)
        except BaseException:
            if pending is not None:
                with contextlib.suppress(Exception):  # keep what was finished; the first error wins
                    self._finish_chunk(pending[0])
            raise

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

    def _chunk_bounds(self, n: int, frame_shape: Sequence[int]) -> list[tuple[int, int]]:
        """(start, stop) rows of each chunk: a short first chunk (two batches), so the model
        starts early, then chunks of about :data:`CHUNK_BYTES` of frames."""
        step = self._chunk_rows(frame_shape)
        first = min(step, 2 * self.batch_size, n)
        bounds = [(0, first)] if n else []
        bounds += [(lo, min(lo + step, n)) for lo in range(first, n, step)]
        return bounds

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
        update, close = self._progress_bar(n, f"embedding {self.model.ref.id}")
        try:
            self._embed_chunks(((frames[lo:hi], None) for lo, hi in bounds), out, update)
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
        chunks = [rows[lo:hi] for lo, hi in self._chunk_bounds(n, (h, w, 3))]
        hashing = self.cache is not None

        def read(rows_chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            frames = dataset.read_frames(rows_chunk, workers=self.read_workers)
            return frames, (frame_keys(frames, workers=self.read_workers) if hashing else None)

        def read_ahead(reader: ThreadPoolExecutor) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
            # The next chunk is decoded (and hashed, when cached) in a background thread
            # while this one is encoded: PIL and hashlib release the GIL, and on a GPU the
            # model runs asynchronously, so reading overlaps encoding.
            pending = reader.submit(read, chunks[0]) if chunks else None
            for i in range(len(chunks)):
                assert pending is not None
                frames, keys = pending.result()
                if i + 1 < len(chunks):
                    pending = reader.submit(read, chunks[i + 1])
                yield frames, keys

        update, close = self._progress_bar(n, f"embedding {self.model.ref.id}")
        try:
            with ThreadPoolExecutor(max_workers=1) as reader:
                self._embed_chunks(read_ahead(reader), out, update)
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
        store = self.cache_store("text")
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
