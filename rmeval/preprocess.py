"""Image preprocessing as tensor operations, matching open_clip's PIL pipeline.

open_clip's inference transform for a model is: resize (shortest side to ``size``, bicubic),
centre crop to ``size`` x ``size``, scale to [0, 1], normalise with the model's mean and
std. :func:`preprocess_frames` does the same on a batch of uint8 frames already on the
model's device, so a GPU never waits for per-image PIL work.

On a CPU the resize runs on uint8 with torchvision's kernel, which mirrors PIL's resampling
to within one 8-bit level. On a GPU it runs in float32 with antialiasing, rounded to the
8-bit grid; bicubic overshoot at hard edges can then differ from PIL by a few levels at a
few pixels. ``tests/test_preprocess.py`` states and checks both tolerances.

How a frame's geometry reaches the model (the *fit*, ``--fit``; see :data:`FITS`):
``crop`` is open_clip's (shortest side to the input size, centre crop: the sides of a wide
frame are cut off, and with them a CartPole cart far from the centre); ``squash`` resizes
the whole frame to the square input (the authors' pipeline, with OpenAI's mean and std,
which every open_clip CLIP model of the paper uses); ``pad`` resizes the longest side to
the input size keeping the aspect ratio and pads the rest with the mean colour (zeros
after normalisation).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from rmeval.errors import InvalidInputError

#: Bumped whenever preprocessing output changes, so cached embeddings are not reused.
PREPROCESS_VERSION = 1

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

# ----------------------------------------------------------------------------- fit geometry
#: ``--fit`` values, and the ``resize_mode`` each one sets.
FITS: dict[str, str] = {"crop": "shortest", "squash": "squash", "pad": "pad"}


#: The fit of frames rendered by rmeval from its environments when ``--fit`` is not given:
#: the whole frame, as the authors' pipeline (a CartPole cart near the end of the track is
#: outside open_clip's centre crop of a 600x400 frame).
RENDERED_FIT = "squash"
#: The fit of other images when ``--fit`` is not given: open_clip's own.
DEFAULT_FIT = "crop"


def resolve_fit(fit: str | None, rendered: bool) -> str:
    """``fit`` checked, or the default: :data:`RENDERED_FIT` for frames rmeval rendered from
    one of its environments (``rendered``), else :data:`DEFAULT_FIT`."""
    if fit is None or str(fit).strip().lower() == "auto":
        return RENDERED_FIT if rendered else DEFAULT_FIT
    return check_fit(fit)


def check_fit(fit: str) -> str:
    """``fit`` lower-cased when it is one of :data:`FITS`; else a one-line error."""
    key = str(fit).strip().lower()
    if key not in FITS:
        raise InvalidInputError(f"--fit must be one of {', '.join(FITS)}, got {fit!r}")
    return key


@dataclass(frozen=True)
class PreprocessConfig:
    """What open_clip's eval transform does for one model.

    Attributes:
        size: Output side length (square) or (height, width).
        mean, std: Per-channel normalisation.
        interpolation: ``"bicubic"`` or ``"bilinear"``.
        resize_mode: ``"shortest"`` (resize shortest side then centre crop), ``"squash"``
            (the whole frame resized to ``size``) or ``"pad"`` (longest side to ``size``,
            padded with the mean colour).
    """

    size: tuple[int, int]
    mean: tuple[float, float, float] = OPENAI_MEAN
    std: tuple[float, float, float] = OPENAI_STD
    interpolation: str = "bicubic"
    resize_mode: str = "shortest"

    @classmethod
    def from_open_clip(cls, cfg: Mapping[str, Any]) -> PreprocessConfig:
        """From ``open_clip.get_model_preprocess_cfg(model)``."""
        size = cfg.get("size", 224)
        size_hw = (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
        mean = tuple(float(m) for m in cfg.get("mean", OPENAI_MEAN))
        std = tuple(float(s) for s in cfg.get("std", OPENAI_STD))
        if len(mean) == 1:
            mean = mean * 3
        if len(std) == 1:
            std = std * 3
        interpolation = cfg.get("interpolation", "bicubic") or "bicubic"
        if interpolation == "random":  # open_clip uses bicubic at inference
            interpolation = "bicubic"
        resize_mode = cfg.get("resize_mode", "shortest") or "shortest"
        if resize_mode not in ("shortest", "squash"):
            raise InvalidInputError(
                f"preprocessing resize_mode {resize_mode!r} is not supported by rmeval's tensor "
                "preprocessing (supported: shortest, squash)."
            )
        return cls(size_hw, mean, std, interpolation, resize_mode)  # type: ignore[arg-type]

    def with_fit(self, fit: str | None) -> PreprocessConfig:
        """This preprocessing with the geometry ``fit`` (:data:`FITS`; None: unchanged)."""
        if fit is None:
            return self
        return dataclasses.replace(self, resize_mode=FITS[check_fit(fit)])

    @property
    def fit(self) -> str:
        """The ``--fit`` name of this preprocessing's geometry."""
        return {mode: name for name, mode in FITS.items()}[self.resize_mode]

    def key(self) -> str:
        """A stable string identifying the preprocessing (part of the embedding cache key)."""
        mean = ",".join(f"{m:.8f}" for m in self.mean)
        std = ",".join(f"{s:.8f}" for s in self.std)
        return (
            f"v{PREPROCESS_VERSION}|{self.size[0]}x{self.size[1]}|{self.resize_mode}|"
            f"{self.interpolation}|mean={mean}|std={std}"
        )


