"""The ``rmeval report`` section for ``rmeval bench`` results (``bench.csv`` and ``bench.json``
in the results directory): the leaderboard, this dataset's metrics with intervals, the
metric plot and the task confusion heatmaps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from rmeval.bench import COLUMNS, LEADERBOARD, METRICS, alpha_label, best_mask, leaderboard
from rmeval.bench_plots import plot_bench_metrics, plot_confusions
from rmeval.errors import RmevalError
from rmeval.fileio import read_csv
from rmeval.report import ReportContext, Section, code, esc, figure_html, note_html, table_html

TITLE = "Benchmark: detection, progress, ranking, confusion"


def read_bench(ctx: ReportContext) -> tuple[pd.DataFrame, dict] | None:
    """``bench.csv`` (checked) and ``bench.json`` from the results directory, or None when absent."""
    path = ctx.results_dir / "bench.csv"
    if not path.is_file():
        return None
    table = read_csv(path, "bench table", "rerun rmeval bench")
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise RmevalError(f"{path} lacks columns {', '.join(missing)}; rerun `rmeval bench`")
    if not pd.api.types.is_numeric_dtype(table["value"]):
        raise RmevalError(f"{path}: the value column is not numeric; rerun `rmeval bench`")
    table["random_weights"] = table["random_weights"].astype(str).str.lower().isin(["true", "1"])
    meta: dict = {}
    jpath = ctx.results_dir / "bench.json"
    if jpath.is_file():
        try:
            meta = json.loads(jpath.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RmevalError(f"{jpath} is not readable JSON ({exc}); rerun `rmeval bench`") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("confusion", []), list):
            raise RmevalError(f"{jpath} is not a bench result; rerun `rmeval bench`")
    return table, meta


def bench_section(ctx: ReportContext) -> Section:
    found = read_bench(ctx)
    if found is None:
        cmd = f"rmeval bench --models rmeval-tiny,ViT-B-32:random --out {ctx.results_dir}"
        body = (note_html(f"No benchmark results yet ({ctx.results_dir / 'bench.csv'} does not exist). Make them with:")
                + f"<pre>{esc(cmd)}</pre>")
        return Section("bench", TITLE, body, available=False)
    table, meta = found
    board = leaderboard(table)
    mask = best_mask(board)
    view = pd.DataFrame({"model": board["model"], "random_weights": board["random_weights"],
                         "alpha": board["alpha"].map(alpha_label)})
    for col in board.columns[3:]:
        head = METRICS[col][0] + (" ↓" if not METRICS[col][1] else " ↑")
        view[head] = [("–" if not np.isfinite(v) else f"{v:.3f} ★" if b else f"{v:.3f}")
                      for v, b in zip(board[col], mask[col])]
    level = float(table["level"].iloc[0]) if len(table) else 0.95
    body = (
        f"<p>Every reward model on every dataset of the run, from {code(str(ctx.results_dir / 'bench.csv'))}. "
        "The leaderboard gives each metric's mean over the datasets that have it; ★ marks each column's best "
        "(↑ higher is better, ↓ lower). Intervals are percentile bootstraps at "
        f"{level:.0%}: frames resampled within each label class, whole trajectories for trajectory metrics, "
        "policies for ranking.</p>"
        + table_html(view, columns=[(c, c, None) for c in view.columns if c != "random_weights"])
    )
    mine = table[(table["dataset"] == ctx.name) & ~table["metric"].str.startswith("confusion_")]
    if not mine.empty:
        rows = mine.assign(interval=[f"[{lo:.3f}, {hi:.3f}]" for lo, hi in zip(mine["ci_low"], mine["ci_high"])],
                           alpha=mine["alpha"].map(alpha_label))
        body += f"<h3>On {esc(ctx.name)}</h3>" + table_html(
            rows, columns=[("model", "model", None), ("alpha", "α", None), ("metric", "metric", None),
                           ("value", "value", ".3f"), ("interval", "interval", None), ("n", "n", None),
                           ("detail", "detail", None)])
    datasets = sorted({d for d in table["dataset"] if not str(d).startswith("confusion:")})
    body += f"<p>Datasets in the run: {esc(', '.join(datasets))}.</p>"
    body += figure_html(plot_bench_metrics(table, LEADERBOARD), "each metric with its interval per model and dataset")
    confusion = meta.get("confusion", [])
    if confusion:
        try:
            fig = plot_confusions(confusion)
        except (KeyError, TypeError, ValueError) as exc:
            raise RmevalError(f"bench.json's confusion matrices are malformed ({exc}); rerun `rmeval bench`") from None
        body += ("<h3>Task confusion</h3><p>Rows: the prompt of each task; columns: each task's labelled dataset "
                 "(AUROC; bold: the diagonal). A discriminating reward model has a bright diagonal.</p>")
        body += figure_html(fig, "task confusion heatmaps")
    randoms = sorted(table.loc[table["random_weights"], "model"].unique())
    return Section("bench", TITLE, body, random_models=randoms)
