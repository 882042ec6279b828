"""MuJoCo model files for the Humanoid: gymnasium's ``humanoid.xml`` with rmeval's looks.

The model is built at run time from the ``humanoid.xml`` that ships with gymnasium
(the model of ``Humanoid-v5``), parsed with :mod:`xml.etree.ElementTree`; nothing in the
physics changes. What is added or changed:

* look ``"textured"`` (the paper's Section 4.3 change 1): materials on the body parts
  (skin head, forearms and hands; a shirt on the torso and upper arms; trousers on the
  hips and legs; shoes), hair and eyes on the head (visual only: no mass, no contacts),
  a blue-sky gradient skybox, a grass-like checker ground, a sun-like directional light
  plus ambient light, and no floor reflection.
* look ``"robot"`` (the prompts' "humanoid robot", as the authors dressed it): a metallic
  body (polished silver limbs, darker joints at hands and feet, a dark visor on the head;
  specular materials, no image files), a floor of grey square tiles with dark grout
  (MuJoCo's built-in ``checker`` texture with ``edge`` marks), a blue-sky gradient skybox
  and a sun that casts shadows whatever the quality (so contact with the floor shows).
* look ``"original"``: gymnasium's file unchanged (checker floor with reflections,
  shadows, dark-blue gradient sky, one beige colour for every body part).
* both looks: a fixed camera called ``"fixed"`` in the world (the paper's change 2),
  placed in front of and to the right of the spawn point, slightly above it and angled
  down, far enough away that the whole body is in view at the spawn point whether it
  stands, kneels, does the splits or lies on the ground. The original tracking camera
  ``"track"`` (follows the centre of mass, seen from the side) stays in the file.

Rendering ``quality``: ``"fast"`` (default) draws no shadows and no multisampling;
software rendering (Mesa llvmpipe) spends most of its time on those (measured on a
2-core machine at 224x224: about 150 frames/s fast, about 12 with gymnasium's shadows,
reflections and 4x multisampling). ``"fine"`` casts shadows from the sun light (1024 px
shadow map) and uses 4x multisampling, at about a third of the speed.

This module imports no MuJoCo: the XML text can be built and inspected without it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from rmeval.envs.catalogue import get_env
from rmeval.errors import InvalidInputError, RmevalError

#: Looks the Humanoid can be rendered with (the catalogue's).
LOOKS: tuple[str, ...] = get_env("humanoid").looks
#: Rendering quality presets (the catalogue's; see the module docstring).
QUALITIES: tuple[str, ...] = get_env("humanoid").qualities

#: Name of the fixed camera added to the model.
FIXED_CAMERA_NAME = "fixed"
#: Name of gymnasium's tracking camera (mode ``trackcom``), used by ``camera="tracking"``.
TRACKING_CAMERA_NAME = "track"

#: Where the fixed camera is (metres, world frame; the Humanoid spawns at the origin
#: facing +x, so this is in front of it and to its right) and the point it looks at.
FIXED_CAMERA_POS: tuple[float, float, float] = (3.1, -2.3, 1.75)
FIXED_CAMERA_TARGET: tuple[float, float, float] = (0.0, 0.0, 0.65)
#: Vertical field of view of the fixed camera, degrees (MuJoCo's default).
FIXED_CAMERA_FOVY = 45.0

#: Body-part geoms of gymnasium's humanoid.xml and the material each gets in the
#: textured look.
GEOM_MATERIALS: dict[str, str] = {
    "head": "skin",
    "torso1": "shirt",
    "uwaist": "shirt",
    "lwaist": "shirt",
    "butt": "trousers",
    "right_thigh1": "trousers",
    "left_thigh1": "trousers",
    "right_shin1": "trousers",
    "left_shin1": "trousers",
    "right_foot": "shoe",
    "left_foot": "shoe",
    "right_uarm1": "shirt",
    "left_uarm1": "shirt",
    "right_larm": "skin",
    "left_larm": "skin",
    "right_hand": "skin",
    "left_hand": "skin",
}

#: Materials of the textured look: name -> (rgba, specular, shininess).
BODY_MATERIALS: dict[str, tuple[tuple[float, float, float, float], float, float]] = {
    "skin": ((0.87, 0.67, 0.54, 1.0), 0.15, 0.25),
    "shirt": ((0.16, 0.36, 0.66, 1.0), 0.05, 0.1),
    "trousers": ((0.20, 0.22, 0.28, 1.0), 0.05, 0.1),
    "shoe": ((0.30, 0.18, 0.10, 1.0), 0.3, 0.4),
    "hair": ((0.24, 0.15, 0.08, 1.0), 0.1, 0.2),
    "eye": ((0.06, 0.05, 0.05, 1.0), 0.5, 0.6),
}

#: Visual-only geoms added to the torso body in the textured look (torso frame, metres):
#: name -> (material, pos, radius). The head sphere is at (0, 0, 0.19), radius 0.09.
HEAD_DECORATIONS: dict[str, tuple[str, tuple[float, float, float], float]] = {
    "hair": ("hair", (-0.014, 0.0, 0.204), 0.091),
    "right_eye": ("eye", (0.078, -0.03, 0.214), 0.0125),
    "left_eye": ("eye", (0.078, 0.03, 0.214), 0.0125),
}

_MODEL_CACHE_ENV = "RMEVAL_MUJOCO_CACHE"
_MATERIAL_RGBA = "0.5 0.5 0.5 1"


def gymnasium_humanoid_xml() -> Path:
    """Path of the ``humanoid.xml`` shipped with gymnasium (found without importing MuJoCo)."""
    spec = importlib.util.find_spec("gymnasium")
    if spec is None or not spec.submodule_search_locations:
        raise RmevalError("gymnasium is not installed: pip install 'gymnasium[mujoco]'.")
    path = Path(next(iter(spec.submodule_search_locations))) / "envs" / "mujoco" / "assets" / "humanoid.xml"
    if not path.is_file():
        raise RmevalError(
            f"gymnasium's Humanoid model is missing ({path}); reinstall gymnasium: "
            "pip install --force-reinstall 'gymnasium[mujoco]'."
        )
    return path


def look_at_xyaxes(pos: Sequence[float], target: Sequence[float]) -> tuple[float, ...]:
    """MuJoCo ``xyaxes`` of a camera at ``pos`` looking at ``target`` with +z up.

    A MuJoCo camera looks along its frame's -z axis; x points right and y up in the image.
    """
    f = [t - p for p, t in zip(pos, target)]
    norm = math.sqrt(sum(c * c for c in f))
    if norm == 0:
        raise InvalidInputError("camera position and target must differ.")
    f = [c / norm for c in f]
    # right = f x up, with up = (0, 0, 1)
    x = [f[1], -f[0], 0.0]
    xn = math.sqrt(x[0] ** 2 + x[1] ** 2)
    if xn < 1e-9:
        raise InvalidInputError("the camera cannot look straight up or down.")
    x = [c / xn for c in x]
    # image up = right x forward
    y = [x[1] * f[2] - x[2] * f[1], x[2] * f[0] - x[0] * f[2], x[0] * f[1] - x[1] * f[0]]
    return tuple(round(c, 6) for c in (*x, *y))


def _fmt(values: Sequence[float]) -> str:
    return " ".join(f"{v:g}" for v in values)


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InvalidInputError(f"unknown Humanoid {name} {value!r}; choose one of {list(choices)}.")


def build_humanoid_xml(
    look: str = "textured",
    *,
    quality: str = "fast",
    offscreen_size: tuple[int, int] = (640, 480),
    camera_pos: Sequence[float] = FIXED_CAMERA_POS,
    camera_target: Sequence[float] = FIXED_CAMERA_TARGET,
) -> str:
    """XML text of the Humanoid model with the given look.

    ``offscreen_size`` (width, height) is the smallest offscreen buffer the model asks
    for; it must be at least the size of the frames rendered from it.
    """
    _check_choice("look", look, LOOKS)
    _check_choice("quality", quality, QUALITIES)
    tree = ET.parse(gymnasium_humanoid_xml())
    root = tree.getroot()

    visual = root.find("visual")
    if visual is None:
        visual = ET.SubElement(root, "visual")
    glob = visual.find("global")
    if glob is None:
        glob = ET.SubElement(visual, "global")
    glob.set("offwidth", str(max(640, int(offscreen_size[0]))))
    glob.set("offheight", str(max(480, int(offscreen_size[1]))))

    worldbody = root.find("worldbody")
    assert worldbody is not None
    camera = ET.Element(
        "camera",
        {
            "name": FIXED_CAMERA_NAME,
            "mode": "fixed",
            "pos": _fmt(camera_pos),
            "xyaxes": _fmt(look_at_xyaxes(camera_pos, camera_target)),
            "fovy": f"{FIXED_CAMERA_FOVY:g}",
        },
    )
    worldbody.insert(0, camera)

    if look == "textured":
        _apply_textured_look(root, quality)
    elif look == "robot":
        _apply_robot_look(root, quality)
    # The original look keeps gymnasium's rendering (shadows, reflections, multisampling)
    # whatever the quality, so an ablation compares looks, not render settings.
    ET.indent(tree, space="    ")
    return ET.tostring(root, encoding="unicode")


def _restyle(
    root: ET.Element,
    *,
    headlight: dict[str, str],
    sky: tuple[str, str],
    floor_texture: dict[str, str],
    floor_material: dict[str, str],
    geom_rgba: str,
    materials: dict[str, tuple[tuple[float, float, float, float], float, float]],
    sun: dict[str, str],
    material_of: dict[str, str],
    default_material: str | None = None,
) -> tuple[ET.Element, ET.Element]:
    """What every look other than the original changes: lights, sky, floor, materials.

    ``material_of`` maps body-part geoms to materials (``default_material``, if given, for
    the body parts it does not name). Returns the ``<quality>`` element (for the caller's
    render settings) and the torso body (for decorations).
    """
    visual = root.find("visual")
    assert visual is not None
    quality_el = visual.find("quality")
    if quality_el is None:
        quality_el = ET.SubElement(visual, "quality")
    ET.SubElement(visual, "headlight", headlight)
    ET.SubElement(visual, "rgba", {"haze": "0.80 0.88 0.96 1"})

    asset = root.find("asset")
    assert asset is not None
    for child in list(asset):
        asset.remove(child)
    ET.SubElement(asset, "texture", {
        "name": "sky", "type": "skybox", "builtin": "gradient",
        "rgb1": sky[0], "rgb2": sky[1], "width": "256", "height": "256",
    })
    ET.SubElement(asset, "texture", floor_texture)
    ET.SubElement(asset, "material", floor_material)
    # gymnasium's default geom class refers to material "geom": keep one, plain.
    ET.SubElement(asset, "material", {"name": "geom", "rgba": geom_rgba})
    for name, (rgba, specular, shininess) in materials.items():
        ET.SubElement(asset, "material", {
            "name": name, "rgba": _fmt(rgba), "specular": f"{specular:g}", "shininess": f"{shininess:g}",
        })

    worldbody = root.find("worldbody")
    assert worldbody is not None
    for light in worldbody.findall("light"):
        worldbody.remove(light)
    ET.SubElement(worldbody, "light", {"name": "sun", "directional": "true", "pos": "0 0 4", "dir": "-0.35 0.45 -1", **sun})

    for geom in root.iter("geom"):
        name = geom.get("name", "")
        if name == "floor":
            geom.set("rgba", _MATERIAL_RGBA)
            geom.set("size", "40 40 0.125")
        elif name in GEOM_MATERIALS:
            geom.set("material", material_of.get(name, default_material or GEOM_MATERIALS[name]))
            # MuJoCo uses the material's colour only where the geom's rgba is the
            # internal default (0.5 0.5 0.5 1); gymnasium's default class sets another.
            geom.set("rgba", _MATERIAL_RGBA)

    torso = next((b for b in worldbody.iter("body") if b.get("name") == "torso"), None)
    if torso is None:
        raise RmevalError("gymnasium's humanoid.xml has no 'torso' body; rmeval cannot restyle it.")
    return quality_el, torso


def _apply_textured_look(root: ET.Element, quality: str) -> None:
    quality_el, torso = _restyle(
        root,
        headlight={"ambient": "0.40 0.40 0.42", "diffuse": "0.30 0.30 0.30", "specular": "0.05 0.05 0.05"},
        sky=("0.38 0.62 0.92", "0.90 0.95 1.0"),
        floor_texture={
            "name": "grass", "type": "2d", "builtin": "checker",
            "rgb1": "0.40 0.62 0.26", "rgb2": "0.36 0.57 0.23",
            "mark": "random", "random": "0.15", "markrgb": "0.50 0.70 0.33",
            "width": "512", "height": "512",
        },
        floor_material={
            "name": "MatPlane", "texture": "grass", "texrepeat": "60 60",
            "reflectance": "0", "specular": "0.05", "shininess": "0.05",
        },
        geom_rgba="0.8 0.6 0.4 1",
        materials=BODY_MATERIALS,
        sun={"diffuse": "0.58 0.56 0.52", "specular": "0.15 0.15 0.15",
             "castshadow": "true" if quality == "fine" else "false"},
        material_of=GEOM_MATERIALS,
    )
    if quality == "fast":
        quality_el.set("offsamples", "0")
    else:
        quality_el.set("offsamples", "4")
        quality_el.set("shadowsize", "1024")
    for name, (material, pos, radius) in HEAD_DECORATIONS.items():
        ET.SubElement(torso, "geom", {
            "name": name, "type": "sphere", "pos": _fmt(pos), "size": f"{radius:g}",
            "material": material, "rgba": _MATERIAL_RGBA, "mass": "0",
            "contype": "0", "conaffinity": "0", "group": "1",
        })


#: Materials of the robot look: name -> (rgba, specular, shininess).
ROBOT_MATERIALS: dict[str, tuple[tuple[float, float, float, float], float, float]] = {
    "metal": ((0.70, 0.72, 0.76, 1.0), 0.9, 0.85),
    "metal_dark": ((0.30, 0.32, 0.36, 1.0), 0.8, 0.8),
    "visor": ((0.05, 0.10, 0.16, 1.0), 1.0, 1.0),
}
#: Body-part geoms of the robot look that are not plain ``metal``.
ROBOT_GEOM_MATERIALS: dict[str, str] = {
    "right_foot": "metal_dark", "left_foot": "metal_dark",
    "right_hand": "metal_dark", "left_hand": "metal_dark",
    "butt": "metal_dark",
}


def _apply_robot_look(root: ET.Element, quality: str) -> None:
    quality_el, torso = _restyle(
        root,
        headlight={"ambient": "0.35 0.35 0.37", "diffuse": "0.35 0.35 0.35", "specular": "0.2 0.2 0.2"},
        sky=("0.40 0.63 0.92", "0.92 0.96 1.0"),
        floor_texture={
            "name": "tiles", "type": "2d", "builtin": "checker",
            "rgb1": "0.78 0.78 0.76", "rgb2": "0.70 0.70 0.68",
            "mark": "edge", "markrgb": "0.30 0.30 0.30", "width": "256", "height": "256",
        },
        floor_material={
            "name": "MatPlane", "texture": "tiles", "texrepeat": "80 80",
            "reflectance": "0", "specular": "0.2", "shininess": "0.3",
        },
        geom_rgba="0.7 0.72 0.76 1",
        materials=ROBOT_MATERIALS,
        sun={"diffuse": "0.62 0.60 0.56", "specular": "0.5 0.5 0.5", "castshadow": "true"},
        material_of=ROBOT_GEOM_MATERIALS,
        default_material="metal",
    )
    # Shadows always (contact with the floor must show); multisampling only when fine.
    quality_el.set("offsamples", "4" if quality == "fine" else "0")
    quality_el.set("shadowsize", "2048" if quality == "fine" else "1024")
    # A dark visor across the front of the head (visual only: no mass, no contacts).
    ET.SubElement(torso, "geom", {
        "name": "visor", "type": "capsule", "fromto": "0.07 -0.045 0.205 0.07 0.045 0.205", "size": "0.028",
        "material": "visor", "rgba": _MATERIAL_RGBA, "mass": "0", "contype": "0", "conaffinity": "0", "group": "1",
    })


def model_cache_dir() -> Path:
    """Folder where built model files are written (``$RMEVAL_MUJOCO_CACHE`` if set)."""
    env = os.environ.get(_MODEL_CACHE_ENV)
    if env:
        return Path(env)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"rmeval-mujoco-{uid}"


def humanoid_xml_path(look: str = "textured", **kwargs: object) -> Path:
    """Write :func:`build_humanoid_xml` (same arguments) to the cache and return its path.

    The file name is a hash of the content, written atomically, so concurrent processes
    can share the cache safely.
    """
    text = build_humanoid_xml(look, **kwargs)  # type: ignore[arg-type]
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = model_cache_dir()
    path = folder / f"humanoid-{look}-{digest}.xml"
    if path.is_file():
        return path
    from rmeval.fileio import atomic_write

    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: f.write(text.encode("utf-8")), what="the Humanoid model file")
    except (OSError, RmevalError) as exc:
        raise RmevalError(
            f"cannot write the Humanoid model file to {folder}: {exc}. "
            f"Set {_MODEL_CACHE_ENV} to a writable folder."
        ) from None
    return path
