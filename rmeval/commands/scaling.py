"""``rmeval scaling``: how EPIC, reward separation and success rate change with model size."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from rmeval.commands.common import (
    RANDOM_WEIGHTS_NOTE,
    add_embedding_options,
    add_judge_options,
    add_out_option,
    bundled_dataset,
    check_embedding_options,
    datasets_dir,
    out_dir,
    say,
    warn,
    write_json,
    write_table,
)
from rmeval.embedding_options import EmbeddingOptions
from rmeval.errors import DatasetError, InvalidInputError, RmevalError
from rmeval.fileio import read_csv
from rmeval.scaling_figures import Artifact, histogram_artifact, scaling_artifacts, success_artifact

HELP = "scaling plots: EPIC vs model size, reward histograms, success rates (paper Figs. 4, 7)"
EPILOG = """\
From a results table (the CSV `rmeval epic` writes, one row per model and alpha), or by
running `rmeval epic` first for --models, this draws (PNG and SVG, plus the CSV behind
each plot, under --out):

  scaling_<dataset>_params.*    EPIC vs total parameters (log), one line per alpha, with a
                                least-squares fit of EPIC on log10(size) (slope per tenfold
                                size, R²) and the confidence intervals as error bars (Fig. 4b)
  scaling_<dataset>_gflops.*    the same against image-tower GFLOPs (models without a GFLOPs
                                figure are left out, with a warning)
  scaling_<dataset>_alpha.*     EPIC vs alpha, one line per model (Fig. 4a)
  scaling_<dataset>_fit.csv     the fits: size measure, alpha, slope, intercept, R², n
  histograms_<dataset>.*        rewards of goal vs non-goal frames per model, means dotted
                                (Fig. 7); per-frame rewards come from the embedding cache
                                (nothing is re-encoded when the models embedded the dataset
                                before); skipped with a note when the dataset or weights are
                                not available
  success_<dataset>.*           success rate per model with bootstrap CIs (Fig. 4c), from
                                --trajectory-scores CSV (columns model or policy, episode,
                                success 0/1; one row per scored trajectory)
  scaling_<dataset>.json        fits, notes and the list of files

Results computed with random weights are marked (* and "(random weights)") everywhere.
Needs results for two or more models; with only two model sizes the fit is exact (R² = 1)
and says so.

examples:
  rmeval scaling --results reports/epic_cartpole-angle.csv
  rmeval scaling --models rmeval-tiny,ViT-B-32:random --alpha 0:1:0.25
  rmeval scaling --results epic.csv --dataset datasets/humanoid-kneeling \\
      --trajectory-scores kneeling_scores.csv --out reports/kneeling
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scaling", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_argument_group("results")
    src.add_argument("--results", default=None, metavar="CSV",
                     help="results table written by `rmeval epic` (default: <out>/epic_<dataset>.csv, "
                          "or run `rmeval epic` when --models is given)")
    src.add_argument("--models", default=None,
                     help="compute the results first: comma-separated models, as for `rmeval epic`")
    src.add_argument("--alpha", default="0:1:0.2", help="alphas when computing results (default: 0:1:0.2)")
    src.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for CIs (default: 1000)")
    src.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    p.add_argument("--dataset", default=None,
                   help="dataset directory for the reward histograms (and for --models) (default: the "
                        "dataset named in the results, else the bundled one)")
    p.add_argument("--hist-alpha", type=float, default=0.0,
                   help="alpha of the rewards in the histograms (default: 0, the CLIP reward)")
    p.add_argument("--bins", type=int, default=30, help="histogram bins (default: 30)")
    p.add_argument("--no-histograms", action="store_true", help="skip the reward histograms (no model is loaded)")
    p.add_argument("--trajectory-scores", default=None, metavar="CSV",
                   help="human trajectory scores (model or policy, episode, success 0/1) for the success-rate plot")
    add_embedding_options(p)
    add_judge_options(p)
    add_out_option(p)
    p.set_defaults(run=run)


