"""``rmeval embed``: fill the embedding cache for a dataset (no rewards, no EPIC)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rmeval.commands.common import (
    RANDOM_WEIGHTS_NOTE,
    add_embedding_options,
    bundled_dataset,
    check_embedding_options,
    check_model_tags,
    say,
    warn,
)
from rmeval.embedding_options import EmbeddingOptions
from rmeval.errors import DatasetError, InvalidInputError, RmevalError, StorageError
from rmeval.registry import ModelRef, parse_models

if TYPE_CHECKING:
    import numpy as np

    from rmeval.dataset import Dataset

HELP = "embed a dataset's frames with one or more models into the cache"
EPILOG = """\
Frames already in the cache (same model, weights, preprocessing, precision and pixels)
are not encoded again; a changed frame is. Later `rmeval epic` runs then only read the cache.

examples:
  rmeval embed --dataset datasets/cartpole-angle --models ViT-L-14,ViT-bigG-14 --precision bf16
  rmeval embed --models rmeval-tiny --cache-dir /tmp/rmeval-cache
  rmeval embed --engine ray --ray-address auto --models ViT-bigG-14 --precision bf16

--engine ray runs the same job with Ray Data: frames decoded in parallel tasks, one model
replica per GPU, the same cache (a later local run finds everything cached, and vice
versa). Without --ray-address it starts a local Ray instance. On a cluster, workers need
rmeval installed and the dataset, weights and (ideally) --cache-dir on a shared path.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("embed", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default=None, help="dataset directory (default: the bundled datasets/cartpole-angle)")
    p.add_argument("--models", required=True, help="comma-separated models (see `rmeval models`)")
    p.add_argument("--labelled-only", action="store_true", help="embed only labelled frames")
    add_embedding_options(p)
    g = p.add_argument_group("engine")
    g.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: this process (default); ray: a Ray cluster with Ray Data, one model replica per GPU "
                        "(pip install 'rmeval[ray]')")
    g.add_argument("--ray-address", default=None, metavar="ADDRESS",
                   help="with --engine ray: the cluster, `auto` on a cluster node or ray://HEAD:10001 "
                        "(default: start a local Ray instance)")
    g.add_argument("--num-gpus-per-replica", type=float, default=None, metavar="N",
                   help="with --engine ray: GPUs per model replica (default: 1 when the cluster has GPUs, else 0: CPU replicas)")
    g.add_argument("--replicas", type=int, default=None, metavar="N",
                   help="with --engine ray: model replicas (default: #GPUs / GPUs per replica; on CPUs, half the CPUs up to 4)")
    p.set_defaults(run=run)


def _check_engine_options(args: argparse.Namespace) -> None:
    ray_only = [flag for flag, value in (("--ray-address", args.ray_address), ("--num-gpus-per-replica",
                args.num_gpus_per_replica), ("--replicas", args.replicas)) if value is not None]
    if args.engine == "local" and ray_only:
        raise InvalidInputError(f"{', '.join(ray_only)}: only with --engine ray (add --engine ray, or leave them out)")
    if args.engine == "ray":
        if args.device is not None:
            raise InvalidInputError(
                "--device does not apply with --engine ray: replicas use a GPU each when the cluster has GPUs; "
                "set --num-gpus-per-replica 0 for CPU replicas."
            )
        if args.replicas is not None and args.replicas < 1:
            raise InvalidInputError(f"--replicas must be a positive integer, got {args.replicas}")
        if args.num_gpus_per_replica is not None and args.num_gpus_per_replica < 0:
            raise InvalidInputError(f"--num-gpus-per-replica must be >= 0, got {args.num_gpus_per_replica}")


