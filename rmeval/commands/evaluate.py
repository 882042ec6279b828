"""``rmeval evaluate``: ground-truth return and success rate of a run's checkpoints."""

from __future__ import annotations

import argparse
from pathlib import Path

from rmeval.commands.common import RANDOM_WEIGHTS_NOTE, say, warn, write_table
from rmeval.errors import RmevalError

HELP = "evaluate a CartPole/MountainCar run's checkpoints under the ground-truth reward"
EPILOG = """\
Every checkpoint in the run's checkpoints.csv runs --episodes deterministic episodes (the
same starting states for every checkpoint). Success: CartPole, the pole within 0.1 rad of
upright on at least --threshold (0.5) of the steps; MountainCar, the car reaches the goal.
Writes evaluation.csv (step, return mean and std, success rate, the training returns) and
evaluation.png into --out (default: the run folder).

Humanoid tasks have no ground-truth reward: use `rmeval rollout` and the labelling app.
Checkpoints are pickled archives: only evaluate runs you made or trust.

example:
  rmeval evaluate --run runs/cartpole-B32 --episodes 20
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", dest="run_dir", metavar="RUN", required=True, help="run folder (from rmeval train)")
    p.add_argument("--episodes", type=int, default=10, help="episodes per checkpoint (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="episode e starts from reset(seed=SEED+e) (default: 0)")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="CartPole: share of steps in the goal state for success (default: 0.5)")
    p.add_argument("--out", default=None, help="folder for evaluation.csv/.png (default: the run folder)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rmeval.commands.common import out_dir
    from rmeval.training.config import load_config
    from rmeval.training.evaluate import evaluate_run, plot_evaluation, success_rule

    config = load_config(args.run_dir)
    out = out_dir(args.out) if args.out else Path(args.run_dir)
    say(f"evaluating {args.run_dir} ({config.env}, reward {config.model or config.reward}): "
        f"{args.episodes} episodes per checkpoint")
    table = evaluate_run(args.run_dir, episodes=args.episodes, seed=args.seed, threshold=args.threshold, log=say)
    if table.empty:
        raise RmevalError("nothing to evaluate")
    say(f"success: {success_rule(config.env, args.threshold)}")
    csv_path, png_path = out / "evaluation.csv", out / "evaluation.png"
    write_table(table, csv_path)
    reward = f"{config.model} alpha {config.alpha:g}" if config.uses_vlm else "ground-truth reward"
    if config.random_weights:
        reward += " (RANDOM weights)"
    fig = plot_evaluation(table, title=f"{config.env}: {config.algo.upper()} trained on {reward}")
    from rmeval.fileio import write_figure

    try:
        write_figure(png_path, fig, dpi=120)
    finally:
        plt.close(fig)
    say(f"wrote {csv_path} and {png_path}")
    if config.random_weights:
        warn(RANDOM_WEIGHTS_NOTE.format(models=f"{config.model} (the policies' training reward)"))
    return 0
