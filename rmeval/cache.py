"""On-disk embedding cache: embeddings keyed by the content they were computed from.

Layout under the cache root (``--cache-dir``; default :func:`default_cache_dir`)::

    v1/<kind>/<model-slug>-<digest>/info.json        what the key is made of (for people)
    v1/<kind>/<model-slug>-<digest>/shard-<id>.npy   structured arrays (key, emb)

``kind`` is ``image`` or ``text``. ``digest`` hashes the full key: the model's weights
fingerprint, the preprocessing, the precision and the cache format. Inside a store each
row's key is a 16-byte BLAKE2b hash of the frame's pixels and shape (or of the prompt).

Writes are atomic: a shard is written to a temporary file in the same directory and
renamed into place, so an interrupted run leaves either a whole shard or a ``.tmp-*`` file
that readers ignore. Shards are plain ``.npy`` files read with ``allow_pickle=False``:
reading a cache never executes code.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from rmeval.errors import InvalidInputError, RmevalError

CACHE_FORMAT_VERSION = 1
KEY_BYTES = 16
_KEY_DTYPE = f"S{KEY_BYTES}"


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


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class EmbeddingStore:
    """Append-only embeddings of one (kind, model, preprocessing, precision), keyed by content.

    Not thread-safe; separate processes may share a store (each writes its own shards).
    """

    def __init__(self, directory: Path, dim: int) -> None:
        self.directory = directory
        self.dim = int(dim)
        self._dtype = np.dtype([("key", _KEY_DTYPE), ("emb", "<f4", (self.dim,))])
        self._index: dict[bytes, tuple[int, int]] = {}
        self._shards: list[np.ndarray] = []
        self._seen: set[str] = set()
        self.refresh()

    def refresh(self) -> None:
        """Pick up shards written since the store was opened (e.g. by another process)."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("shard-*.npy")):
            if path.name in self._seen:
                continue
            self._seen.add(path.name)
            try:
                arr = np.load(path, mmap_mode="r", allow_pickle=False)
                if arr.dtype != self._dtype or arr.ndim != 1:
                    raise ValueError(f"unexpected layout {arr.dtype}")
            except Exception as exc:  # noqa: BLE001 - any unreadable shard is skipped with a warning
                warnings.warn(f"ignoring unreadable embedding-cache shard {path}: {exc}", stacklevel=2)
                continue
            self._add_shard(arr)

    def _add_shard(self, arr: np.ndarray) -> None:
        shard_id = len(self._shards)
        self._shards.append(arr)
        for row, key in enumerate(arr["key"].tolist()):
            self._index.setdefault(key, (shard_id, row))

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: bytes) -> bool:
        return key in self._index

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Find embeddings by key.

        Args:
            keys: (N,) ``S16`` keys.

        Returns:
            found: (N,) bool; embeddings: (N, D) float32 with zeros where not found.
        """
        found = np.zeros(len(keys), dtype=bool)
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        by_shard: dict[int, tuple[list[int], list[int]]] = {}
        for i, key in enumerate(keys.tolist()):
            hit = self._index.get(key)
            if hit is not None:
                found[i] = True
                dst, src = by_shard.setdefault(hit[0], ([], []))
                dst.append(i)
                src.append(hit[1])
        for shard_id, (dst, src) in by_shard.items():
            out[dst] = self._shards[shard_id]["emb"][src]
        return found, out

    def add(self, keys: np.ndarray, embeddings: np.ndarray) -> int:
        """Write embeddings for keys not yet stored as one new shard (atomic). Returns rows written."""
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.shape != (len(keys), self.dim):
            raise InvalidInputError(
                f"embeddings shape {embeddings.shape} does not match {len(keys)} keys x dim {self.dim}"
            )
        if not np.isfinite(embeddings).all():
            raise RmevalError("refusing to cache non-finite embeddings (NaN/inf from the model?)")
        new: dict[bytes, int] = {}
        for i, key in enumerate(keys.tolist()):
            if key not in self._index and key not in new:
                new[key] = i
        if not new:
            return 0
        arr = np.empty(len(new), dtype=self._dtype)
        arr["key"] = list(new.keys())
        arr["emb"] = embeddings[list(new.values())]
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"shard-{uuid.uuid4().hex}.npy"
        tmp = self.directory / f".tmp-{name}"
        try:
            with open(tmp, "wb") as f:
                np.save(f, arr, allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.directory / name)
        finally:
            if tmp.exists():
                tmp.unlink()
        self._seen.add(name)
        self._add_shard(arr)
        return len(arr)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:60].strip("_") or "model"


class EmbeddingCache:
    """Root of the on-disk cache; hands out one :class:`EmbeddingStore` per key."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RmevalError(
                f"cannot create the embedding cache directory {self.root}: {exc.strerror}. "
                "Pass --cache-dir DIR (or set RMEVAL_CACHE_DIR) to a writable place."
            ) from None
        if not os.access(self.root, os.W_OK):
            raise RmevalError(
                f"the embedding cache directory {self.root} is not writable. "
                "Pass --cache-dir DIR (or set RMEVAL_CACHE_DIR) to a writable place."
            )
        self._stores: dict[Path, EmbeddingStore] = {}

    def store(self, kind: str, name: str, key_fields: Mapping[str, str], dim: int) -> EmbeddingStore:
        """The store for ``kind`` (``image``/``text``) and a key made of ``key_fields``.

        ``name`` is only for people browsing the directory (e.g. the model id).
        """
        if kind not in ("image", "text"):
            raise InvalidInputError(f"cache kind must be image or text, not {kind!r}")
        fields = {"format": str(CACHE_FORMAT_VERSION), "kind": kind, "dim": str(dim), **key_fields}
        canonical = json.dumps(fields, sort_keys=True)
        digest = hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()
        directory = self.root / f"v{CACHE_FORMAT_VERSION}" / kind / f"{_slug(name)}-{digest}"
        if directory not in self._stores:
            directory.mkdir(parents=True, exist_ok=True)
            info = directory / "info.json"
            if not info.exists():
                payload = {**fields, "name": name}
                _atomic_write_bytes(info, json.dumps(payload, indent=2, sort_keys=True).encode())
            self._stores[directory] = EmbeddingStore(directory, dim)
        return self._stores[directory]

    def stores(self, kind: str) -> list[tuple[dict[str, str], EmbeddingStore]]:
        """Every store of ``kind`` on disk with its ``info.json`` (``name`` is the model id).

        Lets tools find what was embedded before (e.g. rewards of cached models) without
        loading any model.
        """
        found: list[tuple[dict[str, str], EmbeddingStore]] = []
        base = self.root / f"v{CACHE_FORMAT_VERSION}" / kind
        if not base.is_dir():
            return found
        for directory in sorted(p for p in base.iterdir() if p.is_dir()):
            try:
                info = json.loads((directory / "info.json").read_text())
                dim = int(info["dim"])
            except (OSError, ValueError, KeyError):
                continue
            if directory not in self._stores:
                self._stores[directory] = EmbeddingStore(directory, dim)
            found.append((info, self._stores[directory]))
        return found
