"""Load open_clip models named by :mod:`rmeval.registry`, with clear errors when weights are missing."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch

from rmeval.errors import InvalidInputError, ModelNotFoundError, WeightsUnavailableError
from rmeval.preprocess import PreprocessConfig
from rmeval.registry import ModelRef, get_spec, parse_model, unknown_model_message

_TINY_REGISTERED = False


def register_rmeval_architectures() -> None:
    """Add rmeval's own architectures (``rmeval-tiny``) to open_clip's config registry."""
    global _TINY_REGISTERED
    if _TINY_REGISTERED:
        return
    import open_clip

    config_dir = resources.files("rmeval") / "model_configs"
    with resources.as_file(config_dir) as path:
        open_clip.add_model_config(str(path))
    _TINY_REGISTERED = True


def default_device() -> torch.device:
    """cuda when available, else cpu."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Parse ``--device`` (None/"auto" = cuda when available), with a clear error for a missing GPU."""
    if device is None or device == "auto":
        return default_device()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidInputError(f"--device {device!r} is not a device; use cpu, cuda or cuda:N.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError(f"--device {device}: no CUDA GPU is visible here; use --device cpu.")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise InvalidInputError(
            f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) are visible."
        )
    return dev


@dataclass
class LoadedModel:
    """An open_clip model ready for inference.

    Attributes:
        ref: What was asked for.
        model: The open_clip CLIP module, in eval mode, on ``device``.
        tokenizer: open_clip tokenizer: list of str -> (P, context_length) int tensor.
        preprocess: The model's eval preprocessing.
        device: Where the model lives.
        fingerprint: Identity of the weights (architecture, tag or checkpoint file, seed,
            library versions for random weights); part of the embedding cache key.
        embed_dim: Embedding dimension D.
        n_params: Total parameters.
    """

    ref: ModelRef
    model: torch.nn.Module
    tokenizer: Callable[[list[str]], torch.Tensor]
    preprocess: PreprocessConfig
    device: torch.device
    fingerprint: str
    embed_dim: int
    n_params: int

    @property
    def is_random(self) -> bool:
        return self.ref.is_random


