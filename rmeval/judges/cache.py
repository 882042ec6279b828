"""On-disk judge scores, keyed like embeddings: a second run over the same frames costs nothing.

One store per (judge identity, question text, template version); inside it, one row per
frame keyed by the frame's content hash (:func:`rmeval.cache.frame_keys`), holding
``(log p(yes), log p(no))``. Stores live under ``<cache root>/v1/judge/`` and use the
embedding cache's shard format (atomic ``.npy`` shards read with ``allow_pickle=False``).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from rmeval.cache import CACHE_FORMAT_VERSION, EmbeddingStore, _atomic_write_bytes, default_cache_dir
from rmeval.errors import RmevalError
from rmeval.judges.question import TEMPLATE_VERSION

#: Columns of a judge store row.
SCORE_COLUMNS = ("log_p_yes", "log_p_no")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[-60:].strip("_") or "judge"


class JudgeCache:
    """Root of the judge-score cache (the embedding cache's root: ``--cache-dir``)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RmevalError(
                f"cannot create the cache directory {self.root}: {exc.strerror}. "
                "Pass --cache-dir DIR (or set RMEVAL_CACHE_DIR) to a writable place."
            ) from None
        self._stores: dict[Path, EmbeddingStore] = {}

    def store(self, identity: str, question: str, name: str = "judge") -> EmbeddingStore:
        """The store of one judge identity and one question (``name`` only labels the directory)."""
        fields = {
            "format": str(CACHE_FORMAT_VERSION), "kind": "judge", "identity": identity,
            "question": question, "template_version": str(TEMPLATE_VERSION),
            "columns": ",".join(SCORE_COLUMNS),
        }
        digest = hashlib.blake2b(json.dumps(fields, sort_keys=True).encode(), digest_size=8).hexdigest()
        directory = self.root / f"v{CACHE_FORMAT_VERSION}" / "judge" / f"{_slug(name)}-{digest}"
        if directory not in self._stores:
            directory.mkdir(parents=True, exist_ok=True)
            info = directory / "info.json"
            if not info.exists():
                _atomic_write_bytes(info, json.dumps({**fields, "name": name}, indent=2, sort_keys=True).encode())
            self._stores[directory] = EmbeddingStore(directory, len(SCORE_COLUMNS))
        return self._stores[directory]
