"""Benchmark Lemma 1 EPIC and its bootstrap CI on synthetic CLIP-like rewards.

Usage::

    python benchmarks/bench_epic.py                       # N = 1,000,000, 11 alphas, 1000 resamples
    python benchmarks/bench_epic.py --n 10000 --resamples 50   # a quick smoke run

Rewards are K rows (one per alpha) of about 0.25 +- 0.01, shifted up on goal frames by an
amount that grows with alpha, as CLIP rewards are; 20% of the frames are goal frames.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import cpu_model, load_average, usable_cores

from rmeval.epic import epic_bootstrap_ci, epic_from_labels


def synthetic(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(k, n) float32 CLIP-like rewards and (n,) bool labels."""
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.2
    shift = np.linspace(0.3, 1.2, k, dtype=np.float32)[:, None]
    noise = rng.standard_normal((k, n), dtype=np.float32)
    rewards = np.float32(0.25) + np.float32(0.01) * (noise + shift * labels)
    return rewards, labels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="labelled frames N")
    parser.add_argument("--alphas", type=int, default=11, help="reward rows K (one per alpha)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="time the bootstrap this many times; report the best")
    args = parser.parse_args(argv)

    print(f"machine: {cpu_model()}, {usable_cores()} usable cores (os.cpu_count {os.cpu_count()})")
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    print(f"load average before: {load_average()} (other processes on the machine slow the timings)")
    print(f"data: N = {args.n:,} frames x K = {args.alphas} alphas, {args.resamples} resamples, seed {args.seed}")

    t0 = time.perf_counter()
    rewards, labels = synthetic(args.n, args.alphas, args.seed)
    print(f"synthetic data: {time.perf_counter() - t0:.2f} s (float32 rewards, {labels.mean():.1%} goal)")

    t0 = time.perf_counter()
    epic = epic_from_labels(rewards, labels)
    t_point = time.perf_counter() - t0
    print(f"epic_from_labels, all {args.alphas} alphas: {t_point:.3f} s")

    times = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        low, high = epic_bootstrap_ci(rewards, labels, n_resamples=args.resamples, seed=args.seed)
        times.append(time.perf_counter() - t0)
    t_boot = min(times)
    rate = args.resamples * args.alphas / t_boot
    runs = "" if len(times) == 1 else f" (best of {len(times)}: {', '.join(f'{t:.2f}' for t in times)} s)"
    print(f"epic_bootstrap_ci, {args.resamples} resamples x {args.alphas} alphas: {t_boot:.2f} s{runs} "
          f"({rate:,.0f} resamples*alphas/s; {t_boot / args.resamples * 1e3:.1f} ms per resample)")
    print(f"load average after: {load_average()}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak resident memory: {peak:,.0f} MiB")
    shown = sorted({0, args.alphas // 2, args.alphas - 1})
    for k in shown:
        print(f"  alpha row {k}: EPIC {epic[k]:.4f}, 95% CI [{low[k]:.4f}, {high[k]:.4f}]")


if __name__ == "__main__":
    main()
