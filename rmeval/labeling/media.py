"""Episode playback for trajectory scoring: an animated GIF of an episode's frames."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from rmeval.errors import InvalidInputError

__all__ = ["episode_gif", "resize_width"]


def resize_width(frame: np.ndarray, width: int) -> Image.Image:
    """An ``(H, W, 3)`` uint8 frame as a PIL image scaled to ``width`` pixels (aspect kept)."""
    im = Image.fromarray(frame)
    if im.width != width:
        height = max(1, round(im.height * width / im.width))
        im = im.resize((width, height), Image.Resampling.BILINEAR)
    return im


def episode_gif(dataset: Any, rows: Sequence[int] | np.ndarray, *, fps: float = 10.0, width: int = 480) -> bytes:
    """An animated, looping GIF of the frames ``rows`` of ``dataset``, in that order.

    Args:
        dataset: a :class:`rmeval.dataset.Dataset`.
        rows: ``(T,)`` row positions (an episode's frames by step), T >= 1.
        fps: frames per second (0.5 to 60).
        width: width of the GIF in pixels (frames are scaled, aspect kept).

    Returns:
        The GIF file's bytes.
    """
    rows = np.asarray(rows, dtype=np.intp)
    if rows.ndim != 1 or rows.size == 0:
        raise InvalidInputError("an episode needs at least one frame")
    if not 0.5 <= fps <= 60:
        raise InvalidInputError(f"fps must lie between 0.5 and 60, not {fps}")
    frames = dataset.read_frames(rows)
    images = [resize_width(f, width).quantize(colors=128, method=Image.Quantize.MEDIANCUT) for f in frames]
    buf = io.BytesIO()
    images[0].save(
        buf, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0,
        optimize=False, disposal=1,
    )
    return buf.getvalue()
