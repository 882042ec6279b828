"""The model registry: which CLIP models rmeval knows, and how a model is named.

A model is written:

- ``NAME`` uses the registry's default pretrained tag (rmeval's own ``rmeval-tiny*``
  architectures have none: they are always random);
- ``NAME:TAG`` any other open_clip pretrained tag (``rmeval models --all`` lists them);
- ``NAME:random`` the architecture with random weights (seeded, ``NAME:random3``), for
  offline runs and benchmarks: numbers computed with it say nothing about the pretrained model;
- ``NAME:/path/to/checkpoint`` (or ``NAME:./ckpt.pt``, ``NAME:~/ckpt.bin``) a local
  open_clip checkpoint file;
- ``hf-hub:ORG/REPO`` and ``local-dir:/path/to/dir`` exactly as open_clip spells them (the
  configuration and weights of a Hugging Face repository or a directory), each optionally
  followed by ``:random[N]``;
- ``module.path:Class`` your own reward model (:mod:`rmeval.plugins`);
- ``judge:...`` a generative judge (:mod:`rmeval.judges`, when installed).

``NAME`` is one of :func:`list_models`, rmeval's own architectures or any open_clip
architecture; sizes of every architecture come from :mod:`rmeval.sizes`.
This module does not import torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

from rmeval.errors import InvalidInputError, ModelNotFoundError

if TYPE_CHECKING:
    from rmeval.judges.names import JudgeRef

#: Any parsed model name: an open_clip model or plug-in, or a generative judge.
AnyRef: TypeAlias = "ModelRef | JudgeRef"

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
        3.48,
        0.0102,
        "small random ViT shaped like CartPole's frames (64x96 px, patch 16, 3 layers, embed 64), "
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


WeightsKind = Literal["pretrained", "random", "checkpoint", "plugin"]

#: open_clip's name prefixes (``open_clip.factory.HF_HUB_PREFIX``/``LOCAL_DIR_PREFIX``).
HF_HUB_PREFIX = "hf-hub:"
LOCAL_DIR_PREFIX = "local-dir:"
#: Reserved for generative judges (``rmeval.judges``).
JUDGE_PREFIX = "judge:"

_RANDOM_SUFFIX = re.compile(r"^(?P<base>.+):(?P<tag>random\d*)$", re.IGNORECASE)
_HUB_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_PLUGIN = re.compile(r"^(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):(?P<cls>[A-Za-z_]\w*)$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed model name: architecture plus where its weights come from.

    Attributes:
        arch: open_clip model name as ``open_clip.create_model`` takes it (``ViT-L-14``,
            ``rmeval-tiny``, ``hf-hub:timm/ViT-B-16-SigLIP``, ``local-dir:/abs/dir``); for a
            plug-in (``module.path:Class``) or a judge (``judge:...``) the name as typed.
        weights: ``"pretrained"`` (an open_clip tag, or the weights in the hub repository or
            local directory), ``"random"``, ``"checkpoint"`` (a file) or ``"plugin"``.
        tag: The pretrained tag when ``weights == "pretrained"`` on an architecture name.
        path: The checkpoint file when ``weights == "checkpoint"`` (absolute).
        seed: Seed of the random initialisation when ``weights == "random"``.
    """

    arch: str
    weights: WeightsKind
    tag: str | None = None
    path: Path | None = None
    seed: int = 0

    @property
    def source(self) -> Literal["open_clip", "hf-hub", "local-dir", "plugin"]:
        """Where the model comes from: an open_clip architecture name, a hub repository,
        a local directory, a plug-in class or a judge."""
        if self.weights == "plugin":
            return self.weights  # type: ignore[return-value]
        if self.arch.startswith(HF_HUB_PREFIX):
            return "hf-hub"
        if self.arch.startswith(LOCAL_DIR_PREFIX):
            return "local-dir"
        return "open_clip"

    @property
    def is_open_clip(self) -> bool:
        """True for models loaded by open_clip (everything but plug-ins and judges)."""
        return self.weights != "plugin"

    @property
    def spec(self) -> ModelSpec | None:
        return get_spec(self.arch)

    @property
    def is_random(self) -> bool:
        """True when the name asks for random weights. A plug-in or judge says so itself
        once loaded (its ``random_weights``)."""
        return self.weights == "random"

    @property
    def family(self) -> str:
        """The model family for scaling series (:func:`model_family`)."""
        return model_family(self.arch, self.tag)

    @property
    def id(self) -> str:
        """Canonical name: ``ARCH:TAG``, ``ARCH:random``, ``ARCH:/abs/path``, ``hf-hub:ORG/REPO``,
        ``local-dir:/abs/dir`` or the plug-in/judge name."""
        if self.weights == "random":
            return f"{self.arch}:{RANDOM_TAG}" + (f"{self.seed}" if self.seed else "")
        if self.weights == "checkpoint":
            return f"{self.arch}:{self.path}"
        if self.weights == "plugin" or self.tag is None:
            return self.arch
        return f"{self.arch}:{self.tag}"

    @property
    def weights_label(self) -> str:
        """What the weights are, for tables: the tag, ``random``, the checkpoint path, the
        repository/directory, or ``plugin``/``judge``."""
        if self.weights == "random":
            return RANDOM_TAG
        if self.weights == "checkpoint":
            return str(self.path)
        if self.weights == "plugin":
            return self.weights
        return str(self.tag) if self.tag is not None else self.arch.split(":", 1)[1]

    def __str__(self) -> str:
        return self.id


