"""Reward-model metrics beyond EPIC, each with a percentile-bootstrap interval.

Pure functions over numpy arrays with typed results (``notes.md`` section 9):

- success detection from frame labels (:mod:`~rmeval.metrics.detection`): AUROC, average
  precision, best balanced accuracy and its threshold, EPIC to the labels;
- calibration of probability rewards (:mod:`~rmeval.metrics.calibration`): Brier score, ECE;
- progress (:mod:`~rmeval.metrics.progress`): value-order correlation, correlation with a
  ground-truth progress column;
- ranking (:mod:`~rmeval.metrics.ranking`): policy ranking (Kendall tau-b, Spearman),
  preference accuracy on trajectory pairs;
- task confusion (:mod:`~rmeval.metrics.confusion`): prompts x task datasets.

Intervals: frames resampled within each label class for frame metrics, whole trajectories
for trajectory metrics, policies for ranking; seeded, with ``n_resamples`` and ``level``.
"""

from rmeval.metrics._core import Bootstrap, Estimate
from rmeval.metrics.calibration import Calibration, brier_score, calibration, expected_calibration_error
from rmeval.metrics.confusion import TaskConfusion, task_confusion
from rmeval.metrics.detection import (
    SuccessDetection,
    auroc,
    average_precision,
    balanced_accuracy,
    epic_to_labels,
    success_detection,
)
from rmeval.metrics.progress import ProgressCorrelation, ValueOrder, progress_correlation, value_order_correlation
from rmeval.metrics.ranking import (
    PolicyRanking,
    group_means,
    policy_ranking,
    preference_accuracy,
    trajectory_returns,
)

__all__ = [
    "Bootstrap",
    "Calibration",
    "Estimate",
    "PolicyRanking",
    "ProgressCorrelation",
    "SuccessDetection",
    "TaskConfusion",
    "ValueOrder",
    "auroc",
    "average_precision",
    "balanced_accuracy",
    "brier_score",
    "calibration",
    "epic_to_labels",
    "expected_calibration_error",
    "group_means",
    "policy_ranking",
    "preference_accuracy",
    "progress_correlation",
    "success_detection",
    "task_confusion",
    "trajectory_returns",
    "value_order_correlation",
]
