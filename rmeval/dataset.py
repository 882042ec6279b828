"""Labelled datasets of rendered frames: the on-disk format (v1), reading and writing.

## rmeval dataset format, version 1

A dataset is a directory:

```text
my-dataset/
  metadata.json     what the frames show and how they were labelled
  index.parquet     one row per frame: file, episode, step, label, state columns
  frames/           the frames as PNG files: 000000.png, 000001.png, ...
```

### `metadata.json`

A UTF-8 JSON object (strict JSON: no `NaN` or `Infinity`):

| key                | type            | meaning                                                               |
|--------------------|-----------------|-----------------------------------------------------------------------|
| `format`           | string          | always `"rmeval-dataset"`                                             |
| `version`          | integer         | format version, `1`                                                   |
| `name`             | string          | short name (optional; defaults to the directory's name)               |
| `env`              | string          | environment id, e.g. `"CartPole-v1"` (required, non-empty)            |
| `task`             | string          | the task the frames are labelled for, e.g. `"balance"` (required)     |
| `goal_prompts`     | list of strings | at least one text prompt describing the goal                          |
| `baseline_prompts` | list of strings | prompts describing the scene without the goal (may be empty)          |
| `render`           | object          | free-form render settings: `width`, `height`, `look`, `camera`, ...   |
| `state_columns`    | list of strings | columns of `index.parquet` holding environment state, e.g. `"angle"`  |
| `label_rule`       | string          | how the labels were made, e.g. `"goal when abs(angle) <= 0.1 rad"`    |
| `description`      | string          | free text                                                             |
| `created_by`       | string          | the writer, e.g. `"rmeval 0.1.0"`                                     |

`format`, `version`, `env`, `task` and `goal_prompts` are required; the other keys may
be left out. Readers also accept `"goal_prompt": "..."` and `"baseline_prompt": "..."`
(one string) in place of the lists. Any other key is kept as it is: rmeval reads it
into `DatasetMetadata.extra` and writes it back.

### `index.parquet`

A Parquet table with one row per frame, in a fixed order (row numbers count from 0):

| column    | type                  | meaning                                                          |
|-----------|-----------------------|------------------------------------------------------------------|
| `frame`   | string                | path of the PNG relative to the dataset directory, `/`-separated; normally `frames/000000.png` |
| `episode` | integer               | episode the frame comes from                                     |
| `step`    | integer               | step within the episode                                          |
| `label`   | int8, nullable        | `1` goal, `0` not goal, null = not labelled yet (pandas `Int8`) |
| *other*   | any                   | kept as they are; state columns (those named in `state_columns`) usually hold floats |

Rules:

- at least one row;
- `frame` paths are non-empty, relative, `/`-separated (no `\\`), and stay inside the
  dataset directory (no `..` that leaves it, no symbolic links that point out of it);
  no two rows name the same file;
- `episode` and `step` are integers (no nulls);
- no two rows have the same (`episode`, `step`) pair;
- `label` holds only 0, 1 or missing (readers also accept booleans and the floats
  0.0 / 1.0 with NaN as missing, and convert them to `Int8`);
- every name in `state_columns` is a column (and none is `frame`, `episode`, `step`
  or `label`).

Steps of rollouts (what `rmeval render --mode rollout` and `rmeval rollout` write): an
episode of T actions is its T + 1 states s_0 .. s_T; the row with `step` t shows s_t,
the state after t actions, so step 0 is the state right after `reset`. Columns that
belong to an action, such as `env_reward`, are stored with the state the action led to:
`env_reward` at step t is the reward for the transition s_(t-1) -> s_t, and is missing
(NaN) at step 0. With every step kept, an episode's return is the sum of its
`env_reward` column (NaN skipped); `rmeval render --every K` keeps steps 0, K, 2K, ...
only.

### `frames/`

PNG images, 8-bit RGB, all of the same width and height. (Readers convert grey,
palette, RGBA and 16-bit PNGs to 8-bit RGB, dropping any alpha channel, but writers
should store RGB.)

### Writing and updating

`write_dataset` builds the whole directory under a temporary sibling
(`.<name>.tmp-<random>`) and renames it into place, so a dataset directory is either
complete or absent; replacing an existing dataset needs `overwrite=True`. `save_index`
replaces `index.parquet` atomically (write a temporary file, then rename it over the
old one), which is how labelling tools update labels.
"""

