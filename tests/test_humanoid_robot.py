"""The Humanoid's robot look: metal body, tiled floor, sky, shadows; MuJoCo built-in textures only."""

from __future__ import annotations

import numpy as np
import pytest


def test_robot_xml_uses_builtin_textures_metal_and_shadows() -> None:
    import xml.etree.ElementTree as ET

    from rmeval.envs.humanoid_xml import build_humanoid_xml

    root = ET.fromstring(build_humanoid_xml("robot"))
    textures = root.findall("asset/texture")
    assert textures and all(t.get("builtin") and not t.get("file") for t in textures)
    assert {t.get("type") for t in textures} == {"skybox", "2d"}
    assert any(t.get("builtin") == "checker" and t.get("mark") == "edge" for t in textures)  # tiles with grout
    metal = {m.get("name"): m for m in root.findall("asset/material")}["metal"]
    assert float(metal.get("specular", 0)) >= 0.8
    assert [light.get("castshadow") for light in root.findall("worldbody/light")] == ["true"]
    # physics unchanged: the same bodies, joints and actuators as the textured look
    textured = ET.fromstring(build_humanoid_xml("textured"))
    for path in (".//joint", ".//body", "actuator/motor"):
        assert [e.get("name") for e in root.findall(path)] == [e.get("name") for e in textured.findall(path)]


def test_robot_frames_show_a_grey_body_on_tiles_under_a_sky_with_a_shadow() -> None:
    from rmeval.envs.humanoid import HumanoidPoseRenderer
    from rmeval.envs.pose_predicates import make_pose

    qpos = make_pose("standing")
    with HumanoidPoseRenderer(look="robot", width=160, height=160) as robot:
        frame = robot.render(qpos).astype(int)
        mask = robot.body_mask(qpos)
        robot.model.light_castshadow[:] = 0
        unshadowed = robot.render(qpos).astype(int)
    with HumanoidPoseRenderer(look="textured", width=160, height=160) as person:
        dressed = person.render(qpos).astype(int)
    top = frame[:10].reshape(-1, 3)
    assert ((top[:, 2] > top[:, 0] + 40) & (top[:, 2] > 180)).mean() > 0.95  # blue sky
    body = frame[mask]
    assert (np.ptp(body, axis=1) < 40).mean() > 0.8  # grey metal, not clothes or skin
    floor = frame[-40:][~mask[-40:]]
    assert (np.ptp(floor, axis=1) < 25).mean() > 0.9 and floor.std() > 5  # grey tiles with grout lines
    # a shadow: floor pixels the sun's shadow darkens
    darker = (unshadowed - frame).mean(axis=-1)
    assert (darker[~mask] > 20).sum() > 60
    assert np.abs(frame - dressed).mean() > 20


def test_train_and_render_take_the_look() -> None:
    from rmeval.errors import InvalidInputError
    from rmeval.rendering.renderers import RenderSettings
    from rmeval.training.config import new_config

    cfg = new_config("humanoid", task="kneeling", model="rmeval-tiny", look="robot", n_envs=1)
    assert cfg.env_kwargs["look"] == "robot"
    assert RenderSettings("humanoid", look="robot").resolved().look == "robot"
    with pytest.raises(InvalidInputError, match="--look 'robot' does not exist for cartpole"):
        new_config("cartpole", model="rmeval-tiny", look="robot")
