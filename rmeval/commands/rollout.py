"""``rmeval rollout``: roll a trained policy out into a dataset (format v1)."""

from __future__ import annotations

import argparse

from rmeval.commands.common import RANDOM_WEIGHTS_NOTE, say, warn
from rmeval.errors import InvalidInputError

HELP = "roll a trained policy out into a dataset (frames, states, episodes, predicate labels)"
EPILOG = """\
Writes a dataset (format v1) with one frame per state, the episode and step, the
environment's reward, state columns, and labels from the task's automatic predicate where
it has one (auto_label, and auto_<task> columns for the humanoid).

Steps, as in `rmeval render --mode rollout`: an episode of T actions gives T+1 rows,
step 0 the state right after reset(seed=SEED+episode) and step t the state after t
actions. env_reward at step t is the environment's reward for the action that led to
step t's state (empty/NaN at step 0), so an episode's return is the sum of its
env_reward column.

The `checkpoint` column names the policy, so the labelling app groups trajectory scores by
checkpoint. Actions are deterministic unless --stochastic.

By default the last checkpoint is used; --best (or --best reward) picks the one with the
highest VLM reward recorded during training (as the paper does); --best success the one
with the highest true success (the share of the policy's recent frames in a goal state by
the environment's ground-truth predicate) that the reward-hacking monitor measured at the
checkpoint (monitor.csv); --checkpoint takes a path or a step.

Checkpoints are pickled archives: only roll out runs you made or trust.

examples:
  rmeval rollout --run runs/kneeling-bigG --best --episodes 100 --out datasets/kneeling-best
  rmeval rollout --run runs/cartpole-B32 --checkpoint 64000 --episodes 20 --out datasets/cp-64k
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rollout", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", dest="run_dir", metavar="RUN", required=True, help="run folder (from rmeval train)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--checkpoint", default=None, help="checkpoint file, or a step listed in checkpoints.csv")
    which.add_argument("--best", nargs="?", const="reward", default=None, choices=["reward", "success"],
                       help="the best checkpoint: by the highest recorded training (VLM) reward (--best or --best "
                       "reward), or by the highest true success the reward-hacking monitor measured (--best success)")
    p.add_argument("--episodes", type=int, default=100, help="episodes to roll out (default: 100)")
    p.add_argument("--seed", type=int, default=0, help="episode e starts from reset(seed=SEED+e) (default: 0)")
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of taking the most likely")
    p.add_argument("--out", required=True, help="dataset directory to create")
    p.add_argument("--name", default="", help="dataset name (default: the directory name)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset at --out")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rmeval.training.rollout import rollout

    if args.episodes < 1:
        raise InvalidInputError(f"--episodes must be a positive integer, got {args.episodes}")
    ds = rollout(
        args.run_dir,
        args.out,
        checkpoint=args.checkpoint,
        best=args.best or False,
        episodes=args.episodes,
        seed=args.seed,
        deterministic=not args.stochastic,
        overwrite=args.overwrite,
        name=args.name,
        log=say,
    )
    labels = ds.index["label"]
    n_lab = int(labels.notna().sum())
    lab = f"{n_lab} labelled by the task's predicate ({int((labels == 1).sum())} goal)" if n_lab else "unlabelled (the task has no predicate)"
    say(f"wrote {len(ds)} frames of {ds.index['episode'].nunique()} episodes to {ds.root}; {lab}")
    rollout_info = ds.metadata.extra.get("rollout", {})
    if rollout_info.get("random_weights"):
        warn(RANDOM_WEIGHTS_NOTE.format(models=f"{rollout_info.get('model')} (the policy's training reward)"))
    return 0
