r"""Reward-model throughput by torch thread count, with and without competing busy processes.

Training scores frames in small batches (one per ``--reward-batch``); when environment
workers or other programs share the cores, torch's thread pool waits for its slowest thread
at every parallel region, and many threads can be far slower than one. This script scores
CartPole frames with ``rmeval-tiny`` (random weights: throughput only) in batches of
``--batch`` frames for each ``--threads`` value, first on an otherwise idle process set and
then with ``--load`` busy-looping processes started beside it (standing in for
environment workers), and prints frames/s with the machine's load average.

    python benchmarks/bench_reward_threads.py --threads 1,2 --load 2
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import numpy as np
from machine import load_average, torch_machine, usable_cores


def _spin(stop: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def frames_per_s(threads: int, batch: int, seconds: float) -> float:
    from rmeval.envs.cartpole import CartPoleStateRenderer
    from rmeval.models import load_model
    from rmeval.training.reward_models import VLMReward

    model = load_model("rmeval-tiny", device="cpu")
    reward = VLMReward(model, ["pole vertically upright on top of the cart"], threads=threads)
    rng = np.random.default_rng(0)
    with CartPoleStateRenderer() as r:
        frames = np.stack([r.render({"x": float(rng.uniform(-2, 2)), "x_dot": 0.0,
                                     "angle": float(rng.uniform(-0.2, 0.2)), "angle_dot": 0.0})
                           for _ in range(batch)])
    reward(frames)  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        reward(frames)
        n += len(frames)
    return n / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", default=f"1,{usable_cores()}", help="comma-separated thread counts")
    p.add_argument("--batch", type=int, default=20, help="frames per reward call (default: 20)")
    p.add_argument("--load", type=int, default=usable_cores(), help="busy processes beside it (default: one per core)")
    p.add_argument("--seconds", type=float, default=5.0, help="seconds per measurement (default: 5)")
    args = p.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    print(f"machine: {torch_machine()}; usable cores {usable_cores()}; batch {args.batch}")
    for busy in (0, args.load):
        stop = mp.Event()
        procs = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(busy)]
        for proc in procs:
            proc.start()
        try:
            for t in counts:
                fps = frames_per_s(t, args.batch, args.seconds)
                print(f"busy processes {busy}  threads {t}: {fps:8.0f} frames/s   (load average {load_average()})")
        finally:
            stop.set()
            for proc in procs:
                proc.join()


if __name__ == "__main__":
    main()
