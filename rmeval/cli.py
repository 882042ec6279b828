"""The ``rmeval`` command line. Each subcommand lives in :mod:`rmeval.commands`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from rmeval import __version__
from rmeval.errors import RmevalError

#: Subcommand modules, in the order ``rmeval --help`` lists them.
SUBCOMMANDS = ("models", "epic", "bench", "embed", "render", "scaling", "report", "label", "landscape", "train", "rollout", "evaluate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rmeval",
        description="How good is a vision-language model as a reward model? "
        "CLIP rewards, goal-baseline regularisation and EPIC distances to human labels.",
        epilog="Run `rmeval COMMAND --help` for each command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"rmeval {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"rmeval.commands.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except RmevalError as exc:
        print(f"rmeval {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rmeval: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
