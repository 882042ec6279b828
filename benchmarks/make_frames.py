"""Write a dataset of many distinct 224x224 PNG frames for the disk -> cache benchmark.

The frames are the bundled Humanoid renders (datasets/humanoid-poses-*, 224x224 PNGs),
each also mirrored and shifted sideways by a few pixels, so every frame has its own
content (the embedding cache would otherwise find repeats) and compresses like a real
render. No MuJoCo or OpenGL is needed, so this runs anywhere rmeval's dataset module runs.

    python benchmarks/make_frames.py /tmp/humanoid-8k --frames 8192
    python benchmarks/bench_embedding.py --dataset /tmp/humanoid-8k --io-only
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

DATASETS = Path(__file__).resolve().parents[1] / "datasets"
SOURCES = ("humanoid-poses-kneeling", "humanoid-poses-standing-up", "humanoid-poses-arms-raised")


def variant(frame: np.ndarray, k: int) -> np.ndarray:
    """Variant k of a frame: k = 0 is the frame itself; odd k mirrored; shifted by k // 2 pixels."""
    out = frame[:, ::-1] if k % 2 else frame
    return np.roll(out, k // 2, axis=1)


def make_frames(out: Path, n: int, *, overwrite: bool = False) -> None:
    """Write ``n`` distinct frames to the dataset ``out`` (atomic: nothing is left on failure)."""
    from rmeval.cache import frame_keys
    from rmeval.dataset import DatasetMetadata, load_dataset, write_dataset
    from rmeval.errors import InvalidInputError

    base = np.concatenate([load_dataset(DATASETS / name).read_frames(workers=4) for name in SOURCES])
    most = len(base) * 2 * base.shape[2]
    if not 1 <= n <= most:
        raise InvalidInputError(f"--frames {n}: give between 1 and {most} (the distinct variants there are)")

    def frames() -> Iterator[np.ndarray]:
        seen: set[bytes] = set()
        for i in range(n):
            frame = variant(base[i % len(base)], i // len(base))
            key = frame_keys(frame[None])[0]
            if key in seen:  # write_dataset then removes what it wrote
                raise InvalidInputError(f"variant {i} repeats an earlier frame; use fewer --frames")
            seen.add(key)
            yield frame

    index = pd.DataFrame({"episode": np.zeros(n, dtype=int), "step": np.arange(n),
                          "label": pd.array([pd.NA] * n, dtype="Int8")})
    meta = DatasetMetadata(
        env="rmeval/Humanoid-v0", task="benchmark", goal_prompts=["a humanoid robot kneeling"],
        baseline_prompts=["a humanoid robot"], name=out.name,
        description=f"{n} distinct 224x224 frames derived from the bundled Humanoid datasets (benchmarks/make_frames.py)",
    )
    write_dataset(out, frames(), index, meta, overwrite=overwrite)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path, help="dataset directory to write")
    p.add_argument("--frames", type=int, default=8192)
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args()
    from rmeval.errors import RmevalError

    t0 = time.perf_counter()
    try:
        make_frames(args.out, args.frames, overwrite=args.overwrite)
    except RmevalError as exc:
        raise SystemExit(f"make_frames.py: {exc}") from None
    size = sum(f.stat().st_size for f in (args.out / "frames").iterdir())
    print(f"wrote {args.frames} frames to {args.out} ({size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
