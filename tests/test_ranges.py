import pytest

from rmeval.errors import InvalidInputError
from rmeval.ranges import parse_alphas, parse_range


def test_range_includes_stop_without_float_noise():
    assert parse_alphas("0:1:0.2") == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert parse_range("-0.4:0.4:0.1") == [-0.4, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4]
    assert len(parse_range("0:1:0.01")) == 101


def test_range_stop_off_the_grid_is_refused():
    # the rule: stop must be start + a whole number of steps (it is always included)
    with pytest.raises(InvalidInputError, match=r"stop 1 is not on the grid .* use 0:0.9:0.3"):
        parse_alphas("0:1:0.3")
    with pytest.raises(InvalidInputError, match="not on the grid"):
        parse_range("1:0:-0.3")
    assert parse_range("0:0.9:0.3") == [0.0, 0.3, 0.6, 0.9]


@pytest.mark.parametrize(("spec", "match"), [("0,,1", "empty value between commas"), ("0,1,", "empty value"),
                                             (",0", "empty value"), ("0,0,1", "0 is given twice"),
                                             ("0.5,0.50", "given twice")])
def test_bad_lists_are_refused(spec, match):
    with pytest.raises(InvalidInputError, match=match):
        parse_alphas(spec)


def test_descending_range_and_lists():
    assert parse_range("1:0:-0.5") == [1.0, 0.5, 0.0]
    assert parse_alphas("0, 0.5,1") == [0.0, 0.5, 1.0]
    assert parse_alphas("0.25") == [0.25]


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("0:1", "exactly start:stop:step"),
        ("0:1:0", "must not be 0"),
        ("0:1:-0.1", "never reaches"),
        ("a:1:0.1", "not a number"),
        ("", "empty"),
        ("0:1:1e-9", "too many"),
        ("nan", "not a finite number"),
    ],
)
def test_bad_range_syntax(spec, match):
    with pytest.raises(InvalidInputError, match=match):
        parse_range(spec)


def test_alpha_outside_unit_interval():
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        parse_alphas("0:1.2:0.2")
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        parse_alphas("-0.1,0.5")
