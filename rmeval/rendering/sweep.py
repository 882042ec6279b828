"""State sweeps: a grid over state parameters, the rest fixed or randomised per frame.

The first swept parameter varies fastest, within an "episode" (its steps); the other
swept parameters, then the repeats, index the episodes. Parameters named in
``randomise`` are drawn uniformly per frame from their range, by
:func:`rmeval.rendering.seeds.item_rng` with the frame's index; all others keep the
environment's default. Frames are labelled by the environment's goal predicate
(CartPole: ``|angle| <= 0.1``; MountainCar: ``x >= 0.45``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rmeval.envs.catalogue import list_envs
from rmeval.errors import InvalidInputError
from rmeval.ranges import parse_range
from rmeval.rendering.seeds import SWEEP_RANDOMISE, item_rng

#: Environments that can be swept (the catalogue's; the Humanoid has no one-number state to sweep).
SWEEP_ENVS: tuple[str, ...] = tuple(e.name for e in list_envs() if e.sweepable)
#: At most this many frames in one sweep.
MAX_SWEEP_FRAMES = 200_000


@dataclass(frozen=True)
class SweepSpec:
    """A sweep.

    Attributes:
        sweeps: parameter -> values, in the order given (first varies fastest).
        randomise: parameter -> (low, high), drawn uniformly per frame.
        repeats: how many times the whole grid is rendered (useful with ``randomise``).
        seed: seed of the random draws.
    """

    sweeps: dict[str, list[float]]
    randomise: dict[str, tuple[float, float]] = field(default_factory=dict)
    repeats: int = 1
    seed: int = 0

    def n_frames(self) -> int:
        return int(np.prod([len(v) for v in self.sweeps.values()])) * self.repeats


def parse_sweeps(specs: Sequence[str], known: Mapping[str, float]) -> dict[str, list[float]]:
    """``["angle=-0.4:0.4:0.01", "x=-1,0,1"]`` -> {"angle": [...], "x": [...]}, checked against ``known``."""
    sweeps: dict[str, list[float]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InvalidInputError(f"--sweep {spec!r}: write NAME=RANGE, e.g. angle=-0.4:0.4:0.01")
        if name not in known:
            raise InvalidInputError(f"--sweep {spec!r}: unknown parameter {name!r}; known: {', '.join(known)}")
        if name in sweeps:
            raise InvalidInputError(f"--sweep: parameter {name!r} given twice")
        sweeps[name] = parse_range(values, what=f"--sweep {name}")
    return sweeps


def parse_randomise(specs: Sequence[str], known: Mapping[str, float]) -> dict[str, tuple[float, float]]:
    """``["x=-2:2"]`` -> {"x": (-2.0, 2.0)}, checked against ``known``."""
    out: dict[str, tuple[float, float]] = {}
    for spec in specs:
        name, sep, rng = spec.partition("=")
        name = name.strip()
        parts = rng.split(":")
        if not sep or not name or len(parts) != 2:
            raise InvalidInputError(f"--randomise {spec!r}: write NAME=LOW:HIGH, e.g. x=-2:2")
        if name not in known:
            raise InvalidInputError(f"--randomise {spec!r}: unknown parameter {name!r}; known: {', '.join(known)}")
        if name in out:
            raise InvalidInputError(f"--randomise: parameter {name!r} given twice")
        try:
            low, high = float(parts[0]), float(parts[1])
        except ValueError:
            raise InvalidInputError(f"--randomise {spec!r}: LOW and HIGH must be numbers, e.g. x=-2:2") from None
        if not (np.isfinite(low) and np.isfinite(high)) or low > high:
            raise InvalidInputError(f"--randomise {spec!r}: need finite LOW <= HIGH.")
        out[name] = (low, high)
    return out


def check_sweep(env: str, spec: SweepSpec) -> None:
    """Reject sweeps the environment cannot draw, before any rendering."""
    if env not in SWEEP_ENVS:
        raise InvalidInputError(
            f"--sweep works for {' and '.join(SWEEP_ENVS)}; for the humanoid render poses "
            "(--task TASK --poses N) or rollouts (--episodes N --steps T)."
        )
    if not spec.sweeps:
        raise InvalidInputError("a sweep needs at least one --sweep NAME=RANGE.")
    both = set(spec.sweeps) & set(spec.randomise)
    if both:
        raise InvalidInputError(f"parameter {sorted(both)[0]!r} is both swept and randomised; choose one.")
    if not isinstance(spec.repeats, int) or spec.repeats < 1:
        raise InvalidInputError(f"--repeats must be a positive integer, got {spec.repeats!r}.")
    if spec.n_frames() > MAX_SWEEP_FRAMES:
        raise InvalidInputError(f"the sweep has {spec.n_frames()} frames; at most {MAX_SWEEP_FRAMES}. Use a coarser step.")
    if env == "mountaincar":
        from rmeval.envs.mountaincar import X_RANGE

        lo, hi = X_RANGE
        xs = list(spec.sweeps.get("x", [])) + list(spec.randomise.get("x", ()))
        bad = [x for x in xs if not lo - 1e-9 <= x <= hi + 1e-9]
        if bad:
            raise InvalidInputError(
                f"MountainCar x must lie on the track [{lo}, {hi}]; got {bad[0]}. E.g. --sweep x=-1.2:0.6:0.01"
            )


def goal_labels(env: str, states: pd.DataFrame) -> np.ndarray:
    """(N,) int8 goal labels of the environment's predicate for rows of state columns."""
    if env == "cartpole":
        from rmeval.envs import cartpole

        return cartpole.is_goal(states["angle"].to_numpy()).astype(np.int8)
    if env == "mountaincar":
        from rmeval.envs import mountaincar

        return mountaincar.is_goal(states["x"].to_numpy()).astype(np.int8)
    raise InvalidInputError(f"{env} has no single goal predicate; label Humanoid frames with a task's predicate.")


def sweep_index(env: str, spec: SweepSpec, defaults: Mapping[str, float]) -> pd.DataFrame:
    """The index of a sweep (no ``frame`` column).

    Returns:
        DataFrame with ``episode``, ``step``, ``label`` (``Int8``) and one float column per
        state parameter (in ``defaults`` order), N = ``spec.n_frames()`` rows.
    """
    check_sweep(env, spec)
    names = list(spec.sweeps)
    inner, outer = names[0], names[1:]
    outer_grid = list(itertools.product(*(spec.sweeps[n] for n in outer)))
    records: list[dict[str, Any]] = []
    for repeat in range(spec.repeats):
        for j, outer_values in enumerate(outer_grid):
            episode = repeat * len(outer_grid) + j
            for step, value in enumerate(spec.sweeps[inner]):
                params = dict(defaults)
                params.update(dict(zip(outer, outer_values)))
                params[inner] = value
                if spec.randomise:
                    rng = item_rng(spec.seed, SWEEP_RANDOMISE, len(records))
                    for name, (low, high) in spec.randomise.items():
                        params[name] = float(rng.uniform(low, high))
                records.append({"episode": episode, "step": step, **params})
    index = pd.DataFrame(records)
    index["label"] = pd.array(goal_labels(env, index), dtype="Int8")
    return index[["episode", "step", "label", *defaults]]


def range_summary(values: Sequence[float]) -> dict[str, float | int]:
    """{"min", "max", "count"} of swept values, for ``metadata.json``."""
    return {"min": min(values), "max": max(values), "count": len(values)}
