"""On-disk judge scores, keyed like embeddings: a second run over the same frames costs nothing.

One store per (judge identity, question text, template version); inside it, one row per
frame keyed by the frame's content hash (:func:`rmeval.cache.frame_keys`), holding
``(log p(yes), log p(no))``. Stores live under ``<cache root>/v1/judge/`` and use the
embedding cache's shard format (atomic ``.npy`` shards read with ``allow_pickle=False``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rmeval.cache import CACHE_FORMAT_VERSION, EmbeddingStore, default_cache_dir
from rmeval.errors import RmevalError
from rmeval.fileio import slug, write_bytes
from rmeval.judges.question import TEMPLATE_VERSION

#: Columns of a judge store row.
SCORE_COLUMNS = ("log_p_yes", "log_p_no")


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
        directory = self.root / f"v{CACHE_FORMAT_VERSION}" / "judge" / f"{slug(name, 'judge', max_len=60, keep_end=True)}-{digest}"
        if directory not in self._stores:
            directory.mkdir(parents=True, exist_ok=True)
            info = directory / "info.json"
            if not info.exists():
                write_bytes(info, json.dumps({**fields, "name": name}, indent=2, sort_keys=True).encode(), what="the judge cache")
            self._stores[directory] = EmbeddingStore(directory, len(SCORE_COLUMNS))
        return self._stores[directory]


@dataclass
class CachedJudge:
    """A judge's cached scores of a dataset's frames (found without loading the judge).

    Same interface as :class:`rmeval.labeling.cached_rewards.CachedModel` where the
    labelling app uses it (``model``, ``precision``, ``found``, ``coverage``, ``rewards``).

    Attributes:
        model: The judge as named (``judge:/models/smol``).
        found: (N,) True where every goal prompt's score of the frame is cached.
        reward: (N,) ``log p(yes) - log p(no)`` averaged over goal prompts, NaN where not found.
    """

    model: str
    precision: str
    found: np.ndarray
    reward: np.ndarray

    @property
    def coverage(self) -> float:
        return float(self.found.mean()) if self.found.size else 0.0

    def rewards(self, alphas: list[float] | None = None) -> np.ndarray:
        """(K, N): the judge's reward in every row (alphas do not apply to judges)."""
        k = 1 if alphas is None else max(1, len(alphas))
        return np.repeat(self.reward[None, :], k, axis=0)


def cached_judges(keys: np.ndarray, goal_prompts: list[str], template: str, root: str | Path | None = None) -> list[CachedJudge]:
    """Judges whose scores of frames ``keys`` ((N,) ``S16``) are cached for the questions the
    goal prompts make with ``template``; no judge is loaded. Sorted by name."""
    from rmeval.judges.question import make_question

    base = (Path(root).expanduser() if root is not None else default_cache_dir()) / f"v{CACHE_FORMAT_VERSION}" / "judge"
    if not base.is_dir() or not goal_prompts:
        return []
    wanted = [make_question(template, g) for g in goal_prompts]
    by_identity: dict[str, dict[str, tuple[dict[str, str], Path]]] = {}
    for directory in sorted(p for p in base.iterdir() if p.is_dir()):
        try:
            info = json.loads((directory / "info.json").read_text())
            identity, question = str(info["identity"]), str(info["question"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if info.get("template_version") != str(TEMPLATE_VERSION) or question not in wanted:
            continue
        by_identity.setdefault(identity, {})[question] = (info, directory)
    out: list[CachedJudge] = []
    for identity, stores in by_identity.items():
        if set(stores) != set(wanted):
            continue
        found = np.ones(len(keys), dtype=bool)
        total = np.zeros(len(keys))
        for question in wanted:
            f, scores = EmbeddingStore(stores[question][1], len(SCORE_COLUMNS)).lookup(keys)
            found &= f
            total += scores[:, 0].astype(np.float64) - scores[:, 1]
        if not found.any():
            continue
        info = stores[wanted[0]][0]
        precision = next((p.split("=", 1)[1] for p in identity.split("|") if p.startswith("precision=")), "")
        reward = np.where(found, total / len(wanted), np.nan)
        out.append(CachedJudge(str(info.get("name", identity)), precision, found, reward))
    return sorted(out, key=lambda j: (j.model, j.precision))
