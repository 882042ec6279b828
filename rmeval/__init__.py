"""rmeval: how good is a vision-language model as a reward model?

``import rmeval`` stays light: torch, open_clip, gymnasium and friends load only in the
modules that need them. Start with :mod:`rmeval.rewards`, :mod:`rmeval.epic`,
:mod:`rmeval.registry` and :mod:`rmeval.dataset`.
"""

from __future__ import annotations

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
]
