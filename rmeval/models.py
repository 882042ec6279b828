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
from rmeval.registry import ModelRef, parse_model, unknown_model_message

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
    """Load a model by name (see :mod:`rmeval.registry` for the syntax).

    Args:
        model: ``NAME``, ``NAME:TAG``, ``NAME:random[N]``, ``NAME:/path`` or a parsed ModelRef.
        device: ``cpu``, ``cuda``, ``cuda:N`` or None for cuda when available.
        weights_dir: Where open_clip keeps downloaded weights (default: the Hugging Face cache).

    Raises:
        ModelNotFoundError: unknown architecture (the message lists the known ones).
        WeightsUnavailableError: the tag is unknown, the checkpoint is missing or unreadable,
            or the weights cannot be downloaded; the message says how to provide them.
    """
    ref = parse_model(model) if isinstance(model, str) else model
    dev = resolve_device(device)
    register_rmeval_architectures()
    import open_clip

    if open_clip.get_model_config(ref.arch) is None:
        raise ModelNotFoundError(unknown_model_message(ref.arch))

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
                clip = open_clip.create_model(ref.arch, pretrained=checkpoint, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any loading error becomes a clear weights error
            raise WeightsUnavailableError(
                f"cannot load weights for {ref.id} from {checkpoint}: {_first_line(exc)}\n{_weights_help(ref)}"
            ) from None
    elif ref.weights == "checkpoint":
        assert ref.path is not None
        if not ref.path.is_file():
            raise WeightsUnavailableError(
                f"checkpoint for {ref.arch} not found: {ref.path} is not a file.\n{_weights_help(ref)}"
            )
        fingerprint = f"{ref.arch}|file={_file_fingerprint(ref.path)}"
        try:
            with _quiet_libraries():
                clip = open_clip.create_model(ref.arch, pretrained=str(ref.path), **kwargs)
        except Exception as exc:  # noqa: BLE001 - torch.load / safetensors / state-dict mismatch
            raise WeightsUnavailableError(
                f"cannot load checkpoint {ref.path} into {ref.arch}: {_first_line(exc)}. "
                f"Is it an open_clip checkpoint of {ref.arch}?"
            ) from None
    else:
        fingerprint = (
            f"{ref.arch}|random|seed={ref.seed}|torch={torch.__version__.split('+')[0]}|"
            f"open_clip={open_clip.__version__}"
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ref.seed)
            with _quiet_libraries():
                clip = open_clip.create_model(ref.arch, pretrained=None, **kwargs)

    clip.eval()
    tokenizer = open_clip.get_tokenizer(ref.arch)
    preprocess = PreprocessConfig.from_open_clip(open_clip.get_model_preprocess_cfg(clip))
    embed_dim = int(clip.text_projection.shape[1]) if getattr(clip, "text_projection", None) is not None and clip.text_projection.ndim == 2 else _probe_dim(clip, preprocess, dev)
    n_params = sum(p.numel() for p in clip.parameters())
    return LoadedModel(ref, clip, tokenizer, preprocess, dev, fingerprint, embed_dim, n_params)


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
