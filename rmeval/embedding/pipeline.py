"""The embedding engine's chunk pipeline: frames cut into chunks, read ahead, started and finished in overlap.

Work runs as a pipeline of chunks (about :data:`CHUNK_BYTES` of frames each; the first
is two batches, so the model starts early): while chunk i is encoded, chunk i+1 is read
from disk (PNG decoding and hashing on threads, :func:`read_ahead`) and, once chunk i is
queued, chunk i+1 is started too (looked up in the cache and queued) before chunk i's
results are collected (:func:`run_chunks`).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

#: Frames read and hashed together; a chunk's new embeddings become one cache shard.
CHUNK_BYTES = 256 * 1024 * 1024

_P = TypeVar("_P")
_T = TypeVar("_T")
#: A chunk as it reaches :func:`run_chunks`: (N, H, W, 3) uint8 frames and their cache keys (or None).
Chunk = tuple[np.ndarray, "np.ndarray | None"]


def chunk_rows(frame_shape: Sequence[int], batch_size: int) -> int:
    """Rows of a full chunk: about :data:`CHUNK_BYTES` of frames, a multiple of ``batch_size``."""
    frame_bytes = max(1, int(np.prod(frame_shape)))
    rows = max(batch_size, CHUNK_BYTES // frame_bytes)
    return max(batch_size, rows // batch_size * batch_size)


def chunk_bounds(n: int, frame_shape: Sequence[int], batch_size: int) -> list[tuple[int, int]]:
    """(start, stop) rows of each chunk of ``n`` frames: a short first chunk (two batches),
    so the model starts early, then chunks of about :data:`CHUNK_BYTES` of frames."""
    step = chunk_rows(frame_shape, batch_size)
    first = min(step, 2 * batch_size, n)
    bounds = [(0, first)] if n else []
    bounds += [(lo, min(lo + step, n)) for lo in range(first, n, step)]
    return bounds


def run_chunks(
    chunks: Iterator[Chunk],
    out: np.ndarray,
    start: Callable[[np.ndarray, np.ndarray | None, _P | None], _P],
    finish: Callable[[_P], np.ndarray],
) -> None:
    """Embed ``(frames, keys or None)`` chunks into consecutive rows of ``out``.

    ``start(frames, keys, in_flight)`` queues a chunk (``in_flight``: the previous chunk's
    pending work, or None) and ``finish(pending)`` waits for it, giving (n, D) rows. A
    two-stage pipeline: chunk i+1 is started before chunk i is finished, so a GPU is never
    left idle between chunks. If anything fails, the chunk already under way is still
    finished (and so cached) before the error propagates.
    """
    pending: tuple[_P, int, int] | None = None
    lo_next = 0
    try:
        for frames, keys in chunks:
            in_flight = pending[0] if pending is not None else None
            current = (start(frames, keys, in_flight), lo_next, lo_next + len(frames))
            lo_next += len(frames)
            if pending is not None:
                job, lo, hi = pending
                pending = None
                out[lo:hi] = finish(job)
            pending = current
        if pending is not None:
            job, lo, hi = pending
            pending = None
            out[lo:hi] = finish(job)
    except BaseException:
        if pending is not None:
            with contextlib.suppress(Exception):  # keep what was finished; the first error wins
                finish(pending[0])
        raise


def read_ahead(items: Sequence[_P], read: Callable[[_P], _T]) -> Iterator[_T]:
    """``read(item)`` of each item in order, the next one read on a background thread meanwhile.

    PIL and hashlib release the GIL, and on a GPU the model runs asynchronously, so
    reading chunk i+1 overlaps encoding chunk i.
    """
    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(read, items[0]) if items else None
        for i in range(len(items)):
            assert pending is not None
            result = pending.result()
            if i + 1 < len(items):
                pending = reader.submit(read, items[i + 1])
            yield result


def progress_bar(show: bool | None, total: int, desc: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    """``(update, close)`` of a tqdm bar over ``total`` frames; no-ops when not shown.

    ``show`` None: shown only on a terminal for runs of 1,000+ frames.
    """
    if show is None:
        show = total >= 1000 and sys.stderr.isatty()
    if not show:
        return (lambda n: None), (lambda: None)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="frame", dynamic_ncols=True)
    return bar.update, bar.close
