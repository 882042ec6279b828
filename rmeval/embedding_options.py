"""How to embed: one options object for every job that embeds frames, validated once.

``rmeval epic``, ``landscape``, ``embed``, ``scaling`` and the notebook API all take an
:class:`EmbeddingOptions` (built from the command line by :meth:`EmbeddingOptions.from_args`);
the jobs behind them (:class:`rmeval.epic_table.EpicJob`,
:class:`rmeval.landscape.LandscapeJob`, :class:`rmeval.model_rewards.RewardSettings`) hold
it as it is instead of copying its fields. This module imports no torch: the device is
checked against the hardware by :meth:`EmbeddingOptions.check_device`, once, before any
model loads.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmeval.errors import InvalidInputError

__all__ = ["PRECISIONS", "EmbeddingOptions"]

#: Numeric precisions of the image and text towers (``fp16``/``bf16``: autocast, for GPUs).
PRECISIONS = ("fp32", "fp16", "bf16")


def _batch_size(value: object) -> int | str:
    text = str(value).strip().lower()
    if text == "auto":
        return "auto"
    if isinstance(value, bool) or not (isinstance(value, int) or text.isdigit()) or int(text) < 1:
        raise InvalidInputError(f"--batch-size must be a positive integer or 'auto', got {value!r}")
    return int(text)


def _precision(value: object, what: str = "--precision") -> str:
    if value not in PRECISIONS:
        raise InvalidInputError(f"{what} must be one of {', '.join(PRECISIONS)}, got {value!r}")
    return str(value)


def _path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None or value == "" else Path(value).expanduser()


@dataclass(frozen=True)
class EmbeddingOptions:
    """How frames and prompts are embedded.

    Attributes:
        device: ``cpu``, ``cuda``, ``cuda:N``, or None (cuda when available).
        batch_size: Frames per forward pass, or ``"auto"`` (the largest that fits the GPU).
            Text such as ``"64"`` is accepted and stored as an int.
        precision: ``fp32``, ``fp16`` or ``bf16``; or a mapping model id -> precision (a
            results table's ``precision`` column, so the same cache entries are found).
        cache_dir: Embedding cache directory (None: ``$RMEVAL_CACHE_DIR`` or ``~/.cache/rmeval``).
        weights_dir: Where pretrained weights are looked up (None: the Hugging Face cache).
        compile: ``torch.compile`` the image tower.
        progress: Show progress bars (None: on a terminal, for long runs).
        fit: How a frame reaches the model's square input: ``crop``, ``squash`` or ``pad``
            (:data:`rmeval.preprocess.FITS`); None: the default for each dataset
            (:meth:`fit_for`: squash for frames rmeval rendered, crop otherwise).

    Raises:
        InvalidInputError: on construction, naming the bad option.
    """

    device: str | None = None
    batch_size: int | str = 64
    precision: str | Mapping[str, str] = "fp32"
    cache_dir: Path | None = None
    weights_dir: Path | None = None
    compile: bool = False
    progress: bool | None = None
    fit: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "batch_size", _batch_size(self.batch_size))
        if isinstance(self.precision, Mapping):
            set_(self, "precision", {str(m): _precision(p, f"precision of {m}") for m, p in self.precision.items()})
        else:
            set_(self, "precision", _precision(self.precision))
        if self.device is not None and (not isinstance(self.device, str) or not self.device.strip()):
            raise InvalidInputError(f"--device must be cpu, cuda or cuda:N, got {self.device!r}")
        set_(self, "cache_dir", _path(self.cache_dir))
        set_(self, "weights_dir", _path(self.weights_dir))
        set_(self, "compile", bool(self.compile))
        if self.fit is not None:
            key = str(self.fit).strip().lower()
            if key not in ("crop", "squash", "pad"):  # rmeval.preprocess.FITS (not imported: it loads torch)
                raise InvalidInputError(f"--fit must be one of crop, squash, pad, got {self.fit!r}")
            set_(self, "fit", key)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> EmbeddingOptions:
        """The options of :func:`rmeval.commands.common.add_embedding_options`, checked
        (the device included, so a bad one fails before any model loads)."""
        options = cls(
            device=args.device,
            batch_size=args.batch_size,
            precision=args.precision,
            cache_dir=args.cache_dir,
            weights_dir=args.weights_dir,
            compile=bool(getattr(args, "compile", False)),
            progress=False if getattr(args, "no_progress", False) else None,
            fit=getattr(args, "fit", None),
        )
        options.check_device()
        return options

    def check_device(self) -> None:
        """Raise :class:`InvalidInputError` when the device does not exist here (imports torch)."""
        from rmeval.models import resolve_device

        resolve_device(self.device)

    def precision_for(self, model_id: str) -> str:
        """The precision ``model_id`` is embedded at."""
        if isinstance(self.precision, str):
            return self.precision
        return self.precision.get(model_id, "fp32")

    def fit_for(self, dataset: Any = None) -> str:
        """The fit frames of ``dataset`` get: :attr:`fit`, else squash for a dataset rmeval
        rendered (its metadata has a ``render`` block), crop for other images."""
        from rmeval.preprocess import resolve_fit

        metadata = getattr(dataset, "metadata", None)
        return resolve_fit(self.fit, rendered=bool(getattr(metadata, "render", None)))

    def embedder_kwargs(self, model_id: str, dataset: Any = None) -> dict[str, Any]:
        """Keyword arguments of :class:`rmeval.embedding.Embedder` (all but the model and cache)
        for the frames of ``dataset`` (None: frames of no dataset, so the fit for other images)."""
        return {
            "batch_size": self.batch_size,
            "precision": self.precision_for(model_id),
            "progress": self.progress,
            "compile": self.compile,
            "fit": self.fit_for(dataset),
        }

    def describe(self) -> dict[str, Any]:
        """The options as JSON-ready values (for the ``.json`` files beside results)."""
        precision = self.precision if isinstance(self.precision, str) else dict(self.precision)
        return {
            "device": self.device, "batch_size": self.batch_size, "precision": precision,
            "cache_dir": None if self.cache_dir is None else str(self.cache_dir),
            "weights_dir": None if self.weights_dir is None else str(self.weights_dir),
            "compile": self.compile, "fit": self.fit,
        }
