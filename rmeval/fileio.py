"""The one way rmeval writes files: atomically, fsync'd, with one clear line when the disk says no.

Every writer in rmeval (the embedding cache, results, reports, plots, datasets,
checkpoints) goes through this module:

- a file is written to a temporary sibling ``.<name>.rmeval-tmp-<pid>-<random>``, flushed
  and fsync'd, then renamed over the target (``os.replace``, atomic on POSIX), and the
  directory is fsync'd so the rename itself survives a power cut. A reader sees the old
  file or the new one, never half of one;
- a directory (a dataset) is built under a temporary sibling the same way and renamed
  into place (:func:`publish_directory`);
- temporaries carry the writing process's id: :func:`clean_leftovers` removes those of
  processes that no longer run (a killed run) and says how many it removed;
- an ``OSError`` (disk full, read-only or forbidden location, a file where a folder
  belongs, a folder where a file belongs) becomes one :class:`~rmeval.errors.StorageError`
  line naming what was being written, where, and what to do. Whatever was complete before
  stays as it was.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import os
import re
import secrets
import shutil
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePath
from typing import IO, TYPE_CHECKING, Any

from rmeval.errors import InvalidInputError, RmevalError, StorageError

if TYPE_CHECKING:
    import pandas as pd

#: Marker in every temporary name this module creates.
TEMP_MARKER = ".rmeval-tmp-"
_TEMP_RE = re.compile(r"^\..+\.rmeval-tmp-(\d+)-[0-9a-f]+$")


class RmevalNotice(UserWarning):
    """A one-line notice for the person at the terminal (printed as ``rmeval: note: ...``)."""


def notice(message: str) -> None:
    """Tell the user something worth knowing that is not an error (one line)."""
    warnings.warn(message, RmevalNotice, stacklevel=2)


# --------------------------------------------------------------------------- errors


_ADVICE = {
    errno.ENOSPC: "the disk is full; free some space or choose another location",
    errno.EDQUOT: "the disk quota is exhausted; free some space or choose another location",
    errno.EROFS: "the location is read-only; choose a writable location",
    errno.EACCES: "permission denied; choose a location you may write to",
    errno.EPERM: "permission denied; choose a location you may write to",
    errno.EEXIST: "a file is in the way where a folder belongs; move it or choose another location",
    errno.ENOTDIR: "a file is in the way where a folder belongs; move it or choose another location",
    errno.EISDIR: "a folder is in the way where a file belongs; move it or choose another location",
    errno.ENAMETOOLONG: "the name is too long; choose a shorter path",
    errno.EIO: "the disk reported an I/O error; check the device",
}


def advice(exc: OSError) -> str:
    """What to do about ``exc`` (a few words)."""
    return _ADVICE.get(exc.errno if exc.errno is not None else -1, "check the location and try again")


def storage_error(exc: OSError, what: str, path: str | PurePath) -> StorageError:
    """One line for an ``OSError`` met while writing ``what`` at ``path``."""
    code = exc.errno if exc.errno is not None else -1
    reason = exc.strerror or type(exc).__name__
    where = exc.filename if exc.filename and str(exc.filename) != str(path) else None
    at = f" ({where})" if where else ""
    return StorageError(
        f"cannot write {what} at {path}: {reason}{at}; {advice(exc)}. Nothing was half-written; "
        "results already complete are unchanged.",
        disk_full=code in (errno.ENOSPC, errno.EDQUOT),
    )


@contextlib.contextmanager
def translate_errors(what: str, path: str | PurePath) -> Iterator[None]:
    """Turn an ``OSError`` raised inside the block into :func:`storage_error`'s line."""
    try:
        yield
    except OSError as exc:
        raise storage_error(exc, what, path) from None


# --------------------------------------------------------------------------- helpers