def write_artifact(artifact: Artifact, out: Path) -> list[Path]:
    """Write ``<stem>.png``, ``<stem>.svg`` and ``<stem>.csv`` atomically; returns the paths."""
    from rmeval.fileio import write_bytes
    from rmeval.plots import figure_bytes

    paths = []
    for fmt in ("png", "svg"):
        path = out / f"{artifact.stem}.{fmt}"
        write_bytes(path, figure_bytes(artifact.figure, fmt))
        paths.append(path)
    path = out / f"{artifact.stem}.csv"
    write_table(artifact.table, path)
    paths.append(path)
    return paths


# ----------------------------------------------------------------------------- inputs


def _run_epic_first(args: argparse.Namespace, out: Path) -> tuple[Path, int]:
    """Run `rmeval epic` with this command's options; returns the CSV it wrote and its exit status."""
    from rmeval.commands import epic as epic_cmd
    from rmeval.dataset import load_dataset

    parser = argparse.ArgumentParser(prog="rmeval")
    epic_cmd.add_parser(parser.add_subparsers(dest="command"))
    argv = ["epic", "--models", args.models, "--alpha", args.alpha, "--resamples", str(args.resamples),
            "--seed", str(args.seed), "--out", str(out)]
    if args.dataset:
        argv += ["--dataset", args.dataset]
    epic_args = parser.parse_args(argv)
    for key, value in vars(args).items():  # the embedding options, shared by both commands
        if key in vars(epic_args) and key not in ("models", "alpha", "resamples", "seed", "out", "dataset", "run", "command"):
            setattr(epic_args, key, value)
    code = epic_cmd.run(epic_args)
    name = load_dataset(args.dataset or bundled_dataset(), check_frames=False).name
    csv = out / f"epic_{name}.csv"
    if not csv.is_file():
        raise RmevalError("`rmeval epic` produced no results (every model failed?); nothing to plot. See the messages above.")
    return csv, code


def _settings_json(results_csv: Path) -> dict[str, Any]:
    """The ``.json`` that `rmeval epic` writes beside its CSV (dataset path, prompts), or {}."""
    path = results_csv.with_suffix(".json")
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _histogram_dataset(args: argparse.Namespace, name: str, settings: dict[str, Any]) -> Path:
    if args.dataset:
        return Path(args.dataset).expanduser()
    recorded = (settings.get("dataset") or {}).get("path") if isinstance(settings.get("dataset"), dict) else None
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    if name == "results":  # the table names no dataset
        return bundled_dataset()
    return datasets_dir() / name  # may not exist: the histograms are then skipped with a note


def _histograms(
    args: argparse.Namespace, embedding: EmbeddingOptions, results: pd.DataFrame, name: str, settings: dict[str, Any],
    log: Callable[[str], None],
) -> tuple[pd.DataFrame | None, dict[str, str], str]:
    """Per-frame rewards for the histograms, or (None, {}, why-not)."""
    from rmeval.dataset import load_dataset
    from rmeval.scaling import compute_frame_rewards

    path = _histogram_dataset(args, name, settings)
    try:
        dataset = load_dataset(path)
    except DatasetError as exc:
        return None, {}, f"reward histograms skipped: dataset {path} unavailable ({str(exc).splitlines()[0]}); pass --dataset DIR"
    if name != "results" and dataset.name != name:
        log(f"note: the results are for dataset {name!r} but the histograms use {dataset.name!r} ({path})")
    prompts = settings.get("settings", {}) if isinstance(settings.get("settings"), dict) else {}
    goal = prompts.get("goal_prompts") or list(dataset.metadata.goal_prompts)
    baseline = prompts.get("baseline_prompts") or list(dataset.metadata.baseline_prompts)
    if "precision" in results:  # embed each model as the results did, so the cache has its embeddings
        embedding = replace(embedding, precision={str(m): str(p) for m, p in zip(results["model"], results["precision"])})
    models = list(dict.fromkeys(results.sort_values(["params_m", "model"], kind="stable")["model"]))
    try:
        fr = compute_frame_rewards(
            dataset, models, alpha=args.hist_alpha, goal_prompts=goal, baseline_prompts=baseline,
            embedding=embedding, question=prompts.get("judge_question"), log=log,
        )
    except RmevalError as exc:
        return None, {}, f"reward histograms skipped: {str(exc).splitlines()[0]}"
    if fr.table.empty:
        return None, fr.skipped, "reward histograms skipped: no model could be loaded (see the notes above)"
    return fr.table, fr.skipped, ""


