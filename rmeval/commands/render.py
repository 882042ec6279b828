"""``rmeval render``: build a dataset (format v1) by rendering environment states."""

from __future__ import annotations

import argparse
import itertools
from typing import Any

import numpy as np
import pandas as pd

from rmeval import __version__
from rmeval.commands.common import say
from rmeval.errors import InvalidInputError
from rmeval.ranges import parse_range

HELP = "render a labelled dataset from an environment by sweeping its state"
EPILOG = """\
Each --sweep NAME=RANGE adds a state parameter; several sweeps form a grid (the first
varies fastest within an "episode", the others index the episodes). Parameters not swept
keep their default. Frames are labelled by the environment's goal predicate.

CartPole parameters: x, x_dot, angle, angle_dot (goal: |angle| <= 0.1 rad).

examples:
  rmeval render --env cartpole --sweep angle=-0.4:0.4:0.01 --out datasets/cartpole-sweep
  # the bundled dataset:
  rmeval render --env cartpole --sweep angle=-0.6:0.6:0.02 --sweep x=-1:1:0.5 \\
      --out datasets/cartpole-angle --name cartpole-angle --overwrite
"""

ENVS = ("cartpole",)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", required=True, choices=ENVS, help="environment")
    p.add_argument("--sweep", action="append", required=True, metavar="NAME=RANGE",
                   help="state parameter and its values (start:stop:step or a,b,c); repeat for a grid")
    p.add_argument("--out", required=True, help="dataset directory to create")
    p.add_argument("--name", default=None, help="dataset name (default: the directory name)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset at --out")
    p.set_defaults(run=run)


def parse_sweeps(specs: list[str], known: dict[str, float]) -> dict[str, list[float]]:
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


def run(args: argparse.Namespace) -> int:
    from rmeval.dataset import DatasetMetadata, write_dataset
    from rmeval.envs import cartpole

    sweeps = parse_sweeps(args.sweep, cartpole.STATE_PARAMS)
    names = list(sweeps)
    inner, outer = names[0], names[1:]
    records: list[dict[str, Any]] = []
    for episode, outer_values in enumerate(itertools.product(*(sweeps[n] for n in outer))):
        for step, value in enumerate(sweeps[inner]):
            params = dict(cartpole.STATE_PARAMS)
            params.update(dict(zip(outer, outer_values)))
            params[inner] = value
            records.append({"episode": episode, "step": step, **params})
    index = pd.DataFrame(records)
    index["label"] = pd.array(cartpole.is_goal(index["angle"].to_numpy()).astype(np.int8), dtype="Int8")
    state_columns = list(cartpole.STATE_PARAMS)
    index = index[["episode", "step", "label", *state_columns]]

    with cartpole.CartPoleStateRenderer() as renderer:
        settings = renderer.settings()
        frames = (renderer.render(row) for row in index[state_columns].to_dict(orient="records"))
        metadata = DatasetMetadata(
            env=cartpole.CartPoleStateRenderer.env_id,
            task="cartpole",
            goal_prompts=[cartpole.GOAL_PROMPT],
            baseline_prompts=[cartpole.BASELINE_PROMPT],
            render={
                **settings,
                "sweeps": {k: args_range(v) for k, v in sweeps.items()},
                "command": "rmeval render --env cartpole " + " ".join(f"--sweep {s}" for s in args.sweep),
            },
            state_columns=state_columns,
            label_rule=cartpole.GOAL_RULE,
            name=args.name or "",
            description=f"CartPole states swept over {', '.join(names)}; rendered by rmeval {__version__}.",
        )
        ds = write_dataset(args.out, frames, index, metadata, overwrite=args.overwrite)
    n_goal = int(index["label"].sum())
    say(f"wrote {len(ds)} frames ({n_goal} goal) to {ds.root}")
    return 0


def args_range(values: list[float]) -> dict[str, float | int]:
    return {"min": min(values), "max": max(values), "count": len(values)}
