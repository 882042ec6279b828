"""The embedding job on a Ray cluster (``rmeval embed --engine ray``).

The same work as :meth:`rmeval.embedding.Embedder.embed_dataset`, spread with Ray Data:

1. the frame paths become a Ray dataset; PNG frames are decoded in parallel Ray tasks
   (``map_batches`` over the paths, one CPU each), with :func:`rmeval.dataset.read_frame`,
   so the pixels, and hence the cache keys, are exactly the local engine's;
2. ``map_batches`` with a callable class holds one model replica per GPU
   (``num_gpus=num_gpus_per_replica``, an actor pool of ``#GPUs / num_gpus_per_replica``
   replicas; on a machine without GPUs, CPU replicas). Each replica wraps an
   :class:`~rmeval.embedding.Embedder` with the embedding cache: frames already cached
   (same content key, model, preprocessing, precision) are looked up, not encoded, and
   new embeddings are written to the cache as shards, exactly as the local engine does;
3. the driver gathers the embeddings in row order and writes to its own cache whatever
   is not there yet (a no-op when driver and workers share the cache directory; on a
   cluster without a shared file system this is what fills the driver's cache).

So a later local run finds everything cached, and vice versa. Ray is imported only
here (``pip install 'rmeval[ray]'``); ``import rmeval`` stays light.

Pointing it at a cluster: ``address="auto"`` (on a cluster node, ``ray start`` done) or
``address="ray://HEAD:10001"`` (Ray Client). Workers need rmeval installed, the dataset
at the same path, and the weights (``weights_dir``) reachable; the cache directory
should be on a shared file system for workers to skip frames cached by earlier runs.

Ray's notices that tell an rmeval user nothing (token authentication turned on for the
local instance, progress bars off with --no-progress) are kept off stderr; Ray's errors
and a failed task's own error are not. One notice stays: Ray's core worker (C++, straight
to stderr) says at each replica's start that Ray Data's replica restarts need the
constructor arguments in the object store. Only ``max_restarts=0`` (a deprecated Ray Data
argument, and no restarts on a cluster) or ``RAY_BACKEND_LOG_LEVEL`` (which hides Ray's
real errors too) would silence it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rmeval.errors import DatasetError, InvalidInputError, RmevalError

if TYPE_CHECKING:
    from rmeval.dataset import Dataset

#: Frames handed to a replica per call (each call is split into ``batch_size`` forward passes).
DEFAULT_ROWS_PER_CALL = 256
#: CPUs reserved by each frame-decoding task.
READ_TASK_CPUS = 0.5
_KEY_BYTES = 16
#: Ray's notices an rmeval user has no use for: (logger, message prefix). Dropped only while
#: rmeval starts Ray or runs its job; Ray's errors, and these loggers' other messages, pass.
_RAY_INIT_NOTICES = (
    # A new local instance turns token authentication on (the secure default) and says so.
    ("ray._private.authentication.authentication_token_setup", "Token authentication is enabled"),
)
_RAY_JOB_NOTICES = (
    # --no-progress: Ray Data says how to turn the bars back on.
    ("ray.data._internal.progress", "Progress bars disabled"),
)


@dataclass
class RayEmbedding:
    """Result of :func:`run_ray_embedding`.

    Attributes:
        embeddings: (n, D) float32 embeddings in the order of the requested rows.
        encoded: Frames the model encoded.
        cached: Frames found in the cache (frames repeating another of the call are neither
            encoded nor cached: encoded + cached <= frames).
        replicas: Model replicas used.
        device: ``cuda`` or ``cpu`` (the replicas' device type).
        store: The cache store directory the embeddings are in.
        seconds: Wall time of the Ray job.
    """

    embeddings: np.ndarray
    encoded: int
    cached: int
    replicas: int
    device: str
    store: str
    seconds: float


def import_ray() -> Any:
    """Import ray and ray.data, or raise an RmevalError saying how to install them."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise RmevalError(
            "--engine ray needs Ray Data: pip install 'rmeval[ray]' (or pip install 'ray[data]'); "
            "or use --engine local."
        ) from None
    return ray


