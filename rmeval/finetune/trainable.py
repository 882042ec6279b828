"""What trains: every weight, the last k blocks of each tower, or low-rank adapters.

- ``all``: every parameter (the right choice for a small model from random weights).
- ``last-k``: the last ``k`` transformer blocks of the image tower and of the text tower,
  plus what follows them (final layer norms, projections) and the logit scale; the rest
  is frozen. ViT towers only (open_clip's ``VisionTransformer`` / text ``Transformer``).
- ``lora``: low-rank adapters (``W + (alpha / r) * B A``, ``B`` starting at zero, so the
  model starts exactly as the base) on the MLP layers (``mlp.c_fc``, ``mlp.c_proj``) of
  every block of both towers; everything else is frozen. PyTorch's
  ``nn.MultiheadAttention`` reads its projection weights directly, so attention is not
  adapted. The adapters are merged into the weights when saved (:func:`merged_state_dict`):
  the checkpoint is a plain open_clip state dict of the base architecture.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rmeval.errors import InvalidInputError

TRAIN_MODES: tuple[str, ...] = ("all", "last-k", "lora")


class LoRALinear(nn.Module):
    """``base(x) + (alpha / r) * x A^T B^T`` with ``base`` frozen."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float | None = None) -> None:
        super().__init__()
        self.base = base
        self.rank = int(rank)
        self.scale = float(alpha if alpha is not None else rank) / self.rank
        self.lora_a = nn.Parameter(torch.empty(self.rank, base.in_features, device=base.weight.device))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, self.rank, device=base.weight.device))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        for p in base.parameters():
            p.requires_grad_(False)

    @property
    def weight(self) -> torch.Tensor:
        """The frozen base weight (open_clip reads ``c_fc.weight.dtype``)."""
        return self.base.weight

    @property
    def bias(self) -> torch.Tensor | None:
        return self.base.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.lora_a.T @ self.lora_b.T) * self.scale

    def merged_weight(self) -> torch.Tensor:
        return self.base.weight + (self.lora_b @ self.lora_a) * self.scale


def _blocks(tower: nn.Module, what: str) -> nn.ModuleList:
    transformer = getattr(tower, "transformer", None)
    blocks = getattr(transformer, "resblocks", None)
    if not isinstance(blocks, nn.ModuleList):
        raise InvalidInputError(
            f"--train last-k / lora need transformer blocks in the {what} tower; this model has none "
            "(a ResNet?). Use --train all."
        )
    return blocks


def configure_trainable(model: nn.Module, mode: str, *, last_k: int = 1, lora_rank: int = 8) -> dict[str, int]:
    """Set ``requires_grad`` (and insert adapters for ``lora``) on an open_clip CLIP model.

    Returns:
        ``{"trainable": n, "total": n}`` parameter counts after the change.
    """
    if mode not in TRAIN_MODES:
        raise InvalidInputError(f"--train {mode!r}: choose one of {', '.join(TRAIN_MODES)}")
    visual: nn.Module = model.visual  # type: ignore[assignment]  # (CLIP.visual is a Module)
    visual_blocks = _blocks(visual, "image") if mode != "all" else None
    text_blocks = _blocks(model, "text") if mode != "all" else None
    if mode == "all":
        for p in model.parameters():
            p.requires_grad_(True)
    elif mode == "last-k":
        assert visual_blocks is not None and text_blocks is not None
        k = int(last_k)
        if k < 1 or k > min(len(visual_blocks), len(text_blocks)):
            raise InvalidInputError(
                f"--last-k {k}: the towers have {len(visual_blocks)} (image) and {len(text_blocks)} (text) blocks"
            )
        for p in model.parameters():
            p.requires_grad_(False)
        keep: list[nn.Module | nn.Parameter | None] = [
            *visual_blocks[-k:], *text_blocks[-k:],
            getattr(model.visual, "ln_post", None), getattr(model, "ln_final", None),
        ]
        for module in keep:
            if isinstance(module, nn.Module):
                for p in module.parameters():
                    p.requires_grad_(True)
        for extra in (getattr(model.visual, "proj", None), getattr(model, "text_projection", None),
                      getattr(model, "logit_scale", None)):
            if isinstance(extra, nn.Parameter):
                extra.requires_grad_(True)
    else:
        assert visual_blocks is not None and text_blocks is not None
        if lora_rank < 1:
            raise InvalidInputError(f"--lora-rank must be a positive integer, got {lora_rank}")
        for p in model.parameters():
            p.requires_grad_(False)
        for block in [*visual_blocks, *text_blocks]:
            mlp = getattr(block, "mlp", None)
            for name in ("c_fc", "c_proj"):
                layer = getattr(mlp, name, None) if mlp is not None else None
                if isinstance(layer, nn.Linear):
                    setattr(mlp, name, LoRALinear(layer, lora_rank))
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable": int(trainable), "total": int(total)}


def merged_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's state dict with adapters merged: the keys and shapes of the base model."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for name, module in model.named_modules():
        if isinstance(module, LoRALinear):
            prefix = f"{name}."
            for key in [k for k in state if k.startswith(prefix)]:
                del state[key]
            state[f"{prefix}weight"] = module.merged_weight().detach().clone()
            if module.base.bias is not None:
                state[f"{prefix}bias"] = module.base.bias.detach().clone()
    return state


__all__ = ["TRAIN_MODES", "LoRALinear", "configure_trainable", "merged_state_dict"]
