"""On-disk embedding cache: embeddings keyed by the content they were computed from.

Layout under the cache root (``--cache-dir``; default :func:`default_cache_dir`)::

    v1/<kind>/<model-slug>-<digest>/info.json        what the key is made of (for people)
    v1/<kind>/<model-slug>-<digest>/shard-<id>.npy   structured arrays (key, emb)

``kind`` is ``image`` or ``text``. ``digest`` hashes the full key: the model's weights
fingerprint, the preprocessing, the precision and the cache format. Inside a store each
row's key is a 16-byte BLAKE2b hash of the frame's pixels and shape (or of the prompt).

Shards are plain ``.npy`` files read with ``allow_pickle=False``: reading a cache never
executes code. They are written through :mod:`rmeval.fileio` (temporary sibling, fsync,
rename), so an interrupted run leaves either a whole shard or a temporary that the next
run removes.

Checksums: a shard is named ``shard-<digest>.b2.npy``, ``digest`` the BLAKE2b-128 of the
file's bytes. A shard is verified the first time a lookup needs it (digest, layout, every
value finite); one that fails is moved aside to ``<store>/quarantine/`` (never deleted)
with one line saying which file and why, and its frames are encoded again. Shards of
older rmeval versions (``shard-<uuid>.npy``, no digest) are still read, after the layout
and finite-values checks, with one notice per store. ``rmeval cache verify`` checks a
whole cache, ``rmeval cache prune`` removes what was quarantined and leftovers.

Concurrency: writers of one store take an exclusive lock (``<store>/.lock``), pick up the
shards other processes wrote meanwhile, and store only the rows still missing, so two runs
at once store each frame once. A read-only cache is fine as long as nothing needs writing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rmeval.errors import CacheError, InvalidInputError, StorageError
from rmeval.fileio import advice, clean_leftovers, leftovers, notice, slug, storage_error, write_bytes, write_json

CACHE_FORMAT_VERSION = 1
KEY_BYTES = 16
_KEY_DTYPE = f"S{KEY_BYTES}"
#: Bytes of a shard's BLAKE2b digest (hex in its name).
DIGEST_BYTES = 16
QUARANTINE_DIR = "quarantine"
LOCK_FILE = ".lock"
_SHARD_RE = re.compile(r"^shard-([0-9a-f]{32})\.b2\.npy$")
_LEGACY_RE = re.compile(r"^shard-[0-9a-f]{32}\.npy$")


def default_cache_dir() -> Path:
    """``$RMEVAL_CACHE_DIR``, else ``$XDG_CACHE_HOME/rmeval``, else ``~/.cache/rmeval``."""
    if os.environ.get("RMEVAL_CACHE_DIR"):
        return Path(os.environ["RMEVAL_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rmeval"


def frame_keys(frames: np.ndarray, *, workers: int = 1) -> np.ndarray:
    """Content keys of frames.

    Args:
        frames: (N, H, W, 3) uint8.
        workers: threads hashing at once (hashlib releases the GIL on frame-sized input).

    Returns:
        (N,) array of 16-byte keys (dtype ``S16``): BLAKE2b of each frame's shape and pixels.
    """
    if frames.ndim != 4:
        raise InvalidInputError(f"frames must have shape (N, H, W, C), got {frames.shape}")
    shape = np.asarray(frames.shape[1:], dtype="<i8").tobytes() + str(frames.dtype).encode()
    digests: list[bytes] = [b""] * len(frames)

    def hash_rows(rows: range) -> None:
        for i in rows:
            h = hashlib.blake2b(shape, digest_size=KEY_BYTES)
            h.update(np.ascontiguousarray(frames[i]).data)
            digests[i] = h.digest()

    n = len(frames)
    workers = max(1, min(int(workers), n // 64))  # threads pay off from a few dozen frames each
    if workers == 1:
        hash_rows(range(n))
    else:
        size = -(-n // workers)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(hash_rows, [range(s, min(s + size, n)) for s in range(0, n, size)]))
    return np.array(digests, dtype=_KEY_DTYPE) if n else np.empty(0, dtype=_KEY_DTYPE)


def text_keys(prompts: Sequence[str]) -> np.ndarray:
    """(P,) 16-byte keys of prompts (BLAKE2b of the UTF-8 text)."""
    return np.array(
        [hashlib.blake2b(p.encode("utf-8"), digest_size=KEY_BYTES).digest() for p in prompts],
        dtype=_KEY_DTYPE,
    )


def _file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=DIGEST_BYTES)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def shard_problem(path: Path, dtype: np.dtype) -> str | None:
    """Why the shard at ``path`` cannot be trusted, or None when it checks out.

    Checks the digest in its name (shards written before checksums have none), the layout
    (structured (key, emb) rows of ``dtype``) and that every value is finite.
    """
    m = _SHARD_RE.match(path.name)
    try:
        if m and _file_digest(path) != m.group(1):
            return "its checksum does not match its contents"
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        return f"unreadable ({' '.join(str(exc).split())[:120]})"
    if arr.dtype != dtype or arr.ndim != 1:
        return f"unexpected layout {arr.dtype} {arr.shape}, expected {dtype}"
    if not np.isfinite(arr["emb"]).all():
        return "it holds NaN or infinite values"
    return None


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive lock on a store (blocks while another process writes to it)."""
    with open(directory / LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class EmbeddingStore:
    """Append-only embeddings of one (kind, model, preprocessing, precision), keyed by content.

    Not thread-safe; separate processes may share a store (writers take a file lock).
    ``info`` is written with the first shard (what the store's key is made of).
    """

    def __init__(self, directory: Path, dim: int, info: Mapping[str, str] | None = None) -> None:
        self.directory = directory
        self.dim = int(dim)
        self.info = dict(info) if info is not None else None
        self.dtype = np.dtype([("key", _KEY_DTYPE), ("emb", "<f4", (self.dim,))])
        self._index: dict[bytes, tuple[int, int]] = {}
        self._shards: list[np.ndarray | None] = []
        self._paths: list[Path] = []
        self._verified: list[bool] = []
        self._seen: set[str] = set()
        self._legacy = 0
        self.quarantined: list[tuple[Path, str]] = []
        if os.access(directory, os.W_OK):
            clean_leftovers(directory)
        self.refresh()

    def refresh(self) -> None:
        """Pick up shards written since the store was opened (e.g. by another process)."""
        try:
            names = sorted(p.name for p in os.scandir(self.directory) if p.name.startswith("shard-"))
        except OSError:
            return
        legacy_before = self._legacy
        for name in names:
            if name in self._seen:
                continue
            path = self.directory / name
            self._seen.add(name)
            legacy = bool(_LEGACY_RE.match(name))
            if not (legacy or _SHARD_RE.match(name)):
                continue
            try:
                arr = np.load(path, mmap_mode="r", allow_pickle=False)
                if arr.dtype != self.dtype or arr.ndim != 1:
                    raise ValueError(f"unexpected layout {arr.dtype} {arr.shape}")
            except (OSError, ValueError, EOFError) as exc:
                self._quarantine(path, f"unreadable ({' '.join(str(exc).split())[:120]})")
                continue
            if legacy:
                self._legacy += 1
            self._add_shard(arr, path)
        if self._legacy and not legacy_before:
            notice(
                f"the embedding cache {self.directory} has {self._legacy} shard(s) written before rmeval "
                "checksummed its cache: read after a finite-values check; `rmeval cache prune --legacy` "
                "removes them (their frames are then encoded again)"
            )

    def _add_shard(self, arr: np.ndarray, path: Path, *, verified: bool = False) -> None:
        shard_id = len(self._shards)
        self._shards.append(arr)
        self._paths.append(path)
        self._verified.append(verified)
        for row, key in enumerate(arr["key"].tolist()):
            self._index.setdefault(key, (shard_id, row))

    def _rebuild_index(self) -> None:
        self._index = {}
        for shard_id, arr in enumerate(self._shards):
            if arr is not None:
                for row, key in enumerate(arr["key"].tolist()):
                    self._index.setdefault(key, (shard_id, row))

    def _quarantine(self, path: Path, reason: str) -> None:
        """Move a damaged shard aside (never delete it) and say so in one line."""
        target = self.directory / QUARANTINE_DIR / path.name
        try:
            target.parent.mkdir(exist_ok=True)
            os.replace(path, target)
        except OSError:
            notice(f"embedding cache: ignoring {path}: {reason} (cannot move it aside: the cache is not writable)")
        else:
            notice(f"embedding cache: moved {path} to {QUARANTINE_DIR}/: {reason}; its embeddings will be computed again")
        self.quarantined.append((path, reason))

    def _verify(self, shard_id: int) -> bool:
        """Check a shard once (digest, layout, finite values); quarantine it if it fails."""
        if self._verified[shard_id]:
            return True
        path = self._paths[shard_id]
        problem = shard_problem(path, self.dtype)
        if problem is None:
            self._verified[shard_id] = True
            return True
        self._shards[shard_id] = None
        self._quarantine(path, problem)
        self._rebuild_index()
        return False

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: bytes) -> bool:
        return key in self._index

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Find embeddings by key (shards other processes wrote meanwhile included).

        Every shard is verified before its first row is used; rows of a shard that fails
        are reported as not found.

        Args:
            keys: (N,) ``S16`` keys.

        Returns:
            found: (N,) bool; embeddings: (N, D) float32 with zeros where not found.
        """
        self.refresh()
        key_list = keys.tolist()
        while True:
            by_shard: dict[int, tuple[list[int], list[int]]] = {}
            for i, key in enumerate(key_list):
                hit = self._index.get(key)
                if hit is not None:
                    dst, src = by_shard.setdefault(hit[0], ([], []))
                    dst.append(i)
                    src.append(hit[1])
            if all([self._verify(shard_id) for shard_id in by_shard]):  # noqa: C419 - verify every shard
                break
        found = np.zeros(len(keys), dtype=bool)
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        for shard_id, (dst, src) in by_shard.items():
            shard = self._shards[shard_id]
            assert shard is not None
            found[dst] = True
            out[dst] = shard["emb"][src]
        return found, out

    def add(self, keys: np.ndarray, embeddings: np.ndarray) -> int:
        """Store embeddings for keys not yet stored as one new shard (atomic, checksummed).

        Takes the store's lock and first picks up other processes' shards, so a key is
        stored once however many runs share the cache. Returns rows written (0 when every
        key is already stored: then nothing is written, and a read-only cache is fine).
        """
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.shape != (len(keys), self.dim):
            raise InvalidInputError(
                f"embeddings shape {embeddings.shape} does not match {len(keys)} keys x dim {self.dim}"
            )
        if not np.isfinite(embeddings).all():
            raise CacheError("refusing to cache non-finite embeddings (NaN/inf from the model?)")
        self.refresh()
        if not self._new_rows(keys):
            return 0
        with contextlib.ExitStack() as stack:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                stack.enter_context(_locked(self.directory))
            except OSError as exc:
                raise self._write_error(exc) from None
            self.refresh()  # what other processes stored while this one waited for the lock
            new = self._new_rows(keys)
            if not new:
                return 0
            arr = np.empty(len(new), dtype=self.dtype)
            arr["key"] = list(new.keys())
            arr["emb"] = embeddings[list(new.values())]
            buf = io.BytesIO()
            np.save(buf, arr, allow_pickle=False)
            data = buf.getvalue()
            name = f"shard-{hashlib.blake2b(data, digest_size=DIGEST_BYTES).hexdigest()}.b2.npy"
            if self.info is not None and not (self.directory / "info.json").exists():
                write_json(self.directory / "info.json", self.info, sort_keys=True, what="the cache's info.json")
            write_bytes(self.directory / name, data, what="an embedding-cache shard")
        self._seen.add(name)
        self._add_shard(arr, self.directory / name, verified=True)
        return len(arr)

    def _new_rows(self, keys: np.ndarray) -> dict[bytes, int]:
        new: dict[bytes, int] = {}
        for i, key in enumerate(keys.tolist()):
            if key not in self._index and key not in new:
                new[key] = i
        return new

    def _write_error(self, exc: OSError) -> StorageError:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return StorageError(
                f"the embedding cache {self.directory} is not writable ({exc.strerror}) and lacks embeddings "
                "this run needs; pass --cache-dir DIR (or set RMEVAL_CACHE_DIR) to a writable place"
            )
        return storage_error(exc, "the embedding cache", self.directory)


class EmbeddingCache:
    """Root of the on-disk cache; hands out one :class:`EmbeddingStore` per key.

    The root is created when missing; a read-only root is accepted (a run that finds
    everything cached writes nothing).
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        if self.root.exists() and not self.root.is_dir():
            raise StorageError(
                f"the embedding cache {self.root} is a file, not a folder; pass --cache-dir DIR "
                "(or set RMEVAL_CACHE_DIR) to a folder"
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the embedding cache directory {self.root}: {exc.strerror}; {advice(exc)}. "
                "Pass --cache-dir DIR (or set RMEVAL_CACHE_DIR) to a writable place.",
                disk_full=exc.errno in (errno.ENOSPC, errno.EDQUOT),
            ) from None
        self._stores: dict[Path, EmbeddingStore] = {}

    @property
    def writable(self) -> bool:
        return os.access(self.root, os.W_OK)

    def store(self, kind: str, name: str, key_fields: Mapping[str, str], dim: int) -> EmbeddingStore:
        """The store for ``kind`` (``image``/``text``) and a key made of ``key_fields``.

        ``name`` is only for people browsing the directory (e.g. the model id). Nothing is
        created on disk until the first embeddings are stored.
        """
        if kind not in ("image", "text"):
            raise InvalidInputError(f"cache kind must be image or text, not {kind!r}")
        fields = {"format": str(CACHE_FORMAT_VERSION), "kind": kind, "dim": str(dim), **key_fields}
        canonical = json.dumps(fields, sort_keys=True)
        digest = hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()
        directory = self.root / f"v{CACHE_FORMAT_VERSION}" / kind / f"{slug(name, 'model', max_len=60)}-{digest}"
        if directory not in self._stores:
            self._stores[directory] = EmbeddingStore(directory, dim, info={**fields, "name": name})
        return self._stores[directory]

    def stores(self, kind: str) -> list[tuple[dict[str, str], EmbeddingStore]]:
        """Every store of ``kind`` on disk with its ``info.json`` (``name`` is the model id).

        Lets tools find what was embedded before (e.g. rewards of cached models) without
        loading any model.
        """
        found: list[tuple[dict[str, str], EmbeddingStore]] = []
        for directory, info in _store_dirs(self.root, kind):
            if directory not in self._stores:
                self._stores[directory] = EmbeddingStore(directory, int(info["dim"]), info=info)
            found.append((info, self._stores[directory]))
        return found


