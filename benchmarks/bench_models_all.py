"""Wall time of `rmeval models --all` (offline) and of counting sizes on the meta device.

    python benchmarks/bench_models_all.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    walls = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rmeval", "models", "--all"], check=True, capture_output=True, env=env)
        walls.append(time.perf_counter() - t0)
    print(f"rmeval models --all: {min(walls):.2f} s best, {max(walls):.2f} s worst of {args.repeat}")
    from rmeval.sizes import count_size

    for arch in ("ViT-B-32", "ViT-bigG-14", "ViT-B-16-SigLIP2", "PE-Core-L-14-336"):
        t0 = time.perf_counter()
        size = count_size(arch)
        print(f"count_size({arch}): {time.perf_counter() - t0:.2f} s -> {size.params_m:,.1f}M params, "
              f"{size.image_gflops:,.1f} image GFLOPs")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
