"""Reward landscapes: CLIP reward against one state parameter (the paper's Figure 2).

For each model the dataset's frames are embedded once (cached); every alpha then costs
only vector arithmetic (:func:`rmeval.rewards.regularized_reward`). Frames sharing a value
of the parameter (e.g. one pole angle at several cart positions) are aggregated: mean,
standard deviation, minimum and maximum of their rewards. Continuous parameters (e.g. from
rollouts) are binned. The goal region comes from the dataset's labels (the share of goal
frames per value), or, for an unlabelled CartPole / MountainCar dataset, from the
environment's goal predicate.

Rewards of different alphas live on different scales (alpha = 1 keeps only the component
along the baseline-to-goal direction, so its rewards crowd near 1), so the table also has
*scaled* rewards: min-max scaled over all frames, per model and alpha, to [0, 1]. Plots
use them by default, which compares the *shapes* of the landscapes, as Figure 2 does.

:func:`landscape_table`, :func:`goal_table` and :func:`goal_intervals` are pure functions
of arrays; :func:`run_landscape` embeds and computes for several models;
:func:`plot_landscape` draws the table (importing matplotlib only when called).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rmeval.embedding_options import EmbeddingOptions
from rmeval.envs.catalogue import list_envs
from rmeval.errors import InvalidInputError
from rmeval.registry import AnyRef

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Columns of the landscape table, in order.
COLUMNS = [
    "dataset",
    "model",
    "arch",
    "weights",
    "random_weights",
    "alpha",
    "param",
    "value",
    "reward_mean",
    "reward_std",
    "reward_min",
    "reward_max",
    "reward_scaled_mean",
    "reward_scaled_min",
    "reward_scaled_max",
    "n",
    "goal_fraction",
]

#: A parameter with more distinct values than this is binned (unless bins are given).
MAX_EXACT_VALUES = 400
#: Bins used when a parameter is binned automatically.
DEFAULT_BINS = 50
#: Text drawn on plots with random-weight results.
RANDOM_NOTE = "* random weights: pipeline check only, says nothing about pretrained models"

#: Environments (metadata ``env``) whose goal predicate can mark the goal region when a
#: dataset has no labels: env id -> (parameter, predicate module).
#: Both ids are recorded: the state renderer's (sweeps) and rmeval's gymnasium id (rollouts).
_PREDICATES: dict[str, tuple[str, str]] = {
    env_id: (env.goal_param, f"rmeval.envs.{env.name}")
    for env in list_envs()
    if env.goal_param is not None
    for env_id in (env.state_renderer_id, env.id)
}


# --------------------------------------------------------------------------- pure parts


def default_param(dataset: Any) -> str:
    """The parameter to plot against when none is given: the dataset's first swept one."""
    sweeps = dataset.metadata.render.get("sweeps") if isinstance(dataset.metadata.render, dict) else None
    if isinstance(sweeps, dict) and sweeps:
        return str(next(iter(sweeps)))
    numeric = numeric_columns(dataset.index)
    raise InvalidInputError(
        f"dataset {dataset.name!r} was not made by a sweep, so name the parameter: --param NAME "
        f"(numeric columns: {', '.join(numeric) or 'none'})."
    )


def numeric_columns(index: pd.DataFrame) -> list[str]:
    """Numeric columns of a dataset index other than episode, step, label and auto_*."""
    skip = {"episode", "step", "label"}
    return [
        c for c in index.columns
        if c not in skip and not c.startswith("auto_")
        and pd.api.types.is_numeric_dtype(index[c]) and not pd.api.types.is_bool_dtype(index[c])
    ]