from __future__ import annotations

import copy
import json
import math
import os
import posixpath
import secrets
import shutil
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from rmeval import __version__
from rmeval.errors import DatasetError, InvalidInputError

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "FRAMES_DIR",
    "INDEX_FILE",
    "METADATA_FILE",
    "REQUIRED_COLUMNS",
    "Dataset",
    "DatasetMetadata",
    "load_dataset",
    "read_frame",
    "save_index",
    "write_dataset",
]

FORMAT_NAME = "rmeval-dataset"
FORMAT_VERSION = 1
METADATA_FILE = "metadata.json"
INDEX_FILE = "index.parquet"
FRAMES_DIR = "frames"

#: Columns every ``index.parquet`` has, in this order, before any other column.
REQUIRED_COLUMNS: tuple[str, ...] = ("frame", "episode", "step", "label")

#: PNG compression level used by :func:`write_dataset` (zlib 0-9).
PNG_COMPRESS_LEVEL = 6

# At most this many problems of one kind are listed; the rest are counted.
_PER_KIND = 5
# Frames whose headers one thread reads in one go (load_dataset with check_frames).
_HEADER_CHUNK = 256
_HEADER_WORKERS = 8


# --------------------------------------------------------------------------- problems


class _Problems:
    """Problems found so far, grouped by kind; at most ``_PER_KIND`` listed per kind."""

    def __init__(self) -> None:
        self._shown: dict[str, list[str]] = {}
        self._hidden: Counter[str] = Counter()
        self._unique = 0

    def add(self, message: str, kind: str | None = None) -> None:
        """Record ``message``; ``kind`` (e.g. "rows with a bad label") groups similar ones."""
        if kind is None:
            self._unique += 1
            kind = f"\0{self._unique}"
        shown = self._shown.setdefault(kind, [])
        if len(shown) < _PER_KIND:
            shown.append(message)
        else:
            self._hidden[kind] += 1

    def __bool__(self) -> bool:
        return bool(self._shown)

    def count(self) -> int:
        return sum(len(v) for v in self._shown.values()) + sum(self._hidden.values())

    def as_list(self) -> list[str]:
        out: list[str] = []
        for kind, messages in self._shown.items():
            out.extend(messages)
            if self._hidden[kind]:
                out.append(f"... and {self._hidden[kind]} more {kind}")
        return out

    def raise_if_any(self, what: str) -> None:
        if self:
            n = self.count()
            raise DatasetError(f"{what} ({n} problem{'s' if n != 1 else ''}):", self.as_list())


def _short(exc: BaseException) -> str:
    """A one-line description of ``exc`` for an error message."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --------------------------------------------------------------------------- metadata

# Keys of metadata.json that map onto DatasetMetadata fields (or are structural).
_FIELD_KEYS = (
    "name",
    "env",
    "task",
    "goal_prompts",
    "baseline_prompts",
    "render",
    "state_columns",
    "label_rule",
    "description",
)
_ALIAS_KEYS = ("goal_prompt", "baseline_prompt")
_KNOWN_KEYS = frozenset(("format", "version", *_FIELD_KEYS, *_ALIAS_KEYS))


@dataclass
class DatasetMetadata:
    """What a dataset's frames show and how they were labelled (``metadata.json``).

    ``goal_prompts`` holds at least one prompt; ``render`` is free-form (width, height,
    look, camera, ...); ``state_columns`` names columns of the index that hold
    environment state. ``extra`` holds every other key of ``metadata.json`` (including
    ``created_by``), so unknown keys survive a read and a write.
    """

    env: str
    task: str
    goal_prompts: list[str]
    baseline_prompts: list[str] = field(default_factory=list)
    render: dict[str, Any] = field(default_factory=dict)
    state_columns: list[str] = field(default_factory=list)
    label_rule: str = ""
    name: str = ""
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``metadata.json`` object: format keys, the fields, then ``extra`` (deep copies).

        Keys of ``extra`` that clash with a field are left out (``write_dataset``
        refuses such metadata).
        """
        data: dict[str, Any] = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "name": self.name,
            "env": self.env,
            "task": self.task,
            "goal_prompts": list(self.goal_prompts),
            "baseline_prompts": list(self.baseline_prompts),
            "render": copy.deepcopy(dict(self.render)),
            "state_columns": list(self.state_columns),
            "label_rule": self.label_rule,
            "description": self.description,
            "created_by": copy.deepcopy(self.extra.get("created_by", f"rmeval {__version__}")),
        }
        for key, value in self.extra.items():
            if key not in data and key not in _KNOWN_KEYS:
                data[key] = copy.deepcopy(value)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = METADATA_FILE) -> DatasetMetadata:
        """Metadata from a ``metadata.json`` object, validated.

        ``format`` and ``version`` may be left out here, but must be right when present.
        Raises :class:`DatasetError` listing every bad or missing key, each prefixed by
        ``source``.
        """
        problems = _Problems()
        meta = _parse_metadata(data, source, problems)
        problems.raise_if_any(f"{source}: invalid dataset metadata")
        assert meta is not None
        return meta


