"""One interface over the three environments' state renderers.

:class:`RenderSettings` says what a frame looks like (environment, look, camera, size,
quality); :func:`open_renderer` returns an object with ``render(state) -> frame``,
``settings()`` and ``close()`` for it, where ``state`` maps state-column names to floats:

* ``cartpole``: ``x``, ``x_dot``, ``angle``, ``angle_dot`` (gymnasium's renderer, 600x400;
  another ``width``/``height`` resizes the frame);
* ``mountaincar``: ``x``, ``velocity`` (look ``textured`` or ``standard``; 224x224 by default);
* ``humanoid``: the 24 ``qpos`` entries by name
  (:func:`rmeval.envs.pose_predicates.qpos_names`; look ``textured``/``original``, camera
  ``fixed``/``tracking``, 224x224 by default).

Rendering a state is a pure function of the state and the settings, which is what lets
several worker processes render parts of one dataset (:mod:`rmeval.rendering.parallel`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from rmeval.envs.catalogue import env_names, get_env
from rmeval.errors import InvalidInputError


class StateRenderer(Protocol):
    """What :func:`open_renderer` returns."""

    def render(self, state: Mapping[str, float]) -> np.ndarray:
        """One (H, W, 3) uint8 frame of ``state``."""

    def settings(self) -> dict[str, Any]:
        """What produced the frames, for ``metadata.json``."""

    def close(self) -> None:
        """Free the renderer's resources."""


@dataclass(frozen=True)
class RenderSettings:
    """How frames are drawn. ``None`` fields take the environment's default.

    Attributes:
        env: ``cartpole``, ``mountaincar`` or ``humanoid``.
        look: one of the environment's looks (:func:`rmeval.envs.catalogue.get_env`).
        camera: Humanoid only: ``fixed`` or ``tracking``.
        width, height: frame size in pixels (both or neither).
        quality: Humanoid only: ``fast`` or ``fine`` (shadows, multisampling).
    """

    env: str
    look: str | None = None
    camera: str | None = None
    width: int | None = None
    height: int | None = None
    quality: str | None = None

    def resolved(self) -> RenderSettings:
        """A copy with defaults filled in, validated (InvalidInputError naming the option)."""
        info = get_env(self.env)
        env = info.name
        look = self.look or info.looks[0]
        if look not in info.looks:
            raise InvalidInputError(f"--look {look!r} does not exist for {env}; choose one of {', '.join(info.looks)}.")
        camera = self.camera
        if camera is not None and not info.cameras:
            raise InvalidInputError(f"--camera applies to the humanoid only; {env} has one fixed view.")
        if info.cameras:
            camera = camera or info.cameras[0]
            if camera not in info.cameras:
                raise InvalidInputError(f"--camera {camera!r}: choose one of {', '.join(info.cameras)}.")
        quality = self.quality
        if quality is not None and not info.qualities:
            raise InvalidInputError(f"--quality applies to the humanoid only, not to {env}.")
        if info.qualities:
            quality = quality or info.qualities[0]
            if quality not in info.qualities:
                raise InvalidInputError(f"--quality {quality!r}: choose one of {', '.join(info.qualities)}.")
        if (self.width is None) != (self.height is None):
            raise InvalidInputError("give both the frame width and height (--size WxH), or neither.")
        width, height = (self.width, self.height) if self.width is not None else (info.render_size or (None, None))
        for name, value in (("width", width), ("height", height)):
            if value is not None and not (isinstance(value, int) and 16 <= value <= 4096):
                raise InvalidInputError(f"frame {name} must be an integer in [16, 4096], got {value!r}.")
        return RenderSettings(env, look, camera, width, height, quality)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def parse_size(text: str) -> tuple[int, int]:
    """``"224x224"`` -> (224, 224) (width, height)."""
    w, sep, h = text.lower().partition("x")
    if not sep or not w.strip().isdigit() or not h.strip().isdigit():
        raise InvalidInputError(f"--size {text!r}: write WIDTHxHEIGHT, e.g. 224x224.")
    width, height = int(w), int(h)
    for name, value in (("width", width), ("height", height)):
        if not 16 <= value <= 4096:
            raise InvalidInputError(f"--size {text!r}: the {name} must lie in [16, 4096].")
    return width, height


def state_params(env: str) -> dict[str, float]:
    """State-column names of ``env`` with their default values, in the renderer's order."""
    if env == "cartpole":
        from rmeval.envs.cartpole import STATE_PARAMS

        return dict(STATE_PARAMS)
    if env == "mountaincar":
        from rmeval.envs.mountaincar import STATE_PARAMS

        return dict(STATE_PARAMS)
    if env == "humanoid":
        from rmeval.envs.pose_predicates import make_pose, qpos_names

        return dict(zip(qpos_names(), make_pose("standing").tolist()))
    raise InvalidInputError(f"unknown environment {env!r}; choose one of {', '.join(env_names())}.")


class _CartPole:
    def __init__(self, s: RenderSettings) -> None:
        from rmeval.envs.cartpole import CartPoleStateRenderer

        self._r = CartPoleStateRenderer()
        self._size = (s.width, s.height) if s.width is not None else None

    def render(self, state: Mapping[str, float]) -> np.ndarray:
        frame = self._r.render(state)
        if self._size is None:
            return frame
        from rmeval.envs.mountaincar import resize_frame

        return resize_frame(frame, *self._size)  # type: ignore[arg-type]

    def settings(self) -> dict[str, Any]:
        out = self._r.settings()
        if self._size is not None and (out["width"], out["height"]) != self._size:
            out.update({"native_width": out["width"], "native_height": out["height"]})
            out["width"], out["height"] = self._size
        return out

    def close(self) -> None:
        self._r.close()


class _MountainCar:
    def __init__(self, s: RenderSettings) -> None:
        from rmeval.envs.mountaincar import MountainCarStateRenderer

        self._r = MountainCarStateRenderer(s.look or "textured", s.width, s.height)

    def render(self, state: Mapping[str, float]) -> np.ndarray:
        return self._r.render(state)

    def settings(self) -> dict[str, Any]:
        return self._r.settings()

    def close(self) -> None:
        self._r.close()


class _Humanoid:
    def __init__(self, s: RenderSettings) -> None:
        from rmeval.envs.humanoid import HumanoidPoseRenderer
        from rmeval.envs.pose_predicates import qpos_names

        assert s.width is not None and s.height is not None
        self._names = qpos_names()
        self._r = HumanoidPoseRenderer(
            look=s.look or "textured", camera=s.camera or "fixed", width=s.width, height=s.height,
            quality=s.quality or "fast",
        )

    def render(self, state: Mapping[str, float]) -> np.ndarray:
        missing = [n for n in self._names if n not in state]
        if missing:
            raise InvalidInputError(f"a Humanoid state needs every qpos entry; missing {missing[:4]}.")
        return self._r.render(np.array([float(state[n]) for n in self._names]))

    def settings(self) -> dict[str, Any]:
        return self._r.settings()

    def close(self) -> None:
        self._r.close()


def open_renderer(settings: RenderSettings) -> StateRenderer:
    """A renderer for ``settings`` (resolved first). Close it when done."""
    s = settings.resolved()
    if s.env == "cartpole":
        return _CartPole(s)
    if s.env == "mountaincar":
        return _MountainCar(s)
    return _Humanoid(s)
