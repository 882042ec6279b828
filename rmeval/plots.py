"""Plots of scaling results (paper Figures 4a, 4b, 4c and 7).

Every function draws tidy DataFrames from :mod:`rmeval.scaling` onto ``ax`` (or
``axes``) when given, else onto a new :class:`matplotlib.figure.Figure` created without
pyplot (no global state, no GUI backend: safe in servers and tests), and returns the
figure. Saving is the caller's job (:func:`figure_bytes` renders one to PNG or SVG bytes).

Results computed with random weights are marked in every plot: ``*`` after the model's
name, "(random weights)" in titles and a red note in the axes.

Importing this module imports matplotlib; ``import rmeval`` does not import it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogFormatter

from rmeval.errors import InvalidInputError
from rmeval.scaling import SIZE_MEASURES

#: Text of the red note drawn on plots that include random-weight results.
RANDOM_NOTE = "* random weights: pipeline check only, says nothing about pretrained models"
_RANDOM_COLOR = "#c0392b"
_GOAL_COLOR = "#2a9d8f"
_NON_GOAL_COLOR = "#8d99ae"


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A figure on its own Agg canvas: no pyplot, no global state, nothing to close."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _root_figure(ax: Axes) -> Figure:
    fig = ax.figure
    while not isinstance(fig, Figure):  # a SubFigure: walk up to the figure
        fig = fig.figure  # type: ignore[union-attr]
    return fig


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return _root_figure(ax), ax
    fig = new_figure(figsize)
    return fig, fig.add_subplot()


class _PlainMinorLogFormatter(LogFormatter):
    """Minor log ticks (labelled only on short ranges, as matplotlib decides) as plain numbers."""

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return f"{x:g}"


_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


def model_label(model: str, random_weights: bool) -> str:
    """``model`` with a ``*`` when its weights are random."""
    return f"{model}*" if random_weights else str(model)


def _mark_random(ax: Axes, any_random: bool, *, loc: str = "lower left") -> None:
    if not any_random:
        return
    x, ha = (0.01, "left") if "left" in loc else (0.99, "right")
    y, va = (0.01, "bottom") if "lower" in loc else (0.99, "top")
    ax.text(
        x, y, RANDOM_NOTE, transform=ax.transAxes, ha=ha, va=va, fontsize=7, color=_RANDOM_COLOR,
        bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": _RANDOM_COLOR, "alpha": 0.9},
        zorder=10,
    )


def _title(text: str, any_random: bool) -> str:
    return f"{text} (random weights)" if any_random else text


#: Where a judge's row (alpha NaN: alphas do not apply to judges) goes among the alphas.
_JUDGE_ALPHA = float("inf")
_JUDGE_COLOR = "#e76f51"


def _alpha_colors(alphas: Sequence[float]) -> dict[float, Any]:
    """A colour per alpha; judges' series (alpha NaN or :data:`_JUDGE_ALPHA`) get their own."""
    values = {float(a) for a in alphas}
    judged = any(not np.isfinite(a) for a in values)
    finite = sorted(a for a in values if np.isfinite(a))
    out: dict[float, Any] = {}
    if len(finite) == 1:
        out = {finite[0]: "C0"}
    elif finite:
        cmap = matplotlib.colormaps["viridis"]
        out = {a: cmap(0.9 * i / (len(finite) - 1)) for i, a in enumerate(finite)}
    if judged:
        out[_JUDGE_ALPHA] = _JUDGE_COLOR
    return out


def _alpha_label(alpha: float) -> str:
    return "judges (own reward, no α)" if not np.isfinite(alpha) else f"α = {alpha:g}"


def _check(df: pd.DataFrame, need: Sequence[str], what: str) -> None:
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InvalidInputError(f"{what} needs columns {', '.join(need)}; missing {', '.join(missing)}")
    if df.empty:
        raise InvalidInputError(f"{what}: nothing to plot (no rows)")


