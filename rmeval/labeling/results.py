"""Numbers for the Results page: rater statistics and EPIC from current labels and cached rewards."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rmeval.errors import InvalidInputError
from rmeval.labeling.cached_rewards import CachedModel

__all__ = ["epic_table", "labels_by_row", "rater_stats"]


def rater_stats(current: pd.DataFrame, n_frames: int) -> pd.DataFrame:
    """One row per rater: how much and how fast they labelled.

    Args:
        current: :meth:`LabelStore.current_labels` output.
        n_frames: frames in the dataset.

    Returns:
        DataFrame with columns ``rater``, ``labelled``, ``goal``, ``not_goal``, ``skipped``,
        ``done`` (share of the dataset labelled), ``goal_share``, ``first``, ``last`` (UTC
        timestamps), sorted by rater.
    """
    cols = ["rater", "labelled", "goal", "not_goal", "skipped", "done", "goal_share", "first", "last"]
    if current.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for rater, g in current.groupby("rater", sort=True):
        lab = g["label"]
        n_lab = int(lab.notna().sum())
        n_goal = int((lab == 1).sum())
        rows.append(
            {
                "rater": rater,
                "labelled": n_lab,
                "goal": n_goal,
                "not_goal": int((lab == 0).sum()),
                "skipped": int((g["kind"] == "skip").sum()),
                "done": n_lab / n_frames if n_frames else float("nan"),
                "goal_share": n_goal / n_lab if n_lab else float("nan"),
                "first": pd.to_datetime(g["time"].min(), unit="s", utc=True),
                "last": pd.to_datetime(g["time"].max(), unit="s", utc=True),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def labels_by_row(frames: Sequence[str], labels: pd.Series) -> np.ndarray:
    """``(N,)`` float labels in dataset row order: 1.0, 0.0 or NaN.

    Args:
        frames: the dataset's frame paths in row order.
        labels: labels indexed by frame path (``Int8`` with <NA>).
    """
    s = labels.reindex(pd.Index(frames))
    return s.to_numpy(dtype="float64", na_value=np.nan)


def epic_table(
    models: Sequence[CachedModel],
    labels: np.ndarray,
    alphas: Sequence[float],
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """EPIC distance (Lemma 1) of each cached model's reward to the labels, per alpha.

    Uses the frames that are labelled and have a cached embedding for the model.

    Args:
        models: from :func:`rmeval.labeling.cached_rewards.cached_models`.
        labels: ``(N,)`` 1.0 / 0.0 / NaN in dataset row order (:func:`labels_by_row`).
        alphas: regularisation strengths in [0, 1].

    Returns:
        ``(table, problems)``: one row per (model, alpha) with ``model``, ``precision``,
        ``alpha`` and the metric columns of :class:`rmeval.epic.EpicResult` (the columns of
        ``rmeval epic``'s CSV: ``epic``, ``epic_ci_low``, ``epic_ci_high``, ``ci_level``,
        ``pearson_rho``, ``mean_reward_goal``, ``mean_reward_non_goal``, ``n_labelled``,
        ``n_goal``); and model -> message for models that could not be scored (e.g. no
        baseline for alpha > 0, or too few labelled frames of one class).
    """
    import warnings

    from rmeval.epic import METRIC_COLUMNS, check_both_classes, epic_with_ci

    lab = np.asarray(labels, dtype=np.float64)
    labelled = np.isfinite(lab)
    if not labelled.any():
        raise InvalidInputError("no frame is labelled yet: label some frames (both goal and not goal) first")
    check_both_classes(lab[labelled])
    rows: list[dict[str, object]] = []
    problems: dict[str, str] = {}
    for m in models:
        use = labelled & m.found
        try:
            rewards = m.rewards(list(alphas))[:, use]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = epic_with_ci(rewards, lab[use].astype(np.int8), n_resamples=n_resamples, level=level, seed=seed)
        except InvalidInputError as exc:
            problems[m.model] = str(exc)
            continue
        for alpha, metrics in zip(alphas, res.rows()):
            rows.append({"model": m.model, "precision": m.precision, "alpha": float(alpha), **metrics})
    return pd.DataFrame(rows, columns=["model", "precision", "alpha", *METRIC_COLUMNS]), problems
