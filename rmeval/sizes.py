"""Model sizes without weights: parameters and image-tower GFLOPs of any open_clip architecture.

The architecture is built on PyTorch's meta device (no memory, no weights) and counted:
parameters by summing, image GFLOPs with :class:`torch.utils.flop_counter.FlopCounterMode`
on one forward pass of the image tower at the model's input size. GFLOPs are 2 x
multiply-accumulates, the convention of open_clip's ``docs/model_profile.csv`` (the tests
check the registry's five models against that profile to within 1%).

Counting takes about half a second per model, so sizes come from, in order:

1. ``rmeval/model_sizes.json``, shipped, made by ``scripts/model_sizes.py`` for every
   architecture of the installed open_clip; an entry is used only when its configuration
   digest matches the configuration open_clip has now;
2. a per-user cache (``<rmeval cache>/sizes-v1.json``) keyed by that digest;
3. counting, whose result goes into the cache.

Architectures whose text tower is a Hugging Face model need its configuration, which may
not be here offline: their size is then unknown (None), never guessed.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

#: Bumped when the counting changes (invalidates the per-user cache).
SIZES_VERSION = 1


@dataclass(frozen=True)
class ModelSize:
    """The size of one architecture.

    Attributes:
        params_m: Total parameters (image and text towers), millions.
        image_params_m: Image-tower parameters, millions.
        image_gflops: GFLOPs of one image-tower forward pass (2 x multiply-accumulates).
        image_size: Input side (height, width) in pixels.
        embed_dim: Width of the shared embedding.
    """

    params_m: float
    image_params_m: float
    image_gflops: float
    image_size: tuple[int, int]
    embed_dim: int

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> ModelSize:
        size = row["image_size"]
        out = cls(float(row["params_m"]), float(row["image_params_m"]), float(row["image_gflops"]),
                  (int(size[0]), int(size[1])), int(row["embed_dim"]))
        if not (out.params_m > 0 and out.image_gflops > 0 and out.image_size[0] > 0 and out.embed_dim > 0):
            raise ValueError(f"non-positive size {row}")
        return out


def config_digest(model_cfg: dict[str, Any]) -> str:
    """A digest of an open_clip model configuration (keys sorted)."""
    text = json.dumps(model_cfg, sort_keys=True, default=str)
    return hashlib.blake2b(f"v{SIZES_VERSION}|{text}".encode(), digest_size=8).hexdigest()


def count_size(model_name: str) -> ModelSize:
    """Count the size of ``model_name`` (an open_clip name: architecture, ``local-dir:``) on
    the meta device. Raises whatever open_clip raises when it cannot build the model."""
    import logging

    import open_clip
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from rmeval.models import register_rmeval_architectures

    register_rmeval_architectures()
    previous = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR + 10)
    try:
        with torch.device("meta"):
            model = open_clip.create_model(model_name, pretrained=None, load_weights=False,
                                           pretrained_text=False, device="meta")
    finally:
        logging.getLogger().setLevel(previous)
    params = sum(p.numel() for p in model.parameters())
    visual = model.visual
    image_params = sum(p.numel() for p in visual.parameters())
    size = open_clip.get_model_preprocess_cfg(model).get("size") or getattr(visual, "image_size", 224)
    hw = (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
    # Train mode: the inference fast path of nn.MultiheadAttention hides its matmuls from the
    # counter. Gradients stay on (meta tensors cost nothing): the counter's module tracker
    # needs them for timm towers.
    model.train()
    with FlopCounterMode(display=False) as counter:
        out = model.encode_image(torch.zeros(1, 3, *hw, device="meta"))
    embed_dim = int(out.shape[-1])
    return ModelSize(round(params / 1e6, 4), round(image_params / 1e6, 4),
                     round(counter.get_total_flops() / 1e9, 4), hw, embed_dim)


def _table_path() -> Path:
    return Path(str(resources.files("rmeval").joinpath("model_sizes.json")))


_TABLE: dict[str, tuple[str, ModelSize]] | None = None
_RAW: dict[str, Any] | None = None


def _table_raw() -> dict[str, Any]:
    """The shipped table file as read ({} when missing or unreadable)."""
    global _RAW
    if _RAW is None:
        try:
            raw = json.loads(_table_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        _RAW = raw if isinstance(raw, dict) else {}
    return _RAW


def shipped_table() -> dict[str, tuple[str, ModelSize]]:
    """The shipped size table: architecture -> (configuration digest, size); rows that do
    not parse are left out (and then counted on demand)."""
    global _TABLE
    if _TABLE is None:
        table: dict[str, tuple[str, ModelSize]] = {}
        rows = _table_raw().get("models", {})
        rows = rows if isinstance(rows, dict) else {}
        for arch, row in rows.items():
            try:
                table[arch] = (str(row["config_digest"]), ModelSize.from_json(row))
            except (KeyError, TypeError, ValueError, IndexError):
                continue
        _TABLE = table
    return _TABLE


def _cache_path(cache_dir: str | Path | None) -> Path:
    from rmeval.cache import default_cache_dir

    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return root / f"sizes-v{SIZES_VERSION}.json"


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(path: Path, data: dict[str, Any]) -> None:
    """Atomic write (temp file, fsync, rename); a cache that cannot be written is skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        pass