def temp_name(path: Path) -> Path:
    """A unique temporary sibling of ``path`` that :func:`clean_leftovers` recognises."""
    return path.with_name(f".{path.name}{TEMP_MARKER}{os.getpid()}-{secrets.token_hex(4)}")


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries (a rename inside it) to disk; a no-op where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some filesystems refuse fsync on directories
            os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def ensure_directory(path: str | Path, what: str = "the output folder") -> Path:
    """``mkdir -p`` with :func:`storage_error`'s line on failure; returns the path."""
    path = Path(path).expanduser()
    with translate_errors(what, path):
        path.mkdir(parents=True, exist_ok=True)
    return path


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def leftovers(directory: str | Path) -> list[Path]:
    """Temporaries in ``directory`` whose writing process no longer runs."""
    directory = Path(directory)
    try:
        entries = list(directory.iterdir())
    except OSError:
        return []
    found = []
    for p in entries:
        m = _TEMP_RE.match(p.name)
        if m and not _pid_alive(int(m.group(1))):
            found.append(p)
    return sorted(found)


def clean_leftovers(directory: str | Path) -> list[Path]:
    """Remove the temporaries killed runs left in ``directory``; one notice if any were removed.

    Returns what was removed (a read-only directory's leftovers are reported, not removed).
    """
    directory = Path(directory)
    stale = leftovers(directory)
    if not stale:
        return []
    removed = []
    for p in stale:
        _remove(p)
        if not p.exists():
            removed.append(p)
    if removed:
        notice(
            f"removed {len(removed)} unfinished temporary file{'s' if len(removed) != 1 else ''} "
            f"left in {directory} by an interrupted run"
        )
    kept = [p for p in stale if p not in removed]
    if kept:
        notice(f"{directory} holds {len(kept)} temporaries of an interrupted run that cannot be removed: {kept[0].name} ...")
    return removed


# --------------------------------------------------------------------------- files


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any], *, what: str | None = None) -> Path:
    """Write ``path`` through ``write(file)``: temporary sibling, fsync, rename, fsync the folder.

    ``write`` may close the file it is given. On any failure the temporary is removed,
    the old ``path`` (if any) is unchanged, and an ``OSError`` becomes a
    :class:`~rmeval.errors.StorageError` naming ``what`` (default: the file name).
    """
    path = Path(path)
    what = what or path.name
    with translate_errors(what, path):
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        tmp = temp_name(path)
        try:
            with open(tmp, "wb") as f:
                write(f)
                if not f.closed:
                    f.flush()
                    os.fsync(f.fileno())
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            _remove(tmp)
            raise
        fsync_directory(path.parent)
    return path


def write_bytes(path: str | Path, data: bytes, *, what: str | None = None) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(data), what=what)


def write_text(path: str | Path, text: str, *, what: str | None = None) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"), what=what)


def json_default(o: Any) -> Any:
    """``json.dumps(default=...)`` for NumPy scalars and arrays and paths."""
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, PurePath):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def json_text(obj: Any, *, indent: int | None = 2, sort_keys: bool = False, nan_as_null: bool = False) -> str:
    """Strict JSON text (``allow_nan=False``; NumPy scalars/arrays and paths converted).

    ``nan_as_null``: write NaN and infinities as ``null`` instead of refusing them.
    """
    if nan_as_null:
        obj = _nan_to_null(obj)
    return json.dumps(obj, indent=indent, sort_keys=sort_keys, allow_nan=False, default=json_default, ensure_ascii=False) + "\n"