def _parse_metadata(data: object, source: str, problems: _Problems) -> DatasetMetadata | None:
    """Validate a metadata mapping; add problems; return the metadata when there are none."""
    if not isinstance(data, Mapping):
        problems.add(f"{source}: must be a JSON object {{...}}, not {type(data).__name__}")
        return None
    before = problems.count()

    bad_keys = [k for k in data if not isinstance(k, str)]
    for key in bad_keys:
        problems.add(f"{source}: key {key!r} is not a string")

    if "format" in data and data["format"] != FORMAT_NAME:
        problems.add(
            f"{source}: 'format' is {data['format']!r}, expected {FORMAT_NAME!r}; "
            "is this an rmeval dataset?"
        )
    if "version" in data:
        version = data["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            problems.add(f"{source}: 'version' is {version!r}; it must be a positive integer ({FORMAT_VERSION})")
        elif version != FORMAT_VERSION:
            problems.add(
                f"{source}: unsupported format version {version}; this rmeval ({__version__}) "
                f"reads version {FORMAT_VERSION}. Upgrade rmeval to read this dataset."
            )

    def text(key: str, *, required: bool) -> str:
        if key not in data:
            if required:
                problems.add(f"{source}: required key {key!r} is missing (a non-empty string)")
            return ""
        value = data[key]
        if not isinstance(value, str):
            problems.add(f"{source}: {key!r} must be a string, not {type(value).__name__} ({value!r:.60})")
            return ""
        if required and not value.strip():
            problems.add(f"{source}: {key!r} must not be empty")
        return value

    def text_list(key: str, alias: str | None, *, min_len: int) -> list[str]:
        if alias is not None and alias in data:
            if key in data:
                problems.add(f"{source}: give either {key!r} (a list) or {alias!r} (one string), not both")
                return []
            value = data[alias]
            if not isinstance(value, str) or not value.strip():
                problems.add(f"{source}: {alias!r} must be a non-empty string, not {value!r:.60}")
                return []
            return [value]
        if key not in data:
            if min_len:
                problems.add(
                    f"{source}: required key {key!r} is missing (a list of at least {min_len} "
                    "string(s))"
                )
            return []
        value = data[key]
        if not isinstance(value, (list, tuple)):
            hint = f'; for one prompt write ["..."] or use {alias!r}' if alias and isinstance(value, str) else ""
            problems.add(
                f"{source}: {key!r} must be a list of strings, not {type(value).__name__}{hint}"
            )
            return []
        out: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                problems.add(f"{source}: {key}[{i}] must be a non-empty string, not {item!r:.60}")
            else:
                out.append(item)
        if len(value) < min_len:
            problems.add(f"{source}: {key!r} is empty; give at least {min_len} prompt(s)")
        return out

    env = text("env", required=True)
    task = text("task", required=True)
    name = text("name", required=False)
    label_rule = text("label_rule", required=False)
    description = text("description", required=False)
    goal_prompts = text_list("goal_prompts", "goal_prompt", min_len=1)
    baseline_prompts = text_list("baseline_prompts", "baseline_prompt", min_len=0)

    state_columns = text_list("state_columns", None, min_len=0)
    for col, n in Counter(state_columns).items():
        if n > 1:
            problems.add(f"{source}: state_columns lists {col!r} {n} times")
        if col in REQUIRED_COLUMNS:
            problems.add(f"{source}: state_columns lists {col!r}, which is a required index column, not a state column")

    render: dict[str, Any] = {}
    if "render" in data:
        value = data["render"]
        if not isinstance(value, Mapping):
            problems.add(f"{source}: 'render' must be an object {{...}}, not {type(value).__name__}")
        else:
            for key in value:
                if not isinstance(key, str):
                    problems.add(f"{source}: render key {key!r} is not a string")
            render = copy.deepcopy(dict(value))

    extra = {k: copy.deepcopy(v) for k, v in data.items() if isinstance(k, str) and k not in _KNOWN_KEYS}
    if "created_by" in extra and not isinstance(extra["created_by"], str):
        problems.add(f"{source}: 'created_by' must be a string, not {type(extra['created_by']).__name__}")

    if problems.count() > before:
        return None
    return DatasetMetadata(
        env=env,
        task=task,
        goal_prompts=goal_prompts,
        baseline_prompts=baseline_prompts,
        render=render,
        state_columns=state_columns,
        label_rule=label_rule,
        name=name,
        description=description,
        extra=extra,
    )


def _json_default(value: object) -> object:
    """Let numpy scalars/arrays and paths into JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _metadata_json(metadata: DatasetMetadata) -> str:
    """``metadata.json`` text for writing (stamped ``created_by`` this rmeval), validated."""
    problems = _Problems()
    if not isinstance(metadata, DatasetMetadata):
        raise InvalidInputError(
            f"metadata must be a DatasetMetadata, not {type(metadata).__name__}; "
            "use DatasetMetadata.from_dict(...) to build one from a dict."
        )
    if not isinstance(metadata.extra, Mapping):
        raise DatasetError(f"metadata.extra must be a dict, not {type(metadata.extra).__name__}")
    for key in metadata.extra:
        if key in _KNOWN_KEYS:
            problems.add(
                f"metadata.extra has key {key!r}, which is a metadata field; set the field instead"
            )
    data = metadata.to_dict()
    data["created_by"] = f"rmeval {__version__}"
    _parse_metadata(data, "metadata", problems)
    problems.raise_if_any("metadata: cannot write this dataset metadata")
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=_json_default)
    except (TypeError, ValueError):
        for key, value in data.items():
            items = value.items() if isinstance(value, dict) else [(None, value)]
            for sub, item in items:
                try:
                    json.dumps(item, allow_nan=False, default=_json_default)
                except (TypeError, ValueError) as exc:
                    where = f"{key!r}" if sub is None else f"{key}[{sub!r}]"
                    problems.add(
                        f"metadata {where}: cannot be stored in JSON ({_short(exc)}); use strings, "
                        "numbers, booleans, null, lists and dicts (NaN and infinity are not JSON)"
                    )
        if not problems:
            problems.add("metadata: cannot be stored in JSON")
        problems.raise_if_any("metadata: cannot write this dataset metadata")
    return text + "\n"


# --------------------------------------------------------------------------- frames


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
            f"{path}: cannot read this frame ({_short(exc)}); the file is damaged or not an "
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
        return _short(exc)


def _read_sizes(paths: Sequence[str]) -> list[tuple[int, int] | str]:
    """:func:`_read_size` of every path, in order, on a small thread pool."""
    if len(paths) <= 2 * _HEADER_CHUNK:
        return [_read_size(p) for p in paths]
    chunks = [paths[i : i + _HEADER_CHUNK] for i in range(0, len(paths), _HEADER_CHUNK)]
    with ThreadPoolExecutor(max_workers=min(_HEADER_WORKERS, len(chunks))) as pool:
        results = pool.map(lambda chunk: [_read_size(p) for p in chunk], chunks)
        return [r for chunk in results for r in chunk]


# --------------------------------------------------------------------------- index checks


def _column_problems(df: pd.DataFrame, *, need_frame: bool, where_file: str, problems: _Problems) -> bool:
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


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    return False


def _normalise_int(
    series: pd.Series, col: str, where: Callable[[int], str], problems: _Problems
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
    series: pd.Series, where: Callable[[int], str], problems: _Problems
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
        if _is_missing(v):
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
    df: pd.DataFrame, where: Callable[[int], str], where_file: str, problems: _Problems
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


def _check_state_columns(state_columns: object, columns: Sequence[str], problems: _Problems) -> None:
    if not isinstance(state_columns, (list, tuple)):
        return
    for col in state_columns:
        if isinstance(col, str) and col not in columns:
            problems.add(
                f"{METADATA_FILE}: state_columns names {col!r}, which is not a column of "
                f"{INDEX_FILE} (columns: {', '.join(map(str, columns))}); add the column or "
                "remove the name"
            )


def _check_frame_paths(frames: Sequence[object], root: Path, problems: _Problems) -> list[str | None]:
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
            if _is_missing(f):
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


def _check_sizes(
    paths: Sequence[str | None],
    frames: Sequence[object],
    problems: _Problems,
    *,
    expected: tuple[int, int] | None = None,
) -> tuple[int, int] | None:
    """Read the header of every existing frame; the common (height, width), or None.

    Unreadable frames and frames of another size are added to ``problems``; the
    common size is ``expected`` when given, else the most frequent one.
    """
    rows = [i for i, p in enumerate(paths) if p is not None]
    sizes = _read_sizes([paths[i] for i in rows])  # type: ignore[misc]
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


def _validate_index(
    index: object,
    *,
    root: Path | None,
    state_columns: object,
    need_frame: bool,
    problems: _Problems,
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


# --------------------------------------------------------------------------- dataset


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


def _read_metadata_file(path: Path, problems: _Problems) -> object:
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
        problems.add(f"{METADATA_FILE}: cannot read it ({_short(exc)})")
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


def _read_index_file(path: Path, problems: _Problems) -> pd.DataFrame | None:
    if not path.is_file():
        problems.add(f"{INDEX_FILE}: missing" if not path.exists() else f"{INDEX_FILE}: not a file")
        return None
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001  (pyarrow raises ArrowInvalid, OSError, ... on damaged files)
        problems.add(f"{INDEX_FILE}: cannot read it as a Parquet table ({_short(exc)})")
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
    problems = _Problems()
    data = _read_metadata_file(root / METADATA_FILE, problems)
    metadata = _parse_metadata(data, METADATA_FILE, problems) if data is not None else None
    state_columns = data.get("state_columns") if isinstance(data, dict) else None
    raw = _read_index_file(root / INDEX_FILE, problems)
    index: pd.DataFrame | None = None
    frame_size: tuple[int, int] | None = None
    if raw is not None:
        index, paths = _validate_index(
            raw, root=root, state_columns=state_columns, need_frame=True, problems=problems
        )
        frames = raw["frame"].tolist() if "frame" in raw.columns else []
        if paths:
            if check_frames:
                frame_size = _check_sizes(paths, frames, problems)
            else:
                first = next((i for i, p in enumerate(paths) if p is not None), None)
                if first is not None:
                    keep = [None] * len(paths)
                    keep[first] = paths[first]
                    frame_size = _check_sizes(keep, frames, problems)
    problems.raise_if_any(f"{root} is not a valid rmeval dataset")
    if metadata is None or index is None or frame_size is None:  # unreachable: a problem was added
        raise DatasetError(f"{root} is not a valid rmeval dataset")
    return Dataset(root=root, index=index, metadata=metadata, frame_size=frame_size)


# --------------------------------------------------------------------------- writing


def _arrow_table(df: pd.DataFrame, where: str) -> pa.Table:
    """``df`` as an Arrow table; DatasetError naming the column Parquet cannot store."""
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except Exception as exc:  # noqa: BLE001
        for col in df.columns:
            try:
                pa.Table.from_pandas(df[[col]], preserve_index=False)
            except Exception as col_exc:  # noqa: BLE001
                raise DatasetError(
                    f"{where}: column {col!r} cannot be stored in Parquet ({_short(col_exc)}); "
                    "give every column a single type (e.g. all floats or all strings)"
                ) from None
        raise DatasetError(f"{where}: cannot be stored in Parquet ({_short(exc)})") from None


def _write_file_synced(path: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(path)``, then flush the file to disk."""
    write(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _save_png(frame: np.ndarray, path: Path) -> None:
    try:
        Image.fromarray(frame).save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot write the frame ({_short(exc)})") from None


def _check_frame_array(frame: object, i: int, shape: tuple[int, ...] | None) -> np.ndarray:
    """A private C-contiguous copy of frame ``i``, checked to be (H, W, 3) uint8."""
    try:
        arr = np.asarray(frame)
    except Exception as exc:  # noqa: BLE001
        raise DatasetError(f"frame {i}: not an array ({_short(exc)})") from None
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


def _write_frames(frames: Iterable[np.ndarray], frames_dir: Path, n: int) -> None:
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


def _looks_like_dataset(path: Path) -> bool:
    try:
        return (path / METADATA_FILE).is_file() or not any(path.iterdir())
    except OSError:
        return False


def _remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def write_dataset(
    root: str | Path,
    frames: Iterable[np.ndarray],
    index: pd.DataFrame,
    metadata: DatasetMetadata,
    *,
    overwrite: bool = False,
) -> Dataset:
    """Write a new dataset directory ``root`` and return it, loaded.

    ``frames`` yields one (H, W, 3) uint8 RGB array per row of ``index``, in order (any
    iterable: a generator, a list, an (N, H, W, 3) array). ``index`` has ``episode``,
    ``step``, ``label`` and any extra columns, but no ``frame`` column: frame ``i`` is
    written to ``frames/{i:06d}.png`` and that path goes into ``frame``.

    Atomic: everything is written under a temporary sibling ``.<name>.tmp-<random>``
    which is renamed to ``root`` at the end. If ``root`` exists, :class:`DatasetError`
    is raised before anything is written unless ``overwrite`` is true; then the new
    directory is swapped in first and the old one removed afterwards (a directory that
    neither holds metadata.json nor is empty is never replaced; a symbolic link is
    followed and the directory it points to replaced). If anything fails,
    including the ``frames`` iterable raising, the temporary directory is removed and an
    existing ``root`` is left untouched.
    """
    given = Path(root).expanduser().absolute()
    # A symbolic link to a dataset: write where it points, so the link stays valid.
    root = Path(os.path.realpath(given)) if given.is_symlink() else given
    if not root.name or root.name in (".", ".."):
        raise InvalidInputError(f"{given}: not a usable dataset directory name")
    exists = root.exists()
    if exists:
        if not overwrite:
            raise DatasetError(
                f"{root} exists; pass overwrite=True (--overwrite on the command line) to "
                "replace it, or choose another directory"
            )
        if not root.is_dir():
            raise DatasetError(f"{root} exists and is not a directory; remove it or choose another path")
        if not _looks_like_dataset(root):
            raise DatasetError(
                f"{root} exists but is not an rmeval dataset (no {METADATA_FILE}) and is not "
                "empty; refusing to replace it. Remove it yourself or choose another directory."
            )

    # Validate everything that can be validated before writing a byte.
    meta_text = _metadata_json(metadata)
    problems = _Problems()
    df, _ = _validate_index(
        index, root=None, state_columns=metadata.state_columns, need_frame=False, problems=problems
    )
    problems.raise_if_any("write_dataset: the index cannot be written")
    assert df is not None
    n = len(df)
    if hasattr(frames, "__len__") and len(frames) != n:  # type: ignore[arg-type]
        raise DatasetError(
            f"frames: got {len(frames)} frames but the index has {n} rows; give exactly one "  # type: ignore[arg-type]
            "frame per index row"
        )
    df.insert(0, "frame", [f"{FRAMES_DIR}/{i:06d}.png" for i in range(n)])
    table = _arrow_table(df, "index")

    parent = root.parent
    tmp = parent / f".{root.name}.tmp-{secrets.token_hex(4)}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
    except OSError as exc:
        raise DatasetError(f"cannot create {tmp}: {_short(exc)}") from None
    try:
        try:
            (tmp / FRAMES_DIR).mkdir()
        except OSError as exc:
            raise DatasetError(f"cannot create {tmp / FRAMES_DIR}: {_short(exc)}") from None
        _write_frames(frames, tmp / FRAMES_DIR, n)
        try:
            _write_file_synced(tmp / INDEX_FILE, lambda p: pq.write_table(table, p))
            _write_file_synced(tmp / METADATA_FILE, lambda p: p.write_text(meta_text, encoding="utf-8"))
        except OSError as exc:
            raise DatasetError(f"cannot write the dataset under {tmp}: {_short(exc)}") from None
        # Self-check before the swap: a dataset that would not load is never put in place.
        written = load_dataset(tmp, check_frames=False)
        _swap_into_place(tmp, root, exists)
    except BaseException:
        _remove_tree(tmp)
        raise
    return replace(written, root=given)


def _swap_into_place(tmp: Path, root: Path, exists: bool) -> None:
    """Rename ``tmp`` to ``root``; an existing ``root`` is moved aside first, then removed."""
    if not exists:
        try:
            os.rename(tmp, root)
        except OSError as exc:
            raise DatasetError(
                f"cannot move the new dataset into place at {root} ({_short(exc)}); did "
                "something else create it meanwhile?"
            ) from None
        return
    old = root.parent / f".{root.name}.old-{secrets.token_hex(4)}"
    try:
        os.rename(root, old)
    except OSError as exc:
        raise DatasetError(f"cannot move the old dataset {root} aside ({_short(exc)})") from None
    try:
        os.rename(tmp, root)
    except BaseException as exc:
        os.rename(old, root)
        if isinstance(exc, OSError):
            raise DatasetError(f"cannot move the new dataset into place at {root} ({_short(exc)})") from None
        raise
    try:
        if old.is_symlink():
            old.unlink()
        else:
            shutil.rmtree(old)
    except OSError as exc:
        warnings.warn(
            f"the new dataset is in place at {root}, but the old one at {old} could not be "
            f"removed ({_short(exc)}); delete it yourself",
            stacklevel=3,
        )


def save_index(dataset: Dataset, index: pd.DataFrame) -> Dataset:
    """Replace the dataset's ``index.parquet`` with ``index`` atomically; return the updated dataset.

    ``index`` is validated like :func:`load_dataset` does (columns, labels, frame paths;
    frames not in the current index also have their headers checked against
    ``dataset.frame_size``) and nothing is written when it has a problem. The new file is
    written next to the old one and renamed over it, so a reader sees either the old or
    the new index, never a half-written one.
    """
    if not isinstance(dataset, Dataset):
        raise InvalidInputError(f"dataset must be a Dataset (from load_dataset), not {type(dataset).__name__}")
    root = dataset.root
    if not root.is_dir():
        raise DatasetError(f"{root}: the dataset directory no longer exists")
    problems = _Problems()
    df, paths = _validate_index(
        index, root=root, state_columns=dataset.metadata.state_columns, need_frame=True, problems=problems
    )
    if df is not None:
        old = set(dataset.index["frame"].tolist())
        frames = df["frame"].tolist()
        new_paths = [p if frames[i] not in old else None for i, p in enumerate(paths)]
        if any(p is not None for p in new_paths):
            _check_sizes(new_paths, frames, problems, expected=dataset.frame_size)
    problems.raise_if_any(f"{root / INDEX_FILE}: not saved, the new index has problems")
    assert df is not None
    table = _arrow_table(df, "index")
    target = root / INDEX_FILE
    tmp = root / f".{INDEX_FILE}.tmp-{secrets.token_hex(4)}"
    try:
        _write_file_synced(tmp, lambda p: pq.write_table(table, p))
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise DatasetError(f"{target}: cannot save the index ({_short(exc)}); the old index is unchanged") from None
        raise
    return replace(dataset, index=df)
