"""Automatic goal labels for Humanoid poses, and example poses built joint by joint.

The predicates read the world positions of a few body points (MuJoCo ``data.xpos`` of
bodies and ``data.geom_xpos`` of the head, hand and foot geoms) and compare them with the
thresholds below, all in metres above the floor (z = 0) or horizontal distances.

These labels are **first estimates** for building datasets and sanity checks: a human's
frame label (the paper's ground truth, Appendix B) always overrides them. Tasks with no
predicate here would need human labels; every Humanoid task of :mod:`rmeval.envs.tasks`
has one. The Humanoid's joint limits keep some poses approximate (its arms cannot fold
against the chest, its legs cannot fold into a full lotus), so the constructed poses and
the rules describe what the body can do: see each rule below.

Reference heights in gymnasium's Humanoid, standing upright on the floor: head centre
about 1.47 m, pelvis 0.85 m, knees 0.42 m, foot centres 0.075 m. Kneeling upright on
both knees: head about 1.13 m, knees about 0.07 m. Seated cross-legged (example pose
``lotus``): pelvis about 0.27 m, knees about 0.11 m high and 0.73 m apart, feet 0.09 m
from the pelvis horizontally.

Thresholds (module constants, used by the predicates):

* **standing up**: head above :data:`STANDING_HEAD_MIN_Z`, both knees above
  :data:`KNEE_UP_MIN_Z` (no knee on the ground), torso tilted at most
  :data:`UPRIGHT_MAX_TILT_DEG` from vertical, and a foot within :data:`FOOT_ON_FLOOR_MAX_Z`
  of the floor.
* **kneeling**: a knee below :data:`KNEE_ON_FLOOR_MAX_Z` whose leg is bent by at least
  :data:`KNEELING_MIN_KNEE_BEND_DEG` (a straight leg on the floor is splits or sitting,
  not kneeling), torso tilt at most
  :data:`KNEELING_MAX_TILT_DEG`, head above :data:`KNEELING_HEAD_MIN_Z` (an upright trunk,
  not lying or sitting slumped).
* **arms raised**: standing up, and both hands at least :data:`HANDS_ABOVE_HEAD_M` above
  the head centre.
* **doing splits**: feet at least :data:`SPLITS_MIN_FOOT_SPREAD` apart horizontally, both
  knees below :data:`SPLITS_KNEE_MAX_Z` and both feet below :data:`SPLITS_FOOT_MAX_Z` (legs
  low along the floor: a foot raised a little at the end of a low leg still reads as the
  splits; a leg kicked up does not), pelvis below
  :data:`SPLITS_PELVIS_MAX_Z`, torso tilt at most :data:`KNEELING_MAX_TILT_DEG`.
* **standing on one leg**: torso upright, head above :data:`STANDING_HEAD_MIN_Z`, one foot
  on the floor and the other at least :data:`ONE_LEG_LIFT_MIN_Z` above it.
* **lotus position** (seated cross-legged): pelvis below :data:`LOTUS_PELVIS_MAX_Z` (seated
  on the floor, not kneeling upright or standing), both knees below
  :data:`LOTUS_KNEE_MAX_Z` and bent by at least :data:`LOTUS_MIN_KNEE_BEND_DEG`, the knees
  at least :data:`LOTUS_MIN_KNEE_SPREAD` apart horizontally (spread outwards), both feet
  within :data:`LOTUS_FOOT_MAX_DIST` of the pelvis horizontally (tucked in under the
  opposite thighs, not stretched out), torso tilt at most :data:`KNEELING_MAX_TILT_DEG`.
  The Humanoid's hips cannot turn out far enough to put the feet on the thighs, so this is
  the easy cross-legged seat; it also satisfies the kneeling rule (knees bent on the
  floor, trunk upright).
* **hands on hips**: standing up, and for each hand: within :data:`HIP_HAND_MAX_DIST` of
  the same-side hip joint, no lower than :data:`HIP_HAND_MIN_DZ` below it, at least
  :data:`HIP_HAND_MIN_SIDE` to its own side of the body's midline (on the side of the
  pelvis, not in front of the belly), the elbow bent by at least
  :data:`ELBOW_MIN_BEND_DEG` and pointing out: the elbow at least :data:`ELBOW_OUT_MIN_M`
  further from the torso's vertical axis than the hand. (Arms hanging down put the hands
  about 0.09 m below the hip joints with the elbows bent by about 20 degrees.)
* **arms crossed** (forearms folded across the front of the trunk, as a viewer sees it):
  standing up, both elbows bent by at least :data:`CROSSED_MIN_ELBOW_BEND_DEG`, and for
  each hand: at the body's midline or past it (:data:`CROSSED_HAND_MIN_M`, negative: at
  most that far short of it), between :data:`CROSSED_HAND_MIN_FRONT` and
  :data:`CROSSED_HAND_MAX_FRONT` in front of the torso's centre (folded, not reaching
  out), between :data:`CROSSED_HAND_MIN_ABOVE_PELVIS` above the pelvis and shoulder
  height; the hands within :data:`CROSSED_HANDS_MAX_GAP` of each other. The Humanoid's
  shoulders cannot fold the forearms over each other against the chest: folded, they
  meet at the midline about 0.25 m in front of it. (Until rmeval 0.1 the rule took arms
  reaching forward with the hands crossing 0.45 m out for crossed arms; blind human
  labels did not, see ``scripts/pose_label_check.py``.)

The body's midline and forward direction come from the line between the shoulders, so the
rules do not depend on the heading.

Pure functions of :class:`BodyPoints` need no MuJoCo; :meth:`BodyPoints.from_mujoco`,
:func:`label_qpos` and :func:`make_pose` import it (through :mod:`rmeval.envs.humanoid`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from rmeval.errors import InvalidInputError

STANDING_HEAD_MIN_Z = 1.25
KNEE_UP_MIN_Z = 0.25
UPRIGHT_MAX_TILT_DEG = 35.0
FOOT_ON_FLOOR_MAX_Z = 0.25
KNEE_ON_FLOOR_MAX_Z = 0.22
KNEELING_MAX_TILT_DEG = 45.0
KNEELING_HEAD_MIN_Z = 0.75
KNEELING_MIN_KNEE_BEND_DEG = 45.0
HANDS_ABOVE_HEAD_M = 0.05
SPLITS_MIN_FOOT_SPREAD = 1.1
SPLITS_PELVIS_MAX_Z = 0.45
SPLITS_KNEE_MAX_Z = 0.35
SPLITS_FOOT_MAX_Z = 0.50
ONE_LEG_LIFT_MIN_Z = 0.30
LOTUS_PELVIS_MAX_Z = 0.40
LOTUS_KNEE_MAX_Z = 0.40
LOTUS_MIN_KNEE_BEND_DEG = 110.0
LOTUS_MIN_KNEE_SPREAD = 0.50
LOTUS_FOOT_MAX_DIST = 0.35
HIP_HAND_MAX_DIST = 0.30
HIP_HAND_MIN_DZ = -0.03
HIP_HAND_MIN_SIDE = 0.10
ELBOW_MIN_BEND_DEG = 45.0
ELBOW_OUT_MIN_M = 0.03
CROSSED_HAND_MIN_M = -0.10
CROSSED_HAND_MIN_FRONT = 0.08
CROSSED_HAND_MAX_FRONT = 0.35
CROSSED_HANDS_MAX_GAP = 0.30
CROSSED_MIN_ELBOW_BEND_DEG = 80.0
CROSSED_HAND_MIN_ABOVE_PELVIS = 0.10

#: Tasks (names as in :mod:`rmeval.envs.tasks`) with an automatic predicate.
PREDICATE_TASKS: tuple[str, ...] = (
    "standing_up",
    "kneeling",
    "arms_raised",
    "doing_splits",
    "standing_on_one_leg",
    "lotus_position",
    "hands_on_hips",
    "arms_crossed",
)


@dataclass(frozen=True)
class BodyPoints:
    """World positions (metres, z up, floor at z = 0) of the body points the predicates use.

    Hips are the thigh bodies' origins (the hip joints), knees the shin bodies' origins (the
    knee joints), shoulders the upper-arm bodies' origins (the shoulder joints) and elbows
    the lower-arm bodies' origins (the elbow joints); feet and hands are the centres of
    the foot and hand spheres (radius 0.075 m and 0.04 m). ``torso_up`` is the z component
    of the torso's up axis: 1 upright, 0 lying, -1 upside down.
    """

    head: np.ndarray
    torso: np.ndarray
    pelvis: np.ndarray
    left_hip: np.ndarray
    right_hip: np.ndarray
    left_knee: np.ndarray
    right_knee: np.ndarray
    left_foot: np.ndarray
    right_foot: np.ndarray
    left_hand: np.ndarray
    right_hand: np.ndarray
    left_shoulder: np.ndarray
    right_shoulder: np.ndarray
    left_elbow: np.ndarray
    right_elbow: np.ndarray
    torso_up: float

    #: (field, MuJoCo object kind, name) for :meth:`from_mujoco`.
    SOURCES = (
        ("head", "geom", "head"),
        ("torso", "body", "torso"),
        ("pelvis", "body", "pelvis"),
        ("left_hip", "body", "left_thigh"),
        ("right_hip", "body", "right_thigh"),
        ("left_knee", "body", "left_shin"),
        ("right_knee", "body", "right_shin"),
        ("left_foot", "geom", "left_foot"),
        ("right_foot", "geom", "right_foot"),
        ("left_hand", "geom", "left_hand"),
        ("right_hand", "geom", "right_hand"),
        ("left_shoulder", "body", "left_upper_arm"),
        ("right_shoulder", "body", "right_upper_arm"),
        ("left_elbow", "body", "left_lower_arm"),
        ("right_elbow", "body", "right_lower_arm"),
    )

    @classmethod
    def from_mujoco(cls, model: Any, data: Any) -> BodyPoints:
        """Read the points from a MuJoCo model and data after ``mj_forward``/``mj_step``."""
        import mujoco

        values: dict[str, Any] = {}
        for field, kind, name in cls.SOURCES:
            obj = mujoco.mjtObj.mjOBJ_GEOM if kind == "geom" else mujoco.mjtObj.mjOBJ_BODY
            idx = mujoco.mj_name2id(model, obj, name)
            if idx < 0:
                raise InvalidInputError(f"the MuJoCo model has no {kind} named {name!r}; is it the Humanoid?")
            source = data.geom_xpos if kind == "geom" else data.xpos
            values[field] = np.array(source[idx], dtype=float)
        torso_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "torso")
        values["torso_up"] = float(data.xmat[torso_id][8])
        return cls(**values)


def _upright(points: BodyPoints, max_tilt_deg: float) -> bool:
    return points.torso_up >= math.cos(math.radians(max_tilt_deg))


def _foot_on_floor(z: float) -> bool:
    return z <= FOOT_ON_FLOOR_MAX_Z


def is_standing_up(points: BodyPoints) -> bool:
    """Upright on the feet: head high, knees off the floor, a foot on the floor."""
    return bool(
        points.head[2] >= STANDING_HEAD_MIN_Z
        and min(points.left_knee[2], points.right_knee[2]) >= KNEE_UP_MIN_Z
        and _upright(points, UPRIGHT_MAX_TILT_DEG)
        and (_foot_on_floor(points.left_foot[2]) or _foot_on_floor(points.right_foot[2]))
    )


def _bend_deg(root: np.ndarray, joint: np.ndarray, end: np.ndarray) -> float:
    """Angle between the directions root -> joint and joint -> end, degrees: 0 when straight."""
    upper, lower = joint - root, end - joint
    cos = float(np.dot(upper, lower) / (np.linalg.norm(upper) * np.linalg.norm(lower) + 1e-12))
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def knee_bend_deg(hip: np.ndarray, knee: np.ndarray, foot: np.ndarray) -> float:
    """Angle between thigh and shin directions, degrees: 0 for a straight leg."""
    return _bend_deg(hip, knee, foot)


def elbow_bend_deg(shoulder: np.ndarray, elbow: np.ndarray, hand: np.ndarray) -> float:
    """Angle between upper-arm and forearm directions, degrees: 0 for a straight arm."""
    return _bend_deg(shoulder, elbow, hand)


def _horizontal_dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.hypot(*(a[:2] - b[:2])))


def _body_axes(points: BodyPoints) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal unit vectors (left, forward) of the torso, from the shoulder line."""
    left = points.left_shoulder[:2] - points.right_shoulder[:2]
    left = left / (np.linalg.norm(left) + 1e-12)
    return left, np.array([left[1], -left[0]])


