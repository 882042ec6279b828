"""The pose predicates against blind human labels (scripts/pose_label_check.py, stored CSVs)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("pose_label_check", ROOT / "scripts" / "pose_label_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: Tasks below 90% agreement in the blind rounds, with the figure (README: "Pose labels").
KNOWN_SHORT = {"hands_on_hips": 0.73}


def test_predicates_agree_with_the_blind_labels_of_rounds_3_and_4() -> None:
    """130 fresh frames (three-quarter views) labelled blind: 13 per task, 13 more for lotus and
    hands on hips; >= 90% per task but the documented exception; kappa >= 0.8 over all."""
    labels = pd.concat([pd.read_csv(ROOT / "scripts" / f"pose_labels_round{n}.csv") for n in (3, 4)],
                       ignore_index=True)
    assert len(labels) >= 100 and labels["task"].nunique() == 8
    table, kappa = _script().score_table(labels)
    agreement = dict(zip(table["task"], table["agreement"]))
    for task, value in agreement.items():
        assert value >= KNOWN_SHORT.get(task, 0.9), (task, value)
    overall = float((table["agreement"] * table["frames"]).sum() / table["frames"].sum())
    assert overall >= 0.9 and kappa >= 0.8, (overall, kappa)


def test_bad_label_files_are_refused(tmp_path) -> None:
    labels = pd.read_csv(ROOT / "scripts" / "pose_labels_round3.csv").head(3)
    labels.loc[0, "human"] = 2
    with pytest.raises(SystemExit, match="human label 0 or 1"):
        _script().score_table(labels)
