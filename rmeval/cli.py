"""The ``rmeval`` command line. Each subcommand lives in :mod:`rmeval.commands`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from rmeval import __version__
from rmeval.errors import RmevalError

#: Subcommand modules, in the order ``rmeval --help`` lists them.
SUBCOMMANDS = (
    "models", "epic", "bench", "embed", "render", "scaling", "report", "label", "landscape", "train", "rollout",
    "evaluate", "cache", "judge_build", "finetune",
)


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


def _one_line_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int,
    file: TextIO | None = None, line: str | None = None,
) -> None:
    """Print a warning as one ``rmeval: warning: ...`` line (no file path, no source line)."""
    from rmeval.fileio import RmevalNotice

    kind = "note" if issubclass(category, RmevalNotice) else "warning"
    text = " ".join(str(message).split())
    print(f"rmeval: {kind}: {text}", file=file or sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    previous = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        return int(args.run(args) or 0)
    except RmevalError as exc:
        print(f"rmeval {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except BrokenPipeError:  # `rmeval ... | head`: the reader left; stop quietly, as shell tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
        return 141
    except OSError as exc:  # a write or read rmeval did not anticipate: still one line, no traceback
        from rmeval.fileio import advice

        where = f" ({exc.filename})" if exc.filename else ""
        print(f"rmeval {args.command}: error: {exc.strerror or exc}{where}; {advice(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rmeval: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = previous


if __name__ == "__main__":
    sys.exit(main())
