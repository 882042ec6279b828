"""Agreement statistics on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rmeval.errors import InvalidInputError
from rmeval.labeling.agreement import (
    agreement_with_reference,
    cohen_kappa,
    disagreements,
    fleiss_from_matrix,
    fleiss_kappa,
    label_matrix,
    majority_vote,
    pairwise_agreement,
)


def test_cohen_kappa_textbook_example():
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # p_o = 35/50 = 0.7; p_yes(A) = 0.5, p_yes(B) = 0.6; p_e = 0.5*0.6 + 0.5*0.4 = 0.5;
    # kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_cohen_kappa_small_hand_example():
    # a = 1 1 0 0, b = 1 0 0 0: p_o = 3/4; p_e = (1/2)(1/4) + (1/2)(3/4) = 1/2; kappa = 1/2
    assert cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(0.5)


def test_cohen_kappa_edges():
    assert cohen_kappa([1, 0, 1], [1, 0, 1]) == pytest.approx(1.0)
    assert cohen_kappa([1, 0], [0, 1]) == pytest.approx(-1.0)
    assert math.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))  # chance agreement already perfect
    with pytest.raises(InvalidInputError):
        cohen_kappa([1, 0], [1])
    with pytest.raises(InvalidInputError):
        cohen_kappa([], [])


def test_fleiss_kappa_wikipedia_example():
    # Fleiss (1971)-style example on Wikipedia: 10 items, 14 raters, 5 categories;
    # P_bar = 0.378, P_e = 0.213, kappa = 0.210.
    counts = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa(counts) == pytest.approx(0.20993, abs=5e-5)


def test_fleiss_kappa_binary_hand_example():
    # 3 raters, 4 frames: GGG, GGN, NNN, GNN -> counts (goal, not) (3,0) (2,1) (0,3) (1,2).
    # P_i = 1, 1/3, 1, 1/3 -> P_bar = 2/3; p_goal = 6/12 -> P_e = 1/2; kappa = (2/3 - 1/2)/(1/2) = 1/3
    assert fleiss_kappa([[3, 0], [2, 1], [0, 3], [1, 2]]) == pytest.approx(1 / 3)


def test_fleiss_with_two_raters_on_balanced_data_is_close_to_cohen():
    a = [1, 1, 0, 0, 1, 0]
    b = [1, 0, 0, 0, 1, 1]
    counts = np.column_stack([np.add(a, b), 2 - np.add(a, b)])
    # Fleiss uses pooled category shares; with equal marginals it equals Cohen's kappa.
    assert fleiss_kappa(counts) == pytest.approx(cohen_kappa(a, b))


def test_fleiss_kappa_rejects_bad_tables():
    with pytest.raises(InvalidInputError):
        fleiss_kappa([[1, 0], [2, 0]])  # an item with one rating
    with pytest.raises(InvalidInputError):
        fleiss_kappa([[-1, 3]])
    assert math.isnan(fleiss_kappa([[2, 0], [3, 0]]))


def current(rows: list[tuple[str, str, int | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": range(len(rows)),
            "frame": [r[0] for r in rows],
            "rater": [r[1] for r in rows],
            "kind": ["skip" if r[2] is None else "label" for r in rows],
            "label": pd.array([r[2] for r in rows], dtype="Int8"),
            "time": 0.0,
        }
    )


CUR = current(
    [
        ("f0", "alice", 1), ("f0", "bob", 1), ("f0", "carol", 1),
        ("f1", "alice", 1), ("f1", "bob", 1), ("f1", "carol", 0),
        ("f2", "alice", 0), ("f2", "bob", 0), ("f2", "carol", 0),
        ("f3", "alice", 1), ("f3", "bob", 0), ("f3", "carol", 0),
        ("f4", "alice", 1), ("f4", "bob", 0),
        ("f5", "alice", None), ("f5", "bob", 1),
    ]
)
FRAMES = ["f0", "f1", "f2", "f3", "f4", "f5", "f6"]


def test_label_matrix_and_fleiss_from_it():
    m = label_matrix(CUR, FRAMES)
    assert list(m.columns) == ["alice", "bob", "carol"]
    assert list(m.index) == ["f0", "f1", "f2", "f3", "f4", "f5"]  # f6 unlabelled, skip counts as no label
    assert m.loc["f5"].isna().tolist() == [True, False, True]
    kappa, n = fleiss_from_matrix(m, complete_only=True)
    assert n == 4 and kappa == pytest.approx(1 / 3)  # the binary hand example above
    _, n_any = fleiss_from_matrix(m)
    assert n_any == 5  # f5 has one label only


def test_pairwise_agreement_by_hand():
    pairs = pairwise_agreement(label_matrix(CUR, FRAMES)).set_index(["rater_a", "rater_b"])
    # alice vs bob on f0..f4: 1/1, 1/1, 0/0, 1/0, 1/0 -> agreement 3/5;
    # p_e = (4/5)(2/5) + (1/5)(3/5) = 11/25; kappa = (15/25 - 11/25) / (14/25) = 2/7
    ab = pairs.loc[("alice", "bob")]
    assert ab["n_common"] == 5 and ab["agreement"] == pytest.approx(0.6) and ab["kappa"] == pytest.approx(2 / 7)
    assert pairs.loc[("bob", "carol"), "n_common"] == 4


def test_majority_vote_and_ties():
    m = label_matrix(CUR, FRAMES)
    assert majority_vote(m).tolist() == [1, 1, 0, 0, pd.NA, 1]
    assert majority_vote(m, tie="goal").tolist() == [1, 1, 0, 0, 1, 1]
    assert majority_vote(m, tie="not_goal")["f4"] == 0
    with pytest.raises(InvalidInputError):
        majority_vote(m, tie="coin")  # type: ignore[arg-type]


def test_disagreements_lists_split_frames_most_even_first():
    d = disagreements(label_matrix(CUR, FRAMES))
    assert list(d.index) == ["f4", "f1", "f3"]  # 1-1 split first, then 2-1 in frame order
    assert d.loc["f1", ["n_goal", "n_not_goal"]].tolist() == [2, 1]


def test_agreement_with_reference():
    m = label_matrix(CUR, FRAMES)
    ref = pd.Series(pd.array([1, 1, 0, 0, 0, 0, 1], dtype="Int8"), index=FRAMES)
    t = agreement_with_reference(m, ref, extra={"majority": majority_vote(m)}).set_index("who")
    # alice: f0..f4 = 1 1 0 1 1 vs 1 1 0 0 0 -> 3/5 agree
    assert t.loc["alice", "n"] == 5 and t.loc["alice", "agreement"] == pytest.approx(0.6)
    assert t.loc["alice", "goal_recall"] == pytest.approx(1.0)
    assert t.loc["alice", "goal_precision"] == pytest.approx(0.5)
    # majority: f0..f3 and f5 (f4 tied -> NA): 1 1 0 0 1 vs 1 1 0 0 0 -> 4/5
    assert t.loc["majority", "n"] == 5 and t.loc["majority", "agreement"] == pytest.approx(0.8)


def test_empty_inputs():
    empty = current([])
    m = label_matrix(empty, FRAMES)
    assert m.empty
    assert pairwise_agreement(m).empty
    assert fleiss_from_matrix(m)[1] == 0
    assert majority_vote(m).empty
    assert disagreements(m).empty
