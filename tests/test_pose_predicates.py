"""Pose predicates of lotus position, hands on hips and arms crossed (kinematics only)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from rmeval.envs import pose_predicates as pp

NEW_TASKS = {"lotus_position": "lotus", "hands_on_hips": "hands_on_hips", "arms_crossed": "arms_crossed"}


def _points(qpos: np.ndarray) -> pp.BodyPoints:
    import mujoco

    model = pp._kinematic_model()
    data = mujoco.MjData(model)
    data.qpos[:] = qpos
    mujoco.mj_kinematics(model, data)
    return pp.BodyPoints.from_mujoco(model, data)


def _hd(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.hypot(*(a[:2] - b[:2])))


def _lateral(points: pp.BodyPoints, p: np.ndarray) -> float:
    """Signed distance of p from the body's midline, positive to the body's left."""
    left = points.left_shoulder[:2] - points.right_shoulder[:2]
    return float(np.dot(p[:2] - points.torso[:2], left / np.linalg.norm(left)))


def _forward(points: pp.BodyPoints, p: np.ndarray) -> float:
    left = points.left_shoulder[:2] - points.right_shoulder[:2]
    left = left / np.linalg.norm(left)
    return float(np.dot(p[:2] - points.torso[:2], np.array([left[1], -left[0]])))


@pytest.fixture(scope="module")
def example_points() -> dict[str, pp.BodyPoints]:
    return {name: _points(pp.make_pose(name)) for name in pp.POSE_NAMES}


def test_new_tasks_have_predicates_and_columns() -> None:
    from rmeval.envs.tasks import get_task

    for task in NEW_TASKS:
        assert get_task(task).predicate == task
        assert task in pp.PREDICATE_TASKS and task in pp.PREDICATES
    assert set(pp.PREDICATE_TASKS) == set(pp.PREDICATES)


def test_each_predicate_holds_on_its_pose_only(example_points: dict[str, pp.BodyPoints]) -> None:
    for task, pose in NEW_TASKS.items():
        for name, points in example_points.items():
            assert pp.PREDICATES[task](points) == (name == pose), (task, name)
    labels = {name: pp.pose_labels(p) for name, p in example_points.items()}
    # the standing tasks are standing; the lotus is seated
    assert labels["hands_on_hips"]["standing_up"] and labels["arms_crossed"]["standing_up"]
    assert not labels["lotus"]["standing_up"] and not labels["lotus"]["doing_splits"]
    assert not labels["hands_on_hips"]["arms_raised"] and not labels["arms_crossed"]["arms_raised"]


def test_new_poses_ignore_heading_and_position() -> None:
    for pose in NEW_TASKS.values():
        reference = pp.label_qpos(pp.make_pose(pose))
        for yaw in (-150.0, -60.0, 30.0, 135.0):
            assert pp.label_qpos(pp.make_pose(pose, yaw_deg=yaw, xy=(0.3, -0.2))) == reference, (pose, yaw)


def test_body_points_include_shoulders_and_elbows(example_points: dict[str, pp.BodyPoints]) -> None:
    standing = example_points["standing"]
    # the shoulder joints are 0.17 m to each side of the torso centre, 0.06 m above it (facing +x)
    np.testing.assert_allclose(standing.right_shoulder - standing.torso, [0.0, -0.17, 0.06], atol=1e-9)
    np.testing.assert_allclose(standing.left_shoulder - standing.torso, [0.0, 0.17, 0.06], atol=1e-9)
    for side in ("left", "right"):
        shoulder, elbow, hand = (getattr(standing, f"{side}_{part}") for part in ("shoulder", "elbow", "hand"))
        assert elbow[2] < shoulder[2] and hand[2] < elbow[2]  # arms hang down
        assert 0.3 < np.linalg.norm(elbow - shoulder) < 0.32  # upper arm: 0.18 * sqrt(3)
    assert pp.elbow_bend_deg(np.zeros(3), np.array([1.0, 0, 0]), np.array([1.0, 1, 0])) == pytest.approx(90.0)
    assert pp.elbow_bend_deg(np.zeros(3), np.array([1.0, 0, 0]), np.array([2.0, 0, 0])) == pytest.approx(0.0, abs=1e-3)


# Each rule: (task, pose, constant, measured value of the pose, "min" or "max").
# "min": the predicate needs value >= constant; "max": value <= constant.
RULES: list[tuple[str, str, str, Callable[[pp.BodyPoints], float], str]] = [
    ("lotus_position", "lotus", "LOTUS_PELVIS_MAX_Z", lambda p: p.pelvis[2], "max"),
    ("lotus_position", "lotus", "LOTUS_KNEE_MAX_Z", lambda p: max(p.left_knee[2], p.right_knee[2]), "max"),
    ("lotus_position", "lotus", "LOTUS_MIN_KNEE_BEND_DEG",
     lambda p: min(pp.knee_bend_deg(p.left_hip, p.left_knee, p.left_foot),
                   pp.knee_bend_deg(p.right_hip, p.right_knee, p.right_foot)), "min"),
    ("lotus_position", "lotus", "LOTUS_MIN_KNEE_SPREAD", lambda p: _hd(p.left_knee, p.right_knee), "min"),
    ("lotus_position", "lotus", "LOTUS_FOOT_MAX_DIST",
     lambda p: max(_hd(p.left_foot, p.pelvis), _hd(p.right_foot, p.pelvis)), "max"),
    ("hands_on_hips", "hands_on_hips", "HIP_HAND_MAX_DIST",
     lambda p: max(np.linalg.norm(p.left_hand - p.left_hip), np.linalg.norm(p.right_hand - p.right_hip)), "max"),
    ("hands_on_hips", "hands_on_hips", "HIP_HAND_MIN_DZ",
     lambda p: min(p.left_hand[2] - p.left_hip[2], p.right_hand[2] - p.right_hip[2]), "min"),
    ("hands_on_hips", "hands_on_hips", "HIP_HAND_MIN_SIDE",
     lambda p: min(_lateral(p, p.left_hand), -_lateral(p, p.right_hand)), "min"),
    ("hands_on_hips", "hands_on_hips", "ELBOW_MIN_BEND_DEG",
     lambda p: min(pp.elbow_bend_deg(p.left_shoulder, p.left_elbow, p.left_hand),
                   pp.elbow_bend_deg(p.right_shoulder, p.right_elbow, p.right_hand)), "min"),
    ("hands_on_hips", "hands_on_hips", "ELBOW_OUT_MIN_M",
     lambda p: min(_hd(p.left_elbow, p.torso) - _hd(p.left_hand, p.torso),
                   _hd(p.right_elbow, p.torso) - _hd(p.right_hand, p.torso)), "min"),
    ("arms_crossed", "arms_crossed", "CROSSED_HAND_MIN_M",
     lambda p: min(_lateral(p, p.right_hand), -_lateral(p, p.left_hand)), "min"),
    ("arms_crossed", "arms_crossed", "CROSSED_HAND_MIN_FRONT",
     lambda p: min(_forward(p, p.right_hand), _forward(p, p.left_hand)), "min"),
    ("arms_crossed", "arms_crossed", "CROSSED_HAND_MAX_FRONT",
     lambda p: max(_forward(p, p.right_hand), _forward(p, p.left_hand)), "max"),
    ("arms_crossed", "arms_crossed", "CROSSED_HANDS_MAX_GAP",
     lambda p: np.linalg.norm(p.right_hand - p.left_hand), "max"),
    ("arms_crossed", "arms_crossed", "CROSSED_MIN_ELBOW_BEND_DEG",
     lambda p: min(pp.elbow_bend_deg(p.left_shoulder, p.left_elbow, p.left_hand),
                   pp.elbow_bend_deg(p.right_shoulder, p.right_elbow, p.right_hand)), "min"),
    ("arms_crossed", "arms_crossed", "CROSSED_HAND_MIN_ABOVE_PELVIS",
     lambda p: min(p.left_hand[2], p.right_hand[2]) - p.pelvis[2], "min"),
    ("doing_splits", "splits", "SPLITS_KNEE_MAX_Z", lambda p: max(p.left_knee[2], p.right_knee[2]), "max"),
    ("doing_splits", "splits", "SPLITS_FOOT_MAX_Z", lambda p: max(p.left_foot[2], p.right_foot[2]), "max"),
]


@pytest.mark.parametrize(("task", "pose", "constant", "measure", "kind"), RULES, ids=[r[2] for r in RULES])
def test_threshold_boundaries(monkeypatch, example_points, task, pose, constant, measure, kind) -> None:
    """Each threshold binds: at the pose's own value the rule passes, just past it it fails."""
    points = example_points[pose]
    value = float(measure(points))
    default = getattr(pp, constant)
    # the example pose clears every threshold
    assert (value >= default) if kind == "min" else (value <= default), (constant, value, default)
    inside, outside = (value - 1e-7, value + 1e-5) if kind == "min" else (value + 1e-7, value - 1e-5)
    monkeypatch.setattr(pp, constant, inside)
    assert pp.PREDICATES[task](points)
    monkeypatch.setattr(pp, constant, outside)
    assert not pp.PREDICATES[task](points)


