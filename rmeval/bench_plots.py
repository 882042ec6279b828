"""Plots of ``rmeval bench`` results: each metric with its interval per model, and the task
confusion matrix as a heatmap. Functions take ``ax=None`` (or a figure size) and return the
figure; saving is the caller's job."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rmeval.bench import METRICS
from rmeval.plots import _mark_random, _new_axes, _title, model_label, new_figure

__all__ = ["plot_bench_metrics", "plot_confusion", "plot_confusions", "plot_metric_intervals"]


def plot_metric_intervals(table: pd.DataFrame, metric: str, *, alpha: float | None = None,
                          ax: Axes | None = None) -> Figure:
    """One metric with its interval, per model (x) and dataset (colour), at one alpha (default: the
    first of the contrastive models'); judges (alpha NaN) appear at their own reward.

    ``table``: the tidy bench table (``rmeval.bench.COLUMNS``).
    """
    fig, ax = _new_axes(ax, (6.0, 3.6))
    sub = table[table["metric"] == metric]
    own = sub["alpha"].isna()  # judges: one reward, no alpha
    if alpha is None and (~own).any():
        alpha = float(sub.loc[~own, "alpha"].iloc[0])
    if not sub.empty and alpha is not None:
        sub = sub[own | np.isclose(sub["alpha"].fillna(np.inf), alpha)]
    models = list(dict.fromkeys(sub["model"]))
    datasets = list(dict.fromkeys(sub["dataset"]))
    width = 0.8 / max(1, len(datasets))
    for d, ds in enumerate(datasets):
        part = sub[sub["dataset"] == ds].set_index("model").reindex(models)
        x = np.arange(len(models)) - 0.4 + width * (d + 0.5)
        val = part["value"].to_numpy(dtype=float)
        err = np.vstack([val - part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float) - val])
        ax.errorbar(x, val, yerr=np.nan_to_num(np.abs(err)), fmt="o", capsize=3, label=ds, color=f"C{d % 10}")
    any_random = bool(sub["random_weights"].astype(bool).any()) if not sub.empty else False
    randoms = dict(zip(sub["model"], sub["random_weights"].astype(bool)))
    ax.set_xticks(np.arange(len(models)), [model_label(m, randoms[m]) for m in models], rotation=15, ha="right")
    head, higher = METRICS.get(metric, (metric, True))
    ax.set_ylabel(f"{head} ({'higher' if higher else 'lower'} is better)")
    title = f"{metric} at alpha {alpha:g}" if alpha is not None else metric
    if sub["alpha"].isna().any():
        title += " (judges: own reward)"
    ax.set_title(_title(title, any_random), fontsize=9)
    if datasets:
        ax.legend(fontsize=7, loc="best")
    _mark_random(ax, any_random)
    return fig


def plot_bench_metrics(table: pd.DataFrame, metrics: Sequence[str], *, alpha: float | None = None) -> Figure:
    """A grid of :func:`plot_metric_intervals` panels, one per metric present in ``table``."""
    present = [m for m in metrics if (table["metric"] == m).any()]
    cols = 3
    rows = max(1, -(-len(present) // cols))
    fig = new_figure((5.2 * cols, 3.6 * rows))
    for i, metric in enumerate(present):
        plot_metric_intervals(table, metric, alpha=alpha, ax=fig.add_subplot(rows, cols, i + 1))
    return fig


def plot_confusion(matrix: np.ndarray, tasks: Sequence[str], *, metric: str = "auroc", title: str = "",
                   random_weights: bool = False, ax: Axes | None = None) -> Figure:
    """A T x T confusion matrix as an annotated heatmap (rows: prompts, columns: task datasets)."""
    fig, ax = _new_axes(ax, (4.2, 3.6))
    m = np.asarray(matrix, dtype=float)
    cmap = "viridis" if metric == "auroc" else "viridis_r"
    vmin, vmax = (0.0, 1.0)
    im = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if (m[i, j] < 0.5) == (metric == "auroc") else "black",
                    fontweight="bold" if i == j else "normal")
    ax.set_xticks(range(len(tasks)), list(tasks), rotation=20, ha="right", fontsize=8)
    ax.set_yticks(range(len(tasks)), list(tasks), fontsize=8)
    ax.set_xlabel("dataset (labelled for)")
    ax.set_ylabel("prompt of task")
    ax.set_title(_title(title or f"task confusion ({metric})", random_weights), fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8, label=metric.upper())
    return fig


def plot_confusions(confusion: Sequence[dict], *, metric: str = "auroc", alpha: float | None = None) -> Figure:
    """:func:`plot_confusion` for every model (one panel each) of a bench run's confusion list."""
    items = [c for c in confusion if c["metric"] == metric]
    def own(c: dict) -> bool:  # a judge: alpha NaN (null once read back from bench.json)
        return c["alpha"] is None or not np.isfinite(c["alpha"])

    alphas = [c["alpha"] for c in items if not own(c)]
    if alpha is None and alphas:
        alpha = alphas[0]
    items = [c for c in items if own(c) or (alpha is not None and np.isclose(c["alpha"], alpha))]
    fig = new_figure((4.6 * max(1, len(items)), 3.9))
    for i, c in enumerate(items):
        plot_confusion(np.array(c["matrix"]), c["tasks"], metric=metric, random_weights=c["random_weights"],
                       title=f"{model_label(c['model'], c['random_weights'])}"
                             + (" (own reward)" if own(c) else f", alpha {c['alpha']:g}"),
                       ax=fig.add_subplot(1, len(items), i + 1))
    return fig