def _weights_help(ref: ModelRef) -> str:
    if ref.source in ("hf-hub", "local-dir"):
        base = ref.arch
        return (
            "The folder needs open_clip_config.json, the weights (open_clip_model.safetensors or "
            "open_clip_pytorch_model.bin) and, for Hugging Face tokenizers, the tokenizer files; "
            f"for an offline smoke run, random weights: --models {base}:random"
        )
    tag = ref.tag or (ref.spec.pretrained if ref.spec else None) or "TAG"
    return (
        "To provide weights:\n"
        f"  - a local checkpoint file: --models {ref.arch}:/path/to/open_clip_pytorch_model.bin\n"
        f"  - or a weights cache filled on a machine with network (python -c \"import open_clip; "
        f"open_clip.create_model('{ref.arch}', pretrained='{tag}')\"), copied here, pointed to with "
        "--weights-dir DIR (or HF_HOME), and HF_HUB_OFFLINE=1 to use it without network\n"
        f"  - or, for an offline smoke run, random weights: --models {ref.arch}:random "
        "(its numbers say nothing about the pretrained model)"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    msg = text[0] if text else type(exc).__name__
    return msg[:300]


def _file_fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{path}|{stat.st_size}|{stat.st_mtime_ns}"


def load_model(
    model: str | ModelRef,
    *,
    device: str | torch.device | None = None,
    weights_dir: str | Path | None = None,
) -> LoadedModel:
    """Load an open_clip model by name (see :mod:`rmeval.registry` for the syntax).

    Args:
        model: ``NAME``, ``NAME:TAG``, ``NAME:random[N]``, ``NAME:/path``, ``hf-hub:ORG/REPO``,
            ``local-dir:/dir`` (either with ``:random[N]``) or a parsed ModelRef. Plug-ins and
            judges load with :func:`rmeval.plugins.load_reward_model`.
        device: ``cpu``, ``cuda``, ``cuda:N`` or None for cuda when available.
        weights_dir: The Hugging Face cache where open_clip keeps downloaded weights and
            where Hugging Face tokenizers are looked up (default: the Hugging Face cache).

    Raises:
        ModelNotFoundError: unknown architecture (the message lists the known ones).
        WeightsUnavailableError: the tag is unknown, the checkpoint is missing or unreadable,
            the weights, configuration or tokenizer files are not here and cannot be
            downloaded; the message says how to provide them.
    """
    ref = parse_model(model) if isinstance(model, str) else model
    if not isinstance(ref, ModelRef) or not ref.is_open_clip:
        kind = "judge" if not isinstance(ref, ModelRef) else ref.source
        raise InvalidInputError(
            f"{ref.id} is a {kind}, not an open_clip model, so it has no open_clip embeddings here; "
            "epic, landscape, scaling and train run it (and cache its outputs) directly "
            "(in Python: rmeval.plugins.load_reward_model)."
        )
    dev = resolve_device(device)
    register_rmeval_architectures()
    import open_clip

    # The tokenizer loads first: a missing Hugging Face tokenizer fails before a big model is built.
    if ref.source != "open_clip":
        clip, fingerprint, tokenizer = _load_from_directory(ref, dev, weights_dir)
    else:
        if open_clip.get_model_config(ref.arch) is None:
            raise ModelNotFoundError(unknown_model_message(ref.arch))
        tokenizer = load_tokenizer(ref, open_clip.get_model_config(ref.arch) or {}, weights_dir=weights_dir,
                                   local_dirs=[ref.path.parent] if ref.path is not None else [])
        clip, fingerprint = _load_builtin(ref, dev, weights_dir)

    clip.eval()
    preprocess = PreprocessConfig.from_open_clip(open_clip.get_model_preprocess_cfg(clip))
    projection = getattr(clip, "text_projection", None)
    if isinstance(projection, torch.Tensor) and projection.ndim == 2:
        embed_dim = int(projection.shape[1])
    else:  # no projection matrix (SigLIP-style towers, HF text towers): run one frame through
        embed_dim = _probe_dim(clip, preprocess, dev)
    n_params = sum(p.numel() for p in clip.parameters())
    return LoadedModel(ref, clip, tokenizer, preprocess, dev, fingerprint, embed_dim, n_params)


#: rmeval's own architectures preprocess like these (architecture, tag) of open_clip.
_RMEVAL_PREPROCESS_LIKE = {
    "rmeval-tiny-siglip": ("ViT-B-16-SigLIP", "webli"),
    "rmeval-tiny-siglip2": ("ViT-B-16-SigLIP2", "webli"),
}


def reference_preprocess_cfg(arch: str) -> dict[str, Any]:
    """open_clip's preprocessing for random weights of ``arch``: that of the registry's
    default tag, else the architecture's first pretrained tag (a random SigLIP resizes like
    SigLIP), else open_clip's defaults (empty)."""
    import open_clip

    if arch in _RMEVAL_PREPROCESS_LIKE:
        like, tag = _RMEVAL_PREPROCESS_LIKE[arch]
        return {k: v for k, v in open_clip.get_pretrained_cfg(like, tag).items() if k in _PREPROCESS_KEYS}
    spec = get_spec(arch)
    tags = [spec.pretrained] if spec is not None and spec.pretrained else open_clip.list_pretrained_tags_by_model(arch)
    for tag in tags:
        cfg = open_clip.get_pretrained_cfg(arch, tag)
        if cfg:
            return {k: v for k, v in cfg.items() if k in _PREPROCESS_KEYS}
    return {}


def _create(ref: ModelRef, what: str, name: str, **kwargs: Any) -> torch.nn.Module:
    """open_clip.create_model with library errors turned into a short WeightsUnavailableError."""
    import open_clip

    try:
        with _quiet_libraries():
            return open_clip.create_model(name, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any loading error becomes a clear weights error
        raise WeightsUnavailableError(f"cannot build {ref.id} from {what}: {_first_line(exc)}\n{_weights_help(ref)}") from None


def _load_builtin(ref: ModelRef, dev: torch.device, weights_dir: str | Path | None) -> tuple[torch.nn.Module, str]:
    """An open_clip architecture by name, with a tag's weights, a checkpoint file or random weights."""
    import open_clip

    kwargs: dict[str, Any] = {"device": dev}
    if weights_dir is not None:
        kwargs["cache_dir"] = str(weights_dir)
    if ref.weights == "pretrained":
        assert ref.tag is not None
        tag_cfg = open_clip.get_pretrained_cfg(ref.arch, ref.tag)
        if not tag_cfg:
            tags = open_clip.list_pretrained_tags_by_model(ref.arch)
            raise WeightsUnavailableError(
                f"{ref.arch} has no pretrained tag {ref.tag!r}; known tags: "
                f"{', '.join(tags) if tags else '(none: use a checkpoint file or :random)'}."
            )
        fingerprint = f"{ref.arch}|tag={ref.tag}"
        checkpoint = _locate_pretrained(ref, tag_cfg, weights_dir)
        kwargs["force_quick_gelu"] = bool(tag_cfg.get("quick_gelu", False))
        kwargs["force_preprocess_cfg"] = {k: v for k, v in tag_cfg.items() if k in _PREPROCESS_KEYS}
        try:
            with _quiet_libraries():
                clip = open_clip.create_model(ref.arch, pretrained=checkpoint, pretrained_text=False, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any loading error becomes a clear weights error
            raise WeightsUnavailableError(
                f"cannot load weights for {ref.id} from {checkpoint}: {_first_line(exc)}\n{_weights_help(ref)}"
            ) from None
        return clip, fingerprint
    if ref.weights == "checkpoint":
        assert ref.path is not None
        if not ref.path.is_file():
            raise WeightsUnavailableError(
                f"checkpoint for {ref.arch} not found: {ref.path} is not a file.\n{_weights_help(ref)}"
            )
        fingerprint = f"{ref.arch}|file={_file_fingerprint(ref.path)}"
        try:
            with _quiet_libraries():
                clip = open_clip.create_model(ref.arch, pretrained=str(ref.path), pretrained_text=False, **kwargs)
        except Exception as exc:  # noqa: BLE001 - torch.load / safetensors / state-dict mismatch
            raise WeightsUnavailableError(
                f"cannot load checkpoint {ref.path} into {ref.arch}: {_first_line(exc)}. "
                f"Is it an open_clip checkpoint of {ref.arch}?"
            ) from None
        return clip, fingerprint
    fingerprint = (
        f"{ref.arch}|random|seed={ref.seed}|torch={torch.__version__.split('+')[0]}|"
        f"open_clip={open_clip.__version__}"
    )
    kwargs["force_preprocess_cfg"] = reference_preprocess_cfg(ref.arch)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ref.seed)
        clip = _create(ref, "its configuration", ref.arch, pretrained=None, pretrained_text=False, **kwargs)
    return clip, fingerprint


_CHECKPOINT_SUFFIXES = (".safetensors", ".bin", ".pth")
_HUB_WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


def _hub_builtin_tag(repo: str) -> tuple[str, str] | None:
    """(architecture, tag) of open_clip's registry whose weights live in hub repository ``repo``."""
    import open_clip

    for arch, tag in open_clip.list_pretrained():
        hub = str(open_clip.get_pretrained_cfg(arch, tag).get("hf_hub", "")).rstrip("/")
        if hub == repo:
            return arch, tag
    return None


def _hub_snapshot(ref: ModelRef, repo: str, weights_dir: str | Path | None, *, need_weights: bool) -> Path | None:
    """The local snapshot directory of hub repository ``repo`` holding its open_clip config
    (and weights when ``need_weights``); downloaded when the hub can be reached; None when
    it is not here and cannot be had."""
    from huggingface_hub import hf_hub_download

    cache_dir = str(weights_dir) if weights_dir is not None else None
    files = ["open_clip_config.json"]
    online = not hub_offline() and _hub_reachable()
    snapshot: Path | None = None
    for local in (True, False) if online else (True,):
        try:
            with _quiet_libraries():
                snapshot = Path(hf_hub_download(repo, files[0], cache_dir=cache_dir, local_files_only=local)).parent
        except Exception:  # noqa: BLE001 - not cached / not downloadable: try the next way
            continue
        if not need_weights or _checkpoint_in(snapshot):
            return snapshot
        for name in _HUB_WEIGHT_FILES:
            try:
                with _quiet_libraries():
                    return Path(hf_hub_download(repo, name, cache_dir=cache_dir, local_files_only=local)).parent
            except Exception:  # noqa: BLE001 - try the next file name
                continue
    return None if snapshot is None or need_weights else snapshot


def _checkpoint_in(directory: Path) -> Path | None:
    """The weights file open_clip would load from ``directory`` (None when there is none)."""
    from open_clip.factory import _find_checkpoint_in_dir

    found = _find_checkpoint_in_dir(directory)
    return Path(found) if found else None


def _load_from_directory(
    ref: ModelRef, dev: torch.device, weights_dir: str | Path | None
) -> tuple[torch.nn.Module, str, Callable[[list[str]], torch.Tensor]]:
    """``hf-hub:ORG/REPO`` or ``local-dir:/dir``: open_clip_config.json and weights from a
    directory (the repository's snapshot in the Hugging Face cache, or the directory)."""
    import json

    import open_clip

    random = ref.weights == "random"
    body = ref.arch.split(":", 1)[1]
    if ref.source == "local-dir":
        directory = Path(body)
        if not directory.is_dir():
            raise WeightsUnavailableError(f"{ref.id}: {directory} is not a directory. Give the folder holding "
                                          "open_clip_config.json and the weights (local-dir:/path/to/dir).")
        if not (directory / "open_clip_config.json").is_file():
            raise WeightsUnavailableError(f"{ref.id}: {directory} has no open_clip_config.json; an open_clip "
                                          "model directory holds open_clip_config.json and the weights.")
    else:
        snapshot = _hub_snapshot(ref, body, weights_dir, need_weights=not random)
        if snapshot is None:
            builtin = _hub_builtin_tag(body) if random else None
            if builtin is not None:  # random weights of a configuration open_clip knows
                arch = builtin[0]
                tokenizer = load_tokenizer(ref, open_clip.get_model_config(arch) or {}, weights_dir=weights_dir)
                kwargs: dict[str, Any] = {"device": dev, "pretrained": None, "pretrained_text": False,
                                          "force_preprocess_cfg": {k: v for k, v in open_clip.get_pretrained_cfg(*builtin).items() if k in _PREPROCESS_KEYS}}
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(ref.seed)
                    clip = _create(ref, f"the configuration of {arch}", arch, **kwargs)
                fingerprint = (f"{ref.arch}|as={arch}|random|seed={ref.seed}|torch={torch.__version__.split('+')[0]}|"
                               f"open_clip={open_clip.__version__}")
                return clip, fingerprint, tokenizer
            where = f"the Hugging Face cache ({weights_dir or os.environ.get('HF_HOME', '~/.cache/huggingface')})"
            why = "HF_HUB_OFFLINE=1 forbids downloading" if hub_offline() else "the hub cannot be reached (no network?)"
            raise WeightsUnavailableError(
                f"{'the configuration' if random else 'the configuration and weights'} of {ref.id}: not in {where}, and {why}.\n"
                "To provide them:\n"
                f"  - download the repository on a machine with network (huggingface-cli download {body}), copy the "
                "cache here and point to it with --weights-dir DIR (or HF_HOME)\n"
                f"  - or copy the repository's files into a folder and name it local-dir:/path/to/folder"
                + ("" if random else f"\n  - or, for an offline smoke run, random weights: --models {ref.id}:random "
                   "(only for repositories of open_clip's own models, or with open_clip_config.json cached)")
            )
        directory = snapshot
    config_path = directory / "open_clip_config.json"
    try:
        model_cfg = json.loads(config_path.read_text(encoding="utf-8")).get("model_cfg")
    except (OSError, ValueError) as exc:
        raise WeightsUnavailableError(f"{ref.id}: cannot read {config_path}: {exc}") from None
    if not isinstance(model_cfg, dict):
        raise WeightsUnavailableError(f"{ref.id}: {config_path} has no model_cfg; is it an open_clip model directory?")
    checkpoint = None if random else _checkpoint_in(directory)
    if not random and checkpoint is None:
        raise WeightsUnavailableError(
            f"{ref.id}: no weights in {directory} (open_clip_model.safetensors, open_clip_pytorch_model.bin, ...). "
            f"Put the weights there, or use {ref.id}:random for random weights of this configuration."
        )
    tokenizer = load_tokenizer(ref, model_cfg, weights_dir=weights_dir, local_dirs=[directory])
    name = f"local-dir:{directory}"
    if random:
        fingerprint = (f"{ref.arch}|random|seed={ref.seed}|config={_file_fingerprint(config_path)}|"
                       f"torch={torch.__version__.split('+')[0]}|open_clip={open_clip.__version__}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ref.seed)
            clip = _create(ref, str(config_path), name, load_weights=False, pretrained_text=False, device=dev)
    else:
        assert checkpoint is not None
        fingerprint = f"{ref.arch}|config={_file_fingerprint(config_path)}|file={_file_fingerprint(checkpoint)}"
        clip = _create(ref, str(checkpoint), name, pretrained_text=False, device=dev)
    return clip, fingerprint, tokenizer


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "spiece.model", "sentencepiece.bpe.model", "vocab.txt")


def _has_tokenizer_files(directory: Path) -> bool:
    return any((directory / name).is_file() for name in _TOKENIZER_FILES)


def load_tokenizer(
    ref: ModelRef, model_cfg: dict[str, Any], *, weights_dir: str | Path | None = None, local_dirs: list[Path] = []  # noqa: B006 - read only
) -> Callable[[list[str]], torch.Tensor]:
    """The model's tokenizer: open_clip's own BPE tokenizer, or (SigLIP, SigLIP 2, multilingual
    models, ...) a Hugging Face tokenizer read from the model's directory (``local_dirs``:
    a ``local-dir:``, the hub snapshot, or the checkpoint file's folder) or from the Hugging
    Face cache (``weights_dir``); downloaded only when the hub is allowed and reachable.

    Raises:
        WeightsUnavailableError: a Hugging Face tokenizer whose files are nowhere here.
    """
    import open_clip
    from open_clip.tokenizer import DEFAULT_CONTEXT_LENGTH, HFTokenizer

    text_cfg = model_cfg.get("text_cfg", {}) if isinstance(model_cfg, dict) else {}
    hf_name = str(text_cfg.get("hf_tokenizer_name", "") or "")
    context_length = int(text_cfg.get("context_length", DEFAULT_CONTEXT_LENGTH))
    if not hf_name:
        return open_clip.tokenizer.SimpleTokenizer(context_length=context_length, **text_cfg.get("tokenizer_kwargs", {}))
    kwargs = dict(text_cfg.get("tokenizer_kwargs", {}))
    if text_cfg.get("tokenizer_mode"):
        kwargs["tokenizer_mode"] = text_cfg["tokenizer_mode"]
    sources = [d for d in local_dirs if _has_tokenizer_files(d)]
    from huggingface_hub import snapshot_download

    cache_dir = str(weights_dir) if weights_dir is not None else None
    try:
        with _quiet_libraries():
            sources.append(Path(snapshot_download(hf_name, cache_dir=cache_dir, local_files_only=True)))
    except Exception:  # noqa: BLE001 - not in the cache
        pass
    problems: list[str] = []
    for source in sources:
        if not _has_tokenizer_files(source):
            continue
        try:
            with _quiet_libraries():
                return HFTokenizer(str(source), context_length=context_length, **kwargs)
        except Exception as exc:  # noqa: BLE001 - unreadable files: say which
            problems.append(f"{source}: {_first_line(exc)}")
    if not hub_offline() and _hub_reachable():
        try:
            with _quiet_libraries():
                return HFTokenizer(hf_name, context_length=context_length, cache_dir=cache_dir, **kwargs)
        except Exception as exc:  # noqa: BLE001 - becomes the message below
            problems.append(f"download of {hf_name}: {_first_line(exc)}")
    where = f"the Hugging Face cache ({cache_dir or os.environ.get('HF_HOME', '~/.cache/huggingface')})"
    beside = f" nor in {', '.join(str(d) for d in local_dirs)}" if local_dirs else ""
    why = "; ".join(problems) if problems else (
        "HF_HUB_OFFLINE=1 forbids downloading" if hub_offline() else "the hub cannot be reached (no network?)")
    raise WeightsUnavailableError(
        f"{ref.id} needs the Hugging Face tokenizer {hf_name!r}, whose files (tokenizer.json, "
        f"tokenizer_config.json, ...) are not in {where}{beside}; {why}.\n"
        "To provide them:\n"
        f"  - on a machine with network: huggingface-cli download {hf_name} --include 'tokenizer*' 'special_tokens_map.json' "
        "'spiece.model', copy the cache here and point to it with --weights-dir DIR (or HF_HOME)\n"
        "  - or put the tokenizer files beside the checkpoint, or in the local-dir: folder"
    )


_PREPROCESS_KEYS = ("size", "mean", "std", "interpolation", "resize_mode", "fill_color")
_HF_WEIGHTS_NAME = "open_clip_pytorch_model.bin"


@contextlib.contextmanager
def _quiet_libraries() -> Iterator[None]:
    """Silence open_clip's and huggingface_hub's log chatter (rmeval reports what matters)."""
    loggers = [logging.getLogger(), logging.getLogger("huggingface_hub")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR + 10)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _hub_reachable(timeout: float = 3.0) -> bool:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    host = urlparse(endpoint).hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _locate_pretrained(ref: ModelRef, tag_cfg: dict[str, Any], weights_dir: str | Path | None) -> str:
    """Path of the tag's checkpoint: from the local cache, else downloaded; fails fast offline."""
    import open_clip

    if tag_cfg.get("file"):
        return str(tag_cfg["file"])
    cache_dir = str(weights_dir) if weights_dir is not None else None
    hf_hub = tag_cfg.get("hf_hub", "")
    if hf_hub:
        from huggingface_hub import hf_hub_download

        repo_id, filename = os.path.split(hf_hub)
        filename = filename or _HF_WEIGHTS_NAME
        candidates = [filename]
        if filename.endswith((".bin", ".pth")):
            candidates.insert(0, filename[:-4] + ".safetensors")
        for name in candidates:
            try:
                with _quiet_libraries():
                    return hf_hub_download(repo_id, name, cache_dir=cache_dir, local_files_only=True)
            except Exception:  # noqa: BLE001 - not in the cache (or unreadable): try the next name
                continue
    where = f"the Hugging Face cache ({cache_dir or os.environ.get('HF_HOME', '~/.cache/huggingface')})"
    if hub_offline():
        raise WeightsUnavailableError(
            f"weights for {ref.id} are not in {where} and HF_HUB_OFFLINE=1 forbids downloading.\n"
            f"{_weights_help(ref)}"
        )
    if not _hub_reachable():
        raise WeightsUnavailableError(
            f"weights for {ref.id} are not in {where} and the hub cannot be reached (no network?).\n"
            f"{_weights_help(ref)}"
        )
    try:
        with _quiet_libraries():
            path = open_clip.download_pretrained(tag_cfg, cache_dir=cache_dir)
    except Exception as exc:  # noqa: BLE001 - any download error becomes a clear weights error
        raise WeightsUnavailableError(
            f"cannot download weights for {ref.id}: {_first_line(exc)}\n{_weights_help(ref)}"
        ) from None
    if not path:
        raise WeightsUnavailableError(f"open_clip knows no download location for {ref.id}.\n{_weights_help(ref)}")
    return str(path)


def _probe_dim(clip: torch.nn.Module, cfg: PreprocessConfig, dev: torch.device) -> int:
    with torch.no_grad():
        x = torch.zeros(1, 3, *cfg.size, device=dev)
        return int(clip.encode_image(x).shape[-1])  # type: ignore[operator]  # (open_clip's CLIP, typed as a Module)


def fingerprint_digest(text: str) -> str:
    """Short hex digest of a fingerprint string."""
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def hub_offline() -> bool:
    """True when the Hugging Face hub is told to stay offline."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