def _each_model(models: list[ModelRef], embed_one: Callable[[ModelRef], str], cache_root: Path) -> int:
    """Embed with each model in turn (one summary line each), then name the cache and any random weights.

    A model that fails is reported and skipped; the exit code is 1 if any failed.
    """
    failed = 0
    randoms = []
    for ref in models:
        try:
            say(embed_one(ref))
        except (DatasetError, StorageError):  # the data or the disk: every model would fail alike
            raise
        except RmevalError as exc:
            failed += 1
            warn(f"rmeval: {ref.id} failed: {exc}")
            continue
        if ref.is_random:
            randoms.append(ref.id)
    say(f"cache: {cache_root}")
    if randoms:
        say(RANDOM_WEIGHTS_NOTE.format(models=", ".join(randoms)))
    return 1 if failed else 0


def _summary(ref: ModelRef, n: int, encoded: int, cached: int, dim: int, where: str) -> str:
    """One line per model; frames neither encoded nor cache hits repeat another frame of the dataset."""
    repeated = n - encoded - cached
    extra = f", {repeated} repeated" if repeated > 0 else ""
    return f"{ref.id}: {n} frames, {encoded} encoded, {cached} from cache{extra}, dim {dim}, {where}"


def _run_ray(args: argparse.Namespace, dataset: Dataset, rows: np.ndarray | None, models: list[ModelRef],
             options: EmbeddingOptions) -> int:
    from rmeval.cache import EmbeddingCache
    from rmeval.ray_engine import ray_session, run_ray_embedding

    def embed_one(ref: ModelRef) -> str:
        res = run_ray_embedding(
            dataset, ref.id, cache_dir=args.cache_dir, batch_size=args.batch_size, precision=args.precision,
            num_gpus_per_replica=args.num_gpus_per_replica, rows=rows, replicas=args.replicas,
            weights_dir=args.weights_dir, progress=not args.no_progress,
            compile=bool(getattr(args, "compile", False)), fit=options.fit_for(dataset),
        )
        dim = res.embeddings.shape[1] if res.embeddings.ndim == 2 else 0
        return _summary(ref, len(res.embeddings), res.encoded, res.cached, dim,
                        f"{res.seconds:.1f} s on {res.replicas} {res.device} replica(s) (Ray)")

    with ray_session(args.ray_address):
        return _each_model(models, embed_one, EmbeddingCache(args.cache_dir).root)


def run(args: argparse.Namespace) -> int:
    from rmeval.cache import EmbeddingCache
    from rmeval.dataset import load_dataset
    from rmeval.embedding import Embedder
    from rmeval.models import load_model

    options = check_embedding_options(args)
    _check_engine_options(args)
    parsed = parse_models(args.models)
    models = [m for m in parsed if isinstance(m, ModelRef)]
    judges = [m.id for m in parsed if not isinstance(m, ModelRef)]
    if judges:
        raise InvalidInputError(
            f"--models {', '.join(judges)}: judges have no embeddings to cache; rmeval epic, landscape and "
            "bench score them directly and cache their scores (v1/judge/ in the cache folder)"
        )
    check_model_tags(models)
    dataset = load_dataset(args.dataset or bundled_dataset())
    rows = dataset.labelled_rows() if args.labelled_only else None
    if args.engine == "ray":
        return _run_ray(args, dataset, rows, models, options)
    cache = EmbeddingCache(options.cache_dir)

    def embed_one(ref: ModelRef) -> str:
        t0 = time.perf_counter()
        loaded = load_model(ref, device=options.device, weights_dir=options.weights_dir)
        emb = Embedder(loaded, cache=cache, **options.embedder_kwargs(ref.id, dataset))
        t1 = time.perf_counter()
        out = emb.embed_dataset(dataset, rows)
        t2 = time.perf_counter()
        encoded = emb.stats.encoded
        rate = f", {encoded / (t2 - t1):,.0f} frames/s encoded" if t2 > t1 and encoded else ""
        return _summary(ref, len(out), emb.stats.encoded, emb.stats.cached, out.shape[1],
                        f"{t2 - t0:.1f} s on {loaded.device} (model {t1 - t0:.1f} s; embedding {t2 - t1:.1f} s{rate})")

    return _each_model(models, embed_one, cache.root)