def _shortest_side_size(h: int, w: int, target: int) -> tuple[int, int]:
    """torchvision's Resize(int) output size: shortest side to target, the other truncated."""
    if h <= w:
        return target, int(target * w / h)
    return int(target * h / w), target


def _resize(x: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """Resize (B, 3, H, W) frames; uint8 stays uint8 (CPU), float is rounded to the 8-bit grid."""
    if tuple(x.shape[-2:]) == size:
        return x
    if x.dtype == torch.uint8:
        # torchvision's uint8 kernel mirrors PIL's resampling (within 1 level) and is
        # several times faster than the float path on a CPU.
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms.v2.functional import resize

        interp = InterpolationMode.BILINEAR if mode == "bilinear" else InterpolationMode.BICUBIC
        return resize(x, list(size), interpolation=interp, antialias=True)
    x = F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=True)
    # PIL resizes 8-bit images and rounds to 8 bits: do the same.
    return x.clamp_(0.0, 255.0).round_()


def _center_crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    h, w = x.shape[-2:]
    th, tw = size
    if h < th or w < tw:  # torchvision pads with zeros; only reachable for tiny frames
        pad_h, pad_w = max(th - h, 0), max(tw - w, 0)
        x = F.pad(x, (pad_w // 2, (pad_w + 1) // 2, pad_h // 2, (pad_h + 1) // 2))
        h, w = x.shape[-2:]
    top = round((h - th) / 2.0)
    left = round((w - tw) / 2.0)
    return x[..., top : top + th, left : left + tw]


def preprocess_frames(frames: torch.Tensor, cfg: PreprocessConfig) -> torch.Tensor:
    """Turn uint8 RGB frames into the model's input.

    Args:
        frames: (B, H, W, 3) uint8 tensor, on the device where preprocessing should run.
        cfg: The model's preprocessing.

    Returns:
        (B, 3, size_h, size_w) float32 tensor, normalised.
    """
    if frames.dtype != torch.uint8:
        raise InvalidInputError(f"frames must be uint8 RGB, got dtype {frames.dtype}")
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise InvalidInputError(f"frames must have shape (N, H, W, 3), got {tuple(frames.shape)}")
    # (B, H, W, 3) -> (B, 3, H, W): a channels-last view, which the uint8 resize kernel wants.
    x = frames.permute(0, 3, 1, 2)
    if x.device.type != "cpu":
        x = x.float()  # GPUs resize in float32 (no uint8 antialias kernel there)
    mode = "bilinear" if cfg.interpolation == "bilinear" else "bicubic"
    h, w = x.shape[-2:]
    mean, std = _normalisation(cfg.mean, cfg.std, x.device)
    if cfg.resize_mode == "squash":
        x = _resize(x, cfg.size, mode)
    elif cfg.resize_mode == "pad":
        return _pad(x, cfg.size, mode, mean, std)
    else:
        if cfg.size[0] == cfg.size[1]:
            x = _resize(x, _shortest_side_size(h, w, cfg.size[0]), mode)
        else:  # open_clip's ResizeKeepRatio for non-square targets
            scale = max(cfg.size[0] / h, cfg.size[1] / w)
            x = _resize(x, (round(h * scale), round(w * scale)), mode)
        x = _center_crop(x, cfg.size)
    return (x.float() / 255.0 - mean) / std


def _pad(x: torch.Tensor, size: tuple[int, int], mode: str, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Fit (B, 3, H, W) frames inside ``size`` keeping their aspect ratio; pad with the mean colour."""
    h, w = x.shape[-2:]
    scale = min(size[0] / h, size[1] / w)
    rh, rw = max(1, min(size[0], round(h * scale))), max(1, min(size[1], round(w * scale)))
    x = (_resize(x, (rh, rw), mode).float() / 255.0 - mean) / std
    top, left = (size[0] - rh) // 2, (size[1] - rw) // 2
    # zeros after normalisation: the mean colour
    return F.pad(x, (left, size[1] - rw - left, top, size[0] - rh - top))


@functools.lru_cache(maxsize=32)
def _normalisation(
    mean: tuple[float, ...], std: tuple[float, ...], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, 3, 1, 1) mean and std tensors on ``device``, made once.

    Making them per batch would copy from the host each time, and a blocking host-to-GPU
    copy waits for every queued kernel: the GPU would drain between batches.
    """
    def make(values: tuple[float, ...]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.float32).view(1, 3, 1, 1).to(device)

    return make(mean), make(std)