def _config_dirs() -> list[Path]:
    """open_clip's and rmeval's model_configs folders, found without importing open_clip
    (importing it pulls in torch, seconds)."""
    import importlib.util

    dirs = [Path(str(resources.files("rmeval").joinpath("model_configs")))]
    spec = importlib.util.find_spec("open_clip")
    if spec is not None and spec.submodule_search_locations:
        dirs.insert(0, Path(next(iter(spec.submodule_search_locations))) / "model_configs")
    return dirs


def installed_open_clip_version() -> str:
    """The installed open_clip's version, without importing it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("open_clip_torch")
    except PackageNotFoundError:
        return ""


def model_config(model_name: str) -> dict[str, Any] | None:
    """open_clip's configuration of ``model_name`` (an architecture or ``local-dir:``), or None.
    Architecture configurations are read from the JSON files open_clip reads, without
    importing open_clip."""
    if ":" not in model_name:
        for folder in _config_dirs():
            path = folder / f"{model_name}.json"
            if path.is_file():
                try:
                    cfg = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    return None
                return cfg if isinstance(cfg, dict) and "vision_cfg" in cfg else None
        return None
    import open_clip

    try:
        cfg = open_clip.get_model_config(model_name)
    except (OSError, ValueError):
        return None
    return cfg if isinstance(cfg, dict) else None


def model_size(model_name: str, *, cache_dir: str | Path | None = None, compute: bool = True) -> ModelSize | None:
    """The size of ``model_name`` (an open_clip architecture or ``local-dir:/dir``): from the
    shipped table, the per-user cache, or counted (when ``compute``) and cached. None when
    the configuration is unknown or the model cannot be built here (e.g. a Hugging Face
    text tower whose configuration is not cached)."""
    cfg = model_config(model_name)
    if cfg is None:
        return None
    digest = config_digest(cfg)
    shipped = shipped_table().get(model_name)
    if shipped is not None and shipped[0] == digest:
        return shipped[1]
    path = _cache_path(cache_dir)
    cached = _read_cache(path)
    row = cached.get(digest)
    if isinstance(row, dict):
        try:
            return ModelSize.from_json(row)
        except (KeyError, TypeError, ValueError, IndexError):
            pass
    if not compute:
        return None
    try:
        size = count_size(model_name)
    except Exception:  # noqa: BLE001 - a model open_clip cannot build here has no size
        return None
    cached = _read_cache(path)
    cached[digest] = {**asdict(size), "model": model_name}
    _write_cache(path, cached)
    return size


def ref_size(ref: Any, *, cache_dir: str | Path | None = None) -> ModelSize | None:
    """The size of a parsed model (:class:`rmeval.registry.ModelRef`): its architecture, a
    ``local-dir:`` configuration, or a hub repository of open_clip's own models. None for
    plug-ins, judges and configurations not here."""
    if not ref.is_open_clip:
        return None
    if ref.source == "local-dir":
        return model_size(ref.arch, cache_dir=cache_dir)
    if ref.source == "hf-hub":
        from rmeval.models import _hub_builtin_tag

        builtin = _hub_builtin_tag(ref.arch.split(":", 1)[1])
        return model_size(builtin[0], cache_dir=cache_dir) if builtin else None
    return model_size(ref.arch, cache_dir=cache_dir)


def build_table(names: list[str] | None = None) -> dict[str, Any]:
    """The shipped table's content for ``names`` (default: every open_clip and rmeval
    architecture): what ``scripts/model_sizes.py`` writes."""
    import open_clip
    import torch

    from rmeval.models import register_rmeval_architectures

    register_rmeval_architectures()
    names = names if names is not None else open_clip.list_models()
    models: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name in names:
        cfg = model_config(name)
        if cfg is None:
            continue
        try:
            size = count_size(name)
        except Exception as exc:  # noqa: BLE001 - recorded, counted on demand where possible
            skipped[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
            continue
        models[name] = {**asdict(size), "config_digest": config_digest(cfg)}
    return {
        "about": "Sizes of open_clip architectures, counted on the meta device by scripts/model_sizes.py "
                 "(rmeval.sizes). GFLOPs: image tower, one forward pass, 2 x multiply-accumulates.",
        "open_clip": installed_open_clip_version() or open_clip.__version__,
        "torch": torch.__version__.split("+")[0],
        "sizes_version": SIZES_VERSION,
        "models": models,
        "not_counted": skipped,
        "tags": {name: list(open_clip.list_pretrained_tags_by_model(name)) for name in names},
    }


def _architectures_and_tags() -> dict[str, list[str]]:
    """Architecture -> pretrained tags: from the shipped table when it was made with the
    installed open_clip (no import), else from open_clip itself."""
    raw = _table_raw()
    if raw.get("open_clip") == installed_open_clip_version() and isinstance(raw.get("tags"), dict):
        tags = {str(k): [str(t) for t in v] for k, v in raw["tags"].items()}
        for name in rmeval_configs():
            tags.setdefault(name, [])
        return tags
    import open_clip

    from rmeval.models import register_rmeval_architectures

    register_rmeval_architectures()
    return {arch: list(open_clip.list_pretrained_tags_by_model(arch)) for arch in open_clip.list_models()}


def rmeval_configs() -> list[str]:
    from rmeval.registry import rmeval_architectures

    return rmeval_architectures()


def catalogue(*, cache_dir: str | Path | None = None, compute: bool = False) -> list[dict[str, Any]]:
    """Every architecture and pretrained tag open_clip (and rmeval) knows, with family, image
    size, embedding width, parameters and image GFLOPs: one row per (architecture, tag), and
    one row with tag ``random`` for an architecture without tags. Sizes come from the shipped
    table or the cache (counted only when ``compute``); NaN when unknown."""
    from rmeval.registry import get_spec, model_family

    rows: list[dict[str, Any]] = []
    nan = float("nan")
    for arch, tags in sorted(_architectures_and_tags().items(), key=lambda kv: kv[0].lower()):
        size = model_size(arch, cache_dir=cache_dir, compute=compute)
        spec = get_spec(arch)
        for tag in tags or ["random"]:
            rows.append({
                "model": arch,
                "tag": tag,
                "family": model_family(arch, None if tag == "random" else tag),
                "image_size": f"{size.image_size[0]}x{size.image_size[1]}" if size else "",
                "embed_dim": size.embed_dim if size else None,
                "params_m": size.params_m if size else nan,
                "image_gflops": size.image_gflops if size else nan,
                "registry": bool(spec is not None and (spec.pretrained or "random") == tag),
            })
    return rows
