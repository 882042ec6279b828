"""The MuJoCo Humanoid with a realistic look and a fixed camera (the paper's Section 4.3).

``TexturedHumanoidEnv`` is gymnasium's ``Humanoid-v5`` (same physics, observations and
actions) with two changes the paper makes, each switchable for the Figure 3 ablation:

* ``look="textured"`` (default): skin, clothes, hair, a blue sky and a grass ground (see
  :mod:`rmeval.envs.humanoid_xml`); ``look="robot"``: a metallic robot on a tiled floor with
  shadows; ``look="original"``: gymnasium's colours.
* ``camera="fixed"`` (default): a camera fixed in the world, in front of and to the right of
  the spawn point, slightly above it and angled down; ``camera="tracking"``: the original
  ``track`` camera, which follows the centre of mass from the side.

The episode never ends early (``terminate_when_unhealthy=False``: the robot may lie,
kneel or sit); registered as ``rmeval/Humanoid-v0`` with a 100-step time limit, the
paper's episode length. The environment's own reward is gymnasium's (forward progress,
staying healthy, control cost); a VLM reward model replaces it.

``HumanoidPoseRenderer`` renders any joint configuration ``qpos`` without stepping the
physics (``mj_forward`` only), for poses built by hand
(:func:`rmeval.envs.pose_predicates.make_pose`) or recorded from rollouts.

Rendering needs an OpenGL backend. Without a display, MuJoCo renders with EGL and Mesa's
software renderer (llvmpipe): :mod:`rmeval.envs.mujoco_loader` sets ``MUJOCO_GL=egl`` unless
it is already set, before importing MuJoCo. Debian/Ubuntu packages: ``libegl1 libopengl0 libegl-mesa0 libgl1-mesa-dri``
(or ``MUJOCO_GL=osmesa`` with ``libosmesa6``); Python: ``PyOpenGL``. When rendering fails,
:class:`~rmeval.errors.RmevalError` says which backend was tried and what to install.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from rmeval.envs.catalogue import get_env
from rmeval.envs.humanoid_xml import (
    FIXED_CAMERA_NAME,
    LOOKS,
    QUALITIES,
    TRACKING_CAMERA_NAME,
    humanoid_xml_path,
)
from rmeval.envs.mujoco_loader import backend_help, mujoco
from rmeval.envs.pose_predicates import BodyPoints, pose_labels
from rmeval.errors import InvalidInputError, RmevalError

try:
    from gymnasium import utils as _gym_utils
    from gymnasium.envs.mujoco.humanoid_v5 import HumanoidEnv as _GymHumanoidEnv
    from gymnasium.envs.mujoco.mujoco_rendering import OffScreenViewer as _OffScreenViewer
except ImportError as _exc:
    raise RmevalError(
        f"the Humanoid needs MuJoCo and gymnasium's MuJoCo environments ({_exc}): "
        "pip install 'gymnasium[mujoco]'."
    ) from None
except Exception as _exc:  # noqa: BLE001
    # PyOpenGL fails at import when the chosen platform's library is missing (AttributeError).
    raise RmevalError(backend_help(_exc)) from None

_INFO = get_env("humanoid")

#: Cameras a Humanoid frame can be rendered from.
CAMERAS: tuple[str, ...] = _INFO.cameras
#: Default frame size (width, height): CLIP's input size, so no resizing is needed.
assert _INFO.render_size is not None
DEFAULT_SIZE: tuple[int, int] = _INFO.render_size
#: Episode length used by the paper (Appendix C.2) and by ``rmeval/Humanoid-v0``.
EPISODE_STEPS = _INFO.episode_steps

_CAMERA_NAMES = {"fixed": FIXED_CAMERA_NAME, "tracking": TRACKING_CAMERA_NAME}


def _check_options(look: str, camera: str, quality: str, width: int, height: int) -> None:
    if look not in LOOKS:
        raise InvalidInputError(f"unknown Humanoid look {look!r}; choose one of {list(LOOKS)}.")
    if camera not in CAMERAS:
        raise InvalidInputError(f"unknown Humanoid camera {camera!r}; choose one of {list(CAMERAS)}.")
    if quality not in QUALITIES:
        raise InvalidInputError(f"unknown render quality {quality!r}; choose one of {list(QUALITIES)}.")
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, (int, np.integer)) or not 16 <= int(value) <= 4096:
            raise InvalidInputError(f"Humanoid frame {name} must be an integer in [16, 4096], got {value!r}.")


class TexturedHumanoidEnv(_GymHumanoidEnv):
    """gymnasium's Humanoid-v5 with rmeval's look and camera, and no early termination.

    Args:
        look: ``"textured"`` (skin, clothes, sky, grass), ``"robot"`` (metal, tiles, sky,
            shadows) or ``"original"`` (gymnasium's).
        camera: ``"fixed"`` (world-fixed, slightly above, sees the whole body at the spawn
            point) or ``"tracking"`` (gymnasium's side camera following the centre of mass).
        width, height: frame size in pixels (default 224x224).
        quality: ``"fast"`` (no shadows or multisampling) or ``"fine"``; textured look only.
        render_mode: gymnasium render mode, ``"rgb_array"`` by default.
        terminate_when_unhealthy: gymnasium's early termination when the torso leaves
            ``healthy_z_range``; off, as in the paper.
        **kwargs: passed on to gymnasium's ``HumanoidEnv`` (e.g. ``reset_noise_scale``).
    """

    def __init__(
        self,
        look: str = "textured",
        camera: str = "fixed",
        width: int = DEFAULT_SIZE[0],
        height: int = DEFAULT_SIZE[1],
        quality: str = "fast",
        render_mode: str | None = "rgb_array",
        terminate_when_unhealthy: bool = False,
        **kwargs: Any,
    ) -> None:
        _check_options(look, camera, quality, width, height)
        for reserved in ("xml_file", "camera_name", "camera_id"):
            if reserved in kwargs:
                raise InvalidInputError(
                    f"TexturedHumanoidEnv sets {reserved!r} itself; use look= and camera= instead."
                )
        xml_file = humanoid_xml_path(look, quality=quality, offscreen_size=(int(width), int(height)))
        kwargs.setdefault("default_camera_config", {})
        super().__init__(
            xml_file=str(xml_file),
            render_mode=render_mode,
            width=int(width),
            height=int(height),
            camera_name=_CAMERA_NAMES[camera],
            terminate_when_unhealthy=terminate_when_unhealthy,
            **kwargs,
        )
        # Record our own constructor arguments (gymnasium's EzPickle recorded its own).
        _gym_utils.EzPickle.__init__(
            self,
            look=look,
            camera=camera,
            width=width,
            height=height,
            quality=quality,
            render_mode=render_mode,
            terminate_when_unhealthy=terminate_when_unhealthy,
            **kwargs,
        )
        self.look = look
        self.camera = camera
        self.quality = quality
        self._rendered = False

    def render(self) -> Any:
        """The frame from the configured camera; (height, width, 3) uint8 in ``rgb_array`` mode."""
        if self._rendered:
            # gymnasium makes its OpenGL context current only when it creates it; another
            # renderer in this process (e.g. a HumanoidPoseRenderer) may have switched
            # contexts since, which would give black frames.
            viewer = self.mujoco_renderer.viewer
            if viewer is not None:
                viewer.make_context_current()
            return super().render()
        try:
            frame = super().render()
        except RmevalError:
            raise
        except Exception as exc:  # the GL backend failed while creating its context
            raise RmevalError(backend_help(exc)) from exc
        self._rendered = True
        return frame

    def close(self) -> None:
        """Free the OpenGL contexts (without gymnasium's ``glfw.terminate()`` warning)."""
        renderer = getattr(self, "mujoco_renderer", None)
        viewers = getattr(renderer, "_viewers", None)
        if isinstance(viewers, dict):
            for mode, viewer in list(viewers.items()):
                if isinstance(viewer, _OffScreenViewer):
                    viewer.free()
                    del viewers[mode]
            renderer.viewer = None  # type: ignore[union-attr]
        super().close()

    def pose_labels(self) -> dict[str, bool]:
        """Automatic goal labels of the current state (see :mod:`rmeval.envs.pose_predicates`)."""
        return pose_labels(BodyPoints.from_mujoco(self.model, self.data))


class HumanoidPoseRenderer:
    """Renders Humanoid joint configurations (``qpos``) without stepping the physics.

    Uses the same model file, camera and rendering code as :class:`TexturedHumanoidEnv`
    with the same options. A frame of the environment right after ``reset`` equals the
    frame of its ``qpos`` here; after ``step`` a few pixels can differ by one grey level,
    because MuJoCo's ``mj_step`` computes body positions before integrating, so the
    environment's frame shows the configuration one physics substep (3 ms) before ``qpos``.
    Reuse one instance for many frames; close it (or use it as a context manager) to free
    the OpenGL context.
    """

    def __init__(
        self,
        look: str = "textured",
        camera: str = "fixed",
        width: int = DEFAULT_SIZE[0],
        height: int = DEFAULT_SIZE[1],
        quality: str = "fast",
    ) -> None:
        _check_options(look, camera, quality, width, height)
        self.look, self.camera, self.quality = look, camera, quality
        self.width, self.height = int(width), int(height)
        self.xml_path = humanoid_xml_path(look, quality=quality, offscreen_size=(self.width, self.height))
        self.model = mujoco.MjModel.from_xml_path(str(self.xml_path))
        self.data = mujoco.MjData(self.model)
        self._camera_id = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, _CAMERA_NAMES[camera])
        # gymnasium's offscreen viewer, as in the environment: same pipeline, same pixels,
        # and it picks the OpenGL backend from MUJOCO_GL when created (mujoco.Renderer
        # would use the backend chosen when MuJoCo was first imported).
        try:
            self._viewer: Any = _OffScreenViewer(self.model, self.data, self.width, self.height)
        except Exception as exc:
            raise RmevalError(backend_help(exc)) from exc

    @property
    def nq(self) -> int:
        """Length of a ``qpos`` vector (24: root position, root quaternion, 17 joint angles)."""
        return int(self.model.nq)

    def set_qpos(self, qpos: Sequence[float] | np.ndarray) -> None:
        """Put the model in configuration ``qpos`` (velocities zero) and run ``mj_forward``."""
        q = np.asarray(qpos, dtype=np.float64)
        if q.shape != (self.model.nq,):
            raise InvalidInputError(f"qpos must have shape ({self.model.nq},), got {q.shape}.")
        if not np.all(np.isfinite(q)):
            raise InvalidInputError("qpos contains NaN or infinite values.")
        self.data.qpos[:] = q
        self.data.qvel[:] = 0.0
        mujoco.mj_forward(self.model, self.data)

    def render(self, qpos: Sequence[float] | np.ndarray) -> np.ndarray:
        """One (height, width, 3) uint8 frame of the configuration ``qpos``."""
        self.set_qpos(qpos)
        return np.ascontiguousarray(self._render(), dtype=np.uint8)

    def _render(self) -> np.ndarray:
        if self._viewer is None:
            raise RmevalError("this HumanoidPoseRenderer is closed; create a new one.")
        self._viewer.make_context_current()  # another renderer may have switched contexts
        return self._viewer.render("rgb_array", camera_id=self._camera_id)

    def render_many(self, qposes: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        """Frames for several configurations, stacked as (N, height, width, 3) uint8."""
        return np.stack([self.render(q) for q in qposes])

    def body_mask(self, qpos: Sequence[float] | np.ndarray) -> np.ndarray:
        """(height, width) bool mask of the pixels showing the Humanoid's body in ``qpos``.

        Rendered with MuJoCo's segmentation mode; useful to check that the whole body is
        in view (no mask pixel on the frame border) or how large it appears.
        """
        self.set_qpos(qpos)
        geom_ids = self._segment()
        body_of = self.model.geom_bodyid[np.clip(geom_ids, 0, self.model.ngeom - 1)]
        return np.asarray((geom_ids >= 0) & (body_of > 0))

    def _segment(self) -> np.ndarray:
        """(height, width) int array: id of the geom seen at each pixel, -1 for none."""
        viewer = self._viewer
        if viewer is None:
            raise RmevalError("this HumanoidPoseRenderer is closed; create a new one.")
        viewer.make_context_current()
        viewer.cam.type = mujoco.mjtCamera.mjCAMERA_FIXED
        viewer.cam.fixedcamid = self._camera_id
        scene = viewer.scn
        mujoco.mjv_updateScene(
            self.model, self.data, viewer.vopt, viewer.pert, viewer.cam, mujoco.mjtCatBit.mjCAT_ALL, scene
        )
        rgb = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        scene.flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = 1
        scene.flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = 1
        try:
            mujoco.mjr_render(viewer.viewport, scene, viewer.con)
            mujoco.mjr_readPixels(rgb, None, viewer.viewport, viewer.con)
        finally:
            scene.flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = 0
            scene.flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = 0
        rgb = rgb[::-1].astype(np.int64)
        segid = rgb[..., 0] + rgb[..., 1] * 256 + rgb[..., 2] * 65536  # 0: background
        table = np.full(scene.ngeom + 2, -1, dtype=np.int64)
        for i in range(scene.ngeom):
            geom = scene.geoms[i]
            if geom.segid >= 0 and geom.objtype == int(mujoco.mjtObj.mjOBJ_GEOM):
                table[geom.segid + 1] = geom.objid
        return table[np.clip(segid, 0, len(table) - 1)]

    def labels(self, qpos: Sequence[float] | np.ndarray) -> dict[str, bool]:
        """Automatic goal labels of ``qpos`` (see :mod:`rmeval.envs.pose_predicates`)."""
        self.set_qpos(qpos)
        return pose_labels(BodyPoints.from_mujoco(self.model, self.data))

    def settings(self) -> dict[str, Any]:
        """What produced the frames, for provenance records."""
        return {
            "env_id": _INFO.state_renderer_id,
            "renderer": "mujoco",
            "mujoco_version": mujoco.__version__,
            "mujoco_gl": os.environ.get("MUJOCO_GL", ""),
            "look": self.look,
            "camera": self.camera,
            "quality": self.quality,
            "width": self.width,
            "height": self.height,
        }

    def close(self) -> None:
        """Free the OpenGL context."""
        viewer = getattr(self, "_viewer", None)
        if viewer is not None:
            viewer.free()  # not viewer.close(): that also calls glfw.terminate()
            self._viewer = None

    def __enter__(self) -> HumanoidPoseRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