def plot_epic_vs_size(
    points: pd.DataFrame,
    fits: pd.DataFrame | None = None,
    *,
    size: str = "params_m",
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """EPIC distance against model size on a log axis, one line per alpha (Figure 4b).

    Args:
        points: From :func:`rmeval.scaling.scaling_points`: ``model, random_weights, size,
            alpha, epic, epic_ci_low, epic_ci_high`` and optionally ``family``: with several
            families, each is one series (a marker, joined by a thin line per alpha).
        fits: From :func:`rmeval.scaling.fit_log_linear` (``alpha, slope, intercept, r2``),
            drawn as dashed trend lines with slope and R² in the legend; None for none.
        size: Which measure ``points["size"]`` holds (``params_m`` or ``image_gflops``), for
            the axis label.
        ax: Axes to draw on; a new figure when None.

    Returns:
        The figure drawn on.
    """
    _check(points, ["model", "size", "alpha", "epic", "epic_ci_low", "epic_ci_high"], "plot_epic_vs_size")
    points = points.assign(alpha=points["alpha"].astype(float).fillna(_JUDGE_ALPHA))  # judges: their own series
    if fits is not None and not fits.empty:
        fits = fits.assign(alpha=fits["alpha"].astype(float).fillna(_JUDGE_ALPHA))
    fig, ax = _new_axes(ax, (9.0, 4.8))
    rand = points["random_weights"].astype(bool) if "random_weights" in points else pd.Series(False, index=points.index)
    colors = _alpha_colors(points["alpha"])
    alphas = sorted(colors)
    # Dodge alphas a little sideways (in log space) so their error bars do not hide each other.
    lo, hi = float(points["size"].min()), float(points["size"].max())
    spread = min(0.15, 0.025 * (1 + np.log10(hi / lo))) if len(alphas) > 1 else 0.0
    margin = max(0.3, 0.12 * (np.log10(hi) - np.log10(lo)))
    line_x = np.logspace(np.log10(lo) - margin, np.log10(hi) + margin, 50)
    fit_by_alpha = {float(a): r for a, r in fits.set_index("alpha").iterrows()} if fits is not None and not fits.empty else {}
    models = list(dict.fromkeys(points.sort_values(["size", "model"], kind="stable")["model"]))
    # Several families: one series per family (a marker each, joined by a thin line per alpha).
    families = list(dict.fromkeys(points.sort_values(["size", "model"], kind="stable")["family"])) if "family" in points else []
    by_family = len(families) > 1
    if by_family:
        family_marker = {f: _MARKERS[i % len(_MARKERS)] for i, f in enumerate(families)}
        model_family = dict(zip(points["model"], points["family"]))
        markers = {m: family_marker[model_family[m]] for m in models}
    else:
        markers = {m: _MARKERS[i % len(_MARKERS)] for i, m in enumerate(models)}
    alpha_handles = []
    for k, alpha in enumerate(alphas):
        g = points[points["alpha"] == alpha]
        dodge = 10 ** (spread * (k - (len(alphas) - 1) / 2) / max(1, len(alphas) - 1))
        label = _alpha_label(alpha)
        fit = fit_by_alpha.get(alpha)
        if fit is not None and np.isfinite(fit["slope"]):
            r2 = f"{fit['r2']:.2f}" if np.isfinite(fit["r2"]) else "n/a"
            label += f": slope {fit['slope']:+.3f}/decade, R² {r2}"
            ax.plot(line_x, fit["intercept"] + fit["slope"] * np.log10(line_x), ls="--", lw=1.2, color=colors[alpha], alpha=0.8)
        elif fit is not None:
            label += ": no fit (one size)"
        if by_family:
            for _family, gf in g.groupby("family", sort=False):
                gf = gf.sort_values("size")
                if len(gf) > 1:
                    ax.plot(gf["size"] * dodge, gf["epic"], "-", lw=0.8, color=colors[alpha], alpha=0.6)
        for model, gm in g.groupby("model", sort=False):
            yerr = np.vstack([(gm["epic"] - gm["epic_ci_low"]).clip(lower=0), (gm["epic_ci_high"] - gm["epic"]).clip(lower=0)])
            ax.errorbar(gm["size"] * dodge, gm["epic"], yerr=yerr, fmt=markers[model], ms=5, capsize=3, color=colors[alpha])
        alpha_handles.append(Line2D([], [], color=colors[alpha], marker="o", ls="--" if fit is not None else "", label=label))
    # Name the models once per size, above the highest error bar there.
    groups = list(points.groupby("size", sort=True))
    for i, (sz, g) in enumerate(groups):
        names = list(dict.fromkeys(model_label(m, r) for m, r in zip(g["model"], rand.loc[g.index])))
        # The outermost labels grow inwards so they stay inside the axes.
        ha = "left" if i == 0 and len(groups) > 1 else "right" if i == len(groups) - 1 and len(groups) > 1 else "center"
        shift = {"left": -8, "right": 8, "center": 0}[ha]
        ax.annotate(
            "\n".join(names), (float(sz), float(g["epic_ci_high"].max())), xytext=(shift, 6), textcoords="offset points",
            ha=ha, va="bottom", fontsize=7, color="0.25",
        )
    ax.set_xscale("log")
    ax.set_xlim(line_x[0], line_x[-1])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.xaxis.set_minor_formatter(_PlainMinorLogFormatter(labelOnlyBase=False, minor_thresholds=(1.2, 0.5)))
    ymin = float(points["epic_ci_low"].min())
    ymax = float(points["epic_ci_high"].max())
    pad = max(0.02, 0.15 * (ymax - ymin))
    ax.set_ylim(max(0.0, ymin - pad), min(1.0, ymax + 2.5 * pad))
    ax.set_xlabel(SIZE_MEASURES.get(size, size) + " (log scale)")
    ax.set_ylabel("EPIC distance to labels (lower is better)")
    what = "parameters" if size == "params_m" else "image GFLOPs"
    ax.set_title(title or _title(f"EPIC distance vs {what}", bool(rand.any())))
    ax.grid(True, which="both", alpha=0.25)
    # One legend (so constrained layout makes room for all of it): alphas, then model markers.
    model_handles = [
        Line2D([], [], color="0.3", marker=markers[m], ls="", label=model_label(m, bool(rand[points["model"] == m].any())))
        for m in models
    ]
    if by_family:
        model_handles = [Line2D([], [], color="0.3", marker=family_marker[f], ls="-", lw=0.8, label=f) for f in families]
    header = Line2D([], [], ls="", marker="", label="family (marker, line):" if by_family else "model (marker):")
    ax.legend(handles=[*alpha_handles, header, *model_handles], fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              title="α" + ("  (dashed: log-linear fit of EPIC on log10 size)" if fit_by_alpha else ""), title_fontsize=7,
              alignment="left")
    _mark_random(ax, bool(rand.any()))
    return fig


def plot_epic_vs_alpha(results: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """EPIC distance against alpha, one line per model, smallest model first (Figure 4a).

    Args:
        results: A results table (from :func:`rmeval.scaling.check_results`): ``model,
            alpha, epic, epic_ci_low, epic_ci_high`` and ``params_m``/``random_weights``.

    Returns:
        The figure drawn on.
    """
    _check(results, ["model", "alpha", "epic", "epic_ci_low", "epic_ci_high"], "plot_epic_vs_alpha")
    fig, ax = _new_axes(ax, (7.0, 4.8))
    order = results.sort_values(["params_m", "model"] if "params_m" in results else ["model"], kind="stable")
    models = list(dict.fromkeys(order["model"]))
    cmap = matplotlib.colormaps["plasma"]
    any_random = False
    finite = results["alpha"].astype(float).dropna()
    span = (float(finite.min()), float(finite.max())) if len(finite) and finite.min() < finite.max() else (0.0, 1.0)
    for i, model in enumerate(models):
        g = results[results["model"] == model].sort_values("alpha")
        rand = bool(g["random_weights"].any()) if "random_weights" in g else False
        any_random |= rand
        color = cmap(0.85 * i / max(1, len(models) - 1))
        size = f" ({g['params_m'].iloc[0]:.4g}M)" if "params_m" in g and pd.notna(g["params_m"].iloc[0]) else ""
        if g["alpha"].isna().all():  # a judge: one EPIC at its own reward, drawn across the alphas
            row = g.iloc[0]
            ax.hlines(row["epic"], *span, colors=color, linestyles="--", lw=1.4,
                      label=model_label(model, rand) + size + " (judge, no α)")
            ax.fill_between(list(span), row["epic_ci_low"], row["epic_ci_high"], color=color, alpha=0.1, lw=0)
            continue
        ax.plot(g["alpha"], g["epic"], marker="o", ms=4, color=color, label=model_label(model, rand) + size)
        ax.fill_between(g["alpha"], g["epic_ci_low"], g["epic_ci_high"], color=color, alpha=0.15, lw=0)
    ax.set_xlabel("α (goal-baseline regularisation strength)")
    ax.set_ylabel("EPIC distance to labels (lower is better)")
    ax.set_title(title or _title("EPIC distance vs α, per model", any_random))
    ax.grid(True, alpha=0.25)
    ax.legend(fontsize=7, loc="upper right", title="model (shaded: CI)", title_fontsize=7)
    _mark_random(ax, any_random)
    return fig


def plot_reward_histograms(
    frame_rewards: pd.DataFrame,
    *,
    axes: Sequence[Axes] | np.ndarray | None = None,
    bins: int = 30,
    order: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Histograms of rewards of goal vs non-goal frames, one panel per model (Figure 7).

    Dotted lines mark each group's mean: their separation (relative to the spread) is
    what EPIC measures.

    Args:
        frame_rewards: From :func:`rmeval.scaling.frame_rewards_table` (models stacked):
            ``model, alpha, label, reward`` and ``random_weights``. One alpha per model.
        axes: One Axes per model (a new figure with a row of panels when None).
        order: Model order (default: as they first appear).

    Returns:
        The figure drawn on.
    """
    _check(frame_rewards, ["model", "alpha", "label", "reward"], "plot_reward_histograms")
    models = list(order) if order is not None else list(dict.fromkeys(frame_rewards["model"]))
    models = [m for m in models if (frame_rewards["model"] == m).any()]
    if axes is None:
        ncols = min(4, len(models))
        nrows = -(-len(models) // ncols)
        fig = new_figure((3.6 * ncols, 3.0 * nrows + 0.4))
        grid = fig.subplots(nrows, ncols, squeeze=False)
        axes_list = list(grid.ravel())
        for extra in axes_list[len(models):]:
            extra.set_visible(False)
    else:
        axes_list = list(np.ravel(np.asarray(axes, dtype=object)))
        if len(axes_list) < len(models):
            raise InvalidInputError(f"plot_reward_histograms needs {len(models)} axes (one per model), got {len(axes_list)}")
        fig = _root_figure(axes_list[0])
    any_random = False
    for ax, model in zip(axes_list, models):
        g = frame_rewards[frame_rewards["model"] == model]
        rand = bool(g["random_weights"].any()) if "random_weights" in g else False
        any_random |= rand
        r = g["reward"].to_numpy(float)
        edges = np.histogram_bin_edges(r, bins=bins)
        for lab, name, color in ((0, "non-goal", _NON_GOAL_COLOR), (1, "goal", _GOAL_COLOR)):
            v = g.loc[g["label"] == lab, "reward"].to_numpy(float)
            if v.size == 0:
                continue
            ax.hist(v, bins=edges, density=True, alpha=0.55, color=color, label=f"{name} (n={v.size})")
            ax.axvline(v.mean(), color=color, ls=":", lw=2)
        alpha = float(g["alpha"].iloc[0])
        ax.set_title(model_label(model, rand) + ("\n(random weights)" if rand else ""), fontsize=9,
                     color=_RANDOM_COLOR if rand else "black")
        ax.set_xlabel("CLIP reward" if alpha == 0 else f"regularised reward (α = {alpha:g})", fontsize=8)
        ax.set_ylabel("density", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="upper left")
    if axes is None:
        head = title or _title("Rewards of goal vs non-goal frames (dotted: means)", any_random)
        fig.suptitle(head, fontsize=10, color=_RANDOM_COLOR if any_random else "black")
    return fig


def plot_success_rate(success: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Success rate per model with bootstrap CIs, smallest model first (Figure 4c).

    Args:
        success: From :func:`rmeval.scaling.success_rates`: ``model, success_rate, ci_low,
            ci_high, n_success, n_trajectories`` and ``random_weights``.

    Returns:
        The figure drawn on.
    """
    _check(success, ["model", "success_rate", "ci_low", "ci_high"], "plot_success_rate")
    fig, ax = _new_axes(ax, (max(6.5, 1.2 * len(success) + 2.5), 4.4))
    rand = success["random_weights"].astype(bool) if "random_weights" in success else pd.Series(False, index=success.index)
    x = np.arange(len(success))
    rate = success["success_rate"].to_numpy(float)
    yerr = np.vstack([(rate - success["ci_low"]).clip(lower=0), (success["ci_high"] - rate).clip(lower=0)])
    colors = [_RANDOM_COLOR if r else "C0" for r in rand]
    ax.bar(x, rate, yerr=yerr, capsize=4, color=colors, alpha=0.8)
    if {"n_success", "n_trajectories"} <= set(success.columns):
        for xi, (k, n, top) in enumerate(zip(success["n_success"], success["n_trajectories"], success["ci_high"])):
            ax.text(xi, min(float(top), 1.0) + 0.02, f"{int(k)}/{int(n)}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [model_label(m, r) for m, r in zip(success["model"], rand)], rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0, 1.25 if rand.any() else 1.12)
    ax.set_ylabel("success rate (share of successful trajectories)")
    ax.set_title(title or _title("Success rate per reward model", bool(rand.any())))
    ax.grid(True, axis="y", alpha=0.25)
    _mark_random(ax, bool(rand.any()), loc="upper left")
    return fig


def figure_bytes(fig: Figure, fmt: str = "png", *, dpi: int = 150) -> bytes:
    """Render a figure to ``png`` or ``svg`` bytes (no file, no pyplot)."""
    if fmt not in ("png", "svg"):
        raise InvalidInputError(f"format must be png or svg, got {fmt!r}")
    buf = io.BytesIO()
    metadata = {"Software": None} if fmt == "png" else {"Date": None}
    fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata)
    return buf.getvalue()