def is_kneeling(points: BodyPoints) -> bool:
    """A bent knee on the floor with the trunk upright (one or both knees, or sitting on the heels),
    and not the cross-legged seat of :func:`is_lotus_position` (knees down and bent there too)."""
    knee_down = any(
        knee[2] <= KNEE_ON_FLOOR_MAX_Z and knee_bend_deg(hip, knee, foot) >= KNEELING_MIN_KNEE_BEND_DEG
        for hip, knee, foot in (
            (points.left_hip, points.left_knee, points.left_foot),
            (points.right_hip, points.right_knee, points.right_foot),
        )
    )
    return bool(
        knee_down
        and _upright(points, KNEELING_MAX_TILT_DEG)
        and points.head[2] >= KNEELING_HEAD_MIN_Z
        and not is_lotus_position(points)
    )


def is_arms_raised(points: BodyPoints) -> bool:
    """Standing up with both hands above the head."""
    top = points.head[2] + HANDS_ABOVE_HEAD_M
    return bool(is_standing_up(points) and points.left_hand[2] >= top and points.right_hand[2] >= top)


def is_doing_splits(points: BodyPoints) -> bool:
    """Feet far apart, legs low along the floor, pelvis low, trunk upright."""
    spread = float(np.hypot(*(points.left_foot[:2] - points.right_foot[:2])))
    return bool(
        spread >= SPLITS_MIN_FOOT_SPREAD
        and max(points.left_knee[2], points.right_knee[2]) <= SPLITS_KNEE_MAX_Z
        and max(points.left_foot[2], points.right_foot[2]) <= SPLITS_FOOT_MAX_Z
        and points.pelvis[2] <= SPLITS_PELVIS_MAX_Z
        and _upright(points, KNEELING_MAX_TILT_DEG)
    )


