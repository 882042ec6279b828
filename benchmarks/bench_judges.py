"""Benchmark generative judges (judge: models): frames/s of log p(yes) - log p(no).

Usage::

    python benchmarks/bench_judges.py                          # tiny random judge on the CPU
    python benchmarks/bench_judges.py --config llava-small --device cuda --precision bf16 --batch-sizes 16,64

Builds the random judge offline (into a temporary cache), then times the processor plus
one forward pass per batch on distinct random frames (--size px square), without the
score cache; then once more through the cache (a second run costs only frame hashing).
The numbers are speeds of the architecture; random weights say nothing about a judge's
quality.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import cpu_model, load_average, usable_cores

from rmeval.judges import load_judge


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="rmeval-tiny-judge", help="judge config to build with random weights")
    ap.add_argument("--frames", type=int, default=256)
    ap.add_argument("--size", type=int, default=224, help="frame side in pixels (default: 224)")
    ap.add_argument("--batch-sizes", default="1,16,64")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"])
    args = ap.parse_args()

    import torch

    frames = np.random.default_rng(0).integers(0, 256, (args.frames, args.size, args.size, 3), dtype=np.uint8)
    goal = ["pole vertically upright on top of the cart"]
    print(f"machine: {cpu_model()}, {usable_cores()} usable cores, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, load average {load_average()} (before)")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        judge = load_judge(f"judge:{args.config}:random", device=args.device, precision=args.precision,
                           cache_dir=tmp, batch_size=1)
        print(f"judge:{args.config}:random  {judge.parameter_count():,} parameters, built and loaded in "
              f"{time.perf_counter() - t0:.1f} s on {judge.device} ({args.precision}); "
              f"{args.frames} frames of {args.size}x{args.size}")
        print(f"{'batch':>6} {'frames/s':>10} {'ms/frame':>9}")
        judge.cache = None
        for bs in [int(b) for b in args.batch_sizes.split(",")]:
            judge.batch_size = bs
            judge.frame_rewards(frames[: min(bs, len(frames))], goal, [])  # warm-up
            if judge.device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            judge.frame_rewards(frames, goal, [])
            if judge.device.type == "cuda":
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            print(f"{bs:>6} {args.frames / dt:>10.1f} {1000 * dt / args.frames:>9.2f}")
        from rmeval.judges.cache import JudgeCache

        judge.cache = JudgeCache(tmp)
        judge.frame_rewards(frames, goal, [])
        t0 = time.perf_counter()
        judge.frame_rewards(frames, goal, [])
        dt = time.perf_counter() - t0
        print(f"second run through the score cache: {args.frames / dt:,.0f} frames/s (hashing only)")
    print(f"load average {load_average()} (after)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
