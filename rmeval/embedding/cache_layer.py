"""The embedding engine's cache layer: look a chunk of frames up, encode only what is new, store it.

:class:`CacheLayer` sits between the chunk pipeline (:mod:`rmeval.embedding.pipeline`) and
the model (:class:`rmeval.embedding.Embedder`): for each chunk it hashes the frames (unless
the keys come with them), reads the cached embeddings, de-duplicates the frames still
missing, starts encoding them, and once they arrive writes them to the cache as one shard.
Without a cache it passes every frame to the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rmeval.cache import EmbeddingCache, EmbeddingStore, frame_keys, text_keys
from rmeval.errors import RmevalError
from rmeval.models import LoadedModel


class EncodeJob(Protocol):
    """Embeddings under way; :meth:`wait` gives them as (N, D) float32 once they have arrived."""

    def wait(self) -> np.ndarray: ...


#: Starts encoding (N, H, W, 3) uint8 frames, calling ``bar(k)`` as batches go; gives the job.
Launch = Callable[[np.ndarray, Callable[[int], None]], EncodeJob]


@dataclass
class EmbedStats:
    """Counts of one Embedder's work: frames/prompts encoded by the model vs found in the cache."""

    encoded: int = 0
    cached: int = 0
    texts_encoded: int = 0
    texts_cached: int = 0


@dataclass
class PendingChunk:
    """A chunk between :meth:`CacheLayer.start_chunk` and :meth:`CacheLayer.finish_chunk`.

    ``out`` (n, D) holds the cached rows (None without a cache: then the job gives all of
    them); the job's (m, D) embeddings go to rows ``missing`` via ``emb[gather]`` and into
    the cache under ``new_keys`` (m,). Rows ``deferred`` (keys ``deferred_keys``) are
    read from the cache after the previous chunk, which encodes them, is finished.
    """

    job: EncodeJob | None = None
    out: np.ndarray | None = None
    missing: np.ndarray | None = None
    gather: np.ndarray | None = None
    new_keys: np.ndarray | None = None
    deferred: np.ndarray | None = None
    deferred_keys: np.ndarray | None = None


class CacheLayer:
    """The cache side of one model's embeddings (image and text stores), or a pass-through.

    Args:
        model: The model whose embeddings are stored (its fingerprint and preprocessing
            are part of the key).
        precision: ``fp32``, ``fp16`` or ``bf16`` (part of the key).
        cache: The embedding cache, or None to always encode.
        stats: Counts to update.
        read_workers: Threads that hash frames.
    """

    def __init__(
        self,
        model: LoadedModel,
        precision: str,
        cache: EmbeddingCache | None,
        stats: EmbedStats,
        read_workers: int,
    ) -> None:
        self.model = model
        self.precision = precision
        self.cache = cache
        self.stats = stats
        self.read_workers = read_workers
        self._image_store: EmbeddingStore | None = None
        self._text_store: EmbeddingStore | None = None

    def store(self, kind: str) -> EmbeddingStore | None:
        """The store for ``kind`` (``image``/``text``), or None without a cache."""
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

    def start_chunk(
        self,
        frames: np.ndarray,
        launch: Launch,
        bar: Callable[[int], None],
        keys: np.ndarray | None = None,
        in_flight: PendingChunk | None = None,
    ) -> PendingChunk:
        """Look ``frames`` up in the cache and start encoding the new ones with ``launch``.

        Frames that ``in_flight`` (the previous chunk, not yet finished) is encoding are not
        encoded again: they are read from the cache once that chunk is finished.
        """
        store = self.store("image")
        if store is None:
            self.stats.encoded += len(frames)
            return PendingChunk(job=launch(frames, bar))
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
            return PendingChunk(out=out, deferred=deferred, deferred_keys=None if deferred is None else keys[deferred])
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
        return PendingChunk(
            job=launch(source, bar), out=out, missing=missing, gather=rank[inverse.reshape(-1)], new_keys=keys[todo],
            deferred=deferred, deferred_keys=None if deferred is None else keys[deferred],
        )

    def finish_chunk(self, pending: PendingChunk) -> np.ndarray:
        """Wait for a chunk's embeddings, write the new ones to the cache; (n, D) float32."""
        emb = pending.job.wait() if pending.job is not None else None
        if pending.out is None:
            assert emb is not None
            return emb
        if emb is not None:
            assert pending.missing is not None and pending.gather is not None and pending.new_keys is not None
            pending.out[pending.missing] = emb[pending.gather]
            store = self.store("image")
            assert store is not None
            store.add(pending.new_keys, emb)
        if pending.deferred is not None:
            store = self.store("image")
            assert store is not None and pending.deferred_keys is not None
            found, emb_later = store.lookup(pending.deferred_keys)
            if not found.all():  # the chunk that was encoding them failed
                raise RmevalError("embeddings of frames shared with the previous chunk are missing from the cache")
            pending.out[pending.deferred] = emb_later
        return pending.out

    def texts(self, prompts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """(P, D) float32 embeddings of ``prompts``: cached ones read, the others ``encode``d and stored."""
        prompts = list(prompts)
        store = self.store("text")
        keys = text_keys(prompts)
        if store is not None:
            found, out = store.lookup(keys)
        else:
            found, out = np.zeros(len(prompts), dtype=bool), np.zeros((len(prompts), self.model.embed_dim), np.float32)
        missing = np.flatnonzero(~found)
        self.stats.texts_cached += len(prompts) - len(missing)
        if len(missing):
            emb = encode([prompts[i] for i in missing])
            out[missing] = emb
            self.stats.texts_encoded += len(missing)
            if store is not None:
                store.add(keys[missing], emb)
        return out
