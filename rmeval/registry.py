"""The model registry: which CLIP models rmeval knows, and how a model is named.

A model is written ``NAME``, ``NAME:TAG``, ``NAME:random`` or ``NAME:/path/to/checkpoint``:

- ``NAME`` uses the registry's default pretrained tag (``rmeval-tiny`` has none: it is
  always random);
- ``NAME:TAG`` any other open_clip pretrained tag (``open_clip.list_pretrained_tags_by_model``);
- ``NAME:random`` the architecture with random weights (seeded), for offline runs and
  benchmarks: numbers computed with it say nothing about the pretrained model;
- ``NAME:/path/to/checkpoint`` (or ``NAME:./ckpt.pt``, ``NAME:~/ckpt.bin``) a local
  open_clip checkpoint file.

``NAME`` is one of :func:`list_models` or any open_clip architecture (``open_clip.list_models()``);
only the registry's entries carry parameter counts and GFLOPs for scaling plots.
This module does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rmeval.errors import InvalidInputError, ModelNotFoundError

#: The tag that asks for random weights.
RANDOM_TAG = "random"


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry.

    Attributes:
        name: The name users type (also the open_clip architecture unless ``arch`` differs).
        arch: open_clip architecture name.
        pretrained: Default pretrained tag, or None when only random weights exist.
        params_m: Total parameters, millions (image and text towers).
        image_gflops: GFLOPs of one image-tower forward pass (open_clip's model profile).
        description: One line for ``rmeval models``.
    """

    name: str
    arch: str
    pretrained: str | None
    params_m: float
    image_gflops: float
    description: str = ""


#: Registry data (notes section 5); sizes and GFLOPs from open_clip's model profile
#: (docs/model_profile.csv: GFLOPs there are 2 x multiply-accumulates, as in a matmul's
#: 2n^3). ViT-B-32's image tower is 8.82 GFLOPs in that profile; the project's notes listed
#: 4.4, the multiply-accumulate count, which would put it at half its compute in scaling
#: plots and double its share of the GPU's matmul rate in benchmarks.
_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec("RN50", "RN50", "openai", 102.0, 12.2, "ResNet-50 CLIP (OpenAI)"),
    ModelSpec("ViT-B-32", "ViT-B-32", "laion2b_s34b_b79k", 151.0, 8.82, "ViT-B/32, LAION-2B"),
    ModelSpec("ViT-L-14", "ViT-L-14", "laion2b_s32b_b82k", 428.0, 162.0, "ViT-L/14, LAION-2B"),
    ModelSpec("ViT-H-14", "ViT-H-14", "laion2b_s32b_b79k", 986.0, 335.0, "ViT-H/14, LAION-2B"),
    ModelSpec("ViT-bigG-14", "ViT-bigG-14", "laion2b_s39b_b160k", 2540.0, 968.0, "ViT-bigG/14, LAION-2B (the paper's largest)"),
    ModelSpec(
        "rmeval-tiny",
        "rmeval-tiny",
        None,
        3.57,
        0.003,
        "tiny random ViT for tests and offline smoke runs (64 px, 2 layers, embed 32)",
    ),
    ModelSpec(
        "rmeval-small",
        "rmeval-small",
        None,
        4.14,
        0.18,
        "small random ViT shaped like CartPole's frames (96x144 px, patch 12, 4 layers, embed 64), "
        "for fine-tuning on this CPU (rmeval finetune)",
    ),
)

_REGISTRY: dict[str, ModelSpec] = {s.name: s for s in _SPECS}


def list_models() -> list[str]:
    """Names in the registry, in registry order (smallest CLIP first, then rmeval-tiny)."""
    return list(_REGISTRY)


def get_spec(name: str) -> ModelSpec | None:
    """The registry entry for ``name``, or None for an open_clip architecture outside it."""
    return _REGISTRY.get(name)


def registry_table() -> list[dict[str, object]]:
    """The registry as rows (dicts), for printing or a DataFrame."""
    return [
        {
            "model": s.name,
            "default_tag": s.pretrained or RANDOM_TAG,
            "params_m": s.params_m,
            "image_gflops": s.image_gflops,
            "description": s.description,
        }
        for s in _SPECS
    ]


WeightsKind = Literal["pretrained", "random", "checkpoint"]


