import numpy as np
import pytest

from rmeval.errors import InvalidInputError
from rmeval.rewards import clip_reward, combine_prompts, regularized_reward


@pytest.fixture
def embs():
    rng = np.random.default_rng(0)
    return rng.normal(size=(50, 16)), rng.normal(size=16), rng.normal(size=16)


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def literal_regularized(image, goal, baseline, alpha):
    """Definition 1 written out: project onto the line through b and g, mix, distance to g."""
    s, g, b = _unit(image), _unit(goal), _unit(baseline)
    d = (g - b) / np.linalg.norm(g - b)
    proj = b + ((s - b) @ d)[:, None] * d  # orthogonal projection onto the affine line L
    mixed = alpha * proj + (1 - alpha) * s
    return 1 - 0.5 * np.sum((mixed - g) ** 2, axis=1)


def test_clip_reward_is_cosine(embs):
    image, goal, _ = embs
    expected = (image @ goal) / np.linalg.norm(image, axis=1) / np.linalg.norm(goal)
    np.testing.assert_allclose(clip_reward(image, goal), expected, rtol=1e-12)
    # scale-invariant in both arguments
    np.testing.assert_allclose(clip_reward(3 * image, 0.1 * goal), expected, rtol=1e-12)


def test_regularized_matches_definition_for_each_alpha(embs):
    image, goal, baseline = embs
    alphas = [0.0, 0.25, 0.5, 0.75, 1.0]
    out = regularized_reward(image, goal, baseline, alphas)
    assert out.shape == (5, 50)
    for k, a in enumerate(alphas):
        np.testing.assert_allclose(out[k], literal_regularized(image, goal, baseline, a), atol=1e-12)


def test_alpha_zero_equals_clip_reward_exactly(embs):
    image, goal, baseline = embs
    out = regularized_reward(image, goal, baseline, [0.0, 0.5])
    assert np.array_equal(out[0], clip_reward(image, goal))
    # also without a baseline
    assert np.array_equal(regularized_reward(image, goal, None, 0.0)[0], clip_reward(image, goal))


def test_alpha_one_only_sees_the_baseline_goal_direction(embs):
    image, goal, baseline = embs
    g, b = _unit(goal), _unit(baseline)
    d = (g - b) / np.linalg.norm(g - b)
    s = _unit(image[0])
    # move s orthogonally to d (then renormalisation would change it; compare unnormalised math)
    ortho = np.random.default_rng(1).normal(size=16)
    ortho -= (ortho @ d) * d
    s2 = s + 0.3 * ortho
    s2 /= np.linalg.norm(s2)
    r = regularized_reward(np.stack([s, s2]), goal, baseline, 1.0)[0]
    expected = 1 - 0.5 * (np.stack([s - g, s2 - g]) @ d) ** 2
    np.testing.assert_allclose(r, expected, atol=1e-12)
    # the goal itself gets the maximum reward 1 at every alpha
    np.testing.assert_allclose(regularized_reward(goal[None], goal, baseline, [0, 0.5, 1]), 1.0)


def test_combine_prompts_normalises_each_then_the_mean():
    a = np.array([10.0, 0.0, 0.0])
    b = np.array([0.0, 0.1, 0.0])
    c = combine_prompts(np.stack([a, b]))
    np.testing.assert_allclose(c, np.array([1, 1, 0]) / np.sqrt(2))
    assert np.isclose(np.linalg.norm(c), 1.0)
    np.testing.assert_allclose(combine_prompts(a), [1, 0, 0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"baseline": None, "alphas": [0, 0.5]}, "needs a baseline"),
        ({"alphas": [1.2]}, r"\[0, 1\]"),
        ({"alphas": [-0.1]}, r"\[0, 1\]"),
        ({"alphas": [np.nan]}, r"\[0, 1\]"),
        ({"goal": np.ones(8)}, "dimension 8 but the image embeddings have 16"),
        ({"baseline": np.ones(15)}, "dimension 15"),
        ({"goal": np.ones((2, 16))}, "combine_prompts"),
    ],
)
def test_reward_errors(embs, kwargs, match):
    image, goal, baseline = embs
    args = {"image": image, "goal": goal, "baseline": baseline, "alphas": [0.5]}
    args.update(kwargs)
    with pytest.raises(InvalidInputError, match=match):
        regularized_reward(args["image"], args["goal"], args["baseline"], args["alphas"])


def test_goal_equal_to_baseline_and_bad_images(embs):
    image, goal, _ = embs
    with pytest.raises(InvalidInputError, match="coincide"):
        regularized_reward(image, goal, 2 * goal, [0.5])
    bad = image.copy()
    bad[3, 2] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        clip_reward(bad, goal)
    with pytest.raises(InvalidInputError, match="zero embedding"):
        clip_reward(np.zeros((2, 16)), goal)