def _looks_like_path(text: str) -> bool:
    return (
        "/" in text
        or "\\" in text
        or text.startswith(("~", "."))
        or text.endswith((".pt", ".pth", ".bin", ".safetensors", ".ckpt"))
    )


def rmeval_architectures() -> list[str]:
    """rmeval's own open_clip configs (``rmeval/model_configs/*.json``), without importing open_clip."""
    from importlib import resources

    return sorted(
        p.name[: -len(".json")] for p in resources.files("rmeval").joinpath("model_configs").iterdir()
        if p.name.endswith(".json")
    )


def _known_architecture(arch: str) -> bool:
    if arch in _REGISTRY or arch in rmeval_architectures():
        return True
    import open_clip  # only for names outside the registry

    return arch in open_clip.list_models()


def unknown_model_message(name: str) -> str:
    return (
        f"unknown model {name!r}. rmeval's registry has: {', '.join(list_models())}. "
        "Any open_clip architecture also works (`rmeval models --all` lists them with their tags), "
        f"as do {HF_HUB_PREFIX}ORG/REPO, {LOCAL_DIR_PREFIX}/path/to/dir and your own reward model "
        "as module.path:Class (see the README)."
    )


_FORMS = (
    "Write NAME, NAME:TAG, NAME:random, NAME:/path/to/checkpoint, hf-hub:ORG/REPO, "
    "local-dir:/path/to/dir (either with :random) or module.path:Class."
)


def _split_random(text: str) -> tuple[str, int | None]:
    """``BASE:randomN`` -> (BASE, N); anything else -> (text, None)."""
    m = _RANDOM_SUFFIX.match(text)
    if not m:
        return text, None
    return m.group("base"), int(m.group("tag")[len(RANDOM_TAG):] or 0)


def _parse_hub(text: str) -> ModelRef:
    body, seed = _split_random(text[len(HF_HUB_PREFIX):].strip())
    if not _HUB_REPO.match(body):
        extra = ""
        if ":" in body:
            extra = (" A hub repository carries its own weights: no tag after it "
                     "(only :random, for random weights of its architecture).")
        raise InvalidInputError(
            f"model {text!r}: {HF_HUB_PREFIX} needs a repository ORG/REPO, e.g. "
            f"{HF_HUB_PREFIX}timm/ViT-B-16-SigLIP.{extra}"
        )
    arch = HF_HUB_PREFIX + body
    if seed is None:
        return ModelRef(arch=arch, weights="pretrained")
    return ModelRef(arch=arch, weights="random", seed=seed)


