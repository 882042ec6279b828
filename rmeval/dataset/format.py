"""The dataset format's fixed names: format id and version, file and column names."""

from __future__ import annotations

FORMAT_NAME = "rmeval-dataset"
FORMAT_VERSION = 1
METADATA_FILE = "metadata.json"
INDEX_FILE = "index.parquet"
FRAMES_DIR = "frames"

#: Columns every ``index.parquet`` has, in this order, before any other column.
REQUIRED_COLUMNS: tuple[str, ...] = ("frame", "episode", "step", "label")

#: PNG compression level used by :func:`write_dataset` (zlib 0-9).
PNG_COMPRESS_LEVEL = 6
