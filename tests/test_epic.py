"""Tests for rmeval.epic: Lemma 1 EPIC, its bootstrap CI, and general sample-based EPIC."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

from rmeval.epic import (
    canonicalize_rewards,
    epic_bootstrap_ci,
    epic_distance,
    epic_from_labels,
    epic_with_ci,
    pearson_with_labels,
    sample_epic_distance,
)
from rmeval.errors import InvalidInputError

# ------------------------------------------------------------------ helpers


def _direct_epic(rewards: np.ndarray, labels: np.ndarray) -> float:
    """Lemma 1 straight from the definition, via np.corrcoef."""
    rho = np.corrcoef(np.asarray(rewards, float), np.asarray(labels, float))[0, 1]
    return math.sqrt((1.0 - rho) / 2.0)


def _clip_like(n: int, k: int, seed: int, p_goal: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """CLIP-like rewards (about 0.25 +- 0.01, higher on goal frames): (k, n) and (n,) bool."""
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < p_goal
    shift = np.linspace(0.2, 1.5, k)[:, None]
    rewards = 0.25 + 0.01 * (rng.normal(size=(k, n)) + shift * labels)
    return rewards, labels


def _naive_bootstrap(
    rewards: np.ndarray, labels: np.ndarray, n_resamples: int, level: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The obvious loop: resample b = the b-th rng.integers(0, N, N); skip one-class ones."""
    rewards = np.atleast_2d(rewards)
    n = labels.shape[0]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_resamples):
        idx = rng.integers(0, n, size=n)
        lab = labels[idx]
        if lab.all() or not lab.any():
            continue
        values.append(epic_from_labels(rewards[:, idx], lab))
    vals = np.array(values)
    q = [50 * (1 - level), 50 * (1 + level)]
    low, high = np.percentile(vals, q, axis=0)
    return low, high


# ------------------------------------------------------------------ Lemma 1


def test_import_does_not_pull_in_torch() -> None:
    code = "import sys, rmeval.epic; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_hand_computed_examples() -> None:
    assert epic_from_labels([0, 0, 1, 1], [0, 0, 1, 1]) == pytest.approx(0.0, abs=1e-12)
    assert epic_from_labels([0, 0, 1, 1], [1, 1, 0, 0]) == pytest.approx(1.0, abs=1e-12)
    # Asymmetric case: rewards [0, 1, 2, 5], labels [0, 0, 0, 1].
    # mean r = 2, deviations (-2, -1, 0, 3), sum of squares 14.
    # p = 1/4, label deviations (-1/4, -1/4, -1/4, 3/4), sum of squares 3/4.
    # cross sum = 1/2 + 1/4 + 0 + 9/4 = 3, so rho = 3 / sqrt(14 * 3/4) = sqrt(6/7) ~ 0.92582.
    # (Notes formula: sqrt(p(1-p)) / sd * (E[R|goal] - E[R|non-goal])
    #  = sqrt(3/16) / sqrt(14/4) * (5 - 1) = sqrt(6/7).)
    rho = math.sqrt(6 / 7)
    assert pearson_with_labels([0, 1, 2, 5], [0, 0, 0, 1]) == pytest.approx(rho, abs=1e-14)
    assert epic_from_labels([0, 1, 2, 5], [0, 0, 0, 1]) == pytest.approx(
        math.sqrt((1 - rho) / 2), abs=1e-14
    )  # ~ 0.19259
    assert isinstance(epic_from_labels([0, 1, 2, 5], [0, 0, 0, 1]), float)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_corrcoef_on_small_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 37
    labels = rng.random(n) < 0.4
    labels[:2] = [True, False]
    rewards = rng.normal(size=n) + 0.8 * labels
    assert epic_from_labels(rewards, labels) == pytest.approx(_direct_epic(rewards, labels), abs=1e-12)
    rho = np.corrcoef(rewards, labels.astype(float))[0, 1]
    assert pearson_with_labels(rewards, labels) == pytest.approx(rho, abs=1e-12)


