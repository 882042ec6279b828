"""A training run's page: the reward-hacking monitor over training (``rmeval report --run``).

:func:`plot_monitor` draws ``monitor.csv`` (:mod:`rmeval.training.monitor`) as three
panels over environment steps: the on-policy EPIC with its bootstrap interval, the mean
VLM reward, and the true success; evaluations where the warning rule fired are marked in
every panel. :func:`run_report_html` puts the plot, the checkpoints table and the monitor
table into one self-contained HTML page.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rmeval.errors import InvalidInputError


def plot_monitor(monitor: pd.DataFrame, *, axes: list[Axes] | None = None, title: str | None = None,
                 random_weights: bool = False) -> Figure:
    """Plot a run's monitor rows (``monitor.csv``).

    Args:
        monitor: one row per evaluation: ``step``, ``onpolicy_epic``, ``epic_ci_low``,
            ``epic_ci_high``, ``vlm_reward_mean``, ``true_success``, ``warning``.
        axes: three axes to draw on (default: a new figure with three stacked panels).
        title: figure title.
        random_weights: mark the plot as computed with a random-weight reward model.

    Returns:
        The figure.
    """
    from rmeval.plots import new_figure

    need = ("step", "onpolicy_epic", "epic_ci_low", "epic_ci_high", "vlm_reward_mean", "true_success", "warning")
    missing = [c for c in need if c not in monitor.columns]
    if missing:
        raise InvalidInputError(f"monitor table lacks columns {missing}")
    if axes is None:
        fig = new_figure((7.5, 7.0))
        axes = list(fig.subplots(3, 1, sharex=True))
    else:
        if len(axes) != 3:
            raise InvalidInputError("plot_monitor needs three axes")
        fig = axes[0].get_figure()  # type: ignore[assignment]
    step = monitor["step"].to_numpy(dtype=float)
    epic = monitor["onpolicy_epic"].to_numpy(dtype=float)
    axes[0].plot(step, epic, "o-", color="C0", ms=3, label="on-policy EPIC")
    axes[0].fill_between(step, monitor["epic_ci_low"].to_numpy(dtype=float), monitor["epic_ci_high"].to_numpy(dtype=float),
                         color="C0", alpha=0.2, label="95% bootstrap CI")
    axes[0].axhline(1 / np.sqrt(2), color="grey", ls=":", lw=1, label="unrelated (0.707)")
    axes[0].set_ylabel("EPIC (VLM vs goal)")
    axes[0].legend(loc="best", fontsize=8)
    axes[1].plot(step, monitor["vlm_reward_mean"].to_numpy(dtype=float), "o-", color="C1", ms=3)
    axes[1].set_ylabel("mean VLM reward")
    axes[2].plot(step, monitor["true_success"].to_numpy(dtype=float), "o-", color="C2", ms=3)
    axes[2].set_ylabel("true success\n(goal share)")
    axes[2].set_ylim(-0.02, 1.02)
    axes[2].set_xlabel("environment steps")
    for s in step[monitor["warning"].to_numpy(dtype=float) > 0]:
        for ax in axes:
            ax.axvline(s, color="red", alpha=0.5, lw=1)
    for ax in axes:
        ax.grid(alpha=0.3)
    text = title or "reward-hacking monitor"
    if random_weights:
        text += " (random weights)"
    fig.suptitle(text)
    return fig


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}"
    "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    ".warn{background:#fdd}.note{color:#555}img{max-width:100%}"
)


def run_report_html(run_dir: str | Path) -> str:
    """The run's page (see the module docstring)."""
    from rmeval.report import esc, figure_html, table_html
    from rmeval.training.checkpoints import read_checkpoints
    from rmeval.training.config import load_config
    from rmeval.training.monitor import MONITOR_CSV, read_monitor

    root = Path(run_dir)
    config = load_config(root)
    monitor = read_monitor(root)
    checkpoints = read_checkpoints(root)
    parts = [f"<h1>run {esc(root.name)}</h1>",
             (f'<p class="note">{esc(config.algo.upper())} on {esc(config.env_id)}, task {esc(config.task)}, reward '
             f"{esc(config.model or config.reward)} (alpha {config.alpha:g}); {config.total_steps:,} steps.</p>")]
    if config.random_weights:
        parts.append('<p class="warn"><strong>Random weights</strong> in the reward model: its rewards say nothing '
                     "about a trained model.</p>")
    parts.append("<h2>Reward-hacking monitor</h2>")
    if monitor.empty:
        parts.append(f'<p class="note">No {MONITOR_CSV}: the monitor runs during `rmeval train` with a VLM reward.</p>')
    else:
        n_warn = int((monitor["warning"] > 0).sum())
        parts.append(
            '<p class="note">On the policy\'s last frames at each evaluation: EPIC between the VLM reward and the '
            "environment's ground-truth goal predicate, the mean VLM reward, and the true success (share of "
            "those frames in a goal state). Warning rule: the mean VLM reward rose at each of the last 3 "
            f"evaluations while the true success fell at each, by at least 0.05 in all. Warnings: {n_warn}.</p>"
        )
        parts.append(figure_html(plot_monitor(monitor, random_weights=config.random_weights), "monitor over training"))
        parts.append(table_html(monitor, random_col=None, model_col=None, columns=[
            ("step", "step", ","), ("frames", "frames", ","), ("n_goal", "goal frames", ","),
            ("onpolicy_epic", "EPIC", ".4f"), ("epic_ci_low", "CI low", ".4f"), ("epic_ci_high", "CI high", ".4f"),
            ("vlm_reward_mean", "mean VLM reward", ".4f"), ("true_success", "true success", ".3f"),
            ("warning", "warning", None)]))
    parts.append("<h2>Checkpoints</h2>")
    parts.append(table_html(checkpoints, random_col=None, model_col=None) if len(checkpoints) else
                 '<p class="note">No checkpoints yet.</p>')
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>rmeval run {esc(root.name)}</title>'
            f"<style>{_CSS}</style></head><body>{''.join(parts)}"
            f'<p class="note">generated {esc(created)}; self-contained (images embedded).</p></body></html>\n')


__all__ = ["plot_monitor", "run_report_html"]
