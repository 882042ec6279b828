"""rmeval.success: thresholds, success flags and the bootstrap success-rate interval."""

from __future__ import annotations

import numpy as np
import pytest

from rmeval import success
from rmeval.errors import InvalidInputError
from rmeval.success import (
    DEFAULT_THRESHOLD,
    MAX_DRAWS_PER_CHUNK,
    RateCI,
    bootstrap_rate_ci,
    check_threshold,
    format_threshold,
    is_success,
    parse_threshold,
)


# ----------------------------------------------------------------------------- thresholds
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (">=0.5", (0.5, True)),
        (">0.5", (0.5, False)),
        ("0.5", (0.5, True)),
        (" >= 0.25 ", (0.25, True)),
        ("> 1", (1.0, False)),
        (">=0", (0.0, True)),
        (0.75, (0.75, True)),
        (np.float64(0.5), (0.5, True)),
        (1, (1.0, True)),
    ],
)
def test_parse_threshold(spec, expected):
    assert parse_threshold(spec) == expected


@pytest.mark.parametrize("spec", ["<0.5", "=>0.5", "==0.5", ">>0.5", "50%", "half", "", ">=", ">=0.5 0.6", "nan"])
def test_parse_threshold_rejects_other_forms(spec):
    with pytest.raises(InvalidInputError, match=r"'>=0\.5' \(at least\), '>0\.5' \(above\)|\[0, 1\]"):
        parse_threshold(spec)


@pytest.mark.parametrize("spec", [">=1.5", ">-0.1", "2", 1.01, -0.5, float("nan")])
def test_parse_threshold_rejects_values_outside_unit_interval(spec):
    with pytest.raises(InvalidInputError, match=r"must lie in \[0, 1\]"):
        parse_threshold(spec)


def test_format_threshold_round_trips():
    assert format_threshold(0.5) == ">=0.5" and format_threshold(0.5, inclusive=False) == ">0.5"
    for value in (0.0, 0.25, 0.5, 1.0):
        for inclusive in (True, False):
            assert parse_threshold(format_threshold(value, inclusive)) == (value, inclusive)
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        format_threshold(50)


def test_check_threshold():
    assert check_threshold(0.5) == 0.5 and isinstance(check_threshold(1), float)
    with pytest.raises(InvalidInputError, match=r"share of timesteps"):
        check_threshold(1.5)
    with pytest.raises(InvalidInputError, match=r"must be a number"):
        check_threshold("a lot")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- success flags
def test_inclusive_and_exclusive_threshold_at_exactly_one_half():
    f = np.array([49 / 100, 50 / 100, 0.5, 51 / 100])
    assert DEFAULT_THRESHOLD == 0.5
    assert is_success(f).tolist() == [False, True, True, True]  # default: at least 50%
    assert is_success(f, 0.5, inclusive=True).tolist() == [False, True, True, True]
    assert is_success(f, 0.5, inclusive=False).tolist() == [False, False, False, True]  # above 50%
    assert is_success(f, 0.75).tolist() == [False] * 4
    assert is_success(f, 0.0).all() and not is_success(f, 1.0).any()


def test_is_success_rounds_float_noise_away():
    noisy = np.mean([0.7, 0.35, 0.45])  # should be 0.5, is 0.49999999999999994
    assert noisy < 0.5
    assert bool(is_success(noisy)) and not bool(is_success(noisy, inclusive=False))
    assert bool(is_success(0.1 + 0.2, 0.3)) and not bool(is_success(0.1 + 0.2, 0.3, inclusive=False))


def test_is_success_keeps_shape_and_returns_bool():
    f = np.array([[0.2, 0.6], [0.5, 0.9]])
    out = is_success(f)
    assert out.shape == (2, 2) and out.dtype == bool
    assert out.tolist() == [[False, True], [True, True]]
    scalar = is_success(0.5)
    assert scalar.shape == () and bool(scalar)
    assert is_success([0.4, 0.6]).tolist() == [False, True]
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        is_success(f, 1.5)


# ----------------------------------------------------------------------------- bootstrap
def test_bootstrap_known_rates():
    ci = bootstrap_rate_ci([1, 1, 1, 0], n_resamples=500)
    assert isinstance(ci, RateCI) and ci.rate == 0.75
    rate, low, high = ci  # a plain tuple too
    assert (rate, low, high) == (ci.rate, ci.low, ci.high)
    assert 0.0 <= low <= 0.75 <= high <= 1.0 and low < high
    assert bootstrap_rate_ci(np.array([True, False] * 5)).rate == 0.5
    assert bootstrap_rate_ci([1] * 7) == (1.0, 1.0, 1.0)  # all equal: the interval collapses
    assert bootstrap_rate_ci(np.zeros(3, dtype=bool)) == (0.0, 0.0, 0.0)
    assert bootstrap_rate_ci([1]) == (1.0, 1.0, 1.0)


