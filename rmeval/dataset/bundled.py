"""The datasets that ship with rmeval, found the same way from a checkout and from an installed wheel.

The repository's ``datasets/`` directory is also the package directory
``rmeval/bundled_datasets`` (a symbolic link in a checkout; copied into the wheel as package
data), so :func:`datasets_dir` finds it through the package itself, never through a path
relative to the source tree.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["BUNDLED_DATASET", "bundled_dataset", "bundled_names", "datasets_dir", "resolve_dataset_path"]

#: The dataset commands use when ``--dataset`` is not given.
BUNDLED_DATASET = "cartpole-angle"
#: The environment variable naming another directory of datasets.
DATASETS_ENV = "RMEVAL_DATASETS"
_PACKAGE_DIR = "bundled_datasets"


def datasets_dir() -> Path:
    """``$RMEVAL_DATASETS``, else the bundled datasets shipped with rmeval, else ``./datasets``."""
    if os.environ.get(DATASETS_ENV):
        return Path(os.environ[DATASETS_ENV]).expanduser()
    shipped = Path(__file__).resolve().parents[1] / _PACKAGE_DIR
    return shipped if shipped.is_dir() else Path.cwd() / "datasets"


def bundled_dataset(name: str = BUNDLED_DATASET) -> Path:
    """The directory of the bundled dataset ``name`` (default: the one commands use)."""
    return datasets_dir() / name


def bundled_names() -> list[str]:
    """Names of the datasets in :func:`datasets_dir` (directories holding ``metadata.json``), sorted."""
    root = datasets_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "metadata.json").is_file())


def resolve_dataset_path(path_or_name: str | os.PathLike[str]) -> Path:
    """A dataset directory from a path, or from the name of a bundled dataset.

    An existing path wins; a bare name (no ``/``) that is not a path is looked up in
    :func:`datasets_dir`. Anything else comes back as the path it names, for
    :func:`~rmeval.dataset.load_dataset` to report.
    """
    path = Path(path_or_name).expanduser()
    if path.exists():
        return path
    text = os.fspath(path_or_name)
    if "/" not in text and os.sep not in text:
        candidate = bundled_dataset(text)
        if candidate.exists():
            return candidate
    return path
