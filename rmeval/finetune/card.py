"""The card next to a fine-tuned checkpoint, and the held-out dataset it was measured on.

``OUT_STEM.json`` (JSON, ``format: rmeval-finetune-card``, version 1)::

    base_model      the model fine-tuned (NAME:TAG, NAME:random, NAME:/path)
    model           how to load the result: ARCH:/abs/path/OUT.pt
    random_init     true when the base had random weights
    data            dataset name, path, labelled frames, the split (by episode or frame
                    groups; the groups of each part) and frame counts per part
    objective, train, settings, prompts
    heldout         the held-out dataset (OUT_STEM.heldout/) and, for alpha 0, EPIC with
                    its bootstrap interval before (base model) and after (fine-tuned):
                    {"before": {"epic", "ci_low", "ci_high", ...}, "after": {...}}
    history         per epoch: training loss, validation EPIC, seconds
    checkpoint_sha256, command, created, rmeval_version

The held-out numbers are computed by :func:`rmeval.epic_table.run_epic`, the code behind
``rmeval epic``, on the written held-out dataset: ``rmeval epic --dataset OUT_STEM.heldout
--models ARCH:/abs/path/OUT.pt`` prints the same EPIC and interval.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rmeval.errors import RmevalError

CARD_FORMAT = "rmeval-finetune-card"
CARD_VERSION = 1


def write_heldout(dataset: Any, rows: np.ndarray, root: Path, *, source_checkpoint: Path) -> Any:
    """Write the held-out rows of ``dataset`` as a dataset at ``root`` (replacing an older one)."""
    from rmeval.dataset import DatasetMetadata, write_dataset

    index = dataset.index.iloc[np.asarray(rows, dtype=np.int64)].drop(columns=["frame"]).reset_index(drop=True)
    index["source_row"] = np.asarray(rows, dtype=np.int64)
    meta = dataset.metadata
    extra = {k: v for k, v in meta.extra.items() if k != "created_by"}
    extra["heldout_of"] = {"dataset": str(dataset.root), "name": dataset.name, "checkpoint": str(source_checkpoint)}
    metadata = DatasetMetadata(
        env=meta.env, task=meta.task, goal_prompts=list(meta.goal_prompts), baseline_prompts=list(meta.baseline_prompts),
        render=dict(meta.render), state_columns=list(meta.state_columns), label_rule=meta.label_rule,
        name=f"{dataset.name}-heldout",
        description=f"held-out test part of {dataset.name} (rmeval finetune; never trained or validated on)",
        extra=extra,
    )
    frames = (dataset.read_frames([int(r)])[0] for r in rows)
    return write_dataset(root, frames, index, metadata, overwrite=True)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def heldout_epic(heldout: Any, model: str, settings: Any, *, weights_dir: Any = None) -> dict[str, Any]:
    """EPIC (alpha 0) of ``model`` on the held-out dataset, exactly as ``rmeval epic`` computes it."""
    from rmeval.embedding_options import EmbeddingOptions
    from rmeval.epic_table import EpicJob, run_epic
    from rmeval.registry import parse_model

    job = EpicJob(
        alphas=[0.0], goal_prompts=list(settings.goal_prompts), baseline_prompts=list(settings.baseline_prompts),
        embedding=EmbeddingOptions(device=settings.device, weights_dir=weights_dir, progress=False),
        n_resamples=settings.resamples, ci_level=settings.ci, seed=0,
    )
    res = run_epic(heldout, [parse_model(model)], job)
    if res.failures or res.table.empty:
        raise RmevalError(f"held-out EPIC of {model} failed: {'; '.join(res.failures.values())}")
    row = res.table.iloc[0]
    return {
        "model": str(row["model"]),
        "alpha": 0.0,
        "epic": float(row["epic"]),
        "ci_low": float(row["epic_ci_low"]),
        "ci_high": float(row["epic_ci_high"]),
        "ci_level": float(row["ci_level"]),
        "pearson_rho": float(row["pearson_rho"]),
        "n": int(row["n_labelled"]),
        "n_goal": int(row["n_goal"]),
        "bootstrap_resamples": int(settings.resamples),
        "bootstrap_seed": 0,
    }


def build_card(
    *,
    dataset: Any,
    heldout: Any,
    base: Any,
    checkpoint: Path,
    settings: Any,
    split: Any,
    history: list[dict[str, float]],
    counts: dict[str, int],
    precision: str,
    device: str,
    weights_dir: Any,
    command: str,
    log: Callable[[str], None],
) -> dict[str, Any]:
    from dataclasses import asdict

    from rmeval import __version__

    tuned = f"{base.arch}:{checkpoint}"
    before = heldout_epic(heldout, base.id, settings, weights_dir=weights_dir)
    after = heldout_epic(heldout, tuned, settings, weights_dir=weights_dir)
    log(f"held-out EPIC ({before['n']} frames, {before['n_goal']} goal): before {before['epic']:.4f} "
        f"[{before['ci_low']:.4f}, {before['ci_high']:.4f}] -> after {after['epic']:.4f} "
        f"[{after['ci_low']:.4f}, {after['ci_high']:.4f}]")
    parts = split.parts()
    best = min(history, key=lambda h: h["val_epic"])
    return {
        "format": CARD_FORMAT,
        "version": CARD_VERSION,
        "model": tuned,
        "base_model": base.id,
        "random_init": bool(base.is_random),
        "checkpoint": str(checkpoint),
        "checkpoint_sha256": file_sha256(checkpoint),
        "data": {
            "name": dataset.name,
            "path": str(dataset.root),
            "labelled": int(sum(len(v) for v in parts.values())),
            "split_by": split.by,
            "groups": split.groups,
            "frames": {k: len(v) for k, v in parts.items()},
        },
        "objective": settings.objective,
        "train": {"mode": settings.train, **counts,
                  **({"last_k": settings.last_k} if settings.train == "last-k" else {}),
                  **({"lora_rank": settings.lora_rank} if settings.train == "lora" else {})},
        "prompts": {"goal": list(settings.goal_prompts), "baseline": list(settings.baseline_prompts)},
        "settings": {**{k: v for k, v in asdict(settings).items() if k not in ("goal_prompts", "baseline_prompts")},
                     "fractions": list(settings.fractions), "precision_used": precision, "device_used": device},
        "best_epoch": int(best["epoch"]),
        "heldout": {"dataset": str(heldout.root), "before": before, "after": after},
        "history": history,
        "command": command,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "rmeval_version": __version__,
    }


def write_card(path: Path, card: dict[str, Any]) -> None:
    """Write the card as strict JSON (an undefined number, e.g. EPIC of a split without a
    goal frame, is written as null)."""
    from rmeval.fileio import write_json

    write_json(path, card, indent=1, nan_as_null=True, what="the model card")


def read_card(path: str | Path) -> dict[str, Any]:
    """Read and check a card (format and version, the fields other code relies on)."""
    p = Path(path)
    try:
        card = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RmevalError(f"cannot read the fine-tuning card {p}: {exc}") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT or card.get("version") != CARD_VERSION:
        raise RmevalError(f"{p} is not an rmeval fine-tuning card (format {CARD_FORMAT} v{CARD_VERSION})")
    for key in ("model", "base_model", "heldout", "data", "objective"):
        if key not in card:
            raise RmevalError(f"{p}: missing key {key!r}")
    return card


__all__ = ["CARD_FORMAT", "CARD_VERSION", "build_card", "heldout_epic", "read_card", "write_card", "write_heldout"]
