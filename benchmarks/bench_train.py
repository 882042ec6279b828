r"""Training-loop throughput: environment steps per second with and without a VLM reward.

Runs rmeval's training loop (the ``quick`` preset: 50 updates every 100 steps after the
first 100) for the same number of steps with the ground-truth reward, with
``rmeval-tiny`` and with a random-weight ``ViT-B-32``, and reports steps/s and the cost of
the VLM reward as a ratio to the ground-truth loop (``slowdown_vs_gt``). ``reward_s`` is
the time spent in the reward model (embedding and reward arithmetic), ``render_s`` the rest
of what the VLM loop adds over the ground-truth loop (rendering frames, moving them). The VLM
runs render every frame (in the training process for
``--envs 1``, in worker processes otherwise) and embed it in batches of one update round.

CPU (what benchmarks/README.md records):
    python benchmarks/bench_train.py
GPU (the reward model and the agent on the GPU, bf16 autocast for the reward model):
    python benchmarks/bench_train.py --device cuda --precision bf16 \
        --rewards ground-truth,rmeval-tiny,ViT-B-32:random,ViT-L-14:random --steps 2000
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from machine import torch_machine

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def bench(env: str, reward: str, steps: int, args: argparse.Namespace, root: Path) -> dict[str, float | str | int]:
    from rmeval.training.config import new_config
    from rmeval.training.trainer import train

    task = "kneeling" if env == "humanoid" else None
    vlm = reward != "ground-truth"
    cfg = new_config(
        env,
        task=task,
        preset="quick",
        reward="vlm" if vlm else "ground-truth",
        model=reward if vlm else None,
        total_steps=steps,
        checkpoint_every=steps,
        n_envs=args.envs,
        embed_batch_size=args.batch_size,
        precision=args.precision,
        device=args.device,
    )
    out = root / f"{env}-{reward.replace(':', '-')}"
    t0 = time.perf_counter()
    result = train(cfg, out, log=lambda s: None)
    total = time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    return {
        "env": env,
        "reward": reward,
        "steps": result.steps,
        "loop_s": result.wall_time_s,
        "steps_per_s": result.steps / result.wall_time_s,
        "reward_s": result.reward_seconds,
        "reward_frames_per_s": (result.frames_scored / result.reward_seconds) if result.reward_seconds else float("nan"),
        "setup_s": total - result.wall_time_s,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs-list", default="cartpole,humanoid", help="environments (default: cartpole,humanoid)")
    p.add_argument("--rewards", default="ground-truth,rmeval-tiny,ViT-B-32:random",
                   help="rewards: ground-truth or model names (default: ground-truth,rmeval-tiny,ViT-B-32:random)")
    p.add_argument("--steps", default="500",
                   help="steps per run: one number, or one per --rewards entry (default: 500)")
    p.add_argument("--envs", type=int, default=1, help="parallel environments (default: 1)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"])
    p.add_argument("--batch-size", type=int, default=64, help="reward model forward batch (default: 64)")
    args = p.parse_args()

    import pandas as pd

    rewards = [r.strip() for r in args.rewards.split(",") if r.strip()]
    steps = [int(s) for s in args.steps.split(",")]
    if len(steps) == 1:
        steps = steps * len(rewards)
    if len(steps) != len(rewards):
        p.error("--steps needs one number per --rewards entry")
    print(torch_machine())
    print(f"quick preset, --envs {args.envs}, device {args.device}, precision {args.precision}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for env in [e.strip() for e in args.envs_list.split(",") if e.strip()]:
            for reward, n in zip(rewards, steps, strict=True):
                row = bench(env, reward, n, args, Path(tmp))
                rows.append(row)
                print(f"  {env:12s} {reward:20s} {row['steps']:6d} steps  {row['steps_per_s']:8.1f} steps/s", flush=True)
    df = pd.DataFrame(rows)
    base = df[df["reward"] == "ground-truth"].set_index("env")["steps_per_s"]
    base_loop = df[df["reward"] == "ground-truth"].set_index("env")["loop_s"]
    df["slowdown_vs_gt"] = [base.get(e, float("nan")) / s for e, s in zip(df["env"], df["steps_per_s"], strict=True)]
    # what the VLM loop adds beyond the reward model: rendering and moving frames
    df["render_s"] = [
        (loop - rs - base_loop.get(e, float("nan"))) if r != "ground-truth" else 0.0
        for e, r, loop, rs in zip(df["env"], df["reward"], df["loop_s"], df["reward_s"], strict=True)
    ]
    print()
    print(df.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))


if __name__ == "__main__":
    main()
