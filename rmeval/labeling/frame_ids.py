"""What identifies a frame and a dataset for the labelling app.

- A frame's *hash*: the first 16 hex digits of the SHA-256 of its PNG file's bytes, exactly
  as stored (the browser computes the same hash of the bytes it shows).
- A dataset's *identity*: its name plus a digest of its frames (the SHA-256 of the sorted
  ``path:hash`` lines, first 16 hex digits). Two datasets that name their frames alike
  (``frames/000000.png``) but hold different pictures have different identities, so a
  label export of one is refused by the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HASH_CHARS", "DatasetIdentity", "dataset_identity", "file_hash", "frame_hashes"]

#: Hex digits kept of a SHA-256.
HASH_CHARS = 16


def file_hash(path: str | Path) -> str:
    """The hash of one frame file (first :data:`HASH_CHARS` hex digits of its SHA-256)."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:HASH_CHARS]


def frame_hashes(root: str | Path, frames: Sequence[str]) -> list[str]:
    """The hash of each frame file ``root / frame``, in the order given."""
    base = Path(root)
    return [file_hash(base / f) for f in frames]


@dataclass(frozen=True)
class DatasetIdentity:
    """A dataset's name and the digest of its frames (see the module docstring)."""

    name: str
    digest: str

    def __str__(self) -> str:
        return f"{self.name}@{self.digest}"


def dataset_identity(name: str, frames: Sequence[str], hashes: Sequence[str]) -> DatasetIdentity:
    """The identity of a dataset called ``name`` whose frame paths ``frames`` have ``hashes``."""
    if len(frames) != len(hashes):
        raise ValueError(f"{len(frames)} frames but {len(hashes)} hashes")
    lines = sorted(f"{f}:{h}" for f, h in zip(frames, hashes))
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:HASH_CHARS]
    return DatasetIdentity(name=name, digest=digest)
