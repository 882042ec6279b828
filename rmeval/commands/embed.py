"""``rmeval embed``: fill the embedding cache for a dataset (no rewards, no EPIC)."""

from __future__ import annotations

import argparse
import time

from rmeval.commands.common import (
    RANDOM_WEIGHTS_NOTE,
    add_embedding_options,
    bundled_dataset,
    check_embedding_options,
    say,
    warn,
)
from rmeval.errors import RmevalError
from rmeval.registry import parse_models

HELP = "embed a dataset's frames with one or more models into the cache"
EPILOG = """\
Frames already in the cache (same model, weights, preprocessing, precision and pixels)
are not encoded again; a changed frame is. Later `rmeval epic` runs then only read the cache.

examples:
  rmeval embed --dataset datasets/cartpole-angle --models ViT-L-14,ViT-bigG-14 --precision bf16
  rmeval embed --models rmeval-tiny --cache-dir /tmp/rmeval-cache
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("embed", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default=None, help="dataset directory (default: the bundled datasets/cartpole-angle)")
    p.add_argument("--models", required=True, help="comma-separated models (see `rmeval models`)")
    p.add_argument("--labelled-only", action="store_true", help="embed only labelled frames")
    add_embedding_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rmeval.cache import EmbeddingCache
    from rmeval.dataset import load_dataset
    from rmeval.embedding import Embedder
    from rmeval.models import load_model

    check_embedding_options(args)
    models = parse_models(args.models)
    dataset = load_dataset(args.dataset or bundled_dataset())
    rows = dataset.labelled_rows() if args.labelled_only else None
    cache = EmbeddingCache(args.cache_dir)
    failed = 0
    randoms = []
    for ref in models:
        try:
            t0 = time.perf_counter()
            loaded = load_model(ref, device=args.device, weights_dir=args.weights_dir)
            emb = Embedder(loaded, batch_size=args.batch_size, precision=args.precision, cache=cache,
                           progress=False if args.no_progress else None)
            out = emb.embed_dataset(dataset, rows)
            dt = time.perf_counter() - t0
            say(
                f"{ref.id}: {len(out)} frames, {emb.stats.encoded} encoded, {emb.stats.cached} from cache, "
                f"dim {out.shape[1]}, {dt:.1f} s on {loaded.device}"
            )
            if ref.is_random:
                randoms.append(ref.id)
        except RmevalError as exc:
            failed += 1
            warn(f"rmeval: {ref.id} failed: {exc}")
    say(f"cache: {cache.root}")
    if randoms:
        say(RANDOM_WEIGHTS_NOTE.format(models=", ".join(randoms)))
    return 1 if failed else 0