# ----------------------------------------------------------------------------- command
def run(args: argparse.Namespace) -> int:
    from rmeval.scaling import check_results, results_dataset_name, success_rates

    embedding = check_embedding_options(args)
    if not 0 <= args.hist_alpha <= 1:
        raise InvalidInputError(f"--hist-alpha must lie in [0, 1], got {args.hist_alpha}")
    if args.bins < 1:
        raise InvalidInputError(f"--bins must be a positive integer, got {args.bins}")
    if args.results and args.models:
        raise InvalidInputError("give either --results CSV (existing results) or --models (compute them), not both")
    out = out_dir(args.out)
    scores = None
    if args.trajectory_scores:  # read early: a wrong file should fail before anything slow
        scores = read_csv(args.trajectory_scores, "--trajectory-scores", "export it from the labelling app.")
    status = 0
    if args.models:
        results_csv, status = _run_epic_first(args, out)
    elif args.results:
        results_csv = Path(args.results).expanduser()
    else:
        from rmeval.dataset import load_dataset

        name = load_dataset(args.dataset or bundled_dataset(), check_frames=False).name
        results_csv = out / f"epic_{name}.csv"
        if not results_csv.is_file():
            raise InvalidInputError(
                f"no results table: {results_csv} does not exist. Pass --results CSV, or --models A,B to "
                f"compute it (e.g. rmeval scaling --models rmeval-tiny,ViT-B-32:random)."
            )
    raw = read_csv(results_csv, "results table", "make one with `rmeval epic --models A,B` (or pass --models here).")
    results = check_results(raw, source=str(results_csv))
    name = results_dataset_name(results)
    settings = _settings_json(results_csv)
    random_models = sorted(results.loc[results["random_weights"], "model"].unique())
    written: list[Path] = []
    notes: list[str] = []

    artifacts, fits, warnings = scaling_artifacts(results, name)
    for w in warnings:
        warn(f"rmeval scaling: {w}")
    hist_skipped: dict[str, str] = {}
    if args.no_histograms:
        notes.append("reward histograms not requested (--no-histograms)")
    else:
        frame_rewards, hist_skipped, why = _histograms(args, embedding, results, name, settings, say)
        if frame_rewards is not None:
            artifacts.append(histogram_artifact(frame_rewards, name, bins=args.bins))
        if why:
            notes.append(why)
        for model, message in hist_skipped.items():
            notes.append(f"no histogram for {model}: {message}")
    success = None
    if scores is not None:
        success = success_rates(scores, n_resamples=args.resamples, seed=args.seed, sizes=results)
        artifacts.append(success_artifact(success, name))
    for art in artifacts:
        written.extend(write_artifact(art, out))
        notes.extend(art.notes)
    fit_path = out / f"scaling_{name}_fit.csv"
    write_table(fits, fit_path)
    written.append(fit_path)
    json_path = out / f"scaling_{name}.json"
    note = RANDOM_WEIGHTS_NOTE.format(models=", ".join(random_models)) if random_models else ""
    write_json(
        {
            "dataset": name,
            "results": str(results_csv),
            "models": list(dict.fromkeys(results["model"])),
            "random_weights_models": random_models,
            "note": note,
            "fits": [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                     for r in fits.to_dict(orient="records")],
            "histogram_alpha": None if args.no_histograms else args.hist_alpha,
            "histograms_skipped": hist_skipped,
            "success": None if success is None else success.to_dict(orient="records"),
            "warnings": warnings,
            "notes": notes,
            "files": [p.name for p in written],
        },
        json_path,
    )
    written.append(json_path)

    if not fits.empty:
        view = fits[["size", "alpha", "slope", "intercept", "r2", "n", "n_sizes"]].copy()
        view["alpha"] = view["alpha"].map(lambda a: "judges" if pd.isna(a) else f"{a:g}")
        say("log-linear fits of EPIC on log10(size) (slope = EPIC change per tenfold size):")
        say(view.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for n in dict.fromkeys(notes):
        say(f"note: {n}")
    if random_models:
        say(note + " (marked * in the plots)")
    say(f"wrote {len(written)} files to {out}: " + ", ".join(p.name for p in written))
    for art in artifacts:  # figures hold no pyplot state; drop them now
        art.figure = None  # type: ignore[assignment]
    return status