def _nan_to_null(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _nan_to_null(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_nan_to_null(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, str):
        return _nan_to_null(obj.tolist())
    return obj


def write_json(path: str | Path, obj: Any, *, what: str | None = None, indent: int | None = 2,
               sort_keys: bool = False, nan_as_null: bool = False) -> Path:
    """Write strict JSON (see :func:`json_text`) atomically."""
    try:
        text = json_text(obj, indent=indent, sort_keys=sort_keys, nan_as_null=nan_as_null)
    except (TypeError, ValueError) as exc:
        raise RmevalError(f"cannot write {what or Path(path).name}: not strict JSON ({exc})") from None
    return write_text(path, text, what=what)


def write_table(path: str | Path, df: Any, *, what: str | None = None) -> Path:
    """Write a pandas DataFrame atomically: ``.parquet`` as Parquet, anything else as CSV."""
    path = Path(path)
    if path.suffix == ".parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return write_bytes(path, buf.getvalue(), what=what)
    return write_text(path, df.to_csv(index=False), what=what)


def read_step_table(path: str | Path, columns: Sequence[str]) -> Any:
    """A run's CSV log (``monitor.csv``, ``checkpoints.csv``) sorted by ``step``; None when absent.

    Raises:
        RmevalError: the file cannot be read, or lacks one of ``columns``.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        return None
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise RmevalError(f"cannot read {path}: {exc}") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise RmevalError(f"{path}: missing columns {missing}")
    return df.sort_values("step", kind="stable").reset_index(drop=True)


def write_array(path: str | Path, array: Any, *, what: str | None = None) -> Path:
    """Write a NumPy array as ``.npy`` (no pickles) atomically."""
    import numpy as np

    return atomic_write(path, lambda f: np.save(f, array, allow_pickle=False), what=what)


def write_figure(path: str | Path, fig: Any, *, what: str | None = None, **savefig: Any) -> Path:
    """Save a Matplotlib figure atomically (format from the suffix unless ``format=`` is given)."""
    path = Path(path)
    savefig.setdefault("format", path.suffix.lstrip(".") or "png")
    buf = io.BytesIO()
    fig.savefig(buf, **savefig)
    return write_bytes(path, buf.getvalue(), what=what)


# --------------------------------------------------------------------------- directories


@contextlib.contextmanager
def publish_directory(target: str | Path, *, what: str | None = None, replace: bool = False) -> Iterator[Path]:
    """Build a directory under a temporary sibling, then rename it to ``target``.

    Yields the temporary directory to fill. On success every file in it is fsync'd, it is
    renamed into place (an existing ``target`` is swapped out and removed only when
    ``replace``), and the parent is fsync'd. On failure the temporary is removed and an
    existing ``target`` is untouched.
    """
    target = Path(target)
    what = what or str(target.name)
    parent = target.parent
    ensure_directory(parent, f"the folder for {what}")
    clean_leftovers(parent)
    tmp = temp_name(target)
    with translate_errors(what, target):
        tmp.mkdir()
    try:
        yield tmp
        with translate_errors(what, target):
            for dirpath, _dirs, files in os.walk(tmp):
                for name in files:
                    fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                fsync_directory(Path(dirpath))
            if target.exists() or target.is_symlink():
                if not replace:
                    raise StorageError(f"cannot write {what} at {target}: it exists; remove it or choose another location")
                old = temp_name(target)
                os.rename(target, old)
                try:
                    os.rename(tmp, target)
                except BaseException:
                    os.rename(old, target)
                    raise
                _remove(old)
            else:
                os.rename(tmp, target)
            fsync_directory(parent)
    except BaseException:
        _remove(tmp)
        raise


__all__ = [
    "TEMP_MARKER",
    "RmevalNotice",
    "advice",
    "atomic_write",
    "clean_leftovers",
    "ensure_directory",
    "fsync_directory",
    "json_text",
    "leftovers",
    "notice",
    "publish_directory",
    "read_step_table",
    "storage_error",
    "temp_name",
    "translate_errors",
    "write_array",
    "write_bytes",
    "write_figure",
    "write_json",
    "write_table",
    "write_text",
]


def slug(text: str, fallback: str, *, sep: str = "_", max_len: int | None = None, keep_end: bool = False) -> str:
    """``text`` as a file-name part: runs of characters other than letters, digits, ``._-``
    become ``sep``; cut to ``max_len`` characters (its end with ``keep_end``); ``fallback`` when
    nothing is left. (Cache folder names depend on it: its output must not change.)"""
    out = re.sub(r"[^A-Za-z0-9._-]+", sep, text)
    if max_len is not None:
        out = out[-max_len:] if keep_end else out[:max_len]
    return out.strip(sep) or fallback


def read_csv(path: str | Path, what: str, how: str) -> pd.DataFrame:
    """Read a CSV rmeval or the user wrote; a missing or unreadable file is an
    :class:`InvalidInputError` naming ``what`` it is and ``how`` to get a good one."""
    import pandas as pd

    p = Path(path).expanduser()
    if not p.is_file():
        raise InvalidInputError(f"{what} {p} does not exist; {how}")
    try:
        return pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise InvalidInputError(f"{what} {p} is not a readable CSV ({str(exc).splitlines()[0]}); {how}") from None
