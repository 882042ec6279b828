"""How a judge is named: ``judge:ORG/REPO``, ``judge:/local/dir`` or ``judge:NAME:random``.

- ``judge:ORG/REPO`` (``judge:HuggingFaceTB/SmolVLM-256M-Instruct``): a checkpoint in the
  local Hugging Face cache (``--weights-dir`` or ``$HF_HOME``); rmeval never downloads one.
- ``judge:/local/dir`` (``judge:./smol``, ``judge:~/models/qwen``): a directory written by
  ``save_pretrained`` (model and processor, with a chat template).
- ``judge:NAME:random`` (``judge:rmeval-tiny-judge:random``, seed N with ``:randomN``): a
  random-weight build of one of :data:`rmeval.judges.build.KNOWN_CONFIGS`, built offline
  into the cache directory. Its numbers test the pipeline and say nothing about a trained
  judge. ``judge:rmeval-tiny-judge`` alone means the random build.

This module does not import torch or transformers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rmeval.errors import InvalidInputError

#: The prefix of every judge name.
PREFIX = "judge:"

#: The file rmeval writes into every judge directory it builds (random weights).
MARKER = "rmeval_judge.json"

#: Known random-buildable configurations (kept here so parsing needs no torch).
KNOWN_CONFIG_NAMES = ("rmeval-tiny-judge", "rmeval-small-judge", "llava-small")

JudgeSource = Literal["hub", "dir", "random"]


@dataclass(frozen=True)
class JudgeRef:
    """A parsed judge name. Mirrors :class:`rmeval.registry.ModelRef`'s attributes so tables
    and loops treat both families alike.

    Attributes:
        source: ``"hub"`` (a repository in the local HF cache), ``"dir"`` or ``"random"``.
        repo: ``ORG/REPO`` for ``hub``, the config name for ``random``.
        path: The directory for ``dir`` (absolute).
        seed: Seed of a random build.
    """

    source: JudgeSource
    repo: str | None = None
    path: Path | None = None
    seed: int = 0

    @property
    def id(self) -> str:
        if self.source == "dir":
            return f"{PREFIX}{self.path}"
        if self.source == "random":
            return f"{PREFIX}{self.repo}:random" + (f"{self.seed}" if self.seed else "")
        return f"{PREFIX}{self.repo}"

    @property
    def arch(self) -> str:
        """A short name for tables: the repository, directory name or config name."""
        if self.source == "dir":
            assert self.path is not None
            return f"{PREFIX}{self.path.name}"
        return f"{PREFIX}{self.repo}"

    @property
    def weights(self) -> str:
        return {"hub": "pretrained", "dir": "checkpoint", "random": "random"}[self.source]

    @property
    def weights_label(self) -> str:
        if self.source == "random":
            return "random"
        return str(self.path) if self.source == "dir" else "hf-cache"

    @property
    def is_random(self) -> bool:
        """True for ``:random`` builds and for directories rmeval built (they carry
        :data:`MARKER` saying so)."""
        if self.source == "random":
            return True
        if self.source == "dir" and self.path is not None:
            try:
                data = json.loads((self.path / MARKER).read_text())
            except (OSError, ValueError):
                return False
            return isinstance(data, dict) and bool(data.get("random_weights"))
        return False

    @property
    def spec(self) -> None:
        return None

    @property
    def tag(self) -> str | None:
        return None

    @property
    def is_judge(self) -> bool:
        return True

    @property
    def is_open_clip(self) -> bool:
        return False

    @property
    def family(self) -> str:
        return "judge"

    def __str__(self) -> str:
        return self.id


def is_judge_name(text: object) -> bool:
    return isinstance(text, str) and text.strip().lower().startswith(PREFIX)


def _looks_like_dir(text: str) -> bool:
    """An absolute or explicitly relative path, or an existing directory (``models/smol``)."""
    return text.startswith(("/", "~", ".", "\\")) or Path(text).expanduser().is_dir()


def parse_judge(text: str) -> JudgeRef:
    """Parse ``judge:...`` into a :class:`JudgeRef` (InvalidInputError with the accepted forms)."""
    body = text.strip()[len(PREFIX):].strip()
    forms = "judge:ORG/REPO (local HF cache), judge:/path/to/dir or judge:NAME:random"
    if not body:
        raise InvalidInputError(f"model {text!r}: nothing after 'judge:'. Write {forms}.")
    if _looks_like_dir(body):
        return JudgeRef(source="dir", path=Path(body).expanduser().resolve())
    name, sep, rest = body.partition(":")
    rest = rest.strip().lower()
    if sep:
        if not rest.startswith("random") or not (rest == "random" or rest[6:].isdigit()):
            raise InvalidInputError(
                f"model {text!r}: after NAME only ':random' or ':randomN' is accepted. Write {forms}."
            )
        if name not in KNOWN_CONFIG_NAMES:
            raise InvalidInputError(
                f"model {text!r}: no known judge config {name!r} to build with random weights; "
                f"known: {', '.join(KNOWN_CONFIG_NAMES)}."
            )
        return JudgeRef(source="random", repo=name, seed=int(rest[6:] or 0))
    if name in KNOWN_CONFIG_NAMES:
        return JudgeRef(source="random", repo=name)
    if name.count("/") == 1 and all(name.split("/")):
        return JudgeRef(source="hub", repo=name)
    raise InvalidInputError(f"model {text!r} is not a judge name. Write {forms}.")