@dataclass(frozen=True)
class ModelRef:
    """A parsed model name: architecture plus where its weights come from.

    Attributes:
        arch: open_clip architecture (``ViT-L-14``, ``rmeval-tiny``, ...).
        weights: ``"pretrained"`` (an open_clip tag), ``"random"`` or ``"checkpoint"`` (a file).
        tag: The pretrained tag when ``weights == "pretrained"``.
        path: The checkpoint file when ``weights == "checkpoint"`` (absolute).
        seed: Seed of the random initialisation when ``weights == "random"``.
    """

    arch: str
    weights: WeightsKind
    tag: str | None = None
    path: Path | None = None
    seed: int = 0

    @property
    def spec(self) -> ModelSpec | None:
        return get_spec(self.arch)

    @property
    def is_random(self) -> bool:
        return self.weights == "random"

    @property
    def id(self) -> str:
        """Canonical name: ``ARCH:TAG``, ``ARCH:random`` or ``ARCH:/abs/path``."""
        if self.weights == "random":
            return f"{self.arch}:{RANDOM_TAG}" + (f"{self.seed}" if self.seed else "")
        if self.weights == "checkpoint":
            return f"{self.arch}:{self.path}"
        return f"{self.arch}:{self.tag}"

    @property
    def weights_label(self) -> str:
        """What the weights are, for tables: the tag, ``random`` or the checkpoint path."""
        if self.weights == "random":
            return RANDOM_TAG
        return str(self.path) if self.weights == "checkpoint" else str(self.tag)

    def __str__(self) -> str:
        return self.id


def _looks_like_path(text: str) -> bool:
    return (
        "/" in text
        or "\\" in text
        or text.startswith(("~", "."))
        or text.endswith((".pt", ".pth", ".bin", ".safetensors", ".ckpt"))
    )


def _known_architecture(arch: str) -> bool:
    if arch in _REGISTRY:
        return True
    import open_clip  # only for names outside the registry

    return arch in open_clip.list_models()


def unknown_model_message(name: str) -> str:
    return (
        f"unknown model {name!r}. rmeval's registry has: {', '.join(list_models())}. "
        "Any open_clip architecture also works (python -c 'import open_clip; "
        "print(open_clip.list_models())'); see `rmeval models`."
    )


def parse_model(text: str, *, check_arch: bool = True) -> ModelRef:
    """Parse ``NAME``, ``NAME:TAG``, ``NAME:random`` or ``NAME:/path`` into a :class:`ModelRef`.

    ``NAME:randomN`` (N an integer) seeds the random initialisation with N.
    Raises :class:`ModelNotFoundError` for an unknown architecture (listing the known
    ones) and :class:`InvalidInputError` for an empty name or a registry model that has
    no default weights when no tag is given.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("empty model name; e.g. --models ViT-B-32 or --models rmeval-tiny")
    text = text.strip()
    arch, sep, rest = text.partition(":")
    arch = arch.strip()
    rest = rest.strip()
    if check_arch and not _known_architecture(arch):
        raise ModelNotFoundError(unknown_model_message(arch))
    if sep and not rest:
        raise InvalidInputError(
            f"model {text!r}: nothing after ':'. Write NAME, NAME:TAG, NAME:random or NAME:/path/to/checkpoint."
        )
    if not rest:
        spec = get_spec(arch)
        if spec is not None and spec.pretrained is None:
            return ModelRef(arch=arch, weights="random")
        if spec is None:
            raise InvalidInputError(
                f"model {arch!r} is not in rmeval's registry, so it has no default weights; "
                f"name a tag ({arch}:TAG, see open_clip.list_pretrained_tags_by_model({arch!r})), "
                f"a checkpoint ({arch}:/path/to/file) or {arch}:random."
            )
        return ModelRef(arch=arch, weights="pretrained", tag=spec.pretrained)
    if rest.lower().startswith(RANDOM_TAG) and (rest[len(RANDOM_TAG):].isdigit() or rest.lower() == RANDOM_TAG):
        seed = int(rest[len(RANDOM_TAG):] or 0)
        return ModelRef(arch=arch, weights="random", seed=seed)
    if _looks_like_path(rest):
        return ModelRef(arch=arch, weights="checkpoint", path=Path(rest).expanduser().resolve())
    return ModelRef(arch=arch, weights="pretrained", tag=rest)


def parse_models(text: str) -> list[ModelRef]:
    """Parse a comma-separated list of model names (duplicates removed, order kept)."""
    names = [t for t in (p.strip() for p in text.split(",")) if t]
    if not names:
        raise InvalidInputError("--models is empty; e.g. --models rmeval-tiny,ViT-B-32:random")
    refs: list[ModelRef] = []
    for name in names:
        ref = parse_model(name)
        if ref not in refs:
            refs.append(ref)
    return refs
