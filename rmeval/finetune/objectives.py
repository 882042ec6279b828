"""Fine-tuning objectives over goal / non-goal labelled frames.

Notation: ``s`` the L2-normalised image embeddings ``(B, D)`` of a batch, ``g`` and ``b``
the normalised goal and baseline text embeddings ``(D,)`` (several prompts: each
normalised, averaged, normalised again, as rewards do), ``y`` the labels (1 = goal).

- **contrastive** (CLIP's loss over the two prompts): logits ``tau * [<s, g>, <s, b>]``
  with ``tau`` the model's learned logit scale; cross-entropy with target ``g`` for goal
  frames and ``b`` for the others.
- **triplet** (text anchor, goal frame, non-goal frame): with cosine distance
  ``d(s) = 1 - <s, g>``, the mean over every (goal frame p, non-goal frame n) pair of the
  batch of ``max(0, margin + d(p) - d(n))``. It pushes exactly the ordering the CLIP reward
  ``<s, g>`` is judged on (EPIC).

Both return a scalar tensor; a batch without both classes gives a zero triplet loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

OBJECTIVES: tuple[str, ...] = ("contrastive", "triplet")
#: Default margin of the triplet loss (cosine distance).
DEFAULT_MARGIN = 0.2


def combine_text(text_emb: torch.Tensor) -> torch.Tensor:
    """``(P, D)`` prompt embeddings -> ``(D,)``: normalise each, average, normalise."""
    return F.normalize(F.normalize(text_emb.float(), dim=-1).mean(dim=0), dim=-1)


def contrastive_loss(image_emb: torch.Tensor, goal: torch.Tensor, baseline: torch.Tensor,
                     labels: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """CLIP's cross-entropy over the prompts (goal, baseline).

    Args:
        image_emb: ``(B, D)`` image embeddings (normalised here).
        goal, baseline: ``(D,)`` normalised text embeddings.
        labels: ``(B,)`` 0/1 (1 = goal).
        logit_scale: the model's ``logit_scale.exp()`` (a scalar tensor).
    """
    s = F.normalize(image_emb.float(), dim=-1)
    logits = logit_scale * s @ torch.stack([goal, baseline]).T
    target = (labels == 0).long()  # 0 -> goal prompt, 1 -> baseline prompt
    return F.cross_entropy(logits, target)


def triplet_loss(image_emb: torch.Tensor, goal: torch.Tensor, labels: torch.Tensor,
                 margin: float = DEFAULT_MARGIN) -> torch.Tensor:
    """Mean hinge ``max(0, margin + d(goal frame) - d(non-goal frame))`` over all pairs."""
    s = F.normalize(image_emb.float(), dim=-1)
    d = 1.0 - s @ goal
    pos = d[labels == 1]
    neg = d[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return d.sum() * 0.0
    return F.relu(margin + pos[:, None] - neg[None, :]).mean()


__all__ = ["DEFAULT_MARGIN", "OBJECTIVES", "combine_text", "contrastive_loss", "triplet_loss"]
