"""The labelling app's settings, passed from ``rmeval label`` to ``app.py`` in environment variables.

| variable                    | meaning                                                      |
|-----------------------------|--------------------------------------------------------------|
| ``RMEVAL_LABEL_DATASET``    | dataset directory (default: the bundled cartpole-angle)      |
| ``RMEVAL_LABEL_DB``         | labels database file (default: ``labels/<dataset>.sqlite`` under the current directory) |
| ``RMEVAL_LABEL_AUTO_COLUMN``| index column with automatic labels (default ``auto_label``)  |
| ``RMEVAL_CACHE_DIR``        | embedding cache (default ``~/.cache/rmeval``)                |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rmeval.labeling.exchange import AUTO_LABEL_COLUMN

__all__ = ["ENV_AUTO_COLUMN", "ENV_CACHE_DIR", "ENV_DATASET", "ENV_DB", "AppConfig", "config_from_env"]

ENV_DATASET = "RMEVAL_LABEL_DATASET"
ENV_DB = "RMEVAL_LABEL_DB"
ENV_AUTO_COLUMN = "RMEVAL_LABEL_AUTO_COLUMN"
ENV_CACHE_DIR = "RMEVAL_CACHE_DIR"


@dataclass(frozen=True)
class AppConfig:
    """Where the app reads frames, stores labels and finds cached embeddings.

    Attributes:
        dataset: dataset directory.
        db: labels database file, or None for the default ``labels/<dataset name>.sqlite``
            under the current directory (known once the dataset is loaded).
        auto_column: index column with automatic labels.
        cache_dir: embedding cache root, or None for the default.
    """

    dataset: Path
    db: Path | None
    auto_column: str = AUTO_LABEL_COLUMN
    cache_dir: Path | None = None


def config_from_env(environ: Mapping[str, str] | None = None) -> AppConfig:
    """Read :class:`AppConfig` from ``environ`` (default ``os.environ``)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_DATASET):
        dataset = Path(env[ENV_DATASET]).expanduser()
    else:
        from rmeval.dataset.bundled import bundled_dataset

        dataset = bundled_dataset()
    db = Path(env[ENV_DB]).expanduser() if env.get(ENV_DB) else None
    cache = Path(env[ENV_CACHE_DIR]).expanduser() if env.get(ENV_CACHE_DIR) else None
    return AppConfig(dataset=dataset, db=db, auto_column=env.get(ENV_AUTO_COLUMN) or AUTO_LABEL_COLUMN, cache_dir=cache)
