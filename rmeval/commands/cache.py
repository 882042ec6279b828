"""``rmeval cache verify|prune``: check and clean an embedding-cache directory."""

from __future__ import annotations

import argparse

from rmeval.commands.common import say, warn

HELP = "check (verify) or clean (prune) an embedding cache"
EPILOG = """\
verify reads every shard of every store and checks its checksum, layout and values
(all finite); a shard that fails is moved to its store's quarantine/ folder (never
deleted) and its frames are encoded again by the next run. Exit status 1 when anything
was damaged, 0 otherwise.

prune removes quarantined shards and temporaries of interrupted runs; with --legacy also
the shards written before rmeval checksummed its cache (their frames are then encoded
again). Shards in use are never touched.

examples:
  rmeval cache verify                     # the default cache ($RMEVAL_CACHE_DIR or ~/.cache/rmeval)
  rmeval cache verify /data/rmeval-cache
  rmeval cache prune --legacy /data/rmeval-cache
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cache", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["verify", "prune"], help="verify: check every shard; prune: remove what is not needed")
    p.add_argument("dir", nargs="?", default=None,
                   help="the cache directory (default: $RMEVAL_CACHE_DIR or ~/.cache/rmeval)")
    p.add_argument("--legacy", action="store_true", help="prune: also remove shards without a checksum (older rmeval)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rmeval.cache import default_cache_dir, prune_cache, verify_cache
    from rmeval.errors import InvalidInputError

    root = args.dir if args.dir is not None else default_cache_dir()
    if args.legacy and args.action != "prune":
        raise InvalidInputError("--legacy goes with `rmeval cache prune`")
    if args.action == "prune":
        report = prune_cache(root, legacy=args.legacy)
        for path in report.removed:
            say(f"removed {path}")
        say(f"{root}: {report.stores} store(s); removed {len(report.removed)} file(s)")
        return 0
    report = verify_cache(root)
    for path, why in report.damaged:
        warn(f"DAMAGED {path}: {why}; moved to quarantine/, its frames will be encoded again")
    say(f"{root}: {report.stores} store(s), {report.shards} shard(s) OK ({report.rows:,} embeddings)"
        + (f", {len(report.legacy)} without a checksum (older rmeval)" if report.legacy else "")
        + f", {len(report.damaged)} damaged")
    extra = []
    if report.quarantined:
        extra.append(f"{len(report.quarantined)} quarantined")
    if report.leftovers:
        extra.append(f"{len(report.leftovers)} temporaries of interrupted runs")
    if extra:
        say(f"{' and '.join(extra)}: `rmeval cache prune {root}` removes them")
    return 1 if report.damaged else 0
