"""Frame orders: sequential, seeded random, most informative first; moving through an order."""

from __future__ import annotations

import numpy as np
import pytest

from rmeval.errors import InvalidInputError
from rmeval.labeling.ordering import boundary_threshold, frame_order, informativeness, next_position


def test_sequential_and_random_orders():
    assert frame_order(5).tolist() == [0, 1, 2, 3, 4]
    r1 = frame_order(50, "random", seed=3)
    assert sorted(r1.tolist()) == list(range(50))
    assert r1.tolist() == frame_order(50, "random", seed=3).tolist()
    assert r1.tolist() != frame_order(50, "random", seed=4).tolist()
    with pytest.raises(InvalidInputError):
        frame_order(5, "alphabetical")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        frame_order(5, "informative")


def test_boundary_threshold_with_and_without_labels():
    r = np.array([0.0, 0.1, 0.2, 1.0, 1.1, 1.2])
    # labels: midpoint of the class means (0.1 and 1.1)
    assert boundary_threshold(r, [0, 0, 0, 1, 1, np.nan]) == pytest.approx((0.1 + 1.05) / 2)
    # no labels: the two-means split lands between the clusters
    assert 0.2 < boundary_threshold(r) < 1.0
    # one class only: falls back to the split
    assert boundary_threshold(r, [1, 1, 1, 1, 1, 1]) == pytest.approx(boundary_threshold(r))


def test_informative_puts_boundary_frames_first():
    r = np.array([0.0, 0.05, 0.1, 0.55, 1.0, 1.05, 1.1, 0.45])
    scores = informativeness(r)
    order = frame_order(8, "informative", scores=scores)
    assert set(order[:2].tolist()) == {3, 7}  # the two frames in the middle
    assert set(order[-2:].tolist()) <= {0, 6, 1, 5}


def test_informative_puts_frames_models_disagree_on_first():
    # Two models agree on frames 0-3 (clearly low/high) and contradict each other on 4 and 5.
    m1 = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 0.0])
    m2 = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    order = frame_order(6, "informative", scores=informativeness(np.vstack([m1, m2])))
    assert set(order[:2].tolist()) == {4, 5}


def test_informative_ignores_missing_rewards():
    r = np.array([[0.0, 1.0, 0.5, np.nan], [np.nan, np.nan, np.nan, np.nan]])
    s = informativeness(r)
    assert s[3] == -np.inf and np.isfinite(s[:3]).all()
    assert frame_order(4, "informative", scores=s)[-1] == 3


def test_next_position():
    order = np.array([3, 1, 0, 2])
    done = np.array([True, False, True, False])  # by row: rows 1 and 3 pending
    assert next_position(order, done, 0) == 0  # row 3
    assert next_position(order, done, 1) == 1  # row 1
    assert next_position(order, done, 2) == 0  # wraps to row 3
    assert next_position(order, done, 2, wrap=False) is None
    assert next_position(order, done, 4) == 0
    assert next_position(order, np.ones(4, bool), 0) is None
    assert next_position(np.array([], dtype=int), np.array([], dtype=bool), 0) is None
