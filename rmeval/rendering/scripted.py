"""Scripted policies for ``rmeval render --policy``: rollouts of known, graded quality without
training, for policy-ranking and progress datasets.

Names (a comma-separated list renders ``--episodes`` episodes of each, in order):

- ``random``: uniformly random actions (every environment);
- ``energy`` or ``energy@S`` (MountainCar): push with force ``S`` (0 < S <= 1, default 1) in
  the direction the car is moving, the classic energy-pumping controller. ``S = 1`` reaches
  the goal in about 100 steps; weaker pushes take longer, and below about 0.4 the car never
  gets there, so a set of strengths gives policies with graded ground-truth returns.
"""

from __future__ import annotations

import numpy as np

from rmeval.errors import InvalidInputError
from rmeval.rendering.rollouts import Policy

__all__ = ["parse_policies", "scripted_policy"]


def _energy(strength: float) -> Policy:
    def act(obs: np.ndarray) -> np.ndarray:
        return np.array([strength if float(obs[1]) >= 0 else -strength], dtype=np.float32)

    return act


def scripted_policy(env: str, name: str) -> Policy | None:
    """The policy ``name`` for ``env`` (None: random actions).

    Raises:
        InvalidInputError: an unknown name, or one that does not apply to ``env``.
    """
    if name == "random":
        return None
    head, _, arg = name.partition("@")
    if head == "energy":
        if env != "mountaincar":
            raise InvalidInputError(f"--policy {name}: the energy controller drives MountainCar only; use random.")
        try:
            strength = float(arg) if arg else 1.0
        except ValueError:
            strength = float("nan")
        if not 0.0 < strength <= 1.0:
            raise InvalidInputError(f"--policy {name}: the strength after @ must lie in (0, 1], e.g. energy@0.5.")
        return _energy(strength)
    raise InvalidInputError(
        f"--policy {name!r}: unknown policy; use random or (MountainCar) energy / energy@S; "
        "for a trained policy use `rmeval rollout --run RUN --best --episodes N --out DIR`."
    )


def parse_policies(env: str, spec: str) -> list[str]:
    """A comma-separated list of policy names, each checked for ``env``."""
    names = [p.strip() for p in spec.split(",")]
    if not spec.strip() or any(not p for p in names):
        raise InvalidInputError(f"--policy {spec!r}: give one or more names separated by commas, e.g. energy,random.")
    if len(set(names)) != len(names):
        raise InvalidInputError(f"--policy {spec!r} names a policy twice.")
    for name in names:
        scripted_policy(env, name)
    return names