def param_values(index: pd.DataFrame, param: str, *, bins: int | None = None) -> tuple[np.ndarray, bool]:
    """The value of ``param`` that each frame is grouped under.

    Args:
        index: a dataset index with the numeric column ``param``.
        param: column name.
        bins: number of equal-width bins; None: exact values, unless there are more than
            :data:`MAX_EXACT_VALUES` distinct ones (then :data:`DEFAULT_BINS` bins).

    Returns:
        ``(values, binned)``: (N,) float64 group values (bin centres when binned).
    """
    if param not in index.columns:
        raise InvalidInputError(
            f"the dataset has no column {param!r}; numeric columns: {', '.join(numeric_columns(index)) or 'none'}."
        )
    if param not in numeric_columns(index):
        raise InvalidInputError(f"column {param!r} is not a numeric state column; choose one of {', '.join(numeric_columns(index))}.")
    x = index[param].to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(x).all():
        raise InvalidInputError(f"column {param!r} has missing or infinite values.")
    if bins is not None and (not isinstance(bins, int) or bins < 1):
        raise InvalidInputError(f"--bins must be a positive integer, got {bins!r}.")
    if bins is None and len(np.unique(x)) <= MAX_EXACT_VALUES:
        return x, False
    n_bins = bins or DEFAULT_BINS
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        return x, False
    edges = np.linspace(lo, hi, n_bins + 1)
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, n_bins - 1)
    centres = (edges[:-1] + edges[1:]) / 2
    return centres[which], True


def landscape_table(rewards: np.ndarray, alphas: Sequence[float], values: np.ndarray) -> pd.DataFrame:
    """Rewards aggregated over frames that share a parameter value.

    Args:
        rewards: (K, N) rewards, row k for ``alphas[k]``.
        alphas: K alphas.
        values: (N,) parameter value of each frame.

    Returns:
        Tidy DataFrame, one row per (alpha, value), sorted: ``alpha``, ``value``,
        ``reward_mean``, ``reward_std`` (population, 0 for one frame), ``reward_min``,
        ``reward_max``, ``reward_scaled_mean``/``_min``/``_max`` (rewards min-max scaled
        to [0, 1] over all N frames of that alpha; 0.5 when all are equal), ``n``.
    """
    r = np.asarray(rewards, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] != len(alphas) or r.shape[1] != v.shape[0]:
        raise InvalidInputError(f"rewards must have shape (K={len(alphas)}, N={v.shape[0]}), got {r.shape}.")
    uniq, inverse = np.unique(v, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(uniq))
    frames: list[pd.DataFrame] = []
    for k, alpha in enumerate(alphas):
        rk = r[k]
        lo, hi = float(rk.min()), float(rk.max())
        scaled = (rk - lo) / (hi - lo) if hi > lo else np.full_like(rk, 0.5)
        mean = np.bincount(inverse, weights=rk, minlength=len(uniq)) / counts
        sq = np.bincount(inverse, weights=rk * rk, minlength=len(uniq)) / counts
        std = np.sqrt(np.clip(sq - mean * mean, 0.0, None))
        mins = np.full(len(uniq), np.inf)
        maxs = np.full(len(uniq), -np.inf)
        np.minimum.at(mins, inverse, rk)
        np.maximum.at(maxs, inverse, rk)
        smean = np.bincount(inverse, weights=scaled, minlength=len(uniq)) / counts
        smin = np.full(len(uniq), np.inf)
        smax = np.full(len(uniq), -np.inf)
        np.minimum.at(smin, inverse, scaled)
        np.maximum.at(smax, inverse, scaled)
        frames.append(pd.DataFrame({
            "alpha": float(alpha), "value": uniq, "reward_mean": mean, "reward_std": std,
            "reward_min": mins, "reward_max": maxs, "reward_scaled_mean": smean,
            "reward_scaled_min": smin, "reward_scaled_max": smax, "n": counts.astype(np.int64),
        }))
    return pd.concat(frames, ignore_index=True)