def is_standing_on_one_leg(points: BodyPoints) -> bool:
    """Upright, head high, one foot on the floor and the other lifted."""
    low, high = sorted((points.left_foot[2], points.right_foot[2]))
    return bool(
        points.head[2] >= STANDING_HEAD_MIN_Z
        and _upright(points, UPRIGHT_MAX_TILT_DEG)
        and _foot_on_floor(low)
        and high >= ONE_LEG_LIFT_MIN_Z
    )


def is_lotus_position(points: BodyPoints) -> bool:
    """Seated cross-legged: pelvis and knees low, trunk upright, both knees bent and spread
    wide, both feet tucked in near the pelvis."""
    bent = all(
        knee_bend_deg(hip, knee, foot) >= LOTUS_MIN_KNEE_BEND_DEG
        for hip, knee, foot in (
            (points.left_hip, points.left_knee, points.left_foot),
            (points.right_hip, points.right_knee, points.right_foot),
        )
    )
    return bool(
        points.pelvis[2] <= LOTUS_PELVIS_MAX_Z
        and max(points.left_knee[2], points.right_knee[2]) <= LOTUS_KNEE_MAX_Z
        and _upright(points, KNEELING_MAX_TILT_DEG)
        and bent
        and _horizontal_dist(points.left_knee, points.right_knee) >= LOTUS_MIN_KNEE_SPREAD
        and _horizontal_dist(points.left_foot, points.pelvis) <= LOTUS_FOOT_MAX_DIST
        and _horizontal_dist(points.right_foot, points.pelvis) <= LOTUS_FOOT_MAX_DIST
    )


