"""Fine-tuning CLIP reward models on labelled frames (``rmeval finetune``).

- :mod:`rmeval.finetune.split`: seeded train / validation / test split by episode.
- :mod:`rmeval.finetune.objectives`: the contrastive (CLIP) and triplet losses.
- :mod:`rmeval.finetune.trainable`: what trains (all, last k blocks, LoRA adapters).
- :mod:`rmeval.finetune.trainer`: :func:`~rmeval.finetune.trainer.finetune`, with early
  stopping on validation EPIC and resumable, atomically written state.
- :mod:`rmeval.finetune.card`: the JSON card next to the checkpoint (held-out EPIC before
  and after, with intervals) and the held-out dataset it was measured on.

The result is a plain open_clip checkpoint: ``ARCH:/path/to/finetuned.pt`` in any command.
Importing this package imports nothing heavy.
"""

from __future__ import annotations