def test_label_dtypes_are_equivalent() -> None:
    rewards = np.array([0.3, 0.1, 0.7, 0.4, 0.9])
    as_bool = np.array([False, False, True, False, True])
    expected = epic_from_labels(rewards, as_bool)
    assert epic_from_labels(rewards, as_bool.astype(int)) == expected
    assert epic_from_labels(rewards, as_bool.astype(np.uint8)) == expected
    assert epic_from_labels(rewards, as_bool.astype(float)) == expected
    assert epic_from_labels(list(rewards), [0, 0, 1, 0, 1]) == expected


def test_rows_equal_row_by_row_calls() -> None:
    rewards, labels = _clip_like(300, 5, seed=3)
    together = epic_from_labels(rewards, labels)
    assert isinstance(together, np.ndarray) and together.shape == (5,)
    for k in range(5):
        assert together[k] == pytest.approx(epic_from_labels(rewards[k], labels), abs=1e-14)
    rhos = pearson_with_labels(rewards, labels)
    assert rhos.shape == (5,)
    np.testing.assert_allclose(together, np.sqrt((1 - rhos) / 2), atol=1e-15)
    # A single row given as (1, N) stays an array.
    assert epic_from_labels(rewards[:1], labels).shape == (1,)


def test_uncorrelated_rewards_give_one_over_sqrt_two() -> None:
    rng = np.random.default_rng(4)
    n = 200_000
    labels = rng.random(n) < 0.3
    rewards = rng.normal(size=n)
    # rho ~ N(0, 1/sqrt(n)) = +-0.0022, and dD/drho = -1/(4 D) ~ -0.35 near D = 0.707.
    assert epic_from_labels(rewards, labels) == pytest.approx(1 / math.sqrt(2), abs=0.003)


def test_clip_scale_rewards_match_standardised() -> None:
    rng = np.random.default_rng(5)
    n = 100_000
    labels = rng.random(n) < 0.2
    z = rng.normal(size=n) + 0.7 * labels
    z = (z - z.mean()) / z.std()
    clip = 0.25 + 0.01 * z
    assert epic_from_labels(clip, labels) == pytest.approx(epic_from_labels(z, labels), abs=1e-12)
    # A far harsher offset: a naive sum-of-squares formula loses every digit here.
    harsh = 1e4 + 1e-3 * z
    assert epic_from_labels(harsh, labels) == pytest.approx(epic_from_labels(z, labels), abs=1e-6)
    # float32 CLIP rewards (as a model would emit) are accepted and computed in float64.
    c32 = clip.astype(np.float32)
    assert epic_from_labels(c32, labels) == pytest.approx(
        _direct_epic(c32.astype(np.float64) - 0.25, labels), abs=1e-10
    )


# ------------------------------------------------------------------ Lemma 1 errors


@pytest.mark.parametrize(
    ("rewards", "labels", "match"),
    [
        ([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1], "all 4 labelled frames are goal; EPIC needs both goal and non-goal"),
        ([1.0, 2.0, 3.0], [False, False, False], "all 3 labelled frames are non-goal"),
        ([1.0, 2.0, 3.0], [0, 2, 1], r"labels must be 0 or 1.*frame 1"),
        ([1.0, 2.0, 3.0], [0.0, 0.5, 1.0], "labels must be 0 or 1"),
        ([1.0, 2.0, 3.0], [0.0, np.nan, 1.0], "labels must be 0 or 1"),
        ([1.0, 2.0, 3.0], ["a", "b", "c"], "labels must be 0/1 or booleans"),
        ([1.0, np.nan, 3.0, np.nan], [0, 1, 0, 1], r"2 non-finite value\(s\).*frame 1"),
        ([1.0, 2.0, np.inf], [0, 1, 0], r"1 non-finite value\(s\).*frame 2"),
        ([[1.0, 2.0], [3.0, -np.inf]], [0, 1], r"row 1, frame 1"),
        ([1.0, 2.0, 3.0], [0, 1], "length mismatch: rewards have 3 frames but labels have 2"),
        ([], [], "rewards are empty"),
        (np.zeros((2, 0)), [], "rewards are empty"),
        ([0.25, 0.25, 0.25], [0, 1, 0], "constant.*rho with a constant reward is undefined"),
        ([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]], [0, 1, 0], r"row\(s\) 1 are constant"),
        (np.zeros((2, 2, 2)), [0, 1], "must be 1-D .* or 2-D .*got ndim 3"),
        (5.0, [0, 1], "got ndim 0"),
        ([1.0, 2.0], [[0, 1]], r"labels must be 1-D"),
        (["x", "y"], [0, 1], "rewards must be real numbers"),
    ],
)
def test_lemma1_errors(rewards: object, labels: object, match: str) -> None:
    for fn in (pearson_with_labels, epic_from_labels, epic_bootstrap_ci, epic_with_ci):
        with pytest.raises(InvalidInputError, match=match):
            fn(rewards, labels)