def _parse_local_dir(text: str) -> ModelRef:
    body, seed = _split_random(text[len(LOCAL_DIR_PREFIX):].strip())
    if not body:
        raise InvalidInputError(
            f"model {text!r}: nothing after {LOCAL_DIR_PREFIX}; give the directory holding "
            "open_clip_config.json and the weights, e.g. local-dir:/models/my-clip."
        )
    arch = LOCAL_DIR_PREFIX + str(Path(body).expanduser().resolve())
    if seed is None:
        return ModelRef(arch=arch, weights="pretrained")
    return ModelRef(arch=arch, weights="random", seed=seed)


def _find_spec(module: str) -> object | None:
    """``importlib.util.find_spec`` of a top-level module (imports nothing), None when absent."""
    import importlib.util

    try:
        return importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None


def _is_plugin(text: str, check_arch: bool) -> bool:
    """``module.path:Class`` (a dotted module, or an importable undotted module that is not
    an architecture, then an identifier)."""
    m = _PLUGIN.match(text)
    if not m:
        return False
    module = m.group("module")
    if module in _REGISTRY or module in rmeval_architectures():
        return False
    if "." in module:
        return True  # no open_clip architecture has a dot in its name
    if not check_arch or _known_architecture(module):
        return False
    return _find_spec(module) is not None


