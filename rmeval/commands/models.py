"""``rmeval models``: print the model registry, or (``--all``) every open_clip model."""

from __future__ import annotations

import argparse

import pandas as pd

from rmeval.commands.common import say
from rmeval.registry import registry_table

HELP = "list the models rmeval knows (name, default weights, size, image GFLOPs); --all for every open_clip model"
EPILOG = """\
Model names: NAME (default weights), NAME:TAG (another open_clip tag), NAME:random
(random weights, seeded; NAME:random3 for seed 3), NAME:/path/to/checkpoint,
hf-hub:ORG/REPO and local-dir:/path/to/dir (open_clip's own spellings; :random after
either), and your own reward model as module.path:Class (see the README).

--all lists every architecture and pretrained tag of the installed open_clip with its
family, image size, embedding width, parameters and image GFLOPs (counted from the
architecture, no weights needed; ? where the architecture needs a Hugging Face text
config that is not here). * marks the registry's defaults.

examples:
  rmeval models
  rmeval models --all
  rmeval models --all --family siglip
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--all", action="store_true", help="every open_clip architecture and tag, with sizes")
    p.add_argument("--family", default=None, help="with --all: only families containing this text (case-insensitive)")
    p.add_argument("--csv", default=None, metavar="PATH", help="with --all: also write the table as CSV")
    p.set_defaults(run=run)


def _size(v: float) -> str:
    if pd.isna(v):
        return "?"
    return f"{v:,.0f}M" if v >= 10 else f"{v:.2f}M"


def run(args: argparse.Namespace) -> int:
    from rmeval.errors import InvalidInputError

    if not args.all:
        if args.family or args.csv:
            raise InvalidInputError("--family and --csv go with --all (rmeval models --all --family siglip).")
        df = pd.DataFrame(registry_table())
        df["params_m"] = df["params_m"].map(_size)
        df["image_gflops"] = df["image_gflops"].map(lambda v: f"{v:g}")
        say(df.to_string(index=False))
        return 0
    from rmeval.sizes import catalogue

    df = pd.DataFrame(catalogue())
    if args.family:
        df = df[df["family"].str.contains(args.family, case=False, regex=False)]
        if df.empty:
            families = ", ".join(sorted(set(pd.DataFrame(catalogue())["family"])))
            raise InvalidInputError(f"no family contains {args.family!r}; families: {families}.")
    if args.csv:
        from pathlib import Path

        Path(args.csv).expanduser().parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(Path(args.csv).expanduser(), index=False)
    shown = df.copy()
    shown["model"] = [m + (" *" if r else "") for m, r in zip(shown["model"], shown["registry"])]
    shown["params_m"] = shown["params_m"].map(_size)
    shown["image_gflops"] = shown["image_gflops"].map(lambda v: "?" if pd.isna(v) else f"{v:.4g}")
    shown["embed_dim"] = shown["embed_dim"].map(lambda v: "?" if pd.isna(v) else str(int(v)))
    shown["image_size"] = shown["image_size"].replace("", "?")
    shown = shown.drop(columns=["registry"]).rename(columns={"params_m": "params", "image_gflops": "image GFLOPs",
                                                            "embed_dim": "embed", "image_size": "image"})
    say(shown.to_string(index=False))
    n_arch = df["model"].nunique()
    say(f"{n_arch} architectures, {len(df)} (architecture, tag) rows; * = rmeval's registry default. "
        "Use NAME:TAG, or NAME:random for random weights.")
    return 0
