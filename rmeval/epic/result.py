"""The typed result of goal-based EPIC, and the one column vocabulary every EPIC table uses.

:class:`EpicResult` holds, for K reward variants (e.g. one per alpha) of one model scored
against one set of labels: EPIC, its bootstrap interval, the point-biserial rho, the mean
raw reward of goal and non-goal frames, and the frame counts. Its field names are the
column names of the CSV ``rmeval epic`` writes (:data:`METRIC_COLUMNS`); the app's Results
page, ``rmeval scaling``, the report and :func:`rmeval.epic` use the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["METRIC_COLUMNS", "EpicResult"]

#: The metric columns of every EPIC table, in order (after identity columns and ``alpha``).
METRIC_COLUMNS: tuple[str, ...] = (
    "epic",
    "epic_ci_low",
    "epic_ci_high",
    "ci_level",
    "pearson_rho",
    "mean_reward_goal",
    "mean_reward_non_goal",
    "n_labelled",
    "n_goal",
)


@dataclass(frozen=True)
class EpicResult:
    """Goal-based EPIC (Lemma 1) of K reward variants against the same N labelled frames.

    Attributes:
        epic: (K,) EPIC distances, ``sqrt((1 - rho) / 2)``, in [0, 1].
        epic_ci_low, epic_ci_high: (K,) percentile-bootstrap interval over frames.
        ci_level: The interval's level, e.g. 0.95.
        pearson_rho: (K,) point-biserial correlation of reward and goal label.
        mean_reward_goal, mean_reward_non_goal: (K,) raw (uncentred) mean reward of the
            goal / non-goal frames.
        n_labelled: N, the frames scored.
        n_goal: Goal frames among them.
    """

    epic: np.ndarray
    epic_ci_low: np.ndarray
    epic_ci_high: np.ndarray
    ci_level: float
    pearson_rho: np.ndarray
    mean_reward_goal: np.ndarray
    mean_reward_non_goal: np.ndarray
    n_labelled: int
    n_goal: int

    def __len__(self) -> int:
        return int(self.epic.shape[0])

    def rows(self) -> list[dict[str, Any]]:
        """One dict per variant, keys :data:`METRIC_COLUMNS` (python floats and ints)."""
        return [
            {
                "epic": float(self.epic[k]),
                "epic_ci_low": float(self.epic_ci_low[k]),
                "epic_ci_high": float(self.epic_ci_high[k]),
                "ci_level": float(self.ci_level),
                "pearson_rho": float(self.pearson_rho[k]),
                "mean_reward_goal": float(self.mean_reward_goal[k]),
                "mean_reward_non_goal": float(self.mean_reward_non_goal[k]),
                "n_labelled": int(self.n_labelled),
                "n_goal": int(self.n_goal),
            }
            for k in range(len(self))
        ]
