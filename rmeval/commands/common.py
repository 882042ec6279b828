"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rmeval.dataset.bundled import BUNDLED_DATASET, bundled_dataset, datasets_dir  # noqa: F401  (used by the commands)
from rmeval.embedding_options import EmbeddingOptions


def add_reward_options(parser: argparse.ArgumentParser, *, alpha_default: str) -> None:
    """--dataset, --models, --alpha, --goal, --baseline: what a reward computation needs."""
    parser.add_argument("--dataset", default=None,
                        help="dataset directory (default: the bundled datasets/cartpole-angle)")
    parser.add_argument("--models", default="ViT-B-32",
                        help="comma-separated models: NAME, NAME:TAG, NAME:random, NAME:/path, "
                             "hf-hub:ORG/REPO, local-dir:/dir (either :random too), or your own "
                             "module.path:Class (default: ViT-B-32); see `rmeval models --all`")
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


def add_judge_options(parser: argparse.ArgumentParser) -> None:
    """--question: the question a ``judge:`` model is asked."""
    parser.add_argument(
        "--question", default=None, metavar="TEMPLATE",
        help="question asked of judge: models, with {goal} where the goal prompt goes "
             "(default: the dataset's metadata 'judge_question', else "
             "'Does this image show {goal}? Answer yes or no.')",
    )


def judge_question(args: argparse.Namespace, metadata_extra: Any) -> str | None:
    """The question template for judges, checked, when any ``judge:`` model is named; else None."""
    if not any(str(m).strip().lower().startswith("judge:") for m in str(getattr(args, "models", "")).split(",")):
        return None
    from rmeval.judges.question import question_template

    return question_template(getattr(args, "question", None), metadata_extra)


#: Said once when judges and alphas meet.
JUDGE_ALPHA_NOTE = (
    "note: alphas do not apply to judge: models; they are evaluated at their own reward, "
    "log p(yes) - log p(no) (alpha shown as -)."
)


def check_embedding_options(args: argparse.Namespace) -> EmbeddingOptions:
    """The embedding options of ``args``, checked once before any model loads (they would fail
    every model); the one options object the jobs take."""
    options = EmbeddingOptions.from_args(args)
    args.batch_size = options.batch_size  # normalised ("64" -> 64) for code that reads args
    return options


def check_prompts(args: argparse.Namespace) -> None:
    """Refuse an empty or blank --goal/--baseline before anything loads (bad input: exit 2)."""
    from rmeval.errors import InvalidInputError

    for option in ("goal", "baseline"):
        for prompt in getattr(args, option, None) or []:
            if not prompt.strip():
                raise InvalidInputError(
                    f"--{option} {prompt!r}: a prompt must not be empty; describe the "
                    f"{'goal state' if option == 'goal' else 'scene without the goal'} in words, "
                    "or leave the option out to use the dataset's prompts"
                )


def check_bootstrap_options(args: argparse.Namespace) -> None:
    """Refuse a --resamples below 1 or a --ci outside (0, 1) (bad input: exit 2)."""
    from rmeval.errors import InvalidInputError

    if args.resamples < 1:
        raise InvalidInputError(f"--resamples must be at least 1, got {args.resamples}")
    if not 0 < args.ci < 1:
        raise InvalidInputError(f"--ci must lie strictly between 0 and 1 (e.g. 0.95), got {args.ci}")


def check_model_tags(models: Sequence[Any]) -> None:
    """Refuse a pretrained tag open_clip does not know before any model loads (bad input: exit 2).

    Only open_clip architectures with a pretrained tag are checked; anything else (random
    weights, checkpoints, other families) is left to loading.
    """
    refs = [m for m in models if getattr(m, "weights", None) == "pretrained" and getattr(m, "tag", None)]
    if not refs:
        return
    from rmeval.errors import InvalidInputError
    from rmeval.models import register_rmeval_architectures

    register_rmeval_architectures()
    import open_clip

    for ref in refs:
        if open_clip.get_model_config(ref.arch) is None or open_clip.get_pretrained_cfg(ref.arch, ref.tag):
            continue
        tags = open_clip.list_pretrained_tags_by_model(ref.arch)
        raise InvalidInputError(
            f"--models {ref.arch}:{ref.tag}: {ref.arch} has no pretrained tag {ref.tag!r}; known tags: "
            f"{', '.join(tags) if tags else '(none: use a checkpoint file or :random)'}"
        )


def add_out_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="reports", help="directory for results (default: reports/)")


def out_dir(path: str | Path) -> Path:
    """The results folder (created; leftovers of an interrupted run removed, with a note)."""
    from rmeval.fileio import clean_leftovers, ensure_directory

    out = ensure_directory(path, "the output folder (--out)")
    clean_leftovers(out)
    return out


def write_table(df: pd.DataFrame, path: Path) -> None:
    """A results table as CSV, atomically (:mod:`rmeval.fileio`)."""
    from rmeval.fileio import write_table as _write

    _write(path, df)


def write_json(obj: Any, path: Path) -> None:
    """Results as strict JSON (NaN written as null), atomically (:mod:`rmeval.fileio`)."""
    from rmeval.fileio import write_json as _write

    _write(path, obj, nan_as_null=True)


def say(msg: str = "") -> None:
    print(msg, flush=True)


def warn(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


RANDOM_WEIGHTS_NOTE = (
    "NOTE: RANDOM weights in {models}: these numbers test the pipeline and say nothing "
    "about the pretrained models."
)
