"""``rmeval judge-build``: write a random-weight judge to a directory (offline)."""

from __future__ import annotations

import argparse

from rmeval.commands.common import say

HELP = "build a random-weight judge: model (offline) into a directory, for tests and smoke runs"
EPILOG = """\
Writes a LLaVA-style chat VLM with random weights (a tokenizer built locally with yes/no
tokens, a chat template, an image-processor config) with save_pretrained, loadable as
--models judge:DIR like any checkpoint. Its numbers say nothing about a trained judge; every
output marks it as random. judge:NAME:random builds the same into the cache on first use.

examples:
  rmeval judge-build rmeval-tiny-judge /tmp/tiny-judge
  rmeval epic --models rmeval-tiny,judge:/tmp/tiny-judge --alpha 0:1:0.5
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    from rmeval.judges.names import KNOWN_CONFIG_NAMES

    p = sub.add_parser("judge-build", aliases=["judge_build"], help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", choices=KNOWN_CONFIG_NAMES, help="configuration to build")
    p.add_argument("directory", help="new (or empty) directory to write")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights (default: 0)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rmeval.judges.build import build_judge, read_marker

    path = build_judge(args.name, args.directory, seed=args.seed)
    info = read_marker(path) or {}
    say(f"wrote {args.name} (RANDOM weights, seed {args.seed}, {info.get('parameters', 0):,} parameters) to {path}")
    say(f"use it as: --models judge:{path}")
    return 0
