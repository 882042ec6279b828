"""``rmeval landscape``: reward against a state parameter, one line per alpha (Figure 2)."""

from __future__ import annotations

import argparse
import datetime as _dt

from rmeval import __version__
from rmeval.commands.common import (
    RANDOM_WEIGHTS_NOTE,
    add_embedding_options,
    add_out_option,
    add_reward_options,
    bundled_dataset,
    check_embedding_options,
    out_dir,
    say,
    warn,
    write_json,
    write_table,
)
from rmeval.errors import InvalidInputError
from rmeval.ranges import parse_alphas
from rmeval.registry import parse_models

HELP = "reward landscape: CLIP reward against a state parameter, one line per alpha"
EPILOG = """\
Every frame of the dataset is embedded once per model (cached); rewards for each alpha
are then averaged over frames sharing a value of --param (the band shows their min-max,
e.g. over cart positions). The shaded region is where the dataset's labels say goal (or,
without labels, the environment's goal predicate). Rewards are min-max scaled per model
and alpha (--scale raw plots them as they are). One panel per model, as in the paper's
Figure 2.

Writes <out>/landscape_<dataset>_<param>.png, .csv (tidy: one row per model, alpha and
parameter value) and .json (settings). Exit status: 0 when every model ran, 1 when some
failed (the others are still written), 2 for bad input.

examples:
  rmeval landscape --dataset datasets/cartpole-angle --param angle --models ViT-B-32 --alpha 0:1:0.25
  rmeval landscape --dataset datasets/mountaincar-textured --param x --models ViT-B-32,ViT-L-14
  rmeval landscape --dataset datasets/mountaincar-standard --models rmeval-tiny --scale raw
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("landscape", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_reward_options(p, alpha_default="0:1:0.25")
    p.add_argument("--param", default=None,
                   help="state column on the x axis (default: the dataset's first swept parameter)")
    p.add_argument("--scale", choices=("minmax", "raw"), default="minmax",
                   help="plot rewards min-max scaled per model and alpha (default) or raw")
    p.add_argument("--band", choices=("minmax", "std", "none"), default="minmax",
                   help="band around each line: min-max over frames with the same value (default), "
                        "std (with --scale raw) or none")
    p.add_argument("--bins", type=int, default=None,
                   help="bin the parameter into N equal-width bins (default: exact values; "
                        "50 bins beyond 400 distinct values)")
    add_embedding_options(p)
    add_out_option(p)
    p.set_defaults(run=run)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def run(args: argparse.Namespace) -> int:
    from rmeval.dataset import load_dataset
    from rmeval.landscape import LandscapeJob, default_param, peak_summary, plot_landscape, run_landscape

    alphas = parse_alphas(args.alpha)
    if args.band == "std" and args.scale != "raw":
        raise InvalidInputError("--band std needs --scale raw (scaled rewards have no std).")
    check_embedding_options(args)
    models = parse_models(args.models)
    dataset = load_dataset(args.dataset or bundled_dataset())
    param = args.param or default_param(dataset)
    goal = args.goal or list(dataset.metadata.goal_prompts)
    baseline = args.baseline or list(dataset.metadata.baseline_prompts)
    out = out_dir(args.out)
    job = LandscapeJob(
        param=param, alphas=alphas, goal_prompts=goal, baseline_prompts=baseline, bins=args.bins,
        device=args.device, batch_size=args.batch_size, precision=args.precision,
        cache_dir=args.cache_dir, weights_dir=args.weights_dir,
        progress=False if args.no_progress else None, compile=args.compile, fit=args.fit,
    )
    say(f"dataset {dataset.name} ({dataset.root}): {len(dataset)} frames; x axis: {param}")
    say(f"goal: {goal}   baseline: {baseline or '(none)'}   alphas: {alphas}")
    results = run_landscape(dataset, models, job, log=say)

    stem = f"landscape_{_safe(dataset.name)}_{_safe(param)}"
    csv_path, png_path, json_path = out / f"{stem}.csv", out / f"{stem}.png", out / f"{stem}.json"
    random_models = results.random_models
    if not results.table.empty:
        import io

        import matplotlib

        matplotlib.use("Agg")
        goal_label = {"labels": "goal (labels)", "goal predicate": "goal (predicate)"}.get(results.goal_source, "goal")
        fig = plot_landscape(results.table, intervals=results.intervals, goal_label=goal_label,
                             scale=args.scale, band=args.band)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120)
        tmp = png_path.with_name(f".{png_path.name}.tmp")
        tmp.write_bytes(buf.getvalue())
        tmp.replace(png_path)
        write_table(results.table, csv_path)
        write_json(
            {
                "rmeval_version": __version__,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "dataset": {"name": dataset.name, "path": str(dataset.root), "frames": len(dataset)},
                "settings": {"param": param, "alphas": alphas, "goal_prompts": goal, "baseline_prompts": baseline,
                             "scale": args.scale, "band": args.band, "bins": args.bins, "binned": results.binned,
                             "precision": args.precision},
                "goal_region": {"source": results.goal_source, "intervals": results.intervals},
                "random_weights_models": random_models,
                "note": RANDOM_WEIGHTS_NOTE.format(models=", ".join(random_models)) if random_models else "",
                "failures": results.failures,
                "embedding": results.stats,
            },
            json_path,
        )
        peaks = peak_summary(results.table, results.intervals)
        say("")
        for row in peaks.itertuples(index=False):
            where = "" if row.peak_in_goal is None else (" (in the goal region)" if row.peak_in_goal else " (outside the goal region)")
            mark = " *" if row.random_weights else ""
            say(f"{row.model}{mark} alpha={row.alpha:g}: highest mean reward at {param} = {row.peak_value:g}{where}")
        if results.intervals:
            spans = ", ".join(f"[{lo:g}, {hi:g}]" for lo, hi in results.intervals)
            say(f"goal region ({results.goal_source}): {param} in {spans}")
        else:
            say("no goal region: the dataset has no goal labels for this parameter")
        say("")
        if random_models:
            say(RANDOM_WEIGHTS_NOTE.format(models=", ".join(random_models)) + " (marked *)")
        say(f"wrote {png_path}, {csv_path} and {json_path}")
    for model, message in results.failures.items():
        warn(f"rmeval: {model} failed: {message}")
    return 1 if results.failures else 0