def test_bootstrap_matches_a_plain_loop():
    ok = np.array([1, 0, 1, 1, 0, 1, 0, 1], dtype=bool)
    rate, low, high = bootstrap_rate_ci(ok, n_resamples=300, level=0.9, seed=7)
    rng = np.random.default_rng(7)
    rates = [ok[rng.integers(0, ok.size, size=ok.size)].mean() for _ in range(300)]
    assert rate == pytest.approx(5 / 8)
    assert (low, high) == pytest.approx(tuple(np.percentile(rates, [5, 95])))


def test_bootstrap_same_seed_same_interval_other_seed_other_interval():
    ok = np.random.default_rng(0).random(60) < 0.4
    a = bootstrap_rate_ci(ok, n_resamples=400, seed=11)
    assert bootstrap_rate_ci(ok, n_resamples=400, seed=11) == a
    others = {bootstrap_rate_ci(ok, n_resamples=400, seed=s)[1:] for s in range(12, 17)}
    assert any(o != a[1:] for o in others)


def test_bootstrap_interval_contains_rate_and_narrows_with_more_trajectories():
    widths = []
    for n in (20, 200, 2000):
        ok = np.arange(n) % 10 < 3  # exactly 30% successes
        rate, low, high = bootstrap_rate_ci(ok, n_resamples=1000, seed=0)
        assert rate == pytest.approx(0.3)
        assert low < rate < high
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    # roughly the normal approximation 2 * 1.96 * sqrt(p (1 - p) / n)
    assert widths[2] == pytest.approx(2 * 1.96 * np.sqrt(0.3 * 0.7 / 2000), rel=0.15)


def test_bootstrap_wider_at_higher_level():
    ok = np.arange(50) % 2 == 0
    _, low90, high90 = bootstrap_rate_ci(ok, level=0.9, seed=1)
    _, low99, high99 = bootstrap_rate_ci(ok, level=0.99, seed=1)
    assert low99 <= low90 < high90 <= high99 and (high99 - low99) > (high90 - low90)


def test_bootstrap_chunking_does_not_change_the_interval(monkeypatch):
    ok = np.random.default_rng(5).random(101) < 0.6
    whole = bootstrap_rate_ci(ok, n_resamples=250, seed=4)  # one chunk of 250 x 101 draws
    monkeypatch.setattr(success, "MAX_DRAWS_PER_CHUNK", 3 * ok.size + 7)  # chunks of 3 resamples
    assert bootstrap_rate_ci(ok, n_resamples=250, seed=4) == whole
    monkeypatch.setattr(success, "MAX_DRAWS_PER_CHUNK", 1)  # fewer draws than one resample: still 1 per chunk
    assert bootstrap_rate_ci(ok, n_resamples=250, seed=4) == whole


def test_bootstrap_many_trajectories():
    n = MAX_DRAWS_PER_CHUNK // 50 + 3  # fewer than 50 resamples fit in one chunk
    ok = np.arange(n) % 4 == 0
    rate, low, high = bootstrap_rate_ci(ok, n_resamples=120, seed=3)
    assert rate == pytest.approx(ok.mean())
    assert low < rate < high and high - low < 0.01  # n ~ 84k: a narrow interval


@pytest.mark.parametrize(
    ("successes", "message"),
    [
        ([], r"no scored trajectories"),
        (np.array([], dtype=bool), r"no scored trajectories"),
        ([[1, 0], [0, 1]], r"1-d array.*\(2, 2\)"),
        (1, r"1-d array"),
        ([0, 1, 2], r"bool or 0/1"),
        ([0.5, 1.0], r"bool or 0/1"),
        ([0, float("nan")], r"bool or 0/1"),
        (["yes", "no"], r"bool or 0/1"),
    ],
)
def test_bootstrap_rejects_bad_outcomes(successes, message):
    with pytest.raises(InvalidInputError, match=message):
        bootstrap_rate_ci(successes)


@pytest.mark.parametrize("n_resamples", [0, -5, 2.5, True])
def test_bootstrap_rejects_bad_n_resamples(n_resamples):
    with pytest.raises(InvalidInputError, match=r"n_resamples must be a whole number >= 1"):
        bootstrap_rate_ci([1, 0], n_resamples=n_resamples)


@pytest.mark.parametrize("level", [0, 1, 95, -0.5, float("nan")])
def test_bootstrap_rejects_bad_level(level):
    with pytest.raises(InvalidInputError, match=r"level must lie strictly between 0 and 1"):
        bootstrap_rate_ci([1, 0], level=level)
