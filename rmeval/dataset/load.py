"""Reading a dataset directory: :func:`load_dataset` checks everything before it trusts it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from rmeval.dataset.core import Dataset
from rmeval.dataset.format import FORMAT_NAME, FORMAT_VERSION, INDEX_FILE, METADATA_FILE
from rmeval.dataset.metadata import parse_metadata
from rmeval.dataset.problems import Problems, describe_error
from rmeval.dataset.validation import check_sizes, validate_index
from rmeval.errors import DatasetError


def _read_metadata_file(path: Path, problems: Problems) -> object:
    """The parsed JSON of ``metadata.json`` (None on a problem, added to ``problems``)."""
    if not path.is_file():
        problems.add(
            f"{METADATA_FILE}: missing" if not path.exists() else f"{METADATA_FILE}: not a file"
        )
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problems.add(f"{METADATA_FILE}: not UTF-8 text")
        return None
    except OSError as exc:
        problems.add(f"{METADATA_FILE}: cannot read it ({describe_error(exc)})")
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.add(f"{METADATA_FILE}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
        return None
    if isinstance(data, dict):
        for key, hint in (("format", f"{FORMAT_NAME!r}"), ("version", str(FORMAT_VERSION))):
            if key not in data:
                problems.add(f"{METADATA_FILE}: required key {key!r} is missing (expected {hint})")
    return data


def _read_index_file(path: Path, problems: Problems) -> pd.DataFrame | None:
    if not path.is_file():
        problems.add(f"{INDEX_FILE}: missing" if not path.exists() else f"{INDEX_FILE}: not a file")
        return None
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001  (pyarrow raises ArrowInvalid, OSError, ... on damaged files)
        problems.add(f"{INDEX_FILE}: cannot read it as a Parquet table ({describe_error(exc)})")
        return None


def load_dataset(path: str | Path, *, check_frames: bool = True) -> Dataset:
    """Read and validate the dataset directory ``path``.

    Checks metadata.json, index.parquet and that every frame file exists inside the
    directory; with ``check_frames`` also opens every frame's header (threaded) to check
    it is a readable image of the common size. Every problem found is listed in one
    :class:`DatasetError`, each naming the file, key or row (rows count from 0).
    Without ``check_frames`` only the first frame's header is read (for ``frame_size``).
    """
    root = Path(path).expanduser().absolute()
    if not root.exists():
        raise DatasetError(
            f"{root}: no such directory; give the path of a dataset directory (the one "
            f"holding {METADATA_FILE} and {INDEX_FILE})"
        )
    if not root.is_dir():
        raise DatasetError(
            f"{root}: not a directory; give the dataset directory (the one holding "
            f"{METADATA_FILE} and {INDEX_FILE}), not a file in it"
        )
    problems = Problems()
    data = _read_metadata_file(root / METADATA_FILE, problems)
    metadata = parse_metadata(data, METADATA_FILE, problems) if data is not None else None
    state_columns = data.get("state_columns") if isinstance(data, dict) else None
    raw = _read_index_file(root / INDEX_FILE, problems)
    index: pd.DataFrame | None = None
    frame_size: tuple[int, int] | None = None
    if raw is not None:
        index, paths = validate_index(
            raw, root=root, state_columns=state_columns, need_frame=True, problems=problems
        )
        frames = raw["frame"].tolist() if "frame" in raw.columns else []
        if paths:
            if check_frames:
                frame_size = check_sizes(paths, frames, problems)
            else:
                first = next((i for i, p in enumerate(paths) if p is not None), None)
                if first is not None:
                    keep = [None] * len(paths)
                    keep[first] = paths[first]
                    frame_size = check_sizes(keep, frames, problems)
    problems.raise_if_any(f"{root} is not a valid rmeval dataset")
    if metadata is None or index is None or frame_size is None:  # unreachable: a problem was added
        raise DatasetError(f"{root} is not a valid rmeval dataset")
    return Dataset(root=root, index=index, metadata=metadata, frame_size=frame_size)