def _store_dirs(root: Path, kind: str) -> list[tuple[Path, dict[str, str]]]:
    base = root / f"v{CACHE_FORMAT_VERSION}" / kind
    if not base.is_dir():
        return []
    found: list[tuple[Path, dict[str, str]]] = []
    for directory in sorted(p for p in base.iterdir() if p.is_dir()):
        try:
            info = json.loads((directory / "info.json").read_text())
            int(info["dim"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found.append((directory, info))
    return found


# --------------------------------------------------------------------------- verify / prune


@dataclass
class CacheReport:
    """What :func:`verify_cache` or :func:`prune_cache` found (or removed) in a cache.

    Attributes:
        stores: store directories looked at.
        shards: shards that checked out; rows: their rows (embeddings).
        legacy: shards without a digest (written before checksums) that otherwise check out.
        damaged: (shard, why) of shards that failed (moved to quarantine by verify).
        quarantined: files already in quarantine folders.
        leftovers: temporaries of interrupted runs.
        removed: files and folders prune removed.
    """

    stores: int = 0
    shards: int = 0
    rows: int = 0
    legacy: list[Path] = field(default_factory=list)
    damaged: list[tuple[Path, str]] = field(default_factory=list)
    quarantined: list[Path] = field(default_factory=list)
    leftovers: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


def _check_root(root: str | Path) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise InvalidInputError(f"{root} is not a directory; give an embedding cache folder (--cache-dir)")
    if not (root / f"v{CACHE_FORMAT_VERSION}").is_dir():
        raise InvalidInputError(
            f"{root} is not an rmeval embedding cache (no v{CACHE_FORMAT_VERSION}/ inside); give the folder "
            "passed as --cache-dir (default: $RMEVAL_CACHE_DIR or ~/.cache/rmeval)"
        )
    return root


def _temporaries(directory: Path) -> list[Path]:
    """Temporaries of dead writers, and ``.tmp-*`` files of rmeval before :mod:`rmeval.fileio`."""
    return sorted({*leftovers(directory), *directory.glob(".tmp-*")})


def verify_cache(root: str | Path) -> CacheReport:
    """Check every shard of a cache (digest, layout, finite values); quarantine those that fail."""
    root = _check_root(root)
    report = CacheReport()
    for kind in ("image", "text"):
        for directory, info in _store_dirs(root, kind):
            report.stores += 1
            dtype = np.dtype([("key", _KEY_DTYPE), ("emb", "<f4", (int(info["dim"]),))])
            for path in sorted(directory.glob("shard-*.npy")):
                problem = shard_problem(path, dtype)
                if problem is not None:
                    target = directory / QUARANTINE_DIR / path.name
                    try:
                        target.parent.mkdir(exist_ok=True)
                        os.replace(path, target)
                    except OSError:
                        problem += " (not moved: the cache is not writable)"
                    report.damaged.append((path, problem))
                    continue
                report.shards += 1
                report.rows += len(np.load(path, mmap_mode="r", allow_pickle=False))
                if _LEGACY_RE.match(path.name):
                    report.legacy.append(path)
            report.quarantined += sorted((directory / QUARANTINE_DIR).glob("*")) if (directory / QUARANTINE_DIR).is_dir() else []
            report.leftovers += _temporaries(directory)
    return report


def prune_cache(root: str | Path, *, legacy: bool = False) -> CacheReport:
    """Remove quarantined shards and temporaries of interrupted runs (and, with ``legacy``,
    shards without a digest). Shards in use are never touched."""
    root = _check_root(root)
    report = CacheReport()
    for kind in ("image", "text"):
        for directory, _info in _store_dirs(root, kind):
            report.stores += 1
            doomed = _temporaries(directory)
            qdir = directory / QUARANTINE_DIR
            if legacy:
                doomed += sorted(p for p in directory.glob("shard-*.npy") if _LEGACY_RE.match(p.name))
            with _locked(directory) if os.access(directory, os.W_OK) else contextlib.nullcontext():
                for path in doomed:
                    try:
                        path.unlink()
                    except OSError as exc:
                        raise storage_error(exc, "the embedding cache (prune)", path) from None
                    report.removed.append(path)
                if qdir.is_dir():
                    report.removed += sorted(qdir.iterdir())
                    try:
                        shutil.rmtree(qdir)
                    except OSError as exc:
                        raise storage_error(exc, "the embedding cache (prune)", qdir) from None
    return report
