"""The scaling figures (paper Figures 4 and 7) as :class:`Artifact` s: a figure, the table behind it, notes.

Built from the pure functions of :mod:`rmeval.scaling` and the plots of :mod:`rmeval.plots`;
used by ``rmeval scaling`` (which writes them) and the report (which embeds them). Nothing
here writes files: saving is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Artifact", "histogram_artifact", "scaling_artifacts", "success_artifact"]


@dataclass
class Artifact:
    """One plot and the table behind it."""

    stem: str  # file name without extension, e.g. scaling_cartpole-angle_params
    title: str
    figure: Figure
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def scaling_artifacts(results: pd.DataFrame, name: str) -> tuple[list[Artifact], pd.DataFrame, list[str]]:
    """The EPIC scaling plots of a checked results table.

    Args:
        results: From :func:`rmeval.scaling.check_results`.
        name: Dataset name used in file stems.

    Returns:
        (artifacts, fits, warnings): the params, GFLOPs (when two or more models have
        GFLOPs) and alpha plots; the fits of both size measures stacked; warnings about
        models left out.
    """
    from rmeval.plots import plot_epic_vs_alpha, plot_epic_vs_size
    from rmeval.scaling import fit_log_linear, scaling_points

    artifacts: list[Artifact] = []
    fits: list[pd.DataFrame] = []
    warnings: list[str] = []
    for size, suffix, what in (("params_m", "params", "parameters"), ("image_gflops", "gflops", "image GFLOPs")):
        points, dropped = scaling_points(results, size)
        warnings.extend(dropped)
        if points["model"].nunique() < 2:
            warnings.append(f"EPIC vs {what}: fewer than two models with a known {size}; plot skipped")
            continue
        fit = fit_log_linear(points, size=size)
        fits.append(fit)
        fig = plot_epic_vs_size(points, fit, size=size)
        table = points.rename(columns={"size": size})
        notes = sorted({n for n in fit["note"] if n})
        artifacts.append(Artifact(f"scaling_{name}_{suffix}", f"EPIC distance vs {what}", fig, table, notes))
    alpha_cols = [c for c in ("model", "arch", "random_weights", "params_m", "image_gflops", "alpha", "epic",
                              "epic_ci_low", "epic_ci_high") if c in results.columns]
    artifacts.append(
        Artifact(f"scaling_{name}_alpha", "EPIC distance vs alpha, per model", plot_epic_vs_alpha(results),
                 results[alpha_cols].sort_values(["params_m", "model", "alpha"], kind="stable").reset_index(drop=True))
    )
    fit_table = pd.concat(fits, ignore_index=True) if fits else pd.DataFrame()
    return artifacts, fit_table, warnings


def histogram_artifact(frame_rewards: pd.DataFrame, name: str, *, order: list[str] | None = None, bins: int = 30) -> Artifact:
    """The reward-histogram plot (Fig. 7) of per-frame rewards."""
    from rmeval.plots import plot_reward_histograms

    fig = plot_reward_histograms(frame_rewards, order=order, bins=bins)
    return Artifact(f"histograms_{name}", "Rewards of goal vs non-goal frames", fig, frame_rewards)


def success_artifact(success: pd.DataFrame, name: str) -> Artifact:
    """The success-rate plot (Fig. 4c) of a :func:`rmeval.scaling.success_rates` table."""
    from rmeval.plots import plot_success_rate

    return Artifact(f"success_{name}", "Success rate per reward model", plot_success_rate(success), success)
