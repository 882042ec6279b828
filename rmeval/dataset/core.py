"""The :class:`Dataset` class: a loaded dataset's directory, index, metadata and frame size."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rmeval.dataset.frames import read_frame
from rmeval.dataset.metadata import DatasetMetadata
from rmeval.errors import DatasetError, InvalidInputError


def _positions(rows: Sequence[int] | None, n: int) -> np.ndarray:
    """Row positions as an int array, checked against ``n`` rows."""
    if rows is None:
        return np.arange(n, dtype=np.intp)
    arr = np.asarray(rows)
    if arr.size == 0:
        return np.zeros(0, dtype=np.intp)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise InvalidInputError(
            f"rows must be a 1-D sequence of integer row positions (0..{n - 1}); got an array "
            f"of shape {arr.shape} and dtype {arr.dtype}"
        )
    out_of_range = (arr < 0) | (arr >= n)
    if out_of_range.any():
        raise InvalidInputError(
            f"row {arr[out_of_range][0]} is out of range: the dataset has {n} rows (0..{n - 1})"
        )
    return arr.astype(np.intp, copy=False)


@dataclass(eq=False, repr=False)
class Dataset:
    """A loaded dataset: its directory, index table, metadata and frame size.

    ``index`` has a RangeIndex 0..N-1 and columns ``frame`` (str), ``episode`` (int64),
    ``step`` (int64), ``label`` (pandas ``Int8``: 0, 1 or <NA>), then any other columns.
    ``frame_size`` is (height, width) of every frame.
    """

    root: Path
    index: pd.DataFrame
    metadata: DatasetMetadata
    frame_size: tuple[int, int]

    @property
    def name(self) -> str:
        """``metadata.name``, or the directory's name when that is empty."""
        return self.metadata.name or self.root.name

    def __len__(self) -> int:
        return len(self.index)

    def __repr__(self) -> str:
        labelled = int(self.index["label"].notna().sum()) if "label" in self.index else 0
        return (
            f"Dataset(name={self.name!r}, root={str(self.root)!r}, frames={len(self)}, "
            f"labelled={labelled}, frame_size={self.frame_size})"
        )

    def frame_paths(self, rows: Sequence[int] | None = None) -> list[Path]:
        """Absolute paths of the frames of ``rows`` (all rows when None), in that order."""
        pos = _positions(rows, len(self))
        frames = self.index["frame"].to_numpy(dtype=object)[pos]
        root = self.root
        return [root / f for f in frames]

    def labelled_rows(self) -> np.ndarray:
        """(k,) intp positions of the rows whose label is 0 or 1, ascending."""
        return np.flatnonzero(self.index["label"].notna().to_numpy()).astype(np.intp)

    def labels(self, rows: Sequence[int] | None = None) -> np.ndarray:
        """(n,) int8 labels (1 goal, 0 not goal) of ``rows`` (all rows when None).

        Raises :class:`InvalidInputError` naming the rows that are not labelled; pass
        ``labelled_rows()`` to select only labelled frames.
        """
        pos = _positions(rows, len(self))
        labels = self.index["label"].iloc[pos]
        missing = labels.isna().to_numpy()
        if missing.any():
            bad = pos[missing]
            frames = self.index["frame"].to_numpy(dtype=object)
            shown = ", ".join(f"{r} ({frames[r]})" for r in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            raise InvalidInputError(
                f"dataset {self.name!r}: {len(bad)} of the requested rows are not labelled "
                f"(rows {shown}{more}); use dataset.labelled_rows() to select labelled frames"
            )
        return labels.to_numpy(dtype=np.int8)

    def read_frames(self, rows: Sequence[int] | None = None, *, workers: int = 4) -> np.ndarray:
        """(n, H, W, 3) uint8 RGB frames of ``rows`` (all rows when None), in that order.

        Decodes on ``workers`` threads (PNG decoding releases the GIL). Raises
        :class:`DatasetError` naming the file if a frame is unreadable or of another size.
        """
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidInputError(f"workers must be a positive integer, not {workers!r}")
        paths = self.frame_paths(rows)
        height, width = self.frame_size
        out = np.empty((len(paths), height, width, 3), dtype=np.uint8)

        def load(chunk: range) -> None:
            for i in chunk:
                frame = read_frame(paths[i])
                if frame.shape != out.shape[1:]:
                    raise DatasetError(
                        f"{paths[i]}: frame is {frame.shape[1]}x{frame.shape[0]} (width x height) "
                        f"but the dataset's frames are {width}x{height}; all frames must be the "
                        "same size (load_dataset(..., check_frames=True) lists the odd ones)"
                    )
                out[i] = frame

        n = len(paths)
        if workers == 1 or n <= 1:
            load(range(n))
            return out
        size = max(1, min(64, -(-n // (4 * workers))))
        chunks = [range(s, min(s + size, n)) for s in range(0, n, size)]
        pool = ThreadPoolExecutor(max_workers=min(workers, len(chunks)))
        try:
            for _ in pool.map(load, chunks):
                pass
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return out