# ----------------------------------------------------------------------------- Ray stages
def read_frames_batch(batch: dict[str, np.ndarray], *, height: int, width: int) -> dict[str, np.ndarray]:
    """Ray Data stage: decode the PNGs of a batch of paths.

    Args:
        batch: ``pos`` (B,) int64 positions in the output and ``path`` (B,) str.
        height, width: The dataset's frame size (every frame must have it).

    Returns:
        ``pos`` (B,) and ``frame`` (B, H, W, 3) uint8.
    """
    from rmeval.dataset import read_frame

    paths = [str(p) for p in batch["path"]]
    frames = np.empty((len(paths), height, width, 3), dtype=np.uint8)
    for i, path in enumerate(paths):
        frame = read_frame(path)
        if frame.shape != (height, width, 3):
            raise DatasetError(
                f"{path}: frame is {frame.shape[1]}x{frame.shape[0]} but the dataset's frames are {width}x{height}"
            )
        frames[i] = frame
    return {"pos": np.asarray(batch["pos"], dtype=np.int64), "frame": frames}


class EmbedReplica:
    """Ray Data stage: one model replica (on one GPU, or a CPU) with the embedding cache.

    Args:
        model: Model name (``NAME``, ``NAME:TAG``, ``NAME:random``, ``NAME:/path``).
        cache_dir: The embedding cache root; when a worker cannot use it, a temporary one
            (the driver then writes the cache).
        batch_size: Frames per forward pass (or ``"auto"`` on a GPU).
        precision: ``fp32``, ``fp16`` or ``bf16``.
        device: ``cuda`` or ``cpu``.
        weights_dir: Where pretrained weights are looked up on the worker.
        compile: ``torch.compile`` the image tower.
        fit: ``crop``, ``squash`` or ``pad`` (None: the model's own preprocessing).
    """

    def __init__(
        self,
        model: str,
        cache_dir: str,
        batch_size: int | str,
        precision: str,
        device: str,
        weights_dir: str | None,
        compile: bool = False,
        fit: str | None = None,
    ) -> None:
        from rmeval.cache import EmbeddingCache
        from rmeval.embedding import Embedder
        from rmeval.models import load_model

        # A failure here (weights missing on this node, unknown model) is raised from the first
        # call instead: Ray then hands the driver the exception itself, not just its text.
        self.error: RmevalError | None = None
        try:
            try:
                cache = EmbeddingCache(cache_dir)
                if not cache.writable:
                    raise RmevalError(f"{cache_dir} is read-only here")
            except RmevalError:  # not reachable (or writable) from this node: keep a private one
                cache = EmbeddingCache(tempfile.mkdtemp(prefix="rmeval-ray-cache-"))
            loaded = load_model(model, device=device, weights_dir=weights_dir)
            extra = {"compile": True} if compile else {}
            self.embedder = Embedder(loaded, batch_size=batch_size, precision=precision, cache=cache, progress=False,
                                     fit=fit, **extra)
            store = self.embedder.cache_store("image")  # the local engine's store: same key, same directory
            assert store is not None
            self.store_info = json.dumps(store.info, sort_keys=True)
        except RmevalError as exc:
            self.error = exc

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from rmeval.cache import frame_keys

        if self.error is not None:
            raise self.error
        frames = np.ascontiguousarray(batch["frame"])
        before_enc, before_hit = self.embedder.stats.encoded, self.embedder.stats.cached
        emb = self.embedder.embed_frames(frames)
        n = len(frames)
        n_enc = np.zeros(n, dtype=np.int64)
        n_hit = np.zeros(n, dtype=np.int64)
        if n:
            n_enc[0] = self.embedder.stats.encoded - before_enc
            n_hit[0] = self.embedder.stats.cached - before_hit
        keys = frame_keys(frames)
        return {
            "pos": np.asarray(batch["pos"], dtype=np.int64),
            "emb": emb,
            "key": np.frombuffer(keys.tobytes(), dtype=np.uint8).reshape(n, _KEY_BYTES),
            "n_encoded": n_enc,
            "n_cached": n_hit,
            "store_info": np.array([self.store_info] * n, dtype=object),
        }


