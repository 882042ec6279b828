"""``rmeval epic``: EPIC distance of reward models to a dataset's human labels."""

from __future__ import annotations

import argparse
import datetime as _dt
import platform

import pandas as pd

from rmeval import __version__
from rmeval.commands.common import (
    JUDGE_ALPHA_NOTE,
    RANDOM_WEIGHTS_NOTE,
    add_embedding_options,
    add_judge_options,
    add_out_option,
    add_reward_options,
    bundled_dataset,
    check_bootstrap_options,
    check_embedding_options,
    check_model_tags,
    check_prompts,
    judge_question,
    out_dir,
    say,
    warn,
    write_json,
    write_table,
)
from rmeval.ranges import parse_alphas
from rmeval.registry import parse_models

HELP = "EPIC distance of reward models (CLIP and judge:) to a dataset's goal/non-goal labels"
EPILOG = """\
For each model the labelled frames are embedded once (and cached); every alpha then costs
only vector arithmetic. EPIC uses Lemma 1 of the paper: sqrt((1 - rho) / 2), rho the Pearson
correlation of reward and goal label; 0 = same ranking as the labels, 0.707 = unrelated,
1 = opposite. The confidence interval is a percentile bootstrap over frames.

A judge: model (a chat VLM) is asked the --question for each frame; its reward is
log p(yes) - log p(no) of the next token. Alphas do not apply to it (its row has no alpha).

Writes <out>/epic_<dataset>.csv (one row per model and alpha) and .json (with settings).
Exit status: 0 when every model ran, 1 when some failed (the others are still written),
2 for bad input.

examples:
  rmeval epic --models ViT-L-14,ViT-bigG-14 --alpha 0:1:0.2
  rmeval epic --dataset datasets/cartpole-angle --models rmeval-tiny,ViT-B-32:random
  rmeval epic --models rmeval-tiny,judge:rmeval-tiny-judge:random --alpha 0:1:0.5
  rmeval epic --models ViT-B-32 --goal 'a humanoid robot kneeling' --baseline 'a humanoid robot'
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("epic", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_reward_options(p, alpha_default="0")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the CI (default: 1000)")
    p.add_argument("--ci", type=float, default=0.95, help="confidence level (default: 0.95)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    add_embedding_options(p)
    add_judge_options(p)
    add_out_option(p)
    p.set_defaults(run=run)


def _format_table(df: pd.DataFrame) -> str:
    view = pd.DataFrame(
        {
            "model": [m + (" *" if r else "") for m, r in zip(df["model"], df["random_weights"])],
            "alpha": df["alpha"].map(lambda a: "-" if pd.isna(a) else f"{a:g}"),
            "EPIC": df["epic"].map(lambda v: f"{v:.4f}"),
            f"CI {df['ci_level'].iloc[0]:.0%}": [f"[{lo:.4f}, {hi:.4f}]" for lo, hi in zip(df["epic_ci_low"], df["epic_ci_high"])],
            "rho": df["pearson_rho"].map(lambda v: f"{v:+.4f}"),
            "R goal": df["mean_reward_goal"].map(lambda v: f"{v:.4f}"),
            "R non-goal": df["mean_reward_non_goal"].map(lambda v: f"{v:.4f}"),
            "n (goal)": [f"{n} ({g})" for n, g in zip(df["n_labelled"], df["n_goal"])],
        }
    )
    return view.to_string(index=False)


def run(args: argparse.Namespace) -> int:
    from rmeval.dataset import load_dataset
    from rmeval.epic_table import EpicJob, run_epic

    alphas = parse_alphas(args.alpha)
    check_bootstrap_options(args)
    embedding = check_embedding_options(args)
    models = parse_models(args.models)
    check_model_tags(models)
    check_prompts(args)
    dataset = load_dataset(args.dataset or bundled_dataset())
    goal = args.goal or list(dataset.metadata.goal_prompts)
    baseline = args.baseline or list(dataset.metadata.baseline_prompts)
    question = judge_question(args, dataset.metadata.extra)
    out = out_dir(args.out)
    job = EpicJob(
        alphas=alphas,
        goal_prompts=goal,
        baseline_prompts=baseline,
        embedding=embedding,
        n_resamples=args.resamples,
        ci_level=args.ci,
        seed=args.seed,
        question=question,
    )
    n_lab = len(dataset.labelled_rows())
    say(f"dataset {dataset.name} ({dataset.root}): {len(dataset)} frames, {n_lab} labelled")
    say(f"goal: {goal}   baseline: {baseline or '(none)'}   alphas: {alphas}")
    if question is not None:
        say(f"judge question: {question!r}")
        say(JUDGE_ALPHA_NOTE)
    results = run_epic(dataset, models, job, log=say)

    csv_path = out / f"epic_{dataset.name}.csv"
    json_path = out / f"epic_{dataset.name}.json"
    random_models = results.random_models
    if not results.table.empty:
        write_table(results.table, csv_path)
        write_json(
            {
                "rmeval_version": __version__,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "host": platform.node(),
                "dataset": {"name": dataset.name, "path": str(dataset.root), "frames": len(dataset), "labelled": n_lab},
                "settings": {
                    "alphas": alphas, "goal_prompts": goal, "baseline_prompts": baseline,
                    "bootstrap_resamples": args.resamples, "ci_level": args.ci, "seed": args.seed,
                    "precision": args.precision, "batch_size": args.batch_size,
                    "judge_question": question,
                },
                "random_weights_models": random_models,
                "note": RANDOM_WEIGHTS_NOTE.format(models=", ".join(random_models)) if random_models else "",
                "results": results.table.to_dict(orient="records"),
                "failures": results.failures,
                "embedding": results.stats,
            },
            json_path,
        )
        say("")
        say(_format_table(results.table))
        say("")
        if random_models:
            say(RANDOM_WEIGHTS_NOTE.format(models=", ".join(random_models)) + " (marked *)")
        say(f"wrote {csv_path} and {json_path}")
    for model, message in results.failures.items():
        warn(f"rmeval: {model} failed: {message}")
    if results.failures:
        return 1
    return 0
