"""Writing datasets atomically: :func:`write_dataset` (a whole directory) and :func:`save_index`."""

from __future__ import annotations

import os
import secrets
import shutil
import warnings
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rmeval.dataset.core import Dataset
from rmeval.dataset.format import FRAMES_DIR, INDEX_FILE, METADATA_FILE
from rmeval.dataset.frames import write_frames
from rmeval.dataset.load import load_dataset
from rmeval.dataset.metadata import DatasetMetadata, metadata_json
from rmeval.dataset.problems import Problems, describe_error
from rmeval.dataset.validation import check_sizes, validate_index
from rmeval.errors import DatasetError, InvalidInputError


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
                    f"{where}: column {col!r} cannot be stored in Parquet ({describe_error(col_exc)}); "
                    "give every column a single type (e.g. all floats or all strings)"
                ) from None
        raise DatasetError(f"{where}: cannot be stored in Parquet ({describe_error(exc)})") from None


def _write_file_synced(path: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(path)``, then flush the file to disk."""
    write(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)



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
    meta_text = metadata_json(metadata)
    problems = Problems()
    df, _ = validate_index(
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
        raise DatasetError(f"cannot create {tmp}: {describe_error(exc)}") from None
    try:
        try:
            (tmp / FRAMES_DIR).mkdir()
        except OSError as exc:
            raise DatasetError(f"cannot create {tmp / FRAMES_DIR}: {describe_error(exc)}") from None
        write_frames(frames, tmp / FRAMES_DIR, n)
        try:
            _write_file_synced(tmp / INDEX_FILE, lambda p: pq.write_table(table, p))
            _write_file_synced(tmp / METADATA_FILE, lambda p: p.write_text(meta_text, encoding="utf-8"))
        except OSError as exc:
            raise DatasetError(f"cannot write the dataset under {tmp}: {describe_error(exc)}") from None
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
                f"cannot move the new dataset into place at {root} ({describe_error(exc)}); did "
                "something else create it meanwhile?"
            ) from None
        return
    old = root.parent / f".{root.name}.old-{secrets.token_hex(4)}"
    try:
        os.rename(root, old)
    except OSError as exc:
        raise DatasetError(f"cannot move the old dataset {root} aside ({describe_error(exc)})") from None
    try:
        os.rename(tmp, root)
    except BaseException as exc:
        os.rename(old, root)
        if isinstance(exc, OSError):
            raise DatasetError(f"cannot move the new dataset into place at {root} ({describe_error(exc)})") from None
        raise
    try:
        if old.is_symlink():
            old.unlink()
        else:
            shutil.rmtree(old)
    except OSError as exc:
        warnings.warn(
            f"the new dataset is in place at {root}, but the old one at {old} could not be "
            f"removed ({describe_error(exc)}); delete it yourself",
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
    problems = Problems()
    df, paths = validate_index(
        index, root=root, state_columns=dataset.metadata.state_columns, need_frame=True, problems=problems
    )
    if df is not None:
        old = set(dataset.index["frame"].tolist())
        frames = df["frame"].tolist()
        new_paths = [p if frames[i] not in old else None for i, p in enumerate(paths)]
        if any(p is not None for p in new_paths):
            check_sizes(new_paths, frames, problems, expected=dataset.frame_size)
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
            raise DatasetError(f"{target}: cannot save the index ({describe_error(exc)}); the old index is unchanged") from None
        raise
    return replace(dataset, index=df)