def parse_model(text: str, *, check_arch: bool = True) -> ModelRef | JudgeRef:
    """Parse a model name into a :class:`ModelRef`.

    Forms, tried in this order: ``judge:...`` (generative judges: a
    :class:`rmeval.judges.names.JudgeRef`);
    ``hf-hub:ORG/REPO`` and ``local-dir:/path`` as open_clip spells them (``:random[N]``
    after either: random weights of that configuration); ``module.path:Class`` (your own
    reward model, see :mod:`rmeval.plugins`); ``NAME``, ``NAME:TAG``, ``NAME:random[N]``
    (seed N) and ``NAME:/path/to/checkpoint`` for an open_clip architecture.

    Raises :class:`ModelNotFoundError` for an unknown architecture (listing the known
    ones) and :class:`InvalidInputError` for an empty or malformed name, or a registry
    model that has no default weights when no tag is given.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("empty model name; e.g. --models ViT-B-32 or --models rmeval-tiny")
    text = text.strip()
    if text.lower().startswith(JUDGE_PREFIX):
        from rmeval.judges.names import parse_judge

        return parse_judge(text)
    if text.startswith(HF_HUB_PREFIX):
        return _parse_hub(text)
    if text.startswith(LOCAL_DIR_PREFIX):
        return _parse_local_dir(text)
    if _is_plugin(text, check_arch):
        top = text.split(":", 1)[0].split(".", 1)[0]
        if check_arch and _find_spec(top) is None:
            raise ModelNotFoundError(
                f"plug-in {text!r}: cannot import module {text.split(':', 1)[0]!r} (no package {top!r} is "
                f"installed or on PYTHONPATH). A plug-in is named module.path:Class. {unknown_model_message(text)}"
            )
        return ModelRef(arch=text, weights="plugin")
    arch, sep, rest = text.partition(":")
    arch = arch.strip()
    rest = rest.strip()
    if check_arch and not _known_architecture(arch):
        raise ModelNotFoundError(unknown_model_message(arch))
    if sep and not rest:
        raise InvalidInputError(f"model {text!r}: nothing after ':'. {_FORMS}")
    if not rest:
        spec = get_spec(arch)
        if (spec is not None and spec.pretrained is None) or arch in rmeval_architectures():
            return ModelRef(arch=arch, weights="random")
        if spec is None:
            raise InvalidInputError(
                f"model {arch!r} is not in rmeval's registry, so it has no default weights; "
                f"name a tag ({arch}:TAG, see `rmeval models --all`), "
                f"a checkpoint ({arch}:/path/to/file) or {arch}:random."
            )
        return ModelRef(arch=arch, weights="pretrained", tag=spec.pretrained)
    if rest.lower().startswith(RANDOM_TAG) and (rest[len(RANDOM_TAG):].isdigit() or rest.lower() == RANDOM_TAG):
        seed = int(rest[len(RANDOM_TAG):] or 0)
        return ModelRef(arch=arch, weights="random", seed=seed)
    if _looks_like_path(rest):
        return ModelRef(arch=arch, weights="checkpoint", path=Path(rest).expanduser().resolve())
    return ModelRef(arch=arch, weights="pretrained", tag=rest)


# ----------------------------------------------------------------------------- families
#: (pattern on the architecture name, family), first match wins.
_ARCH_FAMILIES: tuple[tuple[str, str], ...] = (
    (r"^rmeval-tiny-siglip2", "SigLIP 2"),
    (r"^rmeval-tiny-siglip", "SigLIP"),
    (r"^rmeval-", "rmeval-tiny"),
    (r"SigLIP2", "SigLIP 2"),
    (r"^nllb-clip", "NLLB-CLIP"),
    (r"SigLIP", "SigLIP"),
    (r"^PE-Core", "PE-Core"),
    (r"^EVA0", "EVA-CLIP"),
    (r"CLIPA", "CLIPA"),
    (r"^coca", "CoCa"),
    (r"^convnext", "ConvNeXt CLIP"),
    (r"^MobileCLIP", "MobileCLIP"),
    (r"^ViTamin", "ViTamin"),
    (r"worldwide", "MetaCLIP 2"),
    (r"^(mt5|xlm-roberta|roberta)", "multilingual/HF-text CLIP"),
)
#: (tag prefix, family) for plain CLIP architectures: the training data makes the family.
_TAG_FAMILIES: tuple[tuple[str, str], ...] = (
    ("openai", "OpenAI CLIP"),
    ("laion", "LAION CLIP"),
    ("frozen_laion", "LAION CLIP"),
    ("datacomp", "DataComp CLIP"),
    ("commonpool", "DataComp CLIP"),
    ("dfn", "DFN CLIP"),
    ("metaclip", "MetaCLIP"),
    ("merged2b", "EVA-CLIP"),
)


def model_family(arch: str, tag: str | None = None) -> str:
    """The family a model belongs to, for one series per family in scaling plots.

    Architecture-defined families first (SigLIP 2, SigLIP, PE-Core, EVA-CLIP, ...); a plain
    CLIP ViT or ResNet is named by its training data from the tag (OpenAI CLIP, LAION CLIP,
    DataComp CLIP, DFN CLIP, MetaCLIP; the registry's default tag when none is given), else
    ``CLIP``. Hub repositories and local directories are ``hf-hub``/``local-dir`` unless
    their name says more; plug-ins are ``plug-in``.
    """
    name = arch
    if arch.startswith(JUDGE_PREFIX):
        return "judge"
    if arch.startswith((HF_HUB_PREFIX, LOCAL_DIR_PREFIX)):
        name = arch.split(":", 1)[1].rstrip("/").rsplit("/", 1)[-1]
    elif _PLUGIN.match(arch):
        return "plug-in"
    for pattern, family in _ARCH_FAMILIES:
        if re.search(pattern, name, flags=re.IGNORECASE if pattern.startswith("^") else 0):
            return family
    if tag is None and (spec := get_spec(name)) is not None:
        tag = spec.pretrained
    if tag:
        for prefix, family in _TAG_FAMILIES:
            if tag.lower().startswith(prefix):
                return family
    if arch.startswith(HF_HUB_PREFIX):
        return "hf-hub"
    if arch.startswith(LOCAL_DIR_PREFIX):
        return "local-dir"
    return "CLIP"


def parse_models(text: str) -> list[ModelRef | JudgeRef]:
    """Parse a comma-separated list of model names (duplicates removed, order kept)."""
    names = [t for t in (p.strip() for p in text.split(",")) if t]
    if not names:
        raise InvalidInputError("--models is empty; e.g. --models rmeval-tiny,ViT-B-32:random")
    refs: list[ModelRef | JudgeRef] = []
    for name in names:
        ref = parse_model(name)
        if ref not in refs:
            refs.append(ref)
    return refs
