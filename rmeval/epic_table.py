"""EPIC distance of several reward models to a dataset's labels: the job behind ``rmeval epic``.

For each model: one embedding pass over the labelled frames (cached), the goal and
baseline prompts embedded once, rewards for every alpha from those embeddings, and EPIC
(Lemma 1) with a bootstrap confidence interval. The result is a tidy DataFrame, one row
per (model, alpha).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rmeval.embedding_options import EmbeddingOptions
from rmeval.epic.result import METRIC_COLUMNS
from rmeval.errors import DatasetError, RmevalError
from rmeval.registry import AnyRef, ModelRef

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Column order of the results table: who was scored, then alpha and the metrics of
#: :class:`rmeval.epic.EpicResult` (:data:`rmeval.epic.METRIC_COLUMNS`), then the precision.
IDENTITY_COLUMNS = ["dataset", "model", "arch", "weights", "random_weights", "params_m", "image_gflops"]
COLUMNS = [*IDENTITY_COLUMNS, "alpha", *METRIC_COLUMNS, "precision"]


@dataclass
class EpicJob:
    """Settings of one EPIC comparison."""

    alphas: list[float]
    goal_prompts: list[str]
    baseline_prompts: list[str]
    embedding: EmbeddingOptions = field(default_factory=EmbeddingOptions)
    n_resamples: int = 1000
    ci_level: float = 0.95
    seed: int = 0
    question: str | None = None


def random_models(table: pd.DataFrame) -> list[str]:
    """Models of a results table (a ``model`` and a ``random_weights`` column) whose weights are random."""
    if table.empty:
        return []
    return sorted(table.loc[table["random_weights"].astype(bool), "model"].unique().tolist())


#: Said wherever results of random-weight models are shown.
RANDOM_NOTE = "{models}: random weights; their numbers test the pipeline and say nothing about trained models"


@dataclass
class EpicResults:
    """What :func:`run_epic` (and :func:`rmeval.epic`) computed.

    Attributes:
        table: One row per (model, alpha), columns :data:`COLUMNS` (the CSV ``rmeval epic`` writes).
        failures: Model -> message for models that failed.
        stats: Model -> embedding counts and timings.
    """

    table: pd.DataFrame
    failures: dict[str, str] = field(default_factory=dict)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def random_models(self) -> list[str]:
        """Models with random weights (marked in :meth:`plot`)."""
        return random_models(self.table)

    def plot(self, *, ax: Axes | None = None, title: str | None = None) -> Figure:
        """EPIC against alpha, one line per model, the CI shaded; returns the figure (saving is the caller's job)."""
        from rmeval.plots import plot_epic_vs_alpha

        if self.table.empty:
            raise RmevalError("nothing to plot: no model produced results")
        return plot_epic_vs_alpha(self.table, ax=ax, title=title)

    def __repr__(self) -> str:
        models = list(dict.fromkeys(self.table["model"])) if not self.table.empty else []
        note = f"; {RANDOM_NOTE.format(models=', '.join(self.random_models))}" if self.random_models else ""
        failed = f", failed={sorted(self.failures)}" if self.failures else ""
        return f"EpicResults(models={models}, rows={len(self.table)}{failed}{note})"


def model_epic_rows(
    dataset_name: str,
    ref: ModelRef,
    rewards: np.ndarray,
    labels: np.ndarray,
    job: EpicJob,
    *,
    params_m: float,
    random_weights: bool | None = None,
    image_gflops: float | None = None,
    alphas: Sequence[float] | None = None,
) -> list[dict[str, Any]]:
    """EPIC rows (one per alpha) for one model from its rewards.

    Args:
        rewards: (K, N) rewards of the labelled frames, row k for ``alphas[k]``.
        labels: (N,) 0/1 labels.
        alphas: The K alphas (default ``job.alphas``); a judge has one row, alpha NaN.
    """
    from rmeval.epic import epic_with_ci
    from rmeval.progress import progress_bar

    update, close = progress_bar(job.n_resamples, f"bootstrap {ref.id}", show=job.embedding.progress, unit="resample")
    try:
        res = epic_with_ci(rewards, labels, n_resamples=job.n_resamples, level=job.ci_level, seed=job.seed,
                           progress=update)
    finally:
        close()
    spec = ref.spec
    rows = []
    for alpha, metrics in zip(job.alphas if alphas is None else alphas, res.rows()):
        rows.append(
            {
                "dataset": dataset_name,
                "model": ref.id,
                "arch": ref.arch,
                "weights": ref.weights_label,
                "random_weights": ref.is_random if random_weights is None else bool(random_weights),
                "params_m": params_m,
                "image_gflops": image_gflops if image_gflops is not None else (spec.image_gflops if spec else float("nan")),
                "alpha": float(alpha),
                **metrics,
                "precision": job.embedding.precision_for(ref.id),
            }
        )
    return rows


def check_labels(labels: np.ndarray, dataset_name: str) -> None:
    """Raise DatasetError unless there are both goal and non-goal labelled frames."""
    from rmeval.epic import check_both_classes

    if len(labels) == 0:
        raise DatasetError(
            f"dataset {dataset_name!r} has no labelled frames; label some (rmeval label) or "
            "fill the index's label column with 0/1."
        )
    check_both_classes(labels, of=f" of {dataset_name!r}", error=DatasetError)


def run_epic(
    dataset: Any,
    models: Sequence[AnyRef],
    job: EpicJob,
    *,
    log: Callable[[str], None] = lambda msg: None,
) -> EpicResults:
    """Compute EPIC for every model and alpha on a dataset's labelled frames.

    A model whose weights cannot be loaded (or that fails otherwise with an rmeval error)
    is recorded in ``failures``; the others still produce rows.
    """
    from rmeval.model_rewards import RewardSettings, check_prompts, rewards_per_model

    check_prompts(job.alphas, job.goal_prompts, job.baseline_prompts)
    rows_idx = dataset.labelled_rows()
    labels = dataset.labels(rows_idx) if len(rows_idx) else np.zeros(0, dtype=np.int8)
    check_labels(labels, dataset.name)
    settings = RewardSettings(
        alphas=job.alphas, goal_prompts=job.goal_prompts, baseline_prompts=job.baseline_prompts, embedding=job.embedding,
        question=job.question,
    )
    all_rows: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    stats: dict[str, dict[str, Any]] = {}
    for result in rewards_per_model(dataset, rows_idx, models, settings, failures=failures, log=log):
        judge = not result.alphas_apply  # a judge: its own reward, no alpha
        all_rows.extend(model_epic_rows(
            dataset.name, result.ref, result.rewards[:1] if judge else result.rewards, labels, job,
            params_m=result.params_m, random_weights=result.random_weights, image_gflops=result.image_gflops,
            alphas=[float("nan")] if judge else None,
        ))
        stats[result.ref.id] = result.stats
    table = pd.DataFrame(all_rows, columns=COLUMNS)
    return EpicResults(table=table, failures=failures, stats=stats)
