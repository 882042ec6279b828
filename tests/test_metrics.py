"""rmeval.metrics against independent references (scikit-learn, scipy.stats, direct loops)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import average_precision_score, balanced_accuracy_score, roc_auc_score

from rmeval.epic import epic_from_labels
from rmeval.errors import InvalidInputError
from rmeval.metrics import (
    calibration,
    epic_to_labels,
    policy_ranking,
    preference_accuracy,
    progress_correlation,
    success_detection,
    task_confusion,
    trajectory_returns,
    value_order_correlation,
)

FAST = {"n_resamples": 200, "seed": 1}


def _data(seed: int = 0, n: int = 120, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    y[:2] = [0, 1]
    r = rng.normal(size=n) + 1.2 * y
    if ties:
        r = np.round(r, 0)
    return r, y


@pytest.mark.parametrize("ties", [False, True])
def test_detection_matches_sklearn(ties):
    r, y = _data(3, ties=ties)
    res = success_detection(r, y, **FAST)
    assert res.auroc.value == pytest.approx(roc_auc_score(y, r), abs=1e-12)
    assert res.average_precision.value == pytest.approx(average_precision_score(y, r), abs=1e-12)
    # best balanced accuracy: brute force over every threshold
    best = max(balanced_accuracy_score(y, (r >= t).astype(int)) for t in np.unique(r))
    assert res.balanced_accuracy.value == pytest.approx(best, abs=1e-12)
    assert balanced_accuracy_score(y, (r >= res.threshold).astype(int)) == pytest.approx(best, abs=1e-12)
    assert res.auroc.ci_low <= res.auroc.value <= res.auroc.ci_high
    assert res.n == 120 and res.n_goal == int(y.sum())


def test_detection_known_cases_and_rows():
    y = np.array([0, 0, 1, 1])
    perfect = success_detection([0.1, 0.2, 0.8, 0.9], y, **FAST)
    assert perfect.auroc.value == 1.0 and perfect.average_precision.value == 1.0
    assert perfect.balanced_accuracy.value == 1.0 and perfect.threshold == 0.8
    assert success_detection([0.9, 0.8, 0.2, 0.1], y, **FAST).auroc.value == 0.0
    const = success_detection([0.5, 0.5, 0.5, 0.5], y, **FAST)  # constant: chance, not an error
    assert const.auroc.value == 0.5 and const.balanced_accuracy.value == 0.5
    r, y = _data(5)
    rows = np.stack([r, -r, 2 * r + 1])
    res = success_detection(rows, y, **FAST)
    assert res.auroc.value.shape == (3,)
    assert res.auroc.value[0] == pytest.approx(1 - res.auroc.value[1])
    assert res.auroc.value[2] == pytest.approx(res.auroc.value[0])
    single = success_detection(r, y, **FAST)
    assert res.auroc.row(0) == single.auroc  # the same resamples per row


def test_detection_interval_is_stratified_and_seeded():
    r, y = _data(7, n=60)
    a = success_detection(r, y, n_resamples=300, seed=4)
    b = success_detection(r, y, n_resamples=300, seed=4)
    c = success_detection(r, y, n_resamples=300, seed=5, level=0.5)
    assert a == b
    assert c.auroc.ci_high - c.auroc.ci_low < a.auroc.ci_high - a.auroc.ci_low
    # direct loop: stratified resamples with np.random, the percentile interval is close
    rng = np.random.default_rng(0)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    vals = []
    for _ in range(500):
        idx = np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)])
        vals.append(roc_auc_score(y[idx], r[idx]))
    lo, hi = np.percentile(vals, [2.5, 97.5])
    big = success_detection(r, y, n_resamples=2000, seed=0)
    assert big.auroc.ci_low == pytest.approx(lo, abs=0.04) and big.auroc.ci_high == pytest.approx(hi, abs=0.04)


def test_detection_errors():
    with pytest.raises(InvalidInputError, match="non-goal"):
        success_detection([0.1, 0.2, 0.3], [0, 0, 0])
    with pytest.raises(InvalidInputError, match="goal"):
        success_detection([0.1, 0.2, 0.3], [1, 1, 1])
    with pytest.raises(InvalidInputError, match="N = 3"):
        success_detection([0.1, 0.2, 0.3], [0, 1])
    with pytest.raises(InvalidInputError, match="non-finite"):
        success_detection([0.1, np.nan, 0.3], [0, 1, 1])
    with pytest.raises(InvalidInputError, match="n_resamples"):
        success_detection([0.1, 0.2, 0.3], [0, 1, 1], n_resamples=0)
    with pytest.raises(InvalidInputError, match="level"):
        success_detection([0.1, 0.2, 0.3], [0, 1, 1], level=1.0)


def test_epic_to_labels_matches_lemma1_and_rejects_constant():
    r, y = _data(2)
    res = epic_to_labels(np.stack([r, -r]), y, **FAST)
    rho = stats.pearsonr(r, y)[0]
    assert res.value[0] == pytest.approx(np.sqrt((1 - rho) / 2))
    assert res.value[1] == pytest.approx(epic_from_labels(-r, y))
    assert res.ci_low[0] <= res.value[0] <= res.ci_high[0]
    with pytest.raises(InvalidInputError, match="constant"):
        epic_to_labels(np.ones(5), [0, 1, 0, 1, 1])


def test_calibration_against_direct_computation():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    y[:2] = [0, 1]
    p = np.clip(0.7 * y + rng.normal(0.15, 0.2, 200), 0, 1)
    res = calibration(p, y, n_bins=5, **FAST)
    assert res.brier.value == pytest.approx(np.mean((p - y) ** 2))
    ece = 0.0
    for b in range(5):
        inb = (p >= b / 5) & ((p < (b + 1) / 5) if b < 4 else (p <= 1))
        if inb.any():
            ece += inb.mean() * abs(p[inb].mean() - y[inb].mean())
    assert res.ece.value == pytest.approx(ece)
    perfect = calibration(y.astype(float), y, **FAST)
    assert perfect.brier.value == 0.0 and perfect.ece.value == 0.0
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        calibration(p + 0.5, y)
    with pytest.raises(InvalidInputError, match="n_bins"):
        calibration(p, y, n_bins=0)


def _trajectories(seed: int = 0):
    rng = np.random.default_rng(seed)
    eps, steps, r, g = [], [], [], []
    for e in range(8):
        t = np.arange(10)
        eps += [e] * 10
        steps += list(t)
        r += list(t * (e - 2) + rng.normal(0, 3, 10))
        g += list(np.cumsum(rng.random(10)))
    return np.array(eps), np.array(steps), np.array(r), np.array(g)


def test_value_order_correlation_against_scipy():
    ep, st, r, _ = _trajectories()
    res = value_order_correlation(r, ep, st, **FAST)
    per = [stats.spearmanr(r[ep == e], st[ep == e])[0] for e in range(8)]
    assert res.per_trajectory[0] == pytest.approx(per)
    assert res.mean.value == pytest.approx(np.mean(per))
    assert res.mean.ci_low <= res.mean.value <= res.mean.ci_high
    chosen = value_order_correlation(r, ep, st, trajectories=[4, 5, 6], **FAST)
    assert chosen.mean.value == pytest.approx(np.mean(per[4:7]))
    # a trajectory with constant rewards is left out and counted
    r2 = r.copy()
    r2[ep == 0] = 1.0
    res2 = value_order_correlation(r2, ep, st, **FAST)
    assert res2.n_undefined[0] == 1 and res2.mean.value == pytest.approx(np.mean(per[1:]))
    # shuffled input order gives the same answer (steps, not positions, order a trajectory)
    perm = np.random.default_rng(1).permutation(r.size)
    assert value_order_correlation(r[perm], ep[perm], st[perm], **FAST).mean.value == pytest.approx(res.mean.value)


def test_value_order_errors():
    ep, st, r, _ = _trajectories()
    with pytest.raises(InvalidInputError, match="at least 3"):
        value_order_correlation(r[:12], ep[:12], st[:12])
    with pytest.raises(InvalidInputError, match="constant"):
        value_order_correlation(np.ones_like(r), ep, st)
    with pytest.raises(InvalidInputError, match="not among"):
        value_order_correlation(r, ep, st, trajectories=[99])


def test_progress_correlation_against_scipy_and_cluster_bootstrap():
    ep, _, r, g = _trajectories(2)
    res = progress_correlation(np.stack([r, g]), g, ep, **FAST)
    assert res.pearson.value[0] == pytest.approx(stats.pearsonr(r, g)[0])
    assert res.spearman.value[0] == pytest.approx(stats.spearmanr(r, g)[0])
    assert res.pearson.value[1] == pytest.approx(1.0) and res.spearman.value[1] == pytest.approx(1.0)
    assert res.n_frames == 80 and res.pearson.n == 8
    # the bootstrap's Spearman equals scipy's on the resample built by repeating trajectories
    from rmeval.metrics._core import Bootstrap, cluster_counts, weighted_midranks, weighted_pearson

    c = next(cluster_counts(8, Bootstrap(3, 0.95, 0)))[0]
    idx = np.concatenate([np.flatnonzero(ep == e).repeat(1) for e in range(8) for _ in range(int(c[e]))])
    w = c[ep][None, :]
    got = weighted_pearson(w, weighted_midranks(w, r), weighted_midranks(w, g))[0]
    assert got == pytest.approx(stats.spearmanr(r[idx], g[idx])[0])
    with pytest.raises(InvalidInputError, match="constant"):
        progress_correlation(r, np.zeros_like(g), ep)
    with pytest.raises(InvalidInputError, match="at least 2"):
        progress_correlation(r, g, ep, trajectories=[3])


def test_policy_ranking_against_scipy():
    truth = np.array([0.0, 0.2, 0.5, 0.9, 1.0])
    scores = np.array([[1.0, 3.0, 2.0, 5.0, 4.0], [5.0, 4.0, 3.0, 2.0, 1.0], [0, 0, 1, 1, 2]])
    res = policy_ranking(scores, truth, **FAST)
    for k in range(3):
        assert res.kendall_tau.value[k] == pytest.approx(stats.kendalltau(scores[k], truth)[0])
        assert res.spearman.value[k] == pytest.approx(stats.spearmanr(scores[k], truth)[0])
    assert res.kendall_tau.value[1] == -1.0 and res.kendall_tau.n == 5
    # a resample with repeated policies: tau-b as scipy computes it on the repeated data
    from rmeval.metrics._core import Bootstrap, cluster_counts

    c = next(cluster_counts(5, Bootstrap(50, 0.95, 3)))
    sg = np.sign(truth[:, None] - truth[None, :])
    for row in c[:5]:
        idx = np.repeat(np.arange(5), row.astype(int))
        if np.ptp(truth[idx]) == 0 or np.ptp(scores[2][idx]) == 0:
            continue
        ss = np.sign(scores[2][:, None] - scores[2][None, :])
        num = row @ (ss * sg) @ row
        den = np.sqrt((row @ (ss * ss) @ row) * (row @ (sg * sg) @ row))
        assert num / den == pytest.approx(stats.kendalltau(scores[2][idx], truth[idx])[0])
    with pytest.raises(InvalidInputError, match="at least 3"):
        policy_ranking([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(InvalidInputError, match="same ground-truth"):
        policy_ranking([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    with pytest.raises(InvalidInputError, match="same for every policy"):
        policy_ranking([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])


def test_preference_accuracy_against_loop():
    rng = np.random.default_rng(4)
    g = np.round(rng.random(12) * 4)
    s = g + rng.normal(0, 1.0, 12)
    s[3] = s[4]
    res = preference_accuracy(s, g, **FAST)
    hits, pairs = 0.0, 0
    for a, b in itertools.permutations(range(12), 2):
        if g[a] > g[b]:
            pairs += 1
            hits += 1.0 if s[a] > s[b] else 0.5 if s[a] == s[b] else 0.0
    assert res.value == pytest.approx(hits / pairs) and res.n == pairs
    assert preference_accuracy(np.ones(12), g, **FAST).value == 0.5
    assert preference_accuracy(g, g, **FAST).value == 1.0
    with pytest.raises(InvalidInputError, match="same ground-truth"):
        preference_accuracy(s, np.ones(12))


def test_trajectory_returns():
    ids, ret = trajectory_returns(np.array([[1.0, 2.0, 3.0, 4.0]]), np.array([5, 2, 5, 2]))
    assert ids.tolist() == [2, 5] and ret.tolist() == [[6.0, 4.0]]


def test_task_confusion_against_sklearn():
    rng = np.random.default_rng(0)
    tasks = ["a", "b", "c"]
    labels = [rng.integers(0, 2, 40) for _ in tasks]
    for lab in labels:
        lab[:2] = [0, 1]
    rewards = [[labels[j] * (2.0 if i == j else 0.2) + rng.normal(size=40) for j in range(3)] for i in range(3)]
    res = task_confusion(rewards, labels, tasks, **FAST)
    for i, j in itertools.product(range(3), range(3)):
        assert res.matrix[i, j] == pytest.approx(roc_auc_score(labels[j], rewards[i][j]))
        assert res.ci_low[i, j] <= res.matrix[i, j] <= res.ci_high[i, j]
    eye = np.eye(3, dtype=bool)
    assert res.diagonal.value == pytest.approx(res.matrix[eye].mean())
    assert res.off_diagonal.value == pytest.approx(res.matrix[~eye].mean())
    assert res.diagonal_best.value == pytest.approx(np.mean(np.argmax(res.matrix, axis=0) == np.arange(3)))
    ep = task_confusion(rewards, labels, tasks, metric="epic", **FAST)
    assert ep.matrix[0, 1] == pytest.approx(epic_from_labels(rewards[0][1], labels[1]))
    assert ep.diagonal_best.value == pytest.approx(np.mean(np.argmin(ep.matrix, axis=0) == np.arange(3)))
    with pytest.raises(InvalidInputError, match="at least 2"):
        task_confusion([[rewards[0][0]]], labels[:1], ["a"])
    with pytest.raises(InvalidInputError, match="metric"):
        task_confusion(rewards, labels, tasks, metric="f1")
    with pytest.raises(InvalidInputError, match="goal"):
        task_confusion(rewards, [np.zeros(40), labels[1], labels[2]], tasks)


def test_task_confusion_rows_match_single_rows():
    rng = np.random.default_rng(1)
    labels = [rng.integers(0, 2, 30) for _ in range(2)]
    for lab in labels:
        lab[:2] = [0, 1]
    rows = [[rng.normal(size=(3, 30)) + labels[j] * (i == j) for j in range(2)] for i in range(2)]
    many = task_confusion(rows, labels, ["a", "b"], **FAST)
    assert many.matrix.shape == (3, 2, 2) and many.diagonal.value.shape == (3,)
    for k in range(3):
        one = task_confusion([[rows[i][j][k] for j in range(2)] for i in range(2)], labels, ["a", "b"], **FAST)
        np.testing.assert_allclose(many.matrix[k], one.matrix)
        np.testing.assert_allclose(many.ci_low[k], one.ci_low)
        assert many.diagonal.row(k) == one.diagonal
