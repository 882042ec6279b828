"""Frame files: reading PNGs as (H, W, 3) uint8 RGB, reading their sizes, writing them."""

from __future__ import annotations

import os
import warnings
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from rmeval.dataset.format import PNG_COMPRESS_LEVEL
from rmeval.dataset.problems import describe_error
from rmeval.errors import DatasetError

# Frames whose headers one thread reads in one go (load_dataset with check_frames).
_HEADER_CHUNK = 256
_HEADER_WORKERS = 8


def _to_rgb8(im: Image.Image) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a loaded PIL image of any common mode."""
    mode = im.mode
    if mode == "RGB":
        arr = np.asarray(im)
    elif mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):
        # 16-bit grey (PNG); 32-bit integer grey is also taken as 0..65535.
        raw = np.asarray(im).astype(np.int64)
        grey = ((np.clip(raw, 0, 65535) + 128) // 257).astype(np.uint8)
        arr = np.repeat(grey[:, :, None], 3, axis=2)
    elif mode in ("P", "PA") and "transparency" in im.info:
        arr = np.asarray(im.convert("RGBA").convert("RGB"))
    else:
        arr = np.asarray(im.convert("RGB"))
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"image mode {mode} gave an array of shape {arr.shape} and dtype {arr.dtype}")
    if not arr.flags.writeable or not arr.flags.c_contiguous:
        arr = np.array(arr, dtype=np.uint8, order="C")
    return arr


def read_frame(path: str | Path) -> np.ndarray:
    """One frame as an (H, W, 3) uint8 RGB array.

    Grey (``L``, ``LA``, ``1``), palette (``P``), ``RGBA`` and 16-bit images are converted
    to 8-bit RGB; alpha is dropped (not composited). Raises :class:`DatasetError`
    naming the file when it is missing, not an image, or truncated.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            return _to_rgb8(im)
    except FileNotFoundError:
        raise DatasetError(f"{path}: frame file not found") from None
    except Exception as exc:  # noqa: BLE001  (PIL raises OSError, SyntaxError, ValueError, ... on bad files)
        raise DatasetError(
            f"{path}: cannot read this frame ({describe_error(exc)}); the file is damaged or not an "
            "image. Re-render it, or remove its row from index.parquet."
        ) from None


def _read_size(path: str) -> tuple[int, int] | str:
    """(width, height) from an image's header, or a description of why it cannot be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                width, height = im.size
        return int(width), int(height)
    except Exception as exc:  # noqa: BLE001
        return describe_error(exc)


def read_sizes(paths: Sequence[str]) -> list[tuple[int, int] | str]:
    """:func:`_read_size` of every path, in order, on a small thread pool."""
    if len(paths) <= 2 * _HEADER_CHUNK:
        return [_read_size(p) for p in paths]
    chunks = [paths[i : i + _HEADER_CHUNK] for i in range(0, len(paths), _HEADER_CHUNK)]
    with ThreadPoolExecutor(max_workers=min(_HEADER_WORKERS, len(chunks))) as pool:
        results = pool.map(lambda chunk: [_read_size(p) for p in chunk], chunks)
        return [r for chunk in results for r in chunk]



def _save_png(frame: np.ndarray, path: Path) -> None:
    try:
        Image.fromarray(frame).save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot write the frame ({describe_error(exc)})") from None


def _check_frame_array(frame: object, i: int, shape: tuple[int, ...] | None) -> np.ndarray:
    """A private C-contiguous copy of frame ``i``, checked to be (H, W, 3) uint8."""
    try:
        arr = np.asarray(frame)
    except Exception as exc:  # noqa: BLE001
        raise DatasetError(f"frame {i}: not an array ({describe_error(exc)})") from None
    if arr.dtype != np.uint8:
        raise DatasetError(
            f"frame {i}: dtype {arr.dtype}, expected uint8 (values 0-255); convert with "
            "np.clip(frame, 0, 255).astype(np.uint8)"
        )
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DatasetError(f"frame {i}: shape {arr.shape}, expected (height, width, 3) RGB")
    if shape is not None and arr.shape != shape:
        raise DatasetError(
            f"frame {i}: shape {arr.shape} differs from frame 0's {shape}; all frames must be "
            "the same size"
        )
    return np.array(arr, dtype=np.uint8, order="C", copy=True)


def write_frames(frames: Iterable[np.ndarray], frames_dir: Path, n: int) -> None:
    """Encode the frames as ``frames_dir/000000.png, ...`` on a few threads, in order.

    Raises if there are not exactly ``n`` frames or one is malformed; an exception from
    the ``frames`` iterable itself propagates unchanged. All threads have finished when
    this returns or raises.
    """
    workers = max(1, min(4, os.cpu_count() or 1))
    pending: deque[Future[None]] = deque()
    shape: tuple[int, ...] | None = None
    count = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            iterator: Iterator[np.ndarray] = iter(frames)
            for i, frame in enumerate(iterator):
                if i >= n:
                    raise DatasetError(
                        f"frames: got more frames than the index's {n} rows; give exactly one "
                        "frame per index row"
                    )
                arr = _check_frame_array(frame, i, shape)
                shape = arr.shape
                pending.append(pool.submit(_save_png, arr, frames_dir / f"{i:06d}.png"))
                count = i + 1
                while len(pending) > 2 * workers:
                    pending.popleft().result()
            while pending:
                pending.popleft().result()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    if count != n:
        raise DatasetError(
            f"frames: got {count} frame{'s' if count != 1 else ''} but the index has {n} rows; "
            "give exactly one frame per index row"
        )
