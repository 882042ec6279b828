"""Validation of ``index.parquet``: columns, integer and label columns, frame paths and sizes."""

from __future__ import annotations

import math
import os
import posixpath
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rmeval.dataset.format import INDEX_FILE, METADATA_FILE, REQUIRED_COLUMNS
from rmeval.dataset.frames import read_sizes
from rmeval.dataset.problems import Problems


def _column_problems(df: pd.DataFrame, *, need_frame: bool, where_file: str, problems: Problems) -> bool:
    """Check column names and row count; False when the table cannot be checked further."""
    cols = list(df.columns)
    usable = True
    for col in cols:
        if not isinstance(col, str):
            problems.add(f"{where_file}: column name {col!r} is not a string; Parquet needs string names")
            usable = False
    for col, n in Counter(c for c in cols if isinstance(c, str)).items():
        if n > 1:
            problems.add(f"{where_file}: column {col!r} appears {n} times; column names must be unique")
            usable = False
    required = REQUIRED_COLUMNS if need_frame else REQUIRED_COLUMNS[1:]
    missing = [c for c in required if c not in cols]
    if missing:
        hint = ""
        if any(name in missing for name in df.index.names if name is not None):
            hint = " (they are the DataFrame's index: call .reset_index() first)"
        problems.add(
            f"{where_file}: required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)} missing{hint}; an index needs columns "
            f"{', '.join(required)}"
            + ("" if need_frame else " (write_dataset adds 'frame' itself)")
        )
    if not need_frame and "frame" in cols:
        problems.add(
            f"{where_file}: has a 'frame' column; write_dataset names the frame files itself "
            "(frames/000000.png, ...): drop the column"
        )
    if len(df) == 0:
        problems.add(f"{where_file}: has no rows; a dataset needs at least one frame")
        usable = False
    return usable


def _py(value: object) -> object:
    """A numpy scalar as the Python scalar (for readable reprs in messages)."""
    return value.item() if isinstance(value, np.generic) else value


def is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    return False


def _normalise_int(
    series: pd.Series, col: str, where: Callable[[int], str], problems: Problems
) -> pd.Series | None:
    """``series`` as int64, or None (problems added) when it holds non-integers."""
    dtype = series.dtype
    kind = f"rows with a bad {col!r}"
    if pd.api.types.is_bool_dtype(dtype):
        problems.add(f"{INDEX_FILE}: column {col!r} holds booleans; it must hold integers")
        return None
    if pd.api.types.is_integer_dtype(dtype):
        na = series.isna().to_numpy()
        for i in np.flatnonzero(na):
            problems.add(f"{where(int(i))}: {col} is missing; it must be an integer", kind)
        return None if na.any() else series.astype(np.int64)
    if pd.api.types.is_float_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(values) | (values != np.round(values)) | (np.abs(values) > 2**62)
        for i in np.flatnonzero(bad):
            problems.add(f"{where(int(i))}: {col} is {_py(values[i])!r}; it must be an integer", kind)
        return None if bad.any() else series.astype(np.int64)
    if pd.api.types.is_object_dtype(dtype):
        values = series.to_numpy(dtype=object)
        out = np.zeros(len(values), dtype=np.int64)
        bad_rows = []
        for i, v in enumerate(values):
            if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
                out[i] = int(v)
            elif isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer():
                out[i] = int(v)
            else:
                bad_rows.append(i)
                problems.add(f"{where(i)}: {col} is {_py(v)!r}; it must be an integer", kind)
        return None if bad_rows else pd.Series(out, index=series.index, name=col)
    problems.add(f"{INDEX_FILE}: column {col!r} has dtype {dtype}; it must hold integers")
    return None


def _normalise_labels(
    series: pd.Series, where: Callable[[int], str], problems: Problems
) -> pd.Series | None:
    """``series`` as pandas ``Int8`` (0, 1, <NA>), or None (problems added) on other values."""
    dtype = series.dtype
    kind = "rows with a label other than 0, 1 or missing"

    def bad(i: int, value: object) -> None:
        problems.add(
            f"{where(i)}: label is {value!r}; labels must be 1 (goal), 0 (not goal) or "
            "missing (not labelled)",
            kind,
        )

    if pd.api.types.is_bool_dtype(dtype):
        return series.astype("Int8")
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        na = series.isna().to_numpy()
        ok = series.isin([0, 1]).to_numpy(dtype=bool, na_value=False) | na
        rows = np.flatnonzero(~ok)
        for i in rows:
            value = _py(series.iloc[i])
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # a float column only because of NaNs: show 2, not 2.0
            bad(int(i), value)
        if len(rows):
            return None
        return series.astype("Int8")
    values = series.astype(object).to_numpy()
    out = np.zeros(len(values), dtype=np.int8)
    mask = np.zeros(len(values), dtype=bool)
    found = False
    for i, v in enumerate(values):
        if is_missing(v):
            mask[i] = True
        elif isinstance(v, (bool, np.bool_)):
            out[i] = int(v)
        elif isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
            out[i] = int(v)
        else:
            found = True
            bad(i, _py(v))
    if found:
        return None
    return pd.Series(pd.arrays.IntegerArray(out, mask), index=series.index, name="label")


