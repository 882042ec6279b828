"""MountainCar states rendered as frames, and the "car at the flag" goal predicate.

Two looks (the paper's Figure 2b and 2c):

* ``"standard"``: gymnasium's own MountainCar renderer (black line, black car, yellow flag
  at x = 0.45), natively 600x400;
* ``"textured"``: rmeval's drawing (:mod:`rmeval.envs.mountaincar_texture`): sky, a grassy
  rocky mountain following the track, a red car tilted to the slope, a yellow flag at
  the peak (x = 0.5). Natively square, 400x400 by default.

Frame size: ``width``/``height`` choose it for either look (the standard frame is
resized if they differ from 600x400). Square frames suit CLIP, whose preprocessing
centre-crops to a square: on a 600x400 frame that crop keeps only x in [-0.9, 0.3] and
cuts the flag away.

The velocity does not change the frame; it is a state parameter so that sweeps can
record it. Only the standard look needs pygame (``gymnasium[classic-control]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rmeval.envs.catalogue import get_env
from rmeval.envs.state_rendering import check_state_params, make_rgb_env
from rmeval.errors import InvalidInputError, RmevalError

#: Track limits of MountainCar (positions outside cannot be drawn or simulated).
X_RANGE: tuple[float, float] = (-1.2, 0.6)
#: Position at or beyond which a state is a goal state (gymnasium's goal_position).
GOAL_X = 0.45

#: State variables in gymnasium's order, with the values used when a sweep fixes them.
STATE_PARAMS: dict[str, float] = {"x": -0.5, "velocity": 0.0}

GOAL_PROMPT = "a car at the peak of the mountain, next to the yellow flag"
BASELINE_PROMPT = "a car in the mountain"
GOAL_RULE = f"goal when x >= {GOAL_X} (car at the peak, by the flag; the track ends at x = 0.6)"

#: Looks a frame can be drawn with (the catalogue's).
LOOKS: tuple[str, ...] = get_env("mountaincar").looks
#: Native frame size (width, height) of each look.
NATIVE_SIZE: dict[str, tuple[int, int]] = {"textured": (400, 400), "standard": (600, 400)}


def is_goal(x: float | np.ndarray) -> np.ndarray:
    """True where the car is at or past :data:`GOAL_X` (x >= 0.45)."""
    return np.asarray(x, dtype=float) >= GOAL_X - 1e-12


def check_look_and_size(look: str, width: int | None, height: int | None) -> tuple[int, int]:
    """Validate a look and frame size; return (width, height) with the look's defaults filled in."""
    if look not in LOOKS:
        raise InvalidInputError(f"unknown MountainCar look {look!r}; choose one of {list(LOOKS)}.")
    native_w, native_h = NATIVE_SIZE[look]
    w = native_w if width is None else width
    h = native_h if height is None else height
    for name, value in (("width", w), ("height", h)):
        if not isinstance(value, (int, np.integer)) or not 16 <= int(value) <= 4096:
            raise InvalidInputError(f"MountainCar frame {name} must be an integer in [16, 4096], got {value!r}.")
    return int(w), int(h)


def resize_frame(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize an (H, W, 3) uint8 frame to (height, width, 3) (bilinear); no copy if equal."""
    if frame.shape[0] == height and frame.shape[1] == width:
        return np.ascontiguousarray(frame, dtype=np.uint8)
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8))
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR), dtype=np.uint8)


class MountainCarStateRenderer:
    """Renders MountainCar frames for given states. Reuse one instance for many frames.

    Args:
        look: ``"textured"`` (default) or ``"standard"`` (gymnasium's).
        width, height: frame size; defaults are the look's native size
            (textured 400x400, standard 600x400).
    """

    env_id = get_env("mountaincar").state_renderer_id

    def __init__(self, look: str = "textured", width: int | None = None, height: int | None = None) -> None:
        self.look = look
        self.width, self.height = check_look_and_size(look, width, height)
        self._env: Any = None
        if look == "standard":
            self._env = make_rgb_env(self.env_id)

    def render(self, params: Mapping[str, float]) -> np.ndarray:
        """One (height, width, 3) uint8 frame for the state ``params`` (missing keys: defaults)."""
        check_state_params("MountainCar", params, STATE_PARAMS)
        x = float(params.get("x", STATE_PARAMS["x"]))
        velocity = float(params.get("velocity", STATE_PARAMS["velocity"]))
        if not X_RANGE[0] - 1e-9 <= x <= X_RANGE[1] + 1e-9:
            raise InvalidInputError(f"MountainCar x must be in {list(X_RANGE)} (the track), got {x}.")
        return render_state(x, velocity, look=self.look, width=self.width, height=self.height, env=self._env)

    def render_many(self, states: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Frames for several states, stacked as (N, height, width, 3) uint8."""
        return np.stack([self.render(s) for s in states])

    def settings(self) -> dict[str, Any]:
        """What produced the frames, for provenance records."""
        return {
            "env_id": self.env_id,
            "renderer": "gymnasium" if self.look == "standard" else "rmeval-textured",
            "look": self.look,
            "width": self.width,
            "height": self.height,
        }

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None

    def __enter__(self) -> MountainCarStateRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def render_state(x: float, velocity: float, *, look: str, width: int, height: int, env: Any = None) -> np.ndarray:
    """Frame of the MountainCar state (x, velocity) in ``look``.

    ``env`` (standard look only) is a gymnasium MountainCar environment whose renderer is
    used; its state is overwritten.
    """
    if look == "textured":
        from rmeval.envs.mountaincar_texture import draw_textured_frame

        return draw_textured_frame(x, width, height)
    if env is None:
        raise InvalidInputError("the standard MountainCar look needs a gymnasium environment to render with.")
    env.unwrapped.state = np.array([x, velocity], dtype=np.float64)
    frame = env.render() if hasattr(env, "render") else None
    if frame is None:
        raise RmevalError("gymnasium's MountainCar returned no frame; create it with render_mode='rgb_array'.")
    return resize_frame(frame, width, height)