def test_near_misses_are_negatives() -> None:
    """Variants built to differ from a goal pose in one respect are labelled not-goal."""
    from rmeval.envs.pose_predicates import rest_on_floor
    from rmeval.rendering.poses import _variant_qpos

    def labels(variant: str) -> dict[str, bool]:
        return pp.label_qpos(rest_on_floor(_variant_qpos(variant, 0.0, (0.0, 0.0))))

    for variant in ("sitting", "sitting_knees_up", "crouching", "kneeling", "splits"):
        assert not labels(variant)["lotus_position"], variant
    for variant in ("one_hand_on_hip", "kneeling_hands_on_hips", "hands_on_belly", "standing", "arms_crossed"):
        assert not labels(variant)["hands_on_hips"], variant
    for variant in ("one_arm_across", "kneeling_arms_crossed", "hands_on_hips", "arms_forward"):
        assert not labels(variant)["arms_crossed"], variant
    # hands resting on the belly, forearms folded: a viewer sees crossed arms (blind labels)
    assert labels("hands_on_belly")["arms_crossed"]
    # the kneeling variants keep the arms of the goal pose: only the legs make them negatives
    assert labels("kneeling_hands_on_hips")["kneeling"] and labels("kneeling_arms_crossed")["kneeling"]
    assert labels("one_hand_on_hip")["standing_up"] and labels("one_arm_across")["standing_up"]
    # the cross-legged seat has bent knees on the floor and an upright trunk, but is not kneeling
    assert labels("lotus")["lotus_position"] and not labels("lotus")["kneeling"]