# ----------------------------------------------------------------------------- driver
class _DropNotice(logging.Filter):
    """A logger filter that drops the records whose message starts with ``prefix``."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefix)


@contextlib.contextmanager
def _without_notices(notices: Sequence[tuple[str, str]]) -> Iterator[None]:
    """Drop the given (logger, message prefix) notices for the duration of a ``with`` block."""
    added = [(logging.getLogger(name), _DropNotice(prefix)) for name, prefix in notices]
    for logger, notice in added:
        logger.addFilter(notice)
    try:
        yield
    finally:
        for logger, notice in added:
            logger.removeFilter(notice)


@contextlib.contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[Any]:
    """Connect to Ray for the duration of a ``with`` block; yields the ``ray`` module.

    Reuses a Ray already initialised in this process (and leaves it running); otherwise
    starts a local instance (``address`` None, ``num_cpus`` CPUs) or connects to
    ``address`` (``auto``, ``ray://HEAD:10001``), and shuts it down at the end.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    init: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False}
    try:
        with _without_notices(_RAY_INIT_NOTICES):
            if address:
                ray.init(address=address, **init)
            else:
                ray.init(num_cpus=num_cpus, **init)
    except Exception as exc:  # noqa: BLE001  (ConnectionError, RuntimeError, ValueError, ...: all reported)
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RmevalError(
            f"cannot start or reach {where}: {text}. Check --ray-address (auto on a cluster node, "
            "ray://HEAD:10001 for Ray Client)."
        ) from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _cluster_resources(ray: Any) -> tuple[float, float]:
    res = ray.cluster_resources()
    return float(res.get("CPU", 0)), float(res.get("GPU", 0))


def _plan(
    ray: Any, num_gpus_per_replica: float | None, replicas: int | None
) -> tuple[float, int, str]:
    cpus, gpus = _cluster_resources(ray)
    if num_gpus_per_replica is None:
        num_gpus_per_replica = 1.0 if gpus >= 1 else 0.0
    if num_gpus_per_replica < 0:
        raise InvalidInputError(f"--num-gpus-per-replica must be >= 0, got {num_gpus_per_replica}")
    if num_gpus_per_replica > 0:
        if gpus < num_gpus_per_replica:
            raise InvalidInputError(
                f"the Ray cluster has {gpus:g} GPU(s), fewer than --num-gpus-per-replica {num_gpus_per_replica:g}; "
                "use --num-gpus-per-replica 0 for CPU replicas."
            )
        n = replicas or max(1, int(gpus // num_gpus_per_replica))
        return num_gpus_per_replica, n, "cuda"
    # CPU replicas: leave CPUs for the tasks that decode frames.
    n = replicas or max(1, min(4, int(cpus) // 2))
    return 0.0, n, "cpu"


def _quiet_ray_data(ray: Any, progress: bool) -> None:
    with warnings.catch_warnings():  # Ray's own deprecated context fields warn on first use
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = progress
    for name in ("ray.data", "ray"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _is_ray_wrapper(exc: BaseException) -> bool:
    """Ray re-raises a task's exception as a class deriving from both RayTaskError and it."""
    return any(c.__name__ in ("RayTaskError", "RayError") for c in type(exc).__mro__)


def _plain(exc: RmevalError) -> RmevalError:
    """A fresh copy of a worker's rmeval error (message only, no Ray traceback)."""
    try:
        return type(exc)(str(exc))
    except Exception:  # noqa: BLE001  (a constructor with other arguments)
        return RmevalError(str(exc))


#: A traceback's ``module.Class: message`` line at the start of a line (never ``ray.``'s own).
_EXCEPTION_LINE = re.compile(
    r"^(?!ray\.)((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt)): (.+)$", re.MULTILINE
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _failure_text(exc: BaseException) -> str:
    """What went wrong in a failed Ray job, in one line for the user.

    A task's exception reaches the driver as text inside Ray's wrapper, whose last lines
    are Ray's advice on retries; the first ``Class: message`` line is the task's own error.
    """
    text = _ANSI.sub("", str(exc)).strip()
    match = _EXCEPTION_LINE.search(text)
    if match:
        return f"{match.group(1)}: {match.group(2).strip()}"[:400]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:400]


def _from_text(text: str) -> RmevalError | None:
    """An rmeval error rebuilt from a Ray traceback's text (actor failures carry only text)."""
    from rmeval import errors

    pos = text.rfind("rmeval.errors.")
    if pos < 0:
        return None
    head, _, message = text[pos + len("rmeval.errors."):].partition(": ")
    cls = getattr(errors, head.strip(), None)
    if not (isinstance(cls, type) and issubclass(cls, RmevalError)):
        return None
    for tail in ("\n\nThe above exception", "\n\nDuring handling", "\x1b[36mray::", "\nray::"):
        message = message.split(tail, 1)[0]
    return _plain(cls(message.strip()))


def _unwrap(exc: BaseException) -> RmevalError | None:
    """The RmevalError a Ray task raised, if that is what failed."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, RmevalError) and not _is_ray_wrapper(e):
            return e
        cause = getattr(e, "cause", None)
        todo += [cause if isinstance(cause, BaseException) else None, e.__cause__, e.__context__]
    return _from_text(str(exc))


def run_ray_embedding(
    dataset: Dataset,
    model_name: str,
    *,
    cache_dir: str | Path | None = None,
    batch_size: int | str = 64,
    precision: str = "fp32",
    num_gpus_per_replica: float | None = None,
    address: str | None = None,
    rows: Sequence[int] | np.ndarray | None = None,
    replicas: int | None = None,
    rows_per_call: int = DEFAULT_ROWS_PER_CALL,
    weights_dir: str | Path | None = None,
    num_cpus: int | None = None,
    progress: bool = False,
    compile: bool = False,
    fit: str | None = None,
) -> RayEmbedding:
    """Embed a dataset's frames with one model on a Ray cluster, through the embedding cache.

    Args:
        dataset: A loaded dataset (its frame files must be readable at the same path on
            every Ray node).
        model_name: ``NAME``, ``NAME:TAG``, ``NAME:random`` or ``NAME:/path``.
        cache_dir: Embedding cache root (default: ``$RMEVAL_CACHE_DIR`` or ``~/.cache/rmeval``).
        batch_size: Frames per forward pass on a replica (``"auto"`` probes the GPU).
        precision: ``fp32``, ``fp16`` or ``bf16``.
        num_gpus_per_replica: GPUs per model replica; None: 1 when the cluster has GPUs,
            else 0 (CPU replicas).
        address: Ray cluster (``auto``, ``ray://host:10001``); None starts a local Ray
            instance unless one is running in this process already.
        rows: Dataset rows to embed (default: all), in output order.
        replicas: Model replicas (default: #GPUs / num_gpus_per_replica; on CPUs, half
            the CPUs up to 4).
        rows_per_call: Frames per Ray Data batch (read and handed to a replica at once).
        weights_dir: Where workers look for pretrained weights.
        num_cpus: CPUs of a local Ray instance started here (default: all).
        progress: Show Ray Data's progress bars.
        compile: ``torch.compile`` the image tower on each replica.
        fit: ``crop``, ``squash`` or ``pad`` (None: the model's own preprocessing).

    Returns:
        :class:`RayEmbedding` with (n, D) float32 embeddings in the order of ``rows``.

    Raises:
        RmevalError: Ray missing or the cluster unreachable; any rmeval error raised on a
            worker (unknown model, weights unavailable, bad frame) with its message.
    """
    from rmeval.cache import EmbeddingCache
    from rmeval.embedding import PRECISIONS
    from rmeval.registry import parse_model

    import_ray()
    ref = parse_model(model_name)  # fail on a bad name before any cluster work
    if precision not in PRECISIONS:
        raise InvalidInputError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if batch_size != "auto" and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise InvalidInputError(f"--batch-size must be a positive integer or 'auto', got {batch_size!r}")
    if rows_per_call < 1:
        raise InvalidInputError(f"rows per call must be a positive integer, got {rows_per_call}")
    cache = EmbeddingCache(cache_dir)  # the driver's cache: created (and checked writable) now
    positions = np.arange(len(dataset)) if rows is None else np.asarray(rows, dtype=np.int64)
    paths = [str(p.resolve()) for p in dataset.frame_paths(positions)]
    height, width = dataset.frame_size

    with ray_session(address, num_cpus=num_cpus) as ray:
        _quiet_ray_data(ray, progress)
        gpus_each, n_replicas, device = _plan(ray, num_gpus_per_replica, replicas)
        t0 = time.perf_counter()
        n = len(paths)
        out = np.zeros((0, 0), dtype=np.float32)
        keys = np.zeros((n, _KEY_BYTES), dtype=np.uint8)
        got = np.zeros(n, dtype=bool)
        encoded = cached = 0
        store_info = ""
        if n:
            items = [{"pos": i, "path": p} for i, p in enumerate(paths)]
            ds = ray.data.from_items(items, override_num_blocks=max(1, min(n, -(-n // rows_per_call))))
            # Decoding runs in its own tasks (half a CPU each): resource requirements that
            # differ from the replicas' keep Ray Data from fusing the two stages into the actors.
            ds = ds.map_batches(
                read_frames_batch, batch_size=rows_per_call, num_cpus=READ_TASK_CPUS,
                fn_kwargs={"height": height, "width": width},
            )
            ds = ds.map_batches(
                EmbedReplica,
                batch_size=rows_per_call,
                compute=ray.data.ActorPoolStrategy(size=n_replicas),
                num_gpus=gpus_each if gpus_each > 0 else None,
                num_cpus=None if gpus_each > 0 else 1,
                fn_constructor_kwargs={
                    "model": ref.id,
                    "cache_dir": str(cache.root.resolve()),
                    "batch_size": batch_size,
                    "precision": precision,
                    "device": device,
                    "weights_dir": str(weights_dir) if weights_dir is not None else None,
                    "compile": compile,
                    "fit": fit,
                },
            )
            try:
                with _without_notices(_RAY_JOB_NOTICES):
                    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                        pos = batch["pos"]
                        emb = batch["emb"]
                        if out.size == 0:
                            out = np.empty((n, emb.shape[1]), dtype=np.float32)
                        out[pos] = emb
                        keys[pos] = batch["key"]
                        got[pos] = True
                        encoded += int(batch["n_encoded"].sum())
                        cached += int(batch["n_cached"].sum())
                        if not store_info and len(batch["store_info"]):
                            store_info = str(batch["store_info"][0])
            except Exception as exc:  # noqa: BLE001  (whatever failed in the job is reported below)
                inner = _unwrap(exc)
                if inner is not None:
                    raise _plain(inner) from None
                raise RmevalError(f"the Ray embedding job failed: {_failure_text(exc)}") from None
            if not got.all():
                raise RmevalError(f"the Ray embedding job returned {int(got.sum())} of {n} frames")
        seconds = time.perf_counter() - t0

    store_dir = ""
    if n:
        info = json.loads(store_info)
        dim = int(info["dim"])
        fields = {k: v for k, v in info.items() if k not in ("format", "kind", "dim", "name")}
        store = cache.store("image", str(info.get("name", ref.id)), fields, dim)
        store.refresh()
        key_arr = np.frombuffer(keys.tobytes(), dtype=f"S{_KEY_BYTES}")
        store.add(key_arr, out)  # writes only keys the workers' shards did not already hold
        store_dir = str(store.directory)
    else:
        out = np.zeros((0, 0), dtype=np.float32)
    return RayEmbedding(out, encoded, cached, n_replicas, device, store_dir, round(seconds, 3))


def embed_dataset_ray(
    dataset: Dataset,
    model_name: str,
    *,
    cache_dir: str | Path | None,
    batch_size: int | str,
    precision: str,
    num_gpus_per_replica: float | None,
    address: str | None = None,
    rows: Sequence[int] | np.ndarray | None = None,
    **kwargs: Any,
) -> np.ndarray:
    """Like :meth:`rmeval.embedding.Embedder.embed_dataset`, on Ray: (n, D) float32 embeddings.

    See :func:`run_ray_embedding` for the arguments; this returns only the embeddings.
    """
    return run_ray_embedding(
        dataset, model_name, cache_dir=cache_dir, batch_size=batch_size, precision=precision,
        num_gpus_per_replica=num_gpus_per_replica, address=address, rows=rows, **kwargs,
    ).embeddings