def is_hands_on_hips(points: BodyPoints) -> bool:
    """Standing up, each hand resting on the side of the same-side hip with the elbow bent
    and pointing out."""
    torso = points.torso
    left, _ = _body_axes(points)

    def on_hip(side: float, hip: np.ndarray, shoulder: np.ndarray, elbow: np.ndarray, hand: np.ndarray) -> bool:
        return (
            float(np.linalg.norm(hand - hip)) <= HIP_HAND_MAX_DIST
            and hand[2] >= hip[2] + HIP_HAND_MIN_DZ
            and side * float(np.dot(hand[:2] - torso[:2], left)) >= HIP_HAND_MIN_SIDE
            and elbow_bend_deg(shoulder, elbow, hand) >= ELBOW_MIN_BEND_DEG
            and _horizontal_dist(elbow, torso) >= _horizontal_dist(hand, torso) + ELBOW_OUT_MIN_M
        )

    return bool(
        is_standing_up(points)
        and on_hip(1.0, points.left_hip, points.left_shoulder, points.left_elbow, points.left_hand)
        and on_hip(-1.0, points.right_hip, points.right_shoulder, points.right_elbow, points.right_hand)
    )


def is_arms_crossed(points: BodyPoints) -> bool:
    """Standing up, forearms folded across the front of the trunk: elbows bent, each hand at
    or past the body's midline, a little in front of the torso (not reaching out), between
    pelvis and shoulder height, the hands close together."""
    left, forward = _body_axes(points)
    torso = points.torso[:2]
    top = max(points.left_shoulder[2], points.right_shoulder[2])
    bottom = points.pelvis[2] + CROSSED_HAND_MIN_ABOVE_PELVIS

    def folded(hand: np.ndarray, side: float, shoulder: np.ndarray, elbow: np.ndarray) -> bool:
        front = float(np.dot(hand[:2] - torso, forward))
        return (
            side * float(np.dot(hand[:2] - torso, left)) >= CROSSED_HAND_MIN_M
            and CROSSED_HAND_MIN_FRONT <= front <= CROSSED_HAND_MAX_FRONT
            and elbow_bend_deg(shoulder, elbow, hand) >= CROSSED_MIN_ELBOW_BEND_DEG
            and bottom <= hand[2] <= top
        )

    return bool(
        is_standing_up(points)
        and folded(points.right_hand, 1.0, points.right_shoulder, points.right_elbow)
        and folded(points.left_hand, -1.0, points.left_shoulder, points.left_elbow)
        and float(np.linalg.norm(points.left_hand - points.right_hand)) <= CROSSED_HANDS_MAX_GAP
    )


