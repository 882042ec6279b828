"""Regenerate rmeval/model_sizes.json: parameters and image GFLOPs of every open_clip architecture.

    python scripts/model_sizes.py            # all architectures (about a minute)
    python scripts/model_sizes.py --check    # recount and compare with the shipped table

Counting builds each model on PyTorch's meta device (no weights, no network); see rmeval/sizes.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rmeval.sizes import _table_path, build_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare a fresh count with the shipped table")
    args = parser.parse_args(argv)
    table = build_table()
    path: Path = _table_path()
    if args.check:
        shipped = json.loads(path.read_text(encoding="utf-8"))["models"]
        diff = [k for k in set(shipped) | set(table["models"]) if shipped.get(k) != table["models"].get(k)]
        print(f"{len(diff)} architectures differ: {', '.join(sorted(diff)) or '-'}")
        return 1 if diff else 0
    path.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{path}: {len(table['models'])} architectures, {len(table['not_counted'])} not counted "
          f"({', '.join(sorted(table['not_counted']))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