def test_new_variants_stay_within_joint_limits() -> None:
    from rmeval.rendering.poses import POSE_VARIANTS

    limits = pp.joint_limits()
    for variant in ("lotus", "sitting_knees_up", "hands_on_hips", "one_hand_on_hip", "kneeling_hands_on_hips",
                    "hands_on_belly", "arms_crossed", "one_arm_across", "kneeling_arms_crossed"):
        base, overrides = POSE_VARIANTS[variant]
        for joint, degrees in {**pp.POSES[base]["joints"], **overrides}.items():
            _, low, high = limits[joint]
            assert low - 1e-9 <= math.radians(degrees) <= high + 1e-9, (variant, joint, degrees)


@pytest.mark.parametrize("task", list(NEW_TASKS))
def test_default_mix_gives_both_classes(task: str) -> None:
    """The perturbed pose set of each new task holds goal and non-goal poses in fair shares."""
    from rmeval.rendering.poses import PoseSetSpec, default_mix, pose_set_states, predicate_columns

    states = pose_set_states(PoseSetSpec(count=60, mix=default_mix(task), seed=0))
    auto = predicate_columns(states[list(pp.qpos_names())].to_numpy(dtype=np.float64))
    share = float(auto[f"auto_{task}"].mean())
    assert 0.2 <= share <= 0.6, share
    # here the goal frames all come from the goal variant (a strongly perturbed near miss could
    # turn into a goal pose, and many goal-variant frames are perturbed out of it)
    assert set(states.loc[auto[f"auto_{task}"] == 1, "pose"]) == {NEW_TASKS[task]}


def test_hands_on_hips_goal_variant_stays_off_the_boundary() -> None:
    """The goal variant's arms get a small share of the noise (ARM_NOISE_SCALE): nearly every
    frame is labelled hands on hips, while the full noise spreads a fifth across the boundary."""
    from rmeval.rendering.poses import PoseSetSpec, pose_set_states, predicate_columns

    def share(scale: float) -> float:
        from rmeval.rendering import poses

        saved = dict(poses.ARM_NOISE_SCALE)
        poses.ARM_NOISE_SCALE["hands_on_hips"] = scale
        try:
            states = pose_set_states(PoseSetSpec(count=60, mix={"hands_on_hips": 1.0}, seed=3))
        finally:
            poses.ARM_NOISE_SCALE.clear()
            poses.ARM_NOISE_SCALE.update(saved)
        auto = predicate_columns(states[list(pp.qpos_names())].to_numpy(dtype=np.float64))
        return float(auto["auto_hands_on_hips"].mean())

    assert share(0.35) >= 0.95
    assert share(1.0) <= 0.9
