"""EPIC distance of several reward models to a dataset's labels: the job behind ``rmeval epic``.

For each model: one embedding pass over the labelled frames (cached), the goal and
baseline prompts embedded once, rewards for every alpha from those embeddings, and EPIC
(Lemma 1) with a bootstrap confidence interval. The result is a tidy DataFrame, one row
per (model, alpha).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rmeval.errors import DatasetError
from rmeval.registry import ModelRef

#: Column order of the results table.
COLUMNS = [
    "dataset",
    "model",
    "arch",
    "weights",
    "random_weights",
    "params_m",
    "image_gflops",
    "alpha",
    "epic",
    "epic_ci_low",
    "epic_ci_high",
    "ci_level",
    "pearson_rho",
    "mean_reward_goal",
    "mean_reward_non_goal",
    "n_labelled",
    "n_goal",
    "precision",
]


@dataclass
class EpicJob:
    """Settings of one EPIC comparison."""

    alphas: list[float]
    goal_prompts: list[str]
    baseline_prompts: list[str]
    device: str | None = None
    batch_size: int | str = 64
    precision: str = "fp32"
    cache_dir: str | Path | None = None
    weights_dir: str | Path | None = None
    n_resamples: int = 1000
    ci_level: float = 0.95
    seed: int = 0
    progress: bool | None = None
    compile: bool = False
    fit: str | None = None


@dataclass
class EpicResults:
    """Rows of the results table plus the models that failed (model id -> message)."""

    table: pd.DataFrame
    failures: dict[str, str] = field(default_factory=dict)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def random_models(self) -> list[str]:
        if self.table.empty:
            return []
        return sorted(self.table.loc[self.table["random_weights"], "model"].unique().tolist())


def model_epic_rows(
    dataset_name: str,
    ref: ModelRef,
    rewards: np.ndarray,
    labels: np.ndarray,
    job: EpicJob,
    *,
    params_m: float,
) -> list[dict[str, Any]]:
    """EPIC rows (one per alpha) for one model from its rewards.

    Args:
        rewards: (K, N) rewards of the labelled frames, row k for ``job.alphas[k]``.
        labels: (N,) 0/1 labels.
    """
    from rmeval.epic import epic_with_ci

    res = epic_with_ci(rewards, labels, n_resamples=job.n_resamples, level=job.ci_level, seed=job.seed)
    spec = ref.spec
    rows = []
    for k, alpha in enumerate(job.alphas):
        rows.append(
            {
                "dataset": dataset_name,
                "model": ref.id,
                "arch": ref.arch,
                "weights": ref.weights_label,
                "random_weights": ref.is_random,
                "params_m": params_m,
                "image_gflops": spec.image_gflops if spec else float("nan"),
                "alpha": float(alpha),
                "epic": float(res["epic"][k]),
                "epic_ci_low": float(res["ci_low"][k]),
                "epic_ci_high": float(res["ci_high"][k]),
                "ci_level": job.ci_level,
                "pearson_rho": float(res["rho"][k]),
                "mean_reward_goal": float(res["mean_goal"][k]),
                "mean_reward_non_goal": float(res["mean_non_goal"][k]),
                "n_labelled": int(np.asarray(res["n"]).reshape(-1)[0]),
                "n_goal": int(np.asarray(res["n_goal"]).reshape(-1)[0]),
                "precision": job.precision,
            }
        )
    return rows


def check_labels(labels: np.ndarray, dataset_name: str) -> None:
    """Raise DatasetError unless there are both goal and non-goal labelled frames."""
    n = len(labels)
    if n == 0:
        raise DatasetError(
            f"dataset {dataset_name!r} has no labelled frames; label some (rmeval label) or "
            "fill the index's label column with 0/1."
        )
    n_goal = int(labels.sum())
    if n_goal in (0, n):
        which = "goal" if n_goal == n else "non-goal"
        raise DatasetError(
            f"all {n} labelled frames of {dataset_name!r} are {which}: EPIC needs both goal "
            "and non-goal frames (its correlation is undefined otherwise)."
        )


def run_epic(
    dataset: Any,
    models: Sequence[ModelRef],
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
        alphas=job.alphas, goal_prompts=job.goal_prompts, baseline_prompts=job.baseline_prompts,
        device=job.device, batch_size=job.batch_size, precision=job.precision, cache_dir=job.cache_dir,
        weights_dir=job.weights_dir, progress=job.progress, compile=job.compile, fit=job.fit,
    )
    all_rows: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    stats: dict[str, dict[str, Any]] = {}
    for result in rewards_per_model(dataset, rows_idx, models, settings, failures=failures, log=log):
        all_rows.extend(model_epic_rows(dataset.name, result.ref, result.rewards, labels, job, params_m=result.params_m))
        stats[result.ref.id] = result.stats
    table = pd.DataFrame(all_rows, columns=COLUMNS)
    return EpicResults(table=table, failures=failures, stats=stats)
