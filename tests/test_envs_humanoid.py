"""rmeval/Humanoid-v0: looks, cameras, pose renderer, pose predicates, backend errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rmeval.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[1]


def _run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environ,
        timeout=120,
        check=False,
    )


# ---- things that need no MuJoCo --------------------------------------------------------


def test_xml_keeps_the_physics_and_adds_camera_and_materials() -> None:
    import xml.etree.ElementTree as ET

    from rmeval.envs.humanoid_xml import BODY_MATERIALS, FIXED_CAMERA_NAME, build_humanoid_xml, look_at_xyaxes

    textured = ET.fromstring(build_humanoid_xml("textured"))
    original = ET.fromstring(build_humanoid_xml("original"))
    for root in (textured, original):
        assert [c.get("name") for c in root.iter("camera") if c.get("name") == FIXED_CAMERA_NAME] == [FIXED_CAMERA_NAME]
    materials = {m.get("name") for m in textured.iter("material")}
    assert set(BODY_MATERIALS) <= materials
    assert any(t.get("type") == "skybox" for t in textured.iter("texture"))
    # same bodies and joints: the looks differ only in what is drawn
    assert [b.get("name") for b in textured.iter("body")] == [b.get("name") for b in original.iter("body")]
    assert [j.get("name") for j in textured.iter("joint")] == [j.get("name") for j in original.iter("joint")]
    # a camera looking along +x has its image-right axis pointing to -y
    xy = look_at_xyaxes((-3.0, 0.0, 1.0), (0.0, 0.0, 1.0))
    np.testing.assert_allclose(xy, (0, -1, 0, 0, 0, 1), atol=1e-6)


def test_bad_xml_options() -> None:
    from rmeval.envs.humanoid_xml import build_humanoid_xml

    with pytest.raises(InvalidInputError, match="look"):
        build_humanoid_xml("cartoon")
    with pytest.raises(InvalidInputError, match="quality"):
        build_humanoid_xml("textured", quality="ultra")


def test_missing_backend_raises_rmeval_error_with_fix() -> None:
    result = _run_python(
        """
        from rmeval.errors import RmevalError
        try:
            import gymnasium as gym
            import rmeval.envs.registration
            gym.make("rmeval/Humanoid-v0").render()
        except RmevalError as exc:
            print("RMEVAL_ERROR", exc)
        """,
        MUJOCO_GL="no-such-backend",
    )
    assert result.returncode == 0, result.stderr
    assert "RMEVAL_ERROR" in result.stdout
    assert "MUJOCO_GL='no-such-backend'" in result.stdout
    assert "MUJOCO_GL=egl" in result.stdout and "libegl1" in result.stdout


def test_osmesa_failure_is_reported_when_osmesa_is_absent() -> None:
    result = _run_python(
        """
        from rmeval.errors import RmevalError
        try:
            from rmeval.envs.humanoid import TexturedHumanoidEnv
            env = TexturedHumanoidEnv(width=32, height=32)
            env.reset(seed=0)
            env.render()
            print("RENDERED")
        except RmevalError as exc:
            print("RMEVAL_ERROR", exc)
        """,
        MUJOCO_GL="osmesa",
        PYOPENGL_PLATFORM="osmesa",
    )
    assert result.returncode == 0, result.stderr
    if "RENDERED" in result.stdout:
        pytest.skip("OSMesa is installed here, so its absence cannot be tested")
    assert "RMEVAL_ERROR" in result.stdout and "libosmesa6" in result.stdout


# ---- pose predicates (kinematics only) --------------------------------------------------


def test_pose_predicates_on_constructed_poses() -> None:
    from rmeval.envs.pose_predicates import label_qpos, make_pose

    labels = {name: label_qpos(make_pose(name)) for name in ("standing", "kneeling", "arms_raised", "splits", "lying")}
    assert labels["standing"]["standing_up"] and not labels["standing"]["kneeling"]
    assert labels["kneeling"]["kneeling"] and not labels["kneeling"]["standing_up"]
    assert labels["arms_raised"]["arms_raised"] and labels["arms_raised"]["standing_up"]
    assert not labels["standing"]["arms_raised"]
    assert labels["splits"]["doing_splits"]
    assert not labels["splits"]["kneeling"] and not labels["splits"]["standing_up"]
    assert not any(labels["lying"].values())
    assert not labels["kneeling"]["doing_splits"] and not labels["standing"]["doing_splits"]


def test_pose_predicates_ignore_position_and_heading() -> None:
    from rmeval.envs.pose_predicates import POSE_NAMES, label_qpos, make_pose

    for name in POSE_NAMES:
        reference = label_qpos(make_pose(name))
        for yaw in (45.0, 180.0, 290.0):
            assert label_qpos(make_pose(name, yaw_deg=yaw, xy=(0.7, -0.4))) == reference


def test_constructed_poses_rest_on_the_floor() -> None:
    import mujoco

    from rmeval.envs.pose_predicates import POSE_NAMES, _kinematic_model, _lowest_point, make_pose

    model = _kinematic_model()
    data = mujoco.MjData(model)
    for name in POSE_NAMES:
        data.qpos[:] = make_pose(name, clearance=0.0)
        mujoco.mj_kinematics(model, data)
        assert abs(_lowest_point(model, data)) < 1e-9
        # the joint angles stay within the model's limits
        for j in range(model.njnt):
            if model.jnt_limited[j]:
                q = data.qpos[model.jnt_qposadr[j]]
                lo, hi = model.jnt_range[j]
                assert lo - 1e-9 <= q <= hi + 1e-9, (name, j)


def test_unknown_pose_and_bad_qpos() -> None:
    from rmeval.envs.pose_predicates import label_qpos, make_pose

    with pytest.raises(InvalidInputError, match="known poses"):
        make_pose("handstand")
    with pytest.raises(InvalidInputError, match="shape"):
        label_qpos(np.zeros(5))


# ---- rendering ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pose_renderer() -> Iterator[object]:
    from rmeval.envs.humanoid import HumanoidPoseRenderer

    with HumanoidPoseRenderer() as renderer:
        yield renderer


def test_env_steps_never_terminates_and_truncates_at_100() -> None:
    import gymnasium as gym

    import rmeval.envs.registration  # noqa: F401

    env = gym.make("rmeval/Humanoid-v0")
    env.reset(seed=0)
    env.action_space.seed(0)
    lowest_torso = np.inf
    for step in range(100):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        lowest_torso = min(lowest_torso, float(env.unwrapped.data.qpos[2]))
        assert not terminated
        assert truncated == (step == 99)
    frame = env.render()
    env.close()
    assert lowest_torso < 1.0  # gymnasium's Humanoid-v5 would have terminated (unhealthy)
    assert frame.shape == (224, 224, 3) and frame.dtype == np.uint8


def test_passes_gymnasium_env_checker() -> None:
    import warnings

    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    import rmeval.envs.registration  # noqa: F401

    env = gym.make("rmeval/Humanoid-v0")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*observation space (minimum|maximum) value is.*infinity")
        # the render check would open a window for render_mode="human"; there is no display
        check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_same_seed_same_frame() -> None:
    import gymnasium as gym

    import rmeval.envs.registration  # noqa: F401

    frames = []
    for _ in range(2):
        env = gym.make("rmeval/Humanoid-v0")
        env.reset(seed=21)
        env.action_space.seed(21)
        for _ in range(15):
            env.step(env.action_space.sample())
        frames.append(env.render())
        env.close()
    np.testing.assert_array_equal(frames[0], frames[1])


def test_pose_renderer_matches_environment_frames(pose_renderer: object) -> None:
    from rmeval.envs.humanoid import TexturedHumanoidEnv

    env = TexturedHumanoidEnv()
    env.reset(seed=4)
    at_reset = env.render()
    np.testing.assert_array_equal(at_reset, pose_renderer.render(env.data.qpos.copy()))  # type: ignore[attr-defined]
    env.action_space.seed(4)
    for _ in range(5):
        env.step(env.action_space.sample())
    first = env.render()
    from_pose = pose_renderer.render(env.data.qpos.copy())  # type: ignore[attr-defined]
    # rendering with another renderer in between must not disturb the environment's frames
    again = env.render()
    env.close()
    np.testing.assert_array_equal(first, again)
    # after a step the environment shows the positions of one 3 ms substep earlier
    diff = np.abs(first.astype(int) - from_pose.astype(int))
    assert diff.max() <= 8 and (diff > 0).mean() < 0.002


def test_whole_body_in_view_in_every_pose(pose_renderer: object) -> None:
    from rmeval.envs.pose_predicates import POSE_NAMES, make_pose

    for name in POSE_NAMES:
        for yaw in (0.0, 90.0, 200.0):
            mask = pose_renderer.body_mask(make_pose(name, yaw_deg=yaw))  # type: ignore[attr-defined]
            assert mask.sum() > 500, (name, yaw)
            border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
            assert not border.any(), f"{name} at yaw {yaw} touches the frame border"


def test_textured_look_has_sky_grass_and_clothes(pose_renderer: object) -> None:
    from rmeval.envs.pose_predicates import make_pose

    frame = pose_renderer.render(make_pose("standing")).astype(int)  # type: ignore[attr-defined]
    top, bottom = frame[:15].reshape(-1, 3), frame[-30:].reshape(-1, 3)
    assert ((top[:, 2] > top[:, 0] + 40) & (top[:, 2] > 180)).mean() > 0.95  # blue sky
    assert ((bottom[:, 1] > bottom[:, 0] + 30) & (bottom[:, 1] > bottom[:, 2] + 30)).mean() > 0.95  # green ground
    mask = pose_renderer.body_mask(make_pose("standing"))  # type: ignore[attr-defined]
    body = frame[mask]
    shirt = (body[:, 2] > body[:, 0] + 50).mean()
    skin = ((body[:, 0] > body[:, 2] + 40) & (body[:, 0] > 120)).mean()
    assert shirt > 0.1 and skin > 0.03


def test_looks_and_cameras_differ_and_480_works() -> None:
    from rmeval.envs.humanoid import HumanoidPoseRenderer
    from rmeval.envs.pose_predicates import make_pose

    qpos = make_pose("kneeling")
    frames = {}
    for look in ("textured", "original"):
        for camera in ("fixed", "tracking"):
            with HumanoidPoseRenderer(look=look, camera=camera, width=96, height=96) as renderer:
                frames[look, camera] = renderer.render(qpos)
    assert np.abs(frames["textured", "fixed"].astype(int) - frames["original", "fixed"]).mean() > 20
    assert np.abs(frames["textured", "fixed"].astype(int) - frames["textured", "tracking"]).mean() > 5
    with HumanoidPoseRenderer(width=480, height=480) as renderer:
        big = renderer.render(qpos)
        mask = renderer.body_mask(qpos)
        assert renderer.settings()["width"] == 480
    assert big.shape == (480, 480, 3) and big.std() > 10
    assert mask.sum() > 4 * 500


def test_env_480x480_and_options() -> None:
    import gymnasium as gym

    import rmeval.envs.registration  # noqa: F401

    env = gym.make("rmeval/Humanoid-v0", width=480, height=480, look="original", camera="tracking")
    env.reset(seed=0)
    frame = env.render()
    env.close()
    assert frame.shape == (480, 480, 3)
    from rmeval.envs.humanoid import TexturedHumanoidEnv

    with pytest.raises(InvalidInputError, match="camera"):
        TexturedHumanoidEnv(camera="drone")
    with pytest.raises(InvalidInputError, match="xml_file"):
        TexturedHumanoidEnv(xml_file="humanoid.xml")


def test_pose_renderer_validates_qpos(pose_renderer: object) -> None:
    with pytest.raises(InvalidInputError, match="shape"):
        pose_renderer.render(np.zeros(3))  # type: ignore[attr-defined]
    bad = np.full(pose_renderer.nq, np.nan)  # type: ignore[attr-defined]
    with pytest.raises(InvalidInputError, match="NaN"):
        pose_renderer.render(bad)  # type: ignore[attr-defined]


def test_env_pose_labels_and_pickle() -> None:
    import pickle

    from rmeval.envs.humanoid import TexturedHumanoidEnv

    env = TexturedHumanoidEnv(look="original", camera="tracking", width=64, height=48)
    env.reset(seed=0)
    labels = env.pose_labels()
    assert set(labels) >= {"standing_up", "kneeling", "arms_raised", "doing_splits"}
    clone = pickle.loads(pickle.dumps(env))
    assert (clone.look, clone.camera, clone.width, clone.height) == ("original", "tracking", 64, 48)
    clone.close()
    env.close()


@pytest.mark.slow
def test_random_rollouts_stay_in_view(pose_renderer: object) -> None:
    import gymnasium as gym

    import rmeval.envs.registration  # noqa: F401

    env = gym.make("rmeval/Humanoid-v0")
    for episode in range(10):
        env.reset(seed=episode)
        env.action_space.seed(episode)
        for step in range(100):
            env.step(env.action_space.sample())
            if step % 10 == 9:
                mask = pose_renderer.body_mask(env.unwrapped.data.qpos.copy())  # type: ignore[attr-defined]
                border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
                assert not border.any(), (episode, step)
    env.close()


def test_embedding_after_rendering_in_one_process_does_not_crash():
    """Mesa's llvmpipe and triton both carry LLVM: loading triton after an EGL context crashed.

    Rendering a Humanoid frame and then importing torchvision (as the embedding engine does)
    must work in one process, in that order.
    """
    import subprocess
    import sys

    code = (
        "from rmeval.envs.humanoid import HumanoidPoseRenderer\n"
        "from rmeval.envs.pose_predicates import make_pose\n"
        "r = HumanoidPoseRenderer(); f = r.render(make_pose('standing')); r.close()\n"
        "import torchvision\n"
        "print('ok', f.shape)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "ok (224, 224, 3)" in res.stdout
