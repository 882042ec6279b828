"""Benchmark: Humanoid frames per second (physics step + render) on this machine.

Runs rollouts of ``rmeval/Humanoid-v0`` with random actions, rendering every step, in 1
and in N worker processes (each with its own environment and OpenGL context), at each
frame size. Prints the machine (CPU model, cores, OpenGL renderer) and, per
configuration, the aggregate frames per second, the per-worker rate, and the physics-only
rate for comparison.

    python benchmarks/bench_render.py                    # 224 and 480, 1 and all cores
    python benchmarks/bench_render.py --sizes 224 --workers 1 2 4 --frames 300
    python benchmarks/bench_render.py --look original --camera tracking --quality fine

Frames are rendered with the default look unless told otherwise (textured, fixed camera,
``quality="fast"``: no shadows, no multisampling).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import cpu_model, load_average, usable_cores


def _gl_strings() -> dict[str, str]:
    """GL vendor/renderer/version of the current context (needs PyOpenGL)."""
    try:
        from OpenGL import GL

        return {
            "vendor": GL.glGetString(GL.GL_VENDOR).decode(),
            "renderer": GL.glGetString(GL.GL_RENDERER).decode(),
            "version": GL.glGetString(GL.GL_VERSION).decode(),
        }
    except Exception as exc:  # noqa: BLE001
        return {"renderer": f"unknown ({type(exc).__name__})"}


def _worker(
    index: int, size: int, frames: int, options: dict[str, Any], lp_threads: int | None, barrier: Any, queue: Any
) -> None:
    os.environ.setdefault("MUJOCO_GL", "egl")
    if lp_threads is not None:  # before the GL library loads
        os.environ["LP_NUM_THREADS"] = str(lp_threads)
    import gymnasium as gym
    import numpy as np

    import rmeval.envs.registration  # noqa: F401

    env = gym.make("rmeval/Humanoid-v0", width=size, height=size, **options)
    env.reset(seed=index)
    env.action_space.seed(index)
    for _ in range(5):  # warm up: context creation, first frames
        env.step(env.action_space.sample())
        env.render()
    gl = _gl_strings() if index == 0 else {}

    barrier.wait()
    start = time.perf_counter()
    checksum = 0
    for _ in range(frames):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        frame = env.render()
        checksum += int(frame[size // 2, size // 2, 1])
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start

    # physics alone, for comparison
    physics_steps = 4 * frames
    start = time.perf_counter()
    for _ in range(physics_steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    physics_elapsed = time.perf_counter() - start
    env.close()
    queue.put(
        {
            "index": index,
            "frames": frames,
            "elapsed": elapsed,
            "physics_rate": physics_steps / physics_elapsed,
            "gl": gl,
            "checksum": int(np.int64(checksum)),
        }
    )


def run(size: int, workers: int, frames: int, options: dict[str, Any], lp_threads: int | None = None) -> dict[str, Any]:
    """Aggregate and per-worker rates of ``workers`` processes rendering ``frames`` each."""
    ctx = mp.get_context("spawn")  # a fresh interpreter per worker: no inherited GL state
    barrier = ctx.Barrier(workers)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(i, size, frames, options, lp_threads, barrier, queue)) for i in range(workers)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=1200) for _ in procs]
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"a benchmark worker failed (exit code {proc.exitcode})")
    total_frames = sum(r["frames"] for r in results)
    wall = max(r["elapsed"] for r in results)
    per_worker = [r["frames"] / r["elapsed"] for r in results]
    gl = next((r["gl"] for r in results if r["gl"]), {})
    return {
        "size": size,
        "workers": workers,
        "fps": total_frames / wall,
        "per_worker": sum(per_worker) / len(per_worker),
        "physics": sum(r["physics_rate"] for r in results) / len(results),
        "gl": gl,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 480], help="square frame sizes")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=None, help="worker counts (default: 1 and the usable cores)"
    )
    parser.add_argument("--frames", type=int, default=400, help="frames per worker per configuration")
    parser.add_argument("--look", default="textured", choices=["textured", "original"])
    parser.add_argument("--camera", default="fixed", choices=["fixed", "tracking"])
    parser.add_argument("--quality", default="fast", choices=["fast", "fine"])
    parser.add_argument(
        "--lp-threads",
        type=int,
        default=None,
        help="LP_NUM_THREADS for each worker: Mesa llvmpipe's rasteriser threads (default: Mesa's, one per core)",
    )
    args = parser.parse_args(argv)

    cores = usable_cores()
    workers = args.workers or sorted({1, cores})
    options = {"look": args.look, "camera": args.camera, "quality": args.quality}
    os.environ.setdefault("MUJOCO_GL", "egl")
    import gymnasium
    import mujoco

    print("rmeval Humanoid render benchmark")
    print(f"  CPU:       {cpu_model()}")
    print(f"  cores:     {cores} usable ({os.cpu_count()} logical)")
    print(f"  platform:  {platform.platform()}, Python {platform.python_version()}")
    print(f"  mujoco {mujoco.__version__}, gymnasium {gymnasium.__version__}, MUJOCO_GL={os.environ['MUJOCO_GL']}")
    print(f"  env:       rmeval/Humanoid-v0 {options}, random actions, step + render every frame")
    print(f"  frames:    {args.frames} per worker per configuration")
    lp = args.lp_threads if args.lp_threads is not None else os.environ.get("LP_NUM_THREADS", "Mesa default (one per core)")
    print(f"  llvmpipe:  LP_NUM_THREADS={lp}")
    print(f"  load avg:  {load_average(' ')} (before)")
    rows = []
    for size in args.sizes:
        for n in workers:
            result = run(size, n, args.frames, options, args.lp_threads)
            rows.append(result)
            if len(rows) == 1 and result["gl"]:
                gl = result["gl"]
                print(f"  OpenGL:    {gl.get('renderer')} | {gl.get('version', '')}")
                print()
                print(f"  {'size':>9} {'workers':>7} {'frames/s':>9} {'per worker':>10} {'physics-only steps/s':>21}")
            print(
                f"  {size:>4}x{size:<4} {n:>7} {result['fps']:>9.1f} {result['per_worker']:>10.1f}"
                f" {result['physics']:>21.0f}",
                flush=True,
            )
    print(f"  load avg:  {load_average(' ')} (after; other processes on the machine skew the figures)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
