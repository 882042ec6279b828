"""Benchmark every ``rmeval bench`` metric for many models x datasets x alphas.

Usage::

    python benchmarks/bench_metrics.py                      # 10 models x 6 datasets x 11 alphas, 1000 resamples
    python benchmarks/bench_metrics.py --models 2 --alphas 3 --resamples 50   # a quick smoke run

What ``rmeval bench`` does after the embeddings come from a warm cache: for each model and
dataset, every metric the dataset supports (success detection and EPIC, value-order
correlation, progress correlation, policy ranking, preference accuracy) and, per model, the
task confusion matrices (AUROC and EPIC) of the Humanoid task sets -- all with bootstrap
intervals, for every alpha. The datasets are the six bundled ones the structure comes from
(labels, episodes, policies, progress); the rewards are synthetic (seeded), one (K, N)
array per model and dataset, as a warm cache would hand them over.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import cpu_model, load_average, usable_cores

from rmeval.bench import BenchJob, confusion_groups, dataset_metrics, describe
from rmeval.dataset import load_dataset
from rmeval.metrics import task_confusion

DATASETS = ("mountaincar-policies", "humanoid-poses-kneeling", "humanoid-poses-standing-up",
            "humanoid-poses-arms-raised", "cartpole-angle", "mountaincar-textured")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--alphas", type=int, default=11)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args(argv)
    print(f"machine: {cpu_model()}, {usable_cores()} usable cores (os.cpu_count {os.cpu_count()})")
    print(f"load average before: {load_average()}")
    root = Path(__file__).resolve().parents[1] / "datasets"
    roles = [describe(load_dataset(root / name)) for name in DATASETS]
    groups = confusion_groups(roles)
    job = BenchJob(alphas=list(np.linspace(0, 1, args.alphas)), n_resamples=args.resamples)
    rng = np.random.default_rng(0)
    rewards = {(m, r.name): 0.25 + 0.01 * rng.standard_normal((args.alphas, len(r.dataset)))
               for m in range(args.models) for r in roles}
    skipped: list[dict[str, str]] = []
    t0 = time.perf_counter()
    rows = 0
    for m in range(args.models):
        for role in roles:
            base = {"model": f"m{m}", "random_weights": True, "dataset": role.name, "prompt_task": "", "detail": ""}
            rows += len(dataset_metrics(role, rewards[(m, role.name)], job, base, skipped))
    t_frames = time.perf_counter() - t0
    t1 = time.perf_counter()
    n_conf = 0
    for members in groups.values():
        labels = [r.labels for r in members]
        tasks = [r.name for r in members]
        for m in range(args.models):
            cells = [[rewards[(m, rj.name)][:, rj.labelled] + 0.001 * i for rj in members] for i in range(len(members))]
            for metric in ("auroc", "epic"):
                task_confusion(cells, labels, tasks, metric=metric, **job.boot)  # K matrices from one resampling
                n_conf += args.alphas
    t_conf = time.perf_counter() - t1
    total = t_frames + t_conf
    print(f"{args.models} models x {len(roles)} datasets x {args.alphas} alphas, {args.resamples} resamples")
    print(f"per-dataset metrics: {rows} values in {t_frames:.2f} s ({len(skipped)} skipped)")
    print(f"task confusion: {n_conf} matrices in {t_conf:.2f} s")
    print(f"total: {total:.2f} s")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