#: Task name -> predicate.
PREDICATES: dict[str, Callable[[BodyPoints], bool]] = {
    "standing_up": is_standing_up,
    "kneeling": is_kneeling,
    "arms_raised": is_arms_raised,
    "doing_splits": is_doing_splits,
    "standing_on_one_leg": is_standing_on_one_leg,
    "lotus_position": is_lotus_position,
    "hands_on_hips": is_hands_on_hips,
    "arms_crossed": is_arms_crossed,
}


def pose_labels(points: BodyPoints) -> dict[str, bool]:
    """Every predicate's label for ``points``, keyed by task name."""
    return {name: fn(points) for name, fn in PREDICATES.items()}


# --------------------------------------------------------------------------------------
# Example poses
# --------------------------------------------------------------------------------------

_ARMS_DOWN = {"right_shoulder1": 45.0, "right_shoulder2": -35.0, "right_elbow": -90.0}
_ARMS_UP = {"right_shoulder1": -85.0, "right_shoulder2": 20.0, "right_elbow": -90.0}
_STRAIGHT_LEGS = {"right_hip_x": 0.0, "right_hip_z": 0.0, "right_hip_y": 0.0, "right_knee": -3.0}
_HANDS_ON_HIPS = {"right_shoulder1": 45.0, "right_shoulder2": -65.0, "right_elbow": -25.0}
_ARMS_CROSSED = {"right_shoulder1": 55.0, "right_shoulder2": -30.0, "right_elbow": -5.0}


def _mirror(right: Mapping[str, float]) -> dict[str, float]:
    """Add the left side: shoulder angles change sign (mirrored axes), the rest are equal."""
    out = dict(right)
    for name, value in right.items():
        left = name.replace("right_", "left_")
        out[left] = -value if "shoulder" in name else value
    return out


