r"""The end-to-end proof on a CPU: fine-tune a small VLM from random weights on CartPole
frames, train DQN on its reward alone, evaluate on the ground truth.

Every step is one of rmeval's own commands, run as a subprocess and timed:

1. ``rmeval render``: a CartPole training set, pole angles -0.5..0.5 rad (step 0.0125)
   times cart positions -2.4..2.4 m (step 0.2): 2,025 frames in 25 episodes (one per
   cart position), labelled by the goal predicate (|angle| <= 0.1 rad).
2. ``rmeval finetune``: ``rmeval-small`` (a 3.5M-parameter ViT whose 64x96 input has
   CartPole's aspect ratio, so the whole track is seen) from random weights, triplet loss,
   split by episode; the card holds held-out EPIC before and after with 95% intervals.
3. ``rmeval train --env cartpole --model rmeval-small:/path/cp.pt`` (the ``quick``
   preset: DQN, VLM reward only; the environment's reward never enters the loop).
4. ``rmeval evaluate``: each checkpoint's mean return over 10 episodes under the ground
   truth (+1 per step with the pole up; 200 per episode at most).

Targets (issue 16): held-out EPIC <= 0.30 after fine-tuning (about 0.70 before), mean
return >= 150 of 200, all within 30 minutes on 2 cores. Load averages are printed before
and after each step: on a shared machine they explain the wall times.

Not part of the test suite. Typical use (figures in benchmarks/README.md):
    python benchmarks/bench_finetune_proof.py --work /tmp/proof
    python benchmarks/bench_finetune_proof.py --work /tmp/proof --skip-render --epochs 10
A finished fine-tuning (cp.pt and its card) in --work is reused unless --refit.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from machine import cpu_model, load_average, usable_cores

ROOT = Path(__file__).resolve().parents[1]


def step(name: str, argv: list[str], log: Path) -> float:
    """Run ``python -m rmeval ARGV``; return its wall time (exit on failure)."""
    cmd = [sys.executable, "-m", "rmeval", *argv]
    print(f"\n== {name}: rmeval {shlex.join(argv)}", flush=True)
    print(f"   load before: {load_average()}", flush=True)
    t0 = time.perf_counter()
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYTHONPATH": str(ROOT)}
    with open(log, "a") as f:
        f.write(f"\n$ rmeval {shlex.join(argv)}\n")
        f.flush()
        res = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, check=False)
    seconds = time.perf_counter() - t0
    print(f"   {seconds:,.0f} s; load after: {load_average()}", flush=True)
    if res.returncode != 0:
        print(f"   FAILED (exit {res.returncode}); see {log}", flush=True)
        sys.exit(1)
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/rmeval-proof", help="working folder (datasets, checkpoint, run)")
    ap.add_argument("--model", default="rmeval-small", help="base architecture (random weights)")
    ap.add_argument("--objective", default="triplet", choices=["triplet", "contrastive"])
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--patience", type=int, default=6)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--steps", type=int, default=20_000, help="DQN environment steps (quick preset)")
    ap.add_argument("--checkpoint-every", type=int, default=2_500)
    ap.add_argument("--episodes", type=int, default=10, help="evaluation episodes per checkpoint")
    ap.add_argument("--skip-render", action="store_true", help="reuse WORK/cp-train")
    ap.add_argument("--refit", action="store_true", help="fine-tune again even if WORK/cp.pt exists")
    args = ap.parse_args()

    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "proof.log"
    data, ckpt, run = work / "cp-train", work / "cp.pt", work / "run"
    print(f"machine: {cpu_model()}, {usable_cores()} usable cores; load {load_average()}")
    times: dict[str, float] = {}
    if not args.skip_render:
        times["render"] = step("render", ["render", "--env", "cartpole", "--sweep", "angle=-0.5:0.5:0.0125",
                                          "--sweep", "x=-2.4:2.4:0.2", "--out", str(data), "--name", "cp-train",
                                          "--overwrite"], log)
    if args.refit or not (ckpt.is_file() and ckpt.with_suffix(".json").is_file()):
        times["finetune"] = step("finetune", [
            "finetune", "--dataset", str(data), "--model", args.model, "--out", str(ckpt), "--objective",
            args.objective, "--lr", str(args.lr), "--epochs", str(args.epochs), "--patience", str(args.patience),
            "--no-progress", "--overwrite"], log)
    card = json.loads(ckpt.with_suffix(".json").read_text())
    if run.exists():
        import shutil

        shutil.rmtree(run)
    times["train"] = step("train", ["train", "--env", "cartpole", "--model", card["model"], "--preset", "quick",
                                    "--steps", str(args.steps), "--checkpoint-every", str(args.checkpoint_every),
                                    "--out", str(run)], log)
    times["evaluate"] = step("evaluate", ["evaluate", "--run", str(run), "--episodes", str(args.episodes)], log)

    import pandas as pd

    ev = pd.read_csv(run / "evaluation.csv")
    b, a = card["heldout"]["before"], card["heldout"]["after"]
    print("\n== results")
    print(f"held-out EPIC ({a['n']} frames, {a['n_goal']} goal; split by {card['data']['split_by']}): "
          f"before {b['epic']:.3f} [{b['ci_low']:.3f}, {b['ci_high']:.3f}] -> after {a['epic']:.3f} "
          f"[{a['ci_low']:.3f}, {a['ci_high']:.3f}]  (target <= 0.30); best epoch {card['best_epoch']}")
    print(ev[["step", "mean_return", "std_return", "success_rate"]].to_string(index=False))
    reached = ev[ev["mean_return"] >= 150]
    print(f"first checkpoint with mean return >= 150: "
          f"{int(reached['step'].iloc[0]) if len(reached) else 'none'}; last: {ev['mean_return'].iloc[-1]:.1f}")
    total = sum(times.values())
    print("wall times: " + ", ".join(f"{k} {v:,.0f} s" for k, v in times.items()) + f"; total {total / 60:.1f} min "
          "(target 30 min)")
    print(f"load now: {load_average()}")


if __name__ == "__main__":
    main()
