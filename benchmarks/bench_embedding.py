r"""Embedding throughput: rmeval's batched tensor path against the naive per-image path.

Full path: uint8 frames (N, H, W, 3) -> tensor preprocessing on the device -> encode_image,
in batches (the cache is off, so every frame is encoded). Naive path: per image, PIL
conversion, open_clip's own preprocess transform, one image per forward call.

Frames are real CartPole renders (600x400) from the bundled datasets/cartpole-angle.

CPU (what benchmarks/README.md records):
    python benchmarks/bench_embedding.py
GPU (also measures the bf16 matmul rate and the share of it the embedding reaches):
    python benchmarks/bench_embedding.py --device cuda --precision bf16 \
        --models ViT-L-14:random,ViT-bigG-14:random --batch-sizes 256 --frames 2048 --naive-frames 0 --matmul
From frames on disk to embeddings in the cache (a cold, temporary cache), on 224x224
PNGs (benchmarks/make_frames.py writes distinct ones from the bundled Humanoid datasets):
    python benchmarks/make_frames.py /tmp/humanoid-8k --frames 8192
    python benchmarks/bench_embedding.py --device cuda --precision bf16 --models ViT-L-14:random \
        --batch-sizes 256 --dataset /tmp/humanoid-8k --matmul
The reading side alone (decode + hash threads, no model), e.g. to see how many cores
feed a given embedding rate:
    python benchmarks/bench_embedding.py --dataset /tmp/humanoid-8k --io-only
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from machine import torch_machine

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
BUNDLED_CARTPOLE = Path(__file__).resolve().parents[1] / "datasets" / "cartpole-angle"


def cartpole_frames(n: int) -> np.ndarray:
    """n frames (600x400 CartPole renders) from the bundled dataset, repeated as needed."""
    from rmeval.dataset import load_dataset

    ds = load_dataset(BUNDLED_CARTPOLE)
    base = ds.read_frames(range(min(len(ds), n)), workers=os.cpu_count() or 4)
    reps = int(np.ceil(n / len(base)))
    return np.concatenate([base] * reps)[:n]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_full(embedder, frames: np.ndarray) -> float:
    embedder.encode_batch(frames[: embedder.batch_size])  # warm-up
    sync(embedder.model.device)
    t0 = time.perf_counter()
    embedder.embed_frames(frames)
    sync(embedder.model.device)
    return len(frames) / (time.perf_counter() - t0)


@torch.inference_mode()
def bench_naive(loaded, frames: np.ndarray) -> float:
    import open_clip
    from PIL import Image

    cfg = loaded.preprocess
    tf = open_clip.image_transform(cfg.size[0], is_train=False, mean=cfg.mean, std=cfg.std,
                                   interpolation=cfg.interpolation, resize_mode=cfg.resize_mode)
    loaded.model.encode_image(tf(Image.fromarray(frames[0]))[None].to(loaded.device))
    sync(loaded.device)
    t0 = time.perf_counter()
    for f in frames:
        loaded.model.encode_image(tf(Image.fromarray(f))[None].to(loaded.device))
    sync(loaded.device)
    return len(frames) / (time.perf_counter() - t0)


def matmul_tflops(device: torch.device, dtype: torch.dtype, n: int = 8192, iters: int = 50) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    t0 = time.perf_counter()
    for _ in range(iters):
        a @ b
    sync(device)
    return 2 * n**3 * iters / (time.perf_counter() - t0) / 1e12


def bench_io(path: str, workers: list[int]) -> None:
    """The reading side of disk -> cache alone: decode (PIL) and hash frames, as the Embedder does."""
    from rmeval.cache import frame_keys
    from rmeval.dataset import load_dataset

    ds = load_dataset(path)
    print(f"dataset {ds.name}: {len(ds)} frames of {ds.frame_size[1]}x{ds.frame_size[0]}, read + decode + hash only")
    print(f"{'workers':>8}{'read fps':>11}{'hash fps':>11}{'both fps':>11}")
    ds.read_frames(range(min(len(ds), 256)))  # warm the page cache
    for w in workers:
        t0 = time.perf_counter()
        frames = ds.read_frames(workers=w)
        t1 = time.perf_counter()
        frame_keys(frames, workers=w)
        t2 = time.perf_counter()
        n = len(frames)
        print(f"{w:>8}{n / (t1 - t0):>11.1f}{n / (t2 - t1):>11.1f}{n / (t2 - t0):>11.1f}")


def bench_disk_to_cache(args: argparse.Namespace, batch_sizes: list, peak: float | None) -> None:
    """Frames on disk -> decode -> hash -> preprocess -> encode -> cache shard, with a cold cache."""
    import tempfile

    from rmeval.cache import EmbeddingCache
    from rmeval.dataset import load_dataset
    from rmeval.embedding import Embedder
    from rmeval.models import load_model

    ds = load_dataset(args.dataset)
    print(f"dataset {ds.name}: {len(ds)} frames of {ds.frame_size[1]}x{ds.frame_size[0]}, disk -> cache")
    print(f"{'model':<22}{'batch':>6}{'frames':>8}{'fps':>11}{'share':>8}")
    for name in args.models.split(","):
        loaded = load_model(name, device=args.device)
        for bs in batch_sizes:
            with tempfile.TemporaryDirectory() as tmp:
                emb = Embedder(loaded, batch_size=bs, precision=args.precision, cache=EmbeddingCache(tmp),
                               compile=args.compile, read_workers=args.read_workers or None)
                emb.encode_batch(ds.read_frames(range(min(len(ds), emb.batch_size))))  # warm-up (and compile)
                sync(loaded.device)
                t0 = time.perf_counter()
                emb.embed_dataset(ds)
                sync(loaded.device)
                fps = len(ds) / (time.perf_counter() - t0)
            share = ""
            if peak and loaded.ref.spec:
                share = f"{fps * loaded.ref.spec.image_gflops * 1e9 / (peak * 1e12):.0%}"
            print(f"{loaded.ref.id:<22}{emb.batch_size:>6}{len(ds):>8}{fps:>11.1f}{share:>8}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="rmeval-tiny,ViT-B-32:random")
    p.add_argument("--batch-sizes", default="32,128")
    p.add_argument("--frames", type=int, default=0, help="frames per full-path run (default: per model)")
    p.add_argument("--naive-frames", type=int, default=-1, help="frames for the naive path (0: skip)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"])
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    p.add_argument("--matmul", action="store_true", help="measure the matmul rate and report the share reached")
    p.add_argument("--compile", action="store_true", help="torch.compile the image tower (compiled before timing)")
    p.add_argument("--read-workers", type=int, default=0, help="decode/hash threads (default: the Embedder's)")
    p.add_argument("--io-only", action="store_true",
                   help="with --dataset: time only reading, decoding and hashing frames (no model)")
    p.add_argument("--dataset", default=None,
                   help="measure the disk-to-cache path on this dataset (cold temporary cache) instead of frames in memory")
    args = p.parse_args()
    if args.read_workers < 0:
        p.error(f"--read-workers must be >= 1 (or 0 for the default), got {args.read_workers}")
    if args.threads:
        torch.set_num_threads(args.threads)

    from rmeval.embedding import Embedder
    from rmeval.models import load_model

    device = torch.device(args.device)
    print(f"machine: {torch_machine()}")
    print(f"device {device}, precision {args.precision}")
    peak = None
    if args.matmul:
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.precision]
        n = 8192 if device.type == "cuda" else 1024
        peak = matmul_tflops(device, dtype, n=n, iters=50 if device.type == "cuda" else 5)
        print(f"measured {args.precision} matmul ({n}x{n}): {peak:.1f} TFLOP/s")
    batch_sizes = [b if b == "auto" else int(b) for b in args.batch_sizes.split(",")]
    if args.io_only:
        if not args.dataset:
            p.error("--io-only needs --dataset DIR")
        bench_io(args.dataset, [args.read_workers] if args.read_workers else sorted({1, 2, 4, 8, os.cpu_count() or 1}))
        return
    if args.dataset:
        bench_disk_to_cache(args, batch_sizes, peak)
        return
    print(f"{'model':<22}{'batch':>6}{'frames':>8}{'full fps':>11}{'naive fps':>11}{'ratio':>8}{'share':>8}")
    for name in args.models.split(","):
        loaded = load_model(name, device=device)
        tiny = loaded.n_params < 10e6
        n_full = args.frames or (2048 if tiny else 256)
        n_naive = (256 if tiny else 32) if args.naive_frames < 0 else args.naive_frames
        frames = cartpole_frames(max(n_full, n_naive))
        naive = bench_naive(loaded, frames[:n_naive]) if n_naive else float("nan")
        for bs in batch_sizes:
            emb = Embedder(loaded, batch_size=bs, precision=args.precision, compile=args.compile)
            fps = bench_full(emb, frames[:n_full])
            share = ""
            if peak and loaded.ref.spec:
                share = f"{fps * loaded.ref.spec.image_gflops * 1e9 / (peak * 1e12):.0%}"
            print(f"{loaded.ref.id:<22}{bs:>6}{n_full:>8}{fps:>11.1f}{naive:>11.1f}{fps / naive:>8.1f}{share:>8}")
        del loaded


if __name__ == "__main__":
    main()
