"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from rmeval.errors import RmevalError

#: The dataset ``rmeval epic`` uses when --dataset is not given.
BUNDLED_DATASET = "cartpole-angle"


def datasets_dir() -> Path:
    """``$RMEVAL_DATASETS``, else the repository's ``datasets/``, else ``./datasets``."""
    if os.environ.get("RMEVAL_DATASETS"):
        return Path(os.environ["RMEVAL_DATASETS"]).expanduser()
    repo = Path(__file__).resolve().parents[2] / "datasets"
    return repo if repo.is_dir() else Path.cwd() / "datasets"


def bundled_dataset() -> Path:
    return datasets_dir() / BUNDLED_DATASET


def add_reward_options(parser: argparse.ArgumentParser, *, alpha_default: str) -> None:
    """--dataset, --models, --alpha, --goal, --baseline: what a reward computation needs."""
    parser.add_argument("--dataset", default=None,
                        help="dataset directory (default: the bundled datasets/cartpole-angle)")
    parser.add_argument("--models", default="ViT-B-32",
                        help="comma-separated models: NAME, NAME:TAG, NAME:random, NAME:/path "
                             "(default: ViT-B-32); see `rmeval models`")
    parser.add_argument("--alpha", default=alpha_default,
                        help="alphas: start:stop:step with stop included (0:1:0.2) or a list (0,0.5,1) "
                             f"(default: {alpha_default})")
    parser.add_argument("--goal", action="append", default=None, metavar="PROMPT",
                        help="goal prompt (repeat for several; default: the dataset's metadata)")
    parser.add_argument("--baseline", action="append", default=None, metavar="PROMPT",
                        help="baseline prompt (repeat for several; default: the dataset's metadata)")


def add_embedding_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("embedding")
    g.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when available)")
    g.add_argument("--batch-size", default="64",
                   help="frames per forward pass, or 'auto' (the largest that fits the GPU) (default: 64)")
    g.add_argument(
        "--precision", choices=["fp32", "fp16", "bf16"], default="fp32",
        help="fp32, or fp16/bf16 autocast (for GPUs) (default: fp32)",
    )
    g.add_argument(
        "--cache-dir", default=None,
        help="embedding cache directory (default: $RMEVAL_CACHE_DIR or ~/.cache/rmeval)",
    )
    g.add_argument(
        "--weights-dir", default=None,
        help="where pretrained weights are downloaded/looked up (default: the Hugging Face cache)",
    )
    g.add_argument("--compile", action="store_true", help="torch.compile the image tower (pays off on long GPU runs)")
    g.add_argument(
        "--fit", default=None, choices=["crop", "squash", "pad"],
        help="how a frame reaches the model's square input: crop (open_clip's: shortest side, centre crop), "
        "squash (the whole frame resized, as the paper's authors), pad (whole frame, aspect kept, padded) "
        "(default: squash for datasets rendered by rmeval, so the agent stays in view; crop otherwise)",
    )
    g.add_argument("--no-progress", action="store_true", help="never show a progress bar")


def check_embedding_options(args: argparse.Namespace) -> None:
    """Reject bad embedding options before any model loads (they would fail every model)."""
    from rmeval.errors import InvalidInputError
    from rmeval.models import resolve_device

    text = str(args.batch_size).strip().lower()
    if text == "auto":
        args.batch_size = "auto"
    elif text.isdigit() and int(text) > 0:
        args.batch_size = int(text)
    else:
        raise InvalidInputError(f"--batch-size must be a positive integer or 'auto', got {args.batch_size!r}")
    resolve_device(args.device)
    if getattr(args, "fit", None) is not None:
        from rmeval.preprocess import check_fit

        args.fit = check_fit(args.fit)


def add_out_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="reports", help="directory for results (default: reports/)")


def out_dir(path: str) -> Path:
    out = Path(path).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RmevalError(f"cannot create the output directory {out}: {exc.strerror}; choose another --out.") from None
    return out


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so readers never see it half-written."""
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_table(df: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, df.to_csv(index=False))


def write_json(obj: Any, path: Path) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def say(msg: str = "") -> None:
    print(msg, flush=True)


def warn(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


RANDOM_WEIGHTS_NOTE = (
    "NOTE: RANDOM weights in {models}: these numbers test the pipeline and say nothing "
    "about the pretrained models."
)
