"""rmeval: how good is a vision-language model as a reward model?

In a notebook::

    import rmeval
    ds = rmeval.load_dataset("cartpole-angle")
    res = rmeval.epic(ds, models=["rmeval-tiny", "ViT-B-32:random"], alphas="0:1:0.25")
    res.table
    res.plot()

``import rmeval`` stays light: ``load_dataset`` and ``epic`` are loaded on first use, and
torch, open_clip, gymnasium and friends load only in the modules that need them. The
library: :mod:`rmeval.rewards`, :mod:`rmeval.epic`, :mod:`rmeval.registry`,
:mod:`rmeval.dataset` (see :mod:`rmeval.notebook`).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from rmeval.errors import (
    DatasetError,
    InvalidInputError,
    ModelNotFoundError,
    RmevalError,
    WeightsUnavailableError,
)

__all__ = [
    "DatasetError",
    "InvalidInputError",
    "ModelNotFoundError",
    "RmevalError",
    "WeightsUnavailableError",
    "__version__",
    "epic",
    "load_dataset",
]


def __getattr__(name: str) -> Any:
    """``rmeval.load_dataset`` and ``rmeval.epic``, imported on first use."""
    if name == "load_dataset":
        from rmeval.notebook import load_dataset

        return load_dataset
    if name == "epic":
        import importlib

        return importlib.import_module("rmeval.epic")  # the package, callable as rmeval.notebook.epic
    raise AttributeError(f"module 'rmeval' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"epic", "load_dataset"})