def goal_table(values: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Share of goal frames per parameter value.

    Args:
        values: (N,) parameter values.
        labels: (N,) labels: 1 goal, 0 not, and NaN (or pandas NA) for unlabelled frames.

    Returns:
        DataFrame ``value``, ``goal_fraction`` (NaN where no frame is labelled),
        ``n_labelled``, sorted by value.
    """
    v = np.asarray(values, dtype=np.float64)
    lab = pd.array(labels, dtype="Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    uniq, inverse = np.unique(v, return_inverse=True)
    known = ~np.isnan(lab)
    n_lab = np.bincount(inverse[known], minlength=len(uniq))
    n_goal = np.bincount(inverse[known], weights=lab[known], minlength=len(uniq))
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(n_lab > 0, n_goal / np.maximum(n_lab, 1), np.nan)
    return pd.DataFrame({"value": uniq, "goal_fraction": frac, "n_labelled": n_lab.astype(np.int64)})


def goal_intervals(goal: pd.DataFrame, *, threshold: float = 0.5) -> list[tuple[float, float]]:
    """Runs of values where at least ``threshold`` of the labelled frames are goal frames.

    Each run spans from midway to the previous value to midway to the next one (clipped
    to the data's range), so a run of one value is still visible as a band.

    Args:
        goal: :func:`goal_table` output (sorted by value).

    Returns:
        List of (low, high) intervals in increasing order.
    """
    v = goal["value"].to_numpy(dtype=np.float64)
    is_goal = (goal["goal_fraction"].to_numpy(dtype=np.float64) >= threshold)
    out: list[tuple[float, float]] = []
    i = 0
    n = len(v)
    while i < n:
        if not is_goal[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and is_goal[j + 1]:
            j += 1
        lo = v[i] if i == 0 else (v[i - 1] + v[i]) / 2
        hi = v[j] if j == n - 1 else (v[j] + v[j + 1]) / 2
        out.append((float(lo), float(hi)))
        i = j + 1
    return out


def dataset_goal(dataset: Any, param: str, values: np.ndarray) -> tuple[pd.DataFrame, str]:
    """Goal shares per value for a dataset, and where they come from.

    Uses the dataset's labels when some frames are labelled; otherwise the environment's
    goal predicate when the dataset's env and ``param`` have one (CartPole angle,
    MountainCar x); otherwise no goal (all NaN).
    """
    labels = dataset.index["label"]
    if labels.notna().any():
        return goal_table(values, labels.to_numpy(dtype="float64", na_value=np.nan)), "labels"
    entry = _PREDICATES.get(dataset.metadata.env)
    if entry is not None and entry[0] == param:
        import importlib

        module = importlib.import_module(entry[1])
        raw = dataset.index[param].to_numpy(dtype=np.float64)
        return goal_table(values, module.is_goal(raw).astype(np.float64)), "goal predicate"
    return goal_table(values, np.full(len(values), np.nan)), ""


# --------------------------------------------------------------------------- the job


@dataclass
class LandscapeJob:
    """Settings of one landscape computation."""

    param: str
    alphas: list[float]
    goal_prompts: list[str]
    baseline_prompts: list[str]
    bins: int | None = None
    embedding: EmbeddingOptions = field(default_factory=EmbeddingOptions)
    question: str | None = None


@dataclass
class LandscapeResults:
    """The landscape table (all models), the goal shares and intervals, failures, stats."""

    table: pd.DataFrame
    goal: pd.DataFrame
    intervals: list[tuple[float, float]]
    goal_source: str
    binned: bool
    failures: dict[str, str] = field(default_factory=dict)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def random_models(self) -> list[str]:
        from rmeval.epic_table import random_models

        return random_models(self.table)


def run_landscape(
    dataset: Any,
    models: Sequence[AnyRef],
    job: LandscapeJob,
    *,
    log: Callable[[str], None] = lambda msg: None,
) -> LandscapeResults:
    """Rewards of every frame for every model and alpha, aggregated over ``job.param``.

    A model that cannot be loaded (or fails with another rmeval error) is recorded in
    ``failures``; the others still produce rows. A broken dataset raises.
    """
    from rmeval.model_rewards import RewardSettings, check_prompts, rewards_per_model

    check_prompts(job.alphas, job.goal_prompts, job.baseline_prompts)
    values, binned = param_values(dataset.index, job.param, bins=job.bins)
    goal, source = dataset_goal(dataset, job.param, values)
    intervals = goal_intervals(goal)
    goal_by_value = dict(zip(goal["value"].to_numpy(), goal["goal_fraction"].to_numpy()))
    settings = RewardSettings(
        alphas=job.alphas, goal_prompts=job.goal_prompts, baseline_prompts=job.baseline_prompts, embedding=job.embedding,
        question=job.question,
    )
    parts: list[pd.DataFrame] = []
    failures: dict[str, str] = {}
    stats: dict[str, dict[str, Any]] = {}
    for result in rewards_per_model(dataset, None, models, settings, failures=failures, log=log):
        ref = result.ref
        if result.alphas_apply:
            table = landscape_table(result.rewards, job.alphas, values)
        else:  # a judge: one line at its own reward (alpha NaN)
            table = landscape_table(result.rewards[:1], [float("nan")], values)
        table.insert(0, "dataset", dataset.name)
        table.insert(1, "model", ref.id)
        table.insert(2, "arch", ref.arch)
        table.insert(3, "weights", ref.weights_label)
        table.insert(4, "random_weights", result.random_weights)
        table.insert(6, "param", job.param)
        table["goal_fraction"] = table["value"].map(goal_by_value).astype(float)
        parts.append(table[COLUMNS])
        stats[ref.id] = result.stats
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
    return LandscapeResults(
        table=table, goal=goal, intervals=intervals, goal_source=source, binned=binned,
        failures=failures, stats=stats,
    )


def peak_summary(table: pd.DataFrame, intervals: Sequence[tuple[float, float]]) -> pd.DataFrame:
    """Per model and alpha: the value of the highest mean reward and whether it is a goal value.

    Returns:
        DataFrame ``model``, ``random_weights``, ``alpha``, ``peak_value``, ``peak_in_goal``
        (None when there is no goal region).
    """
    rows = []
    for (model, alpha), group in table.groupby(["model", "alpha"], sort=False, dropna=False):
        best = group.loc[group["reward_mean"].idxmax()]
        value = float(best["value"])
        in_goal = any(lo <= value <= hi for lo, hi in intervals) if intervals else None
        rows.append({"model": model, "random_weights": bool(best["random_weights"]), "alpha": float(alpha),
                     "peak_value": value, "peak_in_goal": in_goal})
    return pd.DataFrame(rows, columns=["model", "random_weights", "alpha", "peak_value", "peak_in_goal"])


# --------------------------------------------------------------------------- plotting


def plot_landscape(
    table: pd.DataFrame,
    *,
    intervals: Sequence[tuple[float, float]] = (),
    goal_label: str = "goal",
    scale: str = "minmax",
    band: str = "minmax",
    axes: Sequence[Axes] | None = None,
    title: str | None = None,
) -> Figure:
    """Reward against the parameter: one panel per model, one line per alpha.

    Args:
        table: :func:`run_landscape`'s table (columns :data:`COLUMNS`), one or more models.
        intervals: goal region(s) to shade, (low, high) in parameter units.
        goal_label: legend text of the shaded region.
        scale: ``"minmax"`` (rewards scaled to [0, 1] per model and alpha) or ``"raw"``.
        band: ``"minmax"`` (min-max over frames sharing a value), ``"std"`` (mean +- std;
            raw scale only) or ``"none"``.
        axes: one Axes per model, in the table's model order; None creates a grid on a new
            figure (no pyplot).
        title: figure title (default: dataset and parameter).

    Returns:
        The figure holding the axes. Models with random weights get a ``*`` and
        "(random weights)" in their panel title, and a red note.
    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if scale not in ("minmax", "raw"):
        raise InvalidInputError(f"scale must be 'minmax' or 'raw', got {scale!r}.")
    if band not in ("minmax", "std", "none"):
        raise InvalidInputError(f"band must be 'minmax', 'std' or 'none', got {band!r}.")
    if band == "std" and scale != "raw":
        raise InvalidInputError("a std band needs scale='raw' (the scaled table has no std).")
    missing = [c for c in ("model", "alpha", "value", "reward_mean", "random_weights", "param") if c not in table.columns]
    if missing or table.empty:
        raise InvalidInputError(f"the landscape table is empty or lacks columns {missing}.")
    models = list(dict.fromkeys(table["model"]))
    if axes is None:
        ncols = min(3, len(models))
        nrows = math.ceil(len(models) / ncols)
        fig = Figure(figsize=(4.8 * ncols + 1.3, 3.6 * nrows + 0.5), layout="constrained")
        FigureCanvasAgg(fig)
        grid = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
        axes_list = list(grid.ravel())
        for ax in axes_list[len(models):]:
            ax.set_visible(False)
    else:
        axes_list = list(axes)
        if len(axes_list) < len(models):
            raise InvalidInputError(f"got {len(axes_list)} axes for {len(models)} models; pass one per model.")
        fig = axes_list[0].figure
        while not isinstance(fig, Figure):
            fig = fig.figure  # type: ignore[union-attr]
    alphas = sorted({float(a) for a in table["alpha"] if not pd.isna(a)})
    cmap = colormaps["viridis"]
    colors: dict[float, Any] = {a: cmap(0.9 * (i / max(1, len(alphas) - 1))) for i, a in enumerate(alphas)}
    col = "reward_scaled" if scale == "minmax" else "reward"
    param = str(table["param"].iloc[0])
    any_random = False
    for ax, model in zip(axes_list, models):
        sub = table[table["model"] == model]
        random = bool(sub["random_weights"].iloc[0])
        any_random |= random
        for i, (lo, hi) in enumerate(intervals):
            ax.axvspan(lo, hi, color="#2a9d8f", alpha=0.15, lw=0, label=goal_label if i == 0 else None)
        for alpha in [*alphas, float("nan")]:
            judged = pd.isna(alpha)  # a judge's own reward: alphas do not apply
            line = (sub[sub["alpha"].isna()] if judged else sub[sub["alpha"] == alpha]).sort_values("value")
            if line.empty:
                continue
            x = line["value"].to_numpy()
            colors.setdefault(alpha, "#e76f51")
            label = "judge: log p(yes) − log p(no)" if judged else f"α = {alpha:g}"
            ax.plot(x, line[f"{col}_mean"].to_numpy(), color=colors[alpha], lw=1.6, label=label)
            if band == "minmax" and (line["n"] > 1).any():
                ax.fill_between(x, line[f"{col}_min"], line[f"{col}_max"], color=colors[alpha], alpha=0.07, lw=0)
            elif band == "std" and (line["n"] > 1).any():
                m, s = line["reward_mean"], line["reward_std"]
                ax.fill_between(x, m - s, m + s, color=colors[alpha], alpha=0.07, lw=0)
        name = f"{model}*" if random else model
        ax.set_title(f"{name} (random weights)" if random else name, fontsize=10,
                     color="#c0392b" if random else "black")
        ax.set_xlabel(param)
        ax.set_ylabel("reward (min-max scaled per α)" if scale == "minmax" else "reward")
        ax.grid(alpha=0.3)
        if random:
            ax.text(0.01, 0.01, RANDOM_NOTE, transform=ax.transAxes, ha="left", va="bottom", fontsize=6,
                    color="#c0392b", bbox={"boxstyle": "round,pad=0.2", "facecolor": "white",
                                           "edgecolor": "#c0392b", "alpha": 0.85})
    if axes is None:
        seen: dict[str, Any] = {}  # every panel's lines (a judge's panel has its own)
        for ax in axes_list[: len(models)]:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                seen.setdefault(label, handle)
        fig.legend(list(seen.values()), list(seen), loc="outside right center", fontsize=8, frameon=False)
    else:
        axes_list[0].legend(fontsize=8, loc="best", framealpha=0.85)
    dataset = str(table["dataset"].iloc[0]) if "dataset" in table.columns else ""
    text = title if title is not None else f"{dataset}: reward against {param}".strip(": ")
    if any_random and title is None:
        text += " (random weights)"
    if axes is None:
        fig.suptitle(text, fontsize=11)
    return fig
