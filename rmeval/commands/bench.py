"""``rmeval bench``: reward models x datasets x metrics in one run, with a leaderboard."""

from __future__ import annotations

import argparse
import datetime as _dt
import platform
from pathlib import Path

from rmeval import __version__
from rmeval.commands.common import (
    RANDOM_WEIGHTS_NOTE,
    add_embedding_options,
    add_out_option,
    check_bootstrap_options,
    check_embedding_options,
    check_model_tags,
    datasets_dir,
    out_dir,
    say,
    warn,
    write_json,
    write_table,
)
from rmeval.errors import InvalidInputError
from rmeval.fileio import write_bytes
from rmeval.ranges import parse_alphas
from rmeval.registry import parse_models

HELP = "benchmark reward models on several datasets: detection, progress, ranking, confusion, with CIs"
#: The bundled datasets `rmeval bench` uses without --datasets: every metric has data.
BENCH_DATASETS = ("mountaincar-policies", "humanoid-poses-kneeling", "humanoid-poses-standing-up",
                  "humanoid-poses-arms-raised")
EPILOG = f"""\
Each model embeds each dataset's frames once (through the cache) and scores them with the
dataset's prompts (and, for task confusion, the other tasks' prompts) at every alpha; all
metrics come from those rewards, each with a percentile bootstrap interval (frames resampled
within each label class; whole trajectories for trajectory metrics; policies for ranking).

Metrics, where a dataset has what they need:
  labels            EPIC (Lemma 1), AUROC, average precision, best balanced accuracy (+ threshold)
  trajectories      value-order correlation: mean over (successful) trajectories of
                    Spearman(reward, step); preference accuracy on pairs ordered by true return
  3+ policies       Kendall tau-b and Spearman of mean reward-model return vs mean true return
                    (also across 3+ datasets of one policy each, e.g. one `rmeval rollout`
                    per checkpoint, of one environment and task: mean reward per frame)
  progress column   Pearson and Spearman of reward vs --progress COLUMN (default: the
                    metadata's render.progress_column, e.g. MountainCar's car position x)
  task datasets     confusion matrix (AUROC, EPIC) of every task's prompt on every task's
                    labelled dataset of one environment: diagonal mean, off-diagonal mean,
                    share of columns whose best row is the diagonal

Prints a leaderboard (mean over datasets; [best] per column; v = lower is better) and writes
<out>/bench.csv (tidy: model, alpha, dataset, metric, value, ci_low, ci_high, n, ...),
bench.json (the same plus settings, confusion matrices, skipped metrics and failures),
bench_metrics.png and bench_confusion.png; with judge: models, bench_p_yes.csv (each
judge's reward and p(yes) per frame). `rmeval report` shows them in a section.

Judges (judge: models) have one reward whatever the alpha: each is scored once (alpha -),
and on labelled datasets its p(yes) gets calibration rows: Brier score and expected
calibration error (10 bins). Contrastive models get none (their rewards are not probabilities).
Exit status: 0 when every model ran, 1 when some failed, 2 for bad input.

Default datasets: {", ".join(BENCH_DATASETS)} (bundled).

examples:
  rmeval bench --models rmeval-tiny,ViT-B-32:random
  rmeval bench --models ViT-B-32,ViT-L-14 --alpha 0:1:0.25 --resamples 2000
  rmeval bench --datasets datasets/kneel-rollouts,datasets/mountaincar-policies --progress x --models ViT-L-14
  rmeval bench --datasets ck1,ck2,ck3 --policy-truth reports/evaluate.csv:success_rate --models ViT-B-32
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=None,
                   help="comma-separated dataset directories (or names of bundled datasets) "
                        f"(default: {','.join(BENCH_DATASETS)})")
    p.add_argument("--models", default="ViT-B-32", help="comma-separated models (default: ViT-B-32); see `rmeval models`")
    p.add_argument("--alpha", default="0", help="alphas: start:stop:step (stop included) or a list (default: 0)")
    p.add_argument("--progress", default=None, metavar="COLUMN",
                   help="ground-truth progress column of trajectory datasets (default: the metadata's render.progress_column)")
    p.add_argument("--policy-truth", default=None, metavar="CSV[:COLUMN]",
                   help="ground truth per policy for ranking: `rmeval evaluate`'s CSV (checkpoint, success_rate) or "
                        "the app's trajectory scores (policy/model, success); default: mean episode return")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default: 1000)")
    p.add_argument("--ci", type=float, default=0.95, help="confidence level (default: 0.95)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    add_embedding_options(p)
    add_out_option(p)
    p.set_defaults(run=run)


def _dataset_paths(spec: str | None) -> list[str]:
    names = [s.strip() for s in spec.split(",")] if spec else list(BENCH_DATASETS)
    if not names or any(not n for n in names):
        raise InvalidInputError(f"--datasets {spec!r}: give dataset directories separated by commas.")
    out = []
    for n in names:
        p = Path(n).expanduser()
        if not p.exists() and (datasets_dir() / n).is_dir():
            p = datasets_dir() / n
        out.append(str(p))
    return out


def run(args: argparse.Namespace) -> int:
    from rmeval.bench import LEADERBOARD, BenchJob, format_leaderboard, leaderboard, run_bench
    from rmeval.dataset import load_dataset

    alphas = parse_alphas(args.alpha)
    check_bootstrap_options(args)
    if args.seed < 0:
        raise InvalidInputError(f"--seed must be a non-negative integer, got {args.seed}")
    embedding = check_embedding_options(args)
    models = parse_models(args.models)
    check_model_tags(models)
    datasets = [load_dataset(p) for p in _dataset_paths(args.datasets)]
    policy_truth = None
    if args.policy_truth:
        from rmeval.bench import read_policy_truth

        file, _, column = args.policy_truth.partition(":") if not Path(args.policy_truth).is_file() else (
            args.policy_truth, "", "")
        policy_truth, used = read_policy_truth(file, column or None)
        say(f"policy truth: {used} from {file} ({len(policy_truth)} policies)")
    out = out_dir(args.out)
    job = BenchJob(alphas=alphas, embedding=embedding, n_resamples=args.resamples, level=args.ci,
                   seed=args.seed, progress_column=args.progress, policy_truth=policy_truth)
    say(f"bench: {len(models)} model(s) x {len(datasets)} dataset(s) x alphas {alphas}")
    results = run_bench(datasets, models, job, log=say)
    randoms = results.random_models
    if not results.table.empty:
        from rmeval.bench_plots import plot_bench_metrics, plot_confusions
        from rmeval.plots import figure_bytes

        csv_path, json_path = out / "bench.csv", out / "bench.json"
        write_table(results.table, csv_path)
        write_json({
            "rmeval_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "host": platform.node(),
            "datasets": [{"name": d.name, "path": str(d.root), "frames": len(d)} for d in datasets],
            "settings": {"models": [m.id for m in models], "alphas": alphas, "bootstrap_resamples": args.resamples,
                         "ci_level": args.ci, "seed": args.seed, "progress_column": args.progress,
                         "policy_truth": args.policy_truth,
                         "precision": args.precision, "batch_size": args.batch_size},
            "random_weights_models": randoms,
            "note": RANDOM_WEIGHTS_NOTE.format(models=", ".join(randoms)) if randoms else "",
            "results": results.table.to_dict(orient="records"),
            "confusion": results.confusion,
            "skipped": results.skipped,
            "failures": results.failures,
            "embedding": results.stats,
            "metrics_seconds": round(results.seconds_metrics, 3),
        }, json_path)
        if not results.p_yes.empty:  # judges: per-frame reward and p(yes)
            write_table(results.p_yes, out / "bench_p_yes.csv")
        pngs = [out / "bench_metrics.png"]
        write_bytes(pngs[0], figure_bytes(plot_bench_metrics(results.table, LEADERBOARD)))
        if results.confusion:
            pngs.append(out / "bench_confusion.png")
            write_bytes(pngs[1], figure_bytes(plot_confusions(results.confusion)))
        say("")
        say(format_leaderboard(leaderboard(results.table)))
        say("")
        say("mean over datasets; [x] = best in its column; ^ higher is better, v lower is better; "
            "intervals per dataset in the CSV")
        if randoms:
            say(RANDOM_WEIGHTS_NOTE.format(models=", ".join(randoms)) + " (marked *)")
        if results.skipped:
            say(f"{len(results.skipped)} metric(s) skipped (see bench.json 'skipped'), e.g. "
                f"{results.skipped[0]['dataset']} {results.skipped[0]['metric']}: {results.skipped[0]['reason']}")
        say(f"metrics computed in {results.seconds_metrics:.2f} s")
        extra_csv = ", bench_p_yes.csv" if not results.p_yes.empty else ""
        say(f"wrote {csv_path}, {json_path}{extra_csv} and {', '.join(p.name for p in pngs)}")
    for model, message in results.failures.items():
        warn(f"rmeval: {model} failed: {message}")
    return 1 if results.failures else 0

