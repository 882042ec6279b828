"""Frame packs: the labelling page's frames in display order, a few dozen PNG files per file.

The browser fetches one pack instead of one request per frame, so a busy server still gets
the next frames to the rater in time. A pack is the frames' PNG files, byte for byte,
concatenated (``chunk_<k>.bin`` holds order positions ``k*size`` to ``(k+1)*size - 1``); the
browser cuts it with the lengths and checks each frame's hash as usual, so what is shown
is the stored PNG exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["PACK_SIZE", "write_packs"]

#: Frames per pack.
PACK_SIZE = 25


def write_packs(root: str | Path, frames: Sequence[str], out_dir: str | Path, size: int = PACK_SIZE) -> list[int]:
    """Write the packs of ``frames`` (paths under ``root``, in display order) into ``out_dir``.

    Returns:
        The byte length of each frame's PNG, in the order given.
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, not {size}")
    base, out = Path(root), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lengths: list[int] = []
    for k in range(0, len(frames), size):
        parts = [(base / f).read_bytes() for f in frames[k : k + size]]
        lengths.extend(len(b) for b in parts)
        tmp = out / f".chunk_{k // size}.bin.tmp"
        tmp.write_bytes(b"".join(parts))
        tmp.replace(out / f"chunk_{k // size}.bin")
    return lengths
