"""Helpers shared by the classic-control state renderers (CartPole, MountainCar)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from rmeval.errors import InvalidInputError, RmevalError


def make_rgb_env(env_id: str) -> Any:
    """gymnasium's ``env_id`` rendering ``rgb_array`` frames, reset with seed 0; clear error without pygame."""
    # rgb_array frames need no window: SDL's dummy drivers keep pygame from probing X11 or
    # Wayland (which prints "XDG_RUNTIME_DIR is invalid or not set" on every run) and sound.
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    try:
        import gymnasium as gym

        env = gym.make(env_id, render_mode="rgb_array")
        env.reset(seed=0)
        return env
    except Exception as exc:  # noqa: BLE001 - pygame missing, SDL without a video driver, ...
        raise RmevalError(
            f"cannot render {env_id}: {exc}. Rendering needs pygame: "
            "pip install 'gymnasium[classic-control]'."
        ) from None


def check_state_params(env_name: str, params: Mapping[str, float], known: Mapping[str, float]) -> None:
    """Raise InvalidInputError naming any key of ``params`` that is not a state parameter."""
    unknown = set(params) - set(known)
    if unknown:
        raise InvalidInputError(f"{env_name} has no state parameter {sorted(unknown)}; known: {list(known)}.")