def _check_episode_steps(
    df: pd.DataFrame, where: Callable[[int], str], where_file: str, problems: Problems
) -> None:
    dup = df.duplicated(["episode", "step"], keep=False).to_numpy()
    if not dup.any():
        return
    sub = df.loc[dup, ["episode", "step"]]
    for (episode, step), positions in sub.groupby(["episode", "step"], sort=False).indices.items():
        rows = sub.index[positions].tolist()
        listed = ", ".join(where(r) for r in rows[:4]) + (f" and {len(rows) - 4} more" if len(rows) > 4 else "")
        problems.add(
            f"{where_file}: episode {episode} step {step} appears in {len(rows)} rows ({listed}); "
            "each (episode, step) pair must be unique",
            "duplicated (episode, step) pairs",
        )


def _check_state_columns(state_columns: object, columns: Sequence[str], problems: Problems) -> None:
    if not isinstance(state_columns, (list, tuple)):
        return
    for col in state_columns:
        if isinstance(col, str) and col not in columns:
            problems.add(
                f"{METADATA_FILE}: state_columns names {col!r}, which is not a column of "
                f"{INDEX_FILE} (columns: {', '.join(map(str, columns))}); add the column or "
                "remove the name"
            )


def _check_frame_paths(frames: Sequence[object], root: Path, problems: Problems) -> list[str | None]:
    """Check every ``frame`` value in one pass; the file path of each good row, else None.

    Directories are listed once each (``os.scandir``), so checking 100k frames costs
    about one dictionary lookup per row; only symbolic links are resolved one by one.
    """
    root_real = os.path.realpath(root)
    prefix = root_real.rstrip(os.sep) + os.sep

    def inside(path: str) -> bool:
        real = os.path.realpath(path)
        return real == root_real or real.startswith(prefix)

    dirs: dict[str, tuple[bool, dict[str, os.DirEntry[str]] | None]] = {}
    out: list[str | None] = [None] * len(frames)
    seen: dict[str, int] = {}
    dups: dict[str, list[int]] = {}

    root_str = str(root)
    for i, f in enumerate(frames):
        if type(f) is not str:
            if is_missing(f):
                problems.add(
                    f"{INDEX_FILE} row {i}: frame path is missing; give the PNG's path, e.g. "
                    f"frames/{i:06d}.png",
                    "rows with an empty frame path",
                )
                continue
            if not isinstance(f, str):
                problems.add(
                    f"{INDEX_FILE} row {i}: frame path {f!r} is not a string",
                    "rows whose frame path is not a string",
                )
                continue
        if not f.strip():
            problems.add(
                f"{INDEX_FILE} row {i}: frame path is empty; give the PNG's path, e.g. frames/{i:06d}.png",
                "rows with an empty frame path",
            )
            continue
        if f.startswith(("/", "\\")) or (len(f) > 1 and f[1] == ":"):
            problems.add(
                f"{INDEX_FILE} row {i} ({f}): frame path is absolute; it must be relative to the "
                f"dataset directory (e.g. frames/{i:06d}.png)",
                "rows with an absolute frame path",
            )
            continue
        if "\\" in f:
            problems.add(
                f"{INDEX_FILE} row {i} ({f}): frame path contains '\\'; separate directories with '/'",
                "rows with '\\' in the frame path",
            )
            continue
        # Fast path: already normal ("frames/000000.png"); else normalise ("a/./b", "a//b", "a/../b").
        if "." in f[:1] or "/." in f or "//" in f or f.endswith("/"):
            norm = posixpath.normpath(f)
            if norm == ".." or norm.startswith("../"):
                problems.add(
                    f"{INDEX_FILE} row {i} ({f}): frame path leads outside the dataset directory; "
                    "frames must lie inside it",
                    "rows whose frame lies outside the dataset directory",
                )
                continue
            if norm == ".":
                problems.add(
                    f"{INDEX_FILE} row {i} ({f}): frame path names the dataset directory itself, not a file",
                    "rows with an empty frame path",
                )
                continue
        else:
            norm = f
        if norm in seen:
            dups.setdefault(norm, [seen[norm]]).append(i)
        else:
            seen[norm] = i
        directory, _, name = norm.rpartition("/")
        info = dirs.get(directory)
        if info is None:
            full_dir = root_str + "/" + directory if directory else root_str
            listing: dict[str, os.DirEntry[str]] | None
            try:
                with os.scandir(full_dir) as it:
                    listing = {e.name: e for e in it}
            except OSError:
                listing = None
            info = dirs[directory] = (inside(full_dir), listing)
        dir_inside, listing = info
        if not dir_inside:
            problems.add(
                f"{INDEX_FILE} row {i} ({f}): its directory is a symbolic link that points outside "
                "the dataset directory; frames must lie inside it",
                "rows whose frame lies outside the dataset directory",
            )
            continue
        full = root_str + "/" + norm
        entry = listing.get(name) if listing is not None else None
        if entry is not None and not entry.is_symlink():
            if not entry.is_dir():
                out[i] = full
            else:
                problems.add(
                    f"{INDEX_FILE} row {i} ({f}): is a directory, not a PNG file",
                    "rows whose frame file is missing",
                )
            continue
        # A symbolic link, or a name the listing lacks (case-insensitive file systems).
        if os.path.lexists(full) and not inside(full):
            problems.add(
                f"{INDEX_FILE} row {i} ({f}): frame file is a symbolic link that points outside "
                "the dataset directory; copy the file into the dataset instead",
                "rows whose frame lies outside the dataset directory",
            )
        elif os.path.isfile(full):
            out[i] = full
        else:
            problems.add(f"{INDEX_FILE} row {i} ({f}): frame file is missing", "rows whose frame file is missing")

    for norm, rows in dups.items():
        listed = ", ".join(str(r) for r in rows[:6]) + (f" and {len(rows) - 6} more" if len(rows) > 6 else "")
        problems.add(
            f"{INDEX_FILE} rows {listed}: all use frame {norm}; each row needs its own frame file",
            "frame files used by several rows",
        )
    return out