def test_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="needs both goal and non-goal frames"):
        epic_from_labels([1.0, 2.0], [1, 1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"level": 0.0}, "level must lie strictly between 0 and 1"),
        ({"level": 1.0}, "level must lie strictly between 0 and 1"),
        ({"level": 95}, "level must lie strictly between 0 and 1"),
        ({"level": "0.95"}, "level must be a number"),
        ({"n_resamples": 0}, "n_resamples must be >= 1"),
        ({"n_resamples": 2.5}, "n_resamples must be a whole number"),
        ({"seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_bootstrap_argument_errors(kwargs: dict, match: str) -> None:
    rewards, labels = _clip_like(50, 1, seed=0)
    for fn in (epic_bootstrap_ci, epic_with_ci):
        with pytest.raises(InvalidInputError, match=match):
            fn(rewards[0], labels, **kwargs)


# ------------------------------------------------------------------ bootstrap


def test_bootstrap_is_deterministic_per_seed() -> None:
    rewards, labels = _clip_like(500, 2, seed=6)
    a = epic_bootstrap_ci(rewards, labels, n_resamples=200, seed=7)
    b = epic_bootstrap_ci(rewards, labels, n_resamples=200, seed=7)
    c = epic_bootstrap_ci(rewards, labels, n_resamples=200, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0]) and not np.allclose(a[1], c[1])


def test_bootstrap_contains_point_estimate_and_is_ordered() -> None:
    rewards, labels = _clip_like(2000, 4, seed=9)
    point = epic_from_labels(rewards, labels)
    low, high = epic_bootstrap_ci(rewards, labels, n_resamples=300, seed=0)
    assert low.shape == high.shape == (4,)
    assert np.all(low < point) and np.all(point < high)
    low90, high90 = epic_bootstrap_ci(rewards, labels, n_resamples=300, level=0.8, seed=0)
    assert np.all(low90 >= low) and np.all(high90 <= high)
    assert np.all((high90 - low90) < (high - low))


@pytest.mark.parametrize(("n", "k", "p_goal", "seed"), [(60, 3, 0.3, 11), (25, 1, 0.5, 12), (200, 2, 0.1, 13)])
def test_bootstrap_fast_path_equals_naive_loop(n: int, k: int, p_goal: float, seed: int) -> None:
    rewards, labels = _clip_like(n, k, seed=seed, p_goal=p_goal)
    labels[:2] = [True, False]
    fast = epic_bootstrap_ci(rewards, labels, n_resamples=300, level=0.9, seed=seed)
    naive = _naive_bootstrap(rewards, labels, 300, 0.9, seed)
    np.testing.assert_allclose(fast[0], naive[0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(fast[1], naive[1], rtol=0, atol=1e-10)


def test_bootstrap_rows_share_resamples() -> None:
    rewards, labels = _clip_like(150, 3, seed=14)
    low, high = epic_bootstrap_ci(rewards, labels, n_resamples=100, seed=5)
    for k in range(3):
        lo_k, hi_k = epic_bootstrap_ci(rewards[k], labels, n_resamples=100, seed=5)
        assert isinstance(lo_k, float) and isinstance(hi_k, float)
        assert lo_k == pytest.approx(low[k], abs=1e-12)
        assert hi_k == pytest.approx(high[k], abs=1e-12)


def test_bootstrap_is_invariant_to_offset_and_scale() -> None:
    rng = np.random.default_rng(15)
    labels = rng.random(400) < 0.3
    z = rng.normal(size=400) + labels
    ref = epic_bootstrap_ci(z, labels, n_resamples=200, seed=1)
    clip = epic_bootstrap_ci(0.25 + 0.01 * z, labels, n_resamples=200, seed=1)
    harsh = epic_bootstrap_ci(1e4 + 1e-3 * z, labels, n_resamples=200, seed=1)
    assert clip == pytest.approx(ref, abs=1e-10)
    assert harsh == pytest.approx(ref, abs=1e-6)


@pytest.mark.parametrize("rare", [True, False])
def test_bootstrap_skips_one_class_resamples(rare: bool) -> None:
    # 1 frame of the rare class out of 20: a resample misses it with probability
    # (19/20)^20 ~ 0.36. Both directions: all-non-goal and all-goal resamples.
    rng = np.random.default_rng(16)
    labels = np.full(20, not rare)
    labels[7] = rare
    rewards = rng.normal(size=(2, 20)) + 2.0 * labels
    with pytest.warns(RuntimeWarning, match=r"of 200 bootstrap resamples drew frames of one class"):
        low, high = epic_bootstrap_ci(rewards, labels, n_resamples=200, seed=3)
    assert np.all(np.isfinite(low)) and np.all(np.isfinite(high))
    naive = _naive_bootstrap(rewards, labels, 200, 0.95, 3)
    np.testing.assert_allclose(low, naive[0], atol=1e-10)
    np.testing.assert_allclose(high, naive[1], atol=1e-10)


def test_bootstrap_chunking_and_row_groups_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    import rmeval.epic.bootstrap as epic_mod

    rewards, labels = _clip_like(100, 4, seed=22)
    ref = epic_bootstrap_ci(rewards, labels, n_resamples=50, seed=4)
    # Chunks of 7 resamples, and the 4 rows processed one at a time (counts regenerated).
    monkeypatch.setattr(epic_mod, "_BOOTSTRAP_CHUNK_BYTES", 8 * 100 * 7)
    monkeypatch.setattr(epic_mod, "_BOOTSTRAP_FEATURE_BYTES", 8 * 100 * 4)
    small = epic_bootstrap_ci(rewards, labels, n_resamples=50, seed=4)
    np.testing.assert_allclose(small[0], ref[0], atol=1e-13)
    np.testing.assert_allclose(small[1], ref[1], atol=1e-13)


def test_bootstrap_all_resamples_degenerate_gives_nan() -> None:
    labels = np.zeros(20, dtype=bool)
    labels[0] = True
    rewards = np.arange(20.0)
    # Find a seed whose single resample misses the goal frame (about 36% of seeds do).
    seed = next(
        s for s in range(100) if not np.random.default_rng(s).integers(0, 20, size=20).__eq__(0).any()
    )
    with pytest.warns(RuntimeWarning, match="no resample was usable"):
        low, high = epic_bootstrap_ci(rewards, labels, n_resamples=1, seed=seed)
    assert math.isnan(low) and math.isnan(high)


def test_no_warning_on_ordinary_data() -> None:
    rewards, labels = _clip_like(300, 2, seed=17)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        low, high = epic_bootstrap_ci(rewards, labels, n_resamples=100)
    assert np.all(np.asarray(low) < np.asarray(high))


def test_bootstrap_width_shrinks_with_n() -> None:
    widths = []
    for n in (200, 20_000):
        rewards, labels = _clip_like(n, 1, seed=18)
        low, high = epic_bootstrap_ci(rewards[0], labels, n_resamples=200, seed=0)
        widths.append(high - low)
    # The width scales like 1/sqrt(N): a 100x larger sample gives about a 10x narrower CI.
    assert widths[1] < widths[0] / 4


def test_epic_with_ci_fields() -> None:
    rewards, labels = _clip_like(400, 3, seed=19)
    out = epic_with_ci(rewards, labels, n_resamples=100, seed=2)
    assert set(out) == {"epic", "ci_low", "ci_high", "rho", "mean_goal", "mean_non_goal", "n", "n_goal"}
    for v in out.values():
        assert np.shape(v) == (3,)
    np.testing.assert_allclose(out["epic"], epic_from_labels(rewards, labels), atol=1e-15)
    np.testing.assert_allclose(out["rho"], pearson_with_labels(rewards, labels), atol=1e-15)
    low, high = epic_bootstrap_ci(rewards, labels, n_resamples=100, seed=2)
    np.testing.assert_array_equal(out["ci_low"], low)
    np.testing.assert_array_equal(out["ci_high"], high)
    np.testing.assert_allclose(out["mean_goal"], rewards[:, labels].mean(axis=1), rtol=1e-14)
    np.testing.assert_allclose(out["mean_non_goal"], rewards[:, ~labels].mean(axis=1), rtol=1e-14)
    assert out["mean_goal"][0] > 0.2  # raw, not centred
    assert list(out["n"]) == [400] * 3 and list(out["n_goal"]) == [int(labels.sum())] * 3

    single = epic_with_ci(rewards[1], labels, n_resamples=100, seed=2)
    assert isinstance(single["epic"], float) and isinstance(single["n_goal"], int)
    assert single["epic"] == pytest.approx(out["epic"][1], abs=1e-15)
    assert single["ci_low"] == pytest.approx(out["ci_low"][1], abs=1e-12)


# ------------------------------------------------------------------ general EPIC

GAMMA = 0.9


def _r1(obs: np.ndarray, act: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
    return np.sin(obs[:, 0]) + act[:, 0] * obs[:, 1] + next_obs[:, 0] ** 2 - 0.5 * next_obs[:, 1]


def _r2(obs: np.ndarray, act: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
    return np.cos(next_obs[:, 1]) + act[:, 0] - obs[:, 0] * next_obs[:, 0]


def _phi(x: np.ndarray) -> np.ndarray:
    return x[:, 0] * x[:, 1] + np.exp(0.5 * x[:, 1])


def _continuous_batch(seed: int = 0, n: int = 400, m: int = 150) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "obs": rng.normal(size=(n, 2)),
        "act": rng.uniform(-1, 1, size=(n, 1)),
        "next_obs": rng.normal(size=(n, 2)),
        "mean_obs": rng.normal(size=(m, 2)),
        "mean_act": rng.uniform(-1, 1, size=(m, 1)),
    }


def _d(a, b, batch: dict[str, np.ndarray], gamma: float = GAMMA) -> float:  # type: ignore[no-untyped-def]
    return epic_distance(
        a, b, batch["obs"], batch["act"], batch["next_obs"],
        mean_obs=batch["mean_obs"], mean_act=batch["mean_act"], gamma=gamma,
    )


def test_epic_identity() -> None:
    assert _d(_r1, _r1, _continuous_batch()) == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize(("scale", "shift"), [(3.0, 0.0), (0.01, 5.0), (250.0, -40.0)])
def test_epic_positive_affine_invariance(scale: float, shift: float) -> None:
    def r_aff(o: np.ndarray, a: np.ndarray, no: np.ndarray) -> np.ndarray:
        return scale * _r1(o, a, no) + shift

    assert _d(_r1, r_aff, _continuous_batch()) == pytest.approx(0.0, abs=1e-6)


def test_epic_negation_is_one() -> None:
    def r_neg(o: np.ndarray, a: np.ndarray, no: np.ndarray) -> np.ndarray:
        return -_r1(o, a, no)

    assert _d(_r1, r_neg, _continuous_batch()) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("gamma", [0.0, 0.9, 0.99, 1.0])
def test_epic_potential_shaping_invariance(gamma: float) -> None:
    def r_shaped(o: np.ndarray, a: np.ndarray, no: np.ndarray) -> np.ndarray:
        return _r1(o, a, no) + gamma * _phi(no) - _phi(o)

    batch = _continuous_batch(seed=1)
    # Exact (to rounding) for any samples: the total mean runs over mean_obs, the same
    # states the per-state means average over, so the shaping terms cancel identically.
    assert _d(_r1, r_shaped, batch, gamma=gamma) == pytest.approx(0.0, abs=1e-6)
    c1 = canonicalize_rewards(_r1, batch["obs"], batch["act"], batch["next_obs"],
                              mean_obs=batch["mean_obs"], mean_act=batch["mean_act"], gamma=gamma)
    c2 = canonicalize_rewards(r_shaped, batch["obs"], batch["act"], batch["next_obs"],
                              mean_obs=batch["mean_obs"], mean_act=batch["mean_act"], gamma=gamma)
    np.testing.assert_allclose(c1, c2, atol=1e-10)
    # ...whereas the raw rewards really differ, so the test is not vacuous.
    raw_gap = np.abs(_r1(batch["obs"], batch["act"], batch["next_obs"])
                     - r_shaped(batch["obs"], batch["act"], batch["next_obs"])).max()
    assert raw_gap > 0.5


def test_epic_symmetry_and_range() -> None:
    batch = _continuous_batch(seed=2)
    d12 = _d(_r1, _r2, batch)
    assert d12 == pytest.approx(_d(_r2, _r1, batch), abs=1e-15)
    assert 0.1 < d12 < 0.95


def test_epic_matches_tabular_full_mesh() -> None:
    # On a full mesh S x A x S with uniform weights, the sample-based canonicalisation is
    # the tabular one: C = R + g E[R(s',A,S')] - E[R(s,A,S')] - g E[R(S,A,S')].
    rng = np.random.default_rng(20)
    n_s, n_a, g = 5, 3, 0.8
    ta = rng.normal(size=(n_s, n_a, n_s))
    tb = 0.5 * ta + rng.normal(size=(n_s, n_a, n_s))
    s, a, s2 = (x.ravel() for x in np.meshgrid(np.arange(n_s), np.arange(n_a), np.arange(n_s), indexing="ij"))
    ma, ms = (x.ravel() for x in np.meshgrid(np.arange(n_a), np.arange(n_s), indexing="ij"))

    def canon(t: np.ndarray) -> np.ndarray:
        per_state = t.mean(axis=(1, 2))
        return (t + g * per_state[None, None, :] - per_state[:, None, None] - g * t.mean()).ravel()

    ca, cb = canon(ta), canon(tb)
    expected = math.sqrt(1 - np.corrcoef(ca, cb)[0, 1]) / math.sqrt(2)
    got = epic_distance(
        lambda o, x, no: ta[o, x, no], lambda o, x, no: tb[o, x, no], s, a, s2,
        mean_obs=ms, mean_act=ma, gamma=g,
    )
    assert got == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(
        canonicalize_rewards(lambda o, x, no: ta[o, x, no], s, a, s2, mean_obs=ms, mean_act=ma, gamma=g),
        ca, atol=1e-12,
    )


# Lemma 1 setting: 30 discrete states, f a continuous-valued reward of the next state, the
# goal the top 6 states. Both rewards depend only on s'.
_F_TABLE = np.sqrt(np.arange(30.0)) + 0.3 * np.sin(np.arange(30.0))


def _f_reward(o: np.ndarray, a: np.ndarray, no: np.ndarray) -> np.ndarray:
    return _F_TABLE[no]


def _goal(states: np.ndarray) -> np.ndarray:
    return states >= 24


def _goal_reward(o: np.ndarray, a: np.ndarray, no: np.ndarray) -> np.ndarray:
    return _goal(no).astype(float)


def _sample_transitions(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return rng.integers(0, 30, n), rng.integers(0, 2, n), rng.integers(0, 30, n)


def _sample_obs(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 30, n)


def _sample_act(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 2, n)


def test_general_epic_reduces_to_lemma1_exactly_on_the_same_sample() -> None:
    # For R(s,a,s') = f(s'): m(x) = mean_j f(S'_j) is the same constant for every x and the
    # total mean equals it, so C = f(s') - mean_j f(S'_j): canonicalisation only shifts the
    # reward, for ANY mean samples. Pearson over the batch then equals the point-biserial rho
    # of f(next_obs) with goal(next_obs): agreement is exact up to rounding (1e-12).
    rng = np.random.default_rng(21)
    obs, act, nxt = _sample_transitions(500, rng)
    d = epic_distance(_f_reward, _goal_reward, obs, act, nxt,
                      mean_obs=_sample_obs(7, rng), mean_act=_sample_act(7, rng), gamma=0.99)
    assert d == pytest.approx(epic_from_labels(_F_TABLE[nxt], _goal(nxt)), abs=1e-12)


def test_sample_epic_approximates_population_lemma1() -> None:
    # Against the population value (uniform next state over all 30 states) the agreement
    # is only up to sampling error of rho over n_samples = 4096 transitions:
    # sd(rho) ~ (1 - rho^2) / sqrt(4096) ~ 0.006, so sd(D) ~ 0.006 / (4 D) ~ 0.004.
    states = np.arange(30)
    population = epic_from_labels(_F_TABLE[states], _goal(states))
    d = sample_epic_distance(_f_reward, _goal_reward, _sample_transitions, _sample_obs, _sample_act)
    assert d == pytest.approx(population, abs=0.02)
    assert d == sample_epic_distance(_f_reward, _goal_reward, _sample_transitions, _sample_obs, _sample_act)


def test_canonicalize_chunks_agree() -> None:
    # Mean rewards are computed in chunks; a tiny chunk budget must give the same answer.
    import rmeval.epic.sample as epic_mod

    batch = _continuous_batch(seed=3, n=50, m=40)
    kw = {"mean_obs": batch["mean_obs"], "mean_act": batch["mean_act"], "gamma": 0.95}
    full = canonicalize_rewards(_r1, batch["obs"], batch["act"], batch["next_obs"], **kw)
    old = epic_mod._MAX_EVALS_PER_CALL
    epic_mod._MAX_EVALS_PER_CALL = 100  # 2 states per call
    calls: list[int] = []

    def counting(o: np.ndarray, a: np.ndarray, no: np.ndarray) -> np.ndarray:
        calls.append(len(o))
        return _r1(o, a, no)

    try:
        small = canonicalize_rewards(counting, batch["obs"], batch["act"], batch["next_obs"], **kw)
    finally:
        epic_mod._MAX_EVALS_PER_CALL = old
    assert max(calls[1:]) <= 100
    np.testing.assert_allclose(small, full, atol=1e-13)
    # Direct formula for one transition.
    i = 4
    m = lambda x: _r1(np.repeat(x[None], 40, 0), batch["mean_act"], batch["mean_obs"]).mean()  # noqa: E731
    total = np.mean([m(x) for x in batch["mean_obs"]])
    direct = (_r1(batch["obs"][i:i + 1], batch["act"][i:i + 1], batch["next_obs"][i:i + 1])[0]
              + 0.95 * m(batch["next_obs"][i]) - m(batch["obs"][i]) - 0.95 * total)
    assert full[i] == pytest.approx(direct, abs=1e-12)


# ------------------------------------------------------------------ general EPIC errors


def _potential_only(o: np.ndarray, a: np.ndarray, no: np.ndarray) -> np.ndarray:
    return GAMMA * _phi(no) - _phi(o)


def test_general_epic_errors() -> None:
    b = _continuous_batch(seed=4, n=30, m=10)
    o, a, no, mo, ma = b["obs"], b["act"], b["next_obs"], b["mean_obs"], b["mean_act"]

    with pytest.raises(InvalidInputError, match="canonical reward of reward_b is constant"):
        epic_distance(_r1, _potential_only, o, a, no, mean_obs=mo, mean_act=ma, gamma=GAMMA)
    with pytest.raises(InvalidInputError, match="canonical reward of reward_a is constant"):
        epic_distance(lambda o, a, no: np.full(len(o), 0.3), _r1, o, a, no, mean_obs=mo, mean_act=ma)
    with pytest.raises(InvalidInputError, match="canonical reward of reward_a is constant"):
        epic_distance(lambda o, a, no: np.zeros(len(o)), _r1, o, a, no, mean_obs=mo, mean_act=ma)

    def nan_reward(o: np.ndarray, a: np.ndarray, no: np.ndarray) -> np.ndarray:
        r = _r1(o, a, no)
        r[3] = np.nan
        return r

    with pytest.raises(InvalidInputError, match=r"reward_b returned 1 non-finite reward\(s\).*position 3"):
        epic_distance(_r1, nan_reward, o, a, no, mean_obs=mo, mean_act=ma)
    with pytest.raises(InvalidInputError, match="returned shape"):
        epic_distance(_r1, lambda o, a, no: np.ones((len(o), 2)), o, a, no, mean_obs=mo, mean_act=ma)
    with pytest.raises(InvalidInputError, match="same number of transitions; got 30, 29 and 30"):
        epic_distance(_r1, _r2, o, a[:-1], no, mean_obs=mo, mean_act=ma)
    with pytest.raises(InvalidInputError, match="next_obs has per-sample shape"):
        epic_distance(_r1, _r2, o, a, no[:, :1], mean_obs=mo, mean_act=ma)
    with pytest.raises(InvalidInputError, match=r"mean_obs and mean_act .* same length"):
        epic_distance(_r1, _r2, o, a, no, mean_obs=mo, mean_act=ma[:-1])
    with pytest.raises(InvalidInputError, match="mean_obs has per-sample shape"):
        epic_distance(_r1, _r2, o, a, no, mean_obs=mo[:, :1], mean_act=ma)
    with pytest.raises(InvalidInputError, match="mean_act has per-sample shape"):
        epic_distance(_r1, _r2, o, a, no, mean_obs=mo, mean_act=ma[:, 0])
    with pytest.raises(InvalidInputError, match="at least 2 transitions"):
        epic_distance(_r1, _r2, o[:1], a[:1], no[:1], mean_obs=mo, mean_act=ma)
    with pytest.raises(InvalidInputError, match="mean_obs is empty"):
        epic_distance(_r1, _r2, o, a, no, mean_obs=mo[:0], mean_act=ma[:0])
    for gamma in (-0.1, 1.5, float("nan"), True):
        with pytest.raises(InvalidInputError, match="gamma"):
            epic_distance(_r1, _r2, o, a, no, mean_obs=mo, mean_act=ma, gamma=gamma)
        with pytest.raises(InvalidInputError, match="gamma"):
            canonicalize_rewards(_r1, o, a, no, mean_obs=mo, mean_act=ma, gamma=gamma)
    with pytest.raises(InvalidInputError, match="same number of transitions"):
        canonicalize_rewards(_r1, o, a, no[:5], mean_obs=mo, mean_act=ma)


def test_sample_epic_distance_errors() -> None:
    with pytest.raises(InvalidInputError, match=r"sample_obs returned 10 samples .* asked for 64"):
        sample_epic_distance(_f_reward, _goal_reward, _sample_transitions,
                             lambda n, rng: rng.integers(0, 30, 10), _sample_act,
                             n_samples=32, n_mean_samples=64)
    with pytest.raises(InvalidInputError, match=r"sample_transitions \(act\) returned 31 samples"):
        sample_epic_distance(_f_reward, _goal_reward,
                             lambda n, rng: (rng.integers(0, 30, n), rng.integers(0, 2, n - 1), rng.integers(0, 30, n)),
                             _sample_obs, _sample_act, n_samples=32, n_mean_samples=64)
    with pytest.raises(InvalidInputError, match="must return a tuple"):
        sample_epic_distance(_f_reward, _goal_reward, lambda n, rng: rng.integers(0, 30, n),
                             _sample_obs, _sample_act, n_samples=32)
    with pytest.raises(InvalidInputError, match="n_samples must be a whole number >= 2"):
        sample_epic_distance(_f_reward, _goal_reward, _sample_transitions, _sample_obs, _sample_act, n_samples=1)
    with pytest.raises(InvalidInputError, match="n_mean_samples must be a whole number >= 1"):
        sample_epic_distance(_f_reward, _goal_reward, _sample_transitions, _sample_obs, _sample_act,
                             n_mean_samples=0)
    with pytest.raises(InvalidInputError, match="gamma"):
        sample_epic_distance(_f_reward, _goal_reward, _sample_transitions, _sample_obs, _sample_act, gamma=2.0)
