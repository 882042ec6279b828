"""Trajectory scoring: quick counts, success threshold, success rates with bootstrap CIs."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from rmeval.errors import InvalidInputError
from rmeval.labeling.trajectories import (
    episode_fractions,
    episodes,
    quick_counts,
    scores_csv,
    success_rates,
)


def scores(rows: list[tuple[int, str, str, int, int]]) -> pd.DataFrame:
    """rows: (episode, policy, rater, n_task, n_steps)."""
    return pd.DataFrame(
        {
            "score_id": range(len(rows)),
            "episode": [r[0] for r in rows],
            "policy": [r[1] for r in rows],
            "rater": [r[2] for r in rows],
            "n_task": [r[3] for r in rows],
            "n_steps": [r[4] for r in rows],
            "time": 1.7e9,
        }
    )


def test_quick_counts():
    assert quick_counts(100) == [(0, 0), (25, 25), (50, 50), (75, 75), (100, 100)]
    assert quick_counts(61) == [(0, 0), (25, 15), (50, 31), (75, 46), (100, 61)]
    assert quick_counts(10) == [(0, 0), (25, 3), (50, 5), (75, 8), (100, 10)]  # halves up
    with pytest.raises(InvalidInputError):
        quick_counts(0)


def test_episodes_from_index(tiny_dataset):
    eps = episodes(tiny_dataset.index)
    assert [e.episode for e in eps] == [0, 1, 2]
    assert [e.policy for e in eps] == ["ckpt-a", "ckpt-a", "ckpt-b"]
    assert eps[1].rows.tolist() == [4, 5, 6, 7] and eps[1].n_steps == 4
    shuffled = tiny_dataset.index.sample(frac=1, random_state=0).reset_index(drop=True)
    eps2 = episodes(shuffled)
    assert [shuffled.loc[e.rows, "step"].tolist() for e in eps2] == [[0, 1, 2, 3]] * 3


def test_success_rates_by_hand():
    s = scores(
        [
            (0, "a", "alice", 50, 100),  # 0.50 -> success (>=)
            (1, "a", "alice", 49, 100),  # 0.49 -> fail
            (2, "a", "alice", 100, 100),  # success
            (3, "a", "alice", 0, 100),  # fail
            (4, "b", "alice", 75, 100),  # success
        ]
    )
    t = success_rates(s, n_resamples=500, seed=1).set_index("policy")
    assert t.loc["a", "n_trajectories"] == 4 and t.loc["a", "n_success"] == 2
    assert t.loc["a", "success_rate"] == pytest.approx(0.5)
    assert t.loc["a", "ci_low"] <= 0.5 <= t.loc["a", "ci_high"]
    assert t.loc["b", "success_rate"] == 1.0 and (t.loc["b", "ci_low"], t.loc["b", "ci_high"]) == (1.0, 1.0)
    strict = success_rates(s, inclusive=False, n_resamples=100).set_index("policy")
    assert strict.loc["a", "success_rate"] == pytest.approx(0.25)
    again = success_rates(s, n_resamples=500, seed=1)
    pd.testing.assert_frame_equal(again.set_index("policy"), t)  # seeded


def test_several_raters_are_averaged_per_episode():
    s = scores([(0, "a", "alice", 40, 100), (0, "a", "bob", 70, 100), (1, "a", "alice", 20, 100)])
    fr = episode_fractions(s)
    assert fr["fraction"].tolist() == pytest.approx([0.55, 0.2]) and fr["n_raters"].tolist() == [2, 1]
    assert success_rates(s)["success_rate"].iloc[0] == pytest.approx(0.5)
    assert success_rates(s, rater="alice")["success_rate"].iloc[0] == pytest.approx(0.0)


def test_scores_csv():
    text = scores_csv(scores([(0, "", "alice", 30, 61)]), "tiny")
    df = pd.read_csv(io.StringIO(text))
    assert df.loc[0, "policy"] == "all" and not df.loc[0, "success"] and df.loc[0, "threshold"] == ">=0.5"
    assert list(df.columns) == ["dataset", "episode", "policy", "rater", "n_task", "n_steps", "fraction", "success", "threshold", "time"]
    strict = pd.read_csv(io.StringIO(scores_csv(scores([(0, "a", "alice", 50, 100)]), "tiny", inclusive=False)))
    assert strict.loc[0, "threshold"] == ">0.5" and not strict.loc[0, "success"]  # 50/100 is not above 0.5