def check_sizes(
    paths: Sequence[str | None],
    frames: Sequence[object],
    problems: Problems,
    *,
    expected: tuple[int, int] | None = None,
) -> tuple[int, int] | None:
    """Read the header of every existing frame; the common (height, width), or None.

    Unreadable frames and frames of another size are added to ``problems``; the
    common size is ``expected`` when given, else the most frequent one.
    """
    rows = [i for i, p in enumerate(paths) if p is not None]
    sizes = read_sizes([paths[i] for i in rows])  # type: ignore[misc]
    good: dict[int, tuple[int, int]] = {}
    for i, size in zip(rows, sizes):
        if isinstance(size, str):
            problems.add(
                f"{INDEX_FILE} row {i} ({frames[i]}): cannot read the frame ({size}); re-render "
                "it or remove its row",
                "rows whose frame cannot be read",
            )
        else:
            good[i] = size
    if not good:
        return None
    counts = Counter(good.values())
    if expected is not None:
        common_wh = (expected[1], expected[0])
        reference = "the dataset's frames are"
    else:
        common_wh, n_common = counts.most_common(1)[0]
        reference = f"most frames ({n_common} of {len(good)}) are"
    for i, (w, h) in good.items():
        if (w, h) != common_wh:
            problems.add(
                f"{INDEX_FILE} row {i} ({frames[i]}): frame is {w}x{h} (width x height) but "
                f"{reference} {common_wh[0]}x{common_wh[1]}; all frames must be the same size",
                "rows whose frame has a different size",
            )
    return (common_wh[1], common_wh[0])


def validate_index(
    index: object,
    *,
    root: Path | None,
    state_columns: object,
    need_frame: bool,
    problems: Problems,
) -> tuple[pd.DataFrame | None, list[str | None]]:
    """Check an index; return it normalised (column order, dtypes) and the frame file paths.

    ``need_frame`` False is for :func:`write_dataset`: no ``frame`` column yet. Every
    check whose columns are present runs, so all problems are found at once. The
    DataFrame comes back only when no problem was found; the paths (one per row, None
    for a bad or missing frame) whenever the ``frame`` column could be checked.
    """
    where_file = INDEX_FILE if need_frame else "index"
    if not isinstance(index, pd.DataFrame):
        problems.add(f"{where_file}: the index must be a pandas DataFrame, not {type(index).__name__}")
        return None, []
    before = problems.count()
    usable = _column_problems(index, need_frame=need_frame, where_file=where_file, problems=problems)
    _check_state_columns(state_columns, [str(c) for c in index.columns], problems)
    if not usable:
        return None, []
    df = index.reset_index(drop=True)
    has_frame = need_frame and "frame" in df.columns
    frames: list[object] = df["frame"].tolist() if has_frame else []

    def where(i: int) -> str:
        if has_frame:
            return f"{INDEX_FILE} row {i} ({frames[i]})"
        return f"{where_file} row {i}"

    episode = _normalise_int(df["episode"], "episode", where, problems) if "episode" in df else None
    step = _normalise_int(df["step"], "step", where, problems) if "step" in df else None
    label = _normalise_labels(df["label"], where, problems) if "label" in df else None
    if episode is not None and step is not None:
        _check_episode_steps(pd.DataFrame({"episode": episode, "step": step}), where, where_file, problems)
    paths: list[str | None] = []
    if has_frame:
        assert root is not None
        paths = _check_frame_paths(frames, root, problems)
    if problems.count() > before or episode is None or step is None or label is None:
        return None, paths
    out = df.copy()
    out["episode"] = episode
    out["step"] = step
    out["label"] = label
    first = [c for c in REQUIRED_COLUMNS if c in out.columns]
    out = out[first + [c for c in out.columns if c not in REQUIRED_COLUMNS]]
    return out, paths