#: Joint angles in degrees (gymnasium's joint names) and root pitch of the example poses.
#: Angles stay within the model's joint ranges.
POSES: dict[str, dict[str, Any]] = {
    "standing": {"joints": _mirror({**_ARMS_DOWN, **_STRAIGHT_LEGS}), "pitch": 0.0},
    "kneeling": {
        "joints": _mirror({**_ARMS_DOWN, "right_hip_y": 0.0, "right_knee": -90.0}),
        "pitch": 0.0,
    },
    "arms_raised": {"joints": _mirror({**_ARMS_UP, **_STRAIGHT_LEGS}), "pitch": 0.0},
    "splits": {
        "joints": _mirror(
            {**_ARMS_DOWN, "right_hip_x": 0.0, "right_hip_z": -60.0, "right_hip_y": -90.0, "right_knee": -3.0}
        ),
        "pitch": 0.0,
    },
    "lying": {"joints": _mirror({**_ARMS_DOWN, **_STRAIGHT_LEGS}), "pitch": -90.0},
    "standing_on_one_leg": {
        "joints": {
            **_mirror({**_ARMS_DOWN, **_STRAIGHT_LEGS}),
            "left_hip_y": -60.0,
            "left_knee": -100.0,
        },
        "pitch": 0.0,
    },
    # seated cross-legged: the waist tilts the pelvis back, the thighs point forward and
    # out (knees near the floor), the shins fold in so the feet meet in front of the
    # pelvis; the trunk leans 10 degrees forward and the hands rest on the knees
    "lotus": {
        "joints": _mirror(
            {"abdomen_y": -30.0, "right_hip_x": 0.0, "right_hip_z": -60.0, "right_hip_y": -60.0,
             "right_knee": -155.0, "right_shoulder1": 20.0, "right_shoulder2": -10.0, "right_elbow": -80.0}
        ),
        "pitch": 10.0,
    },
    # hands on the sides of the pelvis; the shoulders' limits point the elbows out and back
    "hands_on_hips": {"joints": _mirror({**_HANDS_ON_HIPS, **_STRAIGHT_LEGS}), "pitch": 0.0},
    # forearms folded across the lower chest, meeting at the midline about 0.25 m in front of it
    "arms_crossed": {"joints": _mirror({**_ARMS_CROSSED, **_STRAIGHT_LEGS}), "pitch": 0.0},
}

#: Names accepted by :func:`make_pose`.
POSE_NAMES: tuple[str, ...] = tuple(POSES)


@lru_cache(maxsize=1)
def _kinematic_model() -> Any:
    """gymnasium's Humanoid model (original look: the kinematics of every look are equal)."""
    # rmeval.envs.humanoid sets MUJOCO_GL and checks the backend: it must load before mujoco
    import rmeval.envs.humanoid  # noqa: F401, I001
    import mujoco

    from rmeval.envs.humanoid_xml import build_humanoid_xml

    return mujoco.MjModel.from_xml_string(build_humanoid_xml("original"))


def _lowest_point(model: Any, data: Any) -> float:
    """Lowest z over the Humanoid's colliding spheres and capsules."""
    import mujoco

    lowest = math.inf
    for g in range(model.ngeom):
        if model.geom_bodyid[g] == 0 or (model.geom_contype[g] == 0 and model.geom_conaffinity[g] == 0):
            continue
        radius = float(model.geom_size[g][0])
        z = float(data.geom_xpos[g][2])
        if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE:
            half = float(model.geom_size[g][1])
            axis_z = float(data.geom_xmat[g][8])
            z -= abs(axis_z) * half
        lowest = min(lowest, z - radius)
    return lowest


