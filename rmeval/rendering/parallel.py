"""Render many states with several worker processes, frames coming back in order.

Each worker process opens its own renderer once (:func:`rmeval.rendering.renderers.open_renderer`)
and renders chunks of consecutive states; the parent yields the frames in state order,
keeping only a few chunks in flight so memory stays bounded. Rendering is a pure
function of (state, settings), so the frames are identical for any number of workers.

Workers are started with the ``spawn`` method: a fresh interpreter per worker, so no
OpenGL context, pygame state or thread pool is inherited from the parent.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from collections.abc import Generator, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from rmeval.errors import InvalidInputError, RmevalError
from rmeval.rendering.renderers import RenderSettings, StateRenderer, open_renderer

#: States per task sent to a worker.
DEFAULT_CHUNK = 16

_WORKER_RENDERER: StateRenderer | None = None
_WORKER_ERROR: Exception | None = None


def _init_worker(settings: RenderSettings, env: dict[str, str]) -> None:
    # An initializer that raises makes multiprocessing.Pool start a new worker forever;
    # keep the error and raise it from the first task instead.
    global _WORKER_RENDERER, _WORKER_ERROR
    os.environ.update(env)
    try:
        _WORKER_RENDERER = open_renderer(settings)
    except Exception as exc:  # noqa: BLE001
        _WORKER_ERROR = exc if isinstance(exc, RmevalError) else RmevalError(
            f"a render worker could not open its renderer: {type(exc).__name__}: {exc}"
        )


def _render_chunk(states: list[dict[str, float]]) -> list[np.ndarray]:
    if _WORKER_ERROR is not None:
        raise _WORKER_ERROR
    assert _WORKER_RENDERER is not None, "worker not initialised"
    return [_WORKER_RENDERER.render(s) for s in states]


def _progress(total: int, show: bool | None) -> tuple[Any, Any]:
    from rmeval.progress import progress_bar

    return progress_bar(total, "rendering", show=show)


def render_frames(
    settings: RenderSettings,
    states: Sequence[Mapping[str, float]],
    *,
    workers: int = 1,
    renderer: StateRenderer | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: bool | None = None,
) -> Generator[np.ndarray, None, None]:
    """Frames of ``states`` in order: (H, W, 3) uint8 each.

    Args:
        settings: how to draw (passed to every worker).
        states: N mappings of state-column name -> value.
        workers: worker processes; 1 renders here, with ``renderer`` when given.
        renderer: an open renderer to use when rendering in this process (``workers == 1``
            or a single chunk); not closed here.
        chunk_size: states per task sent to a worker.
        progress: show a progress bar (None: on a terminal for 500+ frames).
    """
    if not isinstance(workers, int) or workers < 1:
        raise InvalidInputError(f"--workers must be a positive integer, got {workers!r}.")
    plain = [dict(s) for s in states]
    update, close = _progress(len(plain), progress)
    try:
        if workers == 1 or len(plain) <= chunk_size:
            own = renderer is None
            r = open_renderer(settings) if own else renderer
            assert r is not None
            try:
                for s in plain:
                    yield r.render(s)
                    update(1)
            finally:
                if own:
                    r.close()
            return
        yield from _render_pool(settings, plain, workers, chunk_size, update)
    finally:
        close()


def _render_pool(
    settings: RenderSettings, states: list[dict[str, float]], workers: int, chunk_size: int, update: Any
) -> Iterator[np.ndarray]:
    chunks = [states[i : i + chunk_size] for i in range(0, len(states), chunk_size)]
    workers = min(workers, len(chunks))
    env = {k: v for k, v in os.environ.items() if k in ("MUJOCO_GL", "PYOPENGL_PLATFORM", "SDL_VIDEODRIVER")}
    ctx = mp.get_context("spawn")
    pool = ctx.Pool(workers, initializer=_init_worker, initargs=(settings, env))
    try:
        pending: deque[Any] = deque()
        next_chunk = 0
        while next_chunk < len(chunks) or pending:
            while next_chunk < len(chunks) and len(pending) < 2 * workers:
                pending.append(pool.apply_async(_render_chunk, (chunks[next_chunk],)))
                next_chunk += 1
            try:
                frames = pending.popleft().get()
            except RmevalError:
                raise
            except Exception as exc:  # a worker failed outside rmeval's own errors
                raise RmevalError(f"a render worker failed: {type(exc).__name__}: {exc}") from exc
            yield from frames
            update(len(frames))
        pool.close()
    finally:
        pool.terminate()
        pool.join()
