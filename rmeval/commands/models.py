"""``rmeval models``: print the model registry."""

from __future__ import annotations

import argparse

import pandas as pd

from rmeval.commands.common import say
from rmeval.registry import registry_table

HELP = "list the models rmeval knows (name, default weights, size, image GFLOPs)"
EPILOG = """\
Model names: NAME (default weights), NAME:TAG (another open_clip tag), NAME:random
(random weights, seeded; NAME:random3 for seed 3), NAME:/path/to/checkpoint. Any open_clip
architecture works too; only registry entries carry sizes for scaling plots.

example:
  rmeval models
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    df = pd.DataFrame(registry_table())
    df["params_m"] = df["params_m"].map(lambda v: f"{v:,.0f}M" if v >= 10 else f"{v:.2f}M")
    df["image_gflops"] = df["image_gflops"].map(lambda v: f"{v:g}")
    say(df.to_string(index=False))
    return 0