def make_pose(
    name: str,
    *,
    yaw_deg: float = 0.0,
    xy: Sequence[float] = (0.0, 0.0),
    clearance: float = 0.002,
) -> np.ndarray:
    """``qpos`` of an example pose, resting on the floor.

    Args:
        name: one of :data:`POSE_NAMES` (standing, kneeling, arms_raised, splits, lying,
            standing_on_one_leg, lotus, hands_on_hips, arms_crossed).
        yaw_deg: rotation about the vertical axis (0: facing +x, as at the spawn point).
        xy: horizontal position of the root.
        clearance: gap left between the lowest body point and the floor, metres.

    The joint angles are set, the root is pitched (``lying``: on its back; ``lotus``: 10
    degrees forward), then the root height is chosen so that the lowest sphere or capsule
    is ``clearance`` above the floor.
    """
    import mujoco

    if name not in POSES:
        raise InvalidInputError(f"unknown pose {name!r}; known poses: {list(POSE_NAMES)}.")
    model = _kinematic_model()
    data = mujoco.MjData(model)
    qpos = model.qpos0.copy()
    for joint, degrees in POSES[name]["joints"].items():
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, joint)
        if jid < 0:
            raise InvalidInputError(f"pose {name!r} names an unknown joint {joint!r}.")
        qpos[model.jnt_qposadr[jid]] = math.radians(degrees)
    # root orientation: yaw about z, then pitch about the body's y axis
    yaw = np.zeros(4)
    mujoco.mju_axisAngle2Quat(yaw, np.array([0.0, 0.0, 1.0]), math.radians(yaw_deg))
    pitch = np.zeros(4)
    mujoco.mju_axisAngle2Quat(pitch, np.array([0.0, 1.0, 0.0]), math.radians(POSES[name]["pitch"]))
    quat = np.zeros(4)
    mujoco.mju_mulQuat(quat, yaw, pitch)
    qpos[3:7] = quat
    qpos[0:2] = np.asarray(xy, dtype=float)[:2]
    data.qpos[:] = qpos
    mujoco.mj_kinematics(model, data)
    qpos[2] -= _lowest_point(model, data) - clearance
    return qpos


def label_qpos(qpos: Sequence[float] | np.ndarray) -> dict[str, bool]:
    """Predicate labels of a Humanoid configuration (kinematics only, no rendering)."""
    import mujoco

    model = _kinematic_model()
    q = np.asarray(qpos, dtype=np.float64)
    if q.shape != (model.nq,):
        raise InvalidInputError(f"qpos must have shape ({model.nq},), got {q.shape}.")
    data = mujoco.MjData(model)
    data.qpos[:] = q
    mujoco.mj_kinematics(model, data)
    return pose_labels(BodyPoints.from_mujoco(model, data))


# --------------------------------------------------------------------------------------
# qpos layout and grounding (used to build perturbed pose sets)
# --------------------------------------------------------------------------------------

#: Names of the root's seven ``qpos`` entries: position (metres) and orientation quaternion.
ROOT_QPOS_NAMES: tuple[str, ...] = ("root_x", "root_y", "root_z", "root_qw", "root_qx", "root_qy", "root_qz")


def qpos_names() -> tuple[str, ...]:
    """Names of the Humanoid's 24 ``qpos`` entries, in order: the root's seven
    (:data:`ROOT_QPOS_NAMES`), then the 17 hinge joints (gymnasium's joint names, radians)."""
    import mujoco

    model = _kinematic_model()
    names = list(ROOT_QPOS_NAMES)
    for j in range(1, model.njnt):
        names.append(mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j))
    return tuple(names)


def joint_limits() -> dict[str, tuple[int, float, float]]:
    """Hinge joint name -> (index in ``qpos``, lower limit, upper limit), limits in radians."""
    import mujoco

    model = _kinematic_model()
    out: dict[str, tuple[int, float, float]] = {}
    for j in range(model.njnt):
        if model.jnt_type[j] != mujoco.mjtJoint.mjJNT_HINGE:
            continue
        name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j)
        low, high = (float(v) for v in model.jnt_range[j])
        out[name] = (int(model.jnt_qposadr[j]), low, high)
    return out


def rest_on_floor(qpos: Sequence[float] | np.ndarray, *, clearance: float = 0.002) -> np.ndarray:
    """A copy of ``qpos`` with the root height changed so the body rests on the floor.

    The lowest colliding sphere or capsule ends up ``clearance`` metres above z = 0 (as
    :func:`make_pose` does); joint angles, orientation and x, y are kept.
    """
    import mujoco

    model = _kinematic_model()
    q = np.array(qpos, dtype=np.float64)
    if q.shape != (model.nq,):
        raise InvalidInputError(f"qpos must have shape ({model.nq},), got {q.shape}.")
    if not np.all(np.isfinite(q)):
        raise InvalidInputError("qpos contains NaN or infinite values.")
    data = mujoco.MjData(model)
    data.qpos[:] = q
    mujoco.mj_kinematics(model, data)
    q[2] -= _lowest_point(model, data) - clearance
    return q
