"""``import rmeval`` stays light: each entry point loads only what it uses (one subprocess per case)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HEAVY = ("torch", "open_clip", "transformers", "stable_baselines3", "gymnasium", "mujoco", "streamlit", "matplotlib")

#: (what is imported or run, modules that must not be loaded afterwards).
CASES = {
    "top-level package": ("import rmeval", (*HEAVY, "pandas", "rmeval.notebook")),
    "library core": (
        "import rmeval, rmeval.rewards, rmeval.epic, rmeval.registry, rmeval.ranges, rmeval.dataset, rmeval.notebook",
        HEAVY,
    ),
    "cli parser and training config": (
        "import rmeval.cli, rmeval.training, rmeval.training.presets, rmeval.training.config; rmeval.cli.build_parser()",
        HEAVY,
    ),
    "rendering": (
        "import rmeval.rendering.build, rmeval.rendering.parallel, rmeval.commands.render",
        ("torch", "gymnasium", "mujoco", "matplotlib", "pygame"),
    ),
    "landscape": ("import rmeval.landscape, rmeval.commands.landscape", ("torch", "matplotlib", "gymnasium", "mujoco")),
    "environments without MuJoCo": (
        ("import rmeval.envs, rmeval.envs.tasks, rmeval.envs.humanoid_xml, rmeval.envs.cartpole, "
        "rmeval.envs.mountaincar, rmeval.envs.registration, rmeval.envs.pose_predicates; "
        "rmeval.envs.humanoid_xml.build_humanoid_xml('textured')"),
        ("mujoco", "gymnasium.envs.mujoco", "rmeval.envs.humanoid", "torch"),
    ),
    "labelling logic": (
        ("import rmeval.commands.label, rmeval.labeling.storage, rmeval.labeling.agreement, "
        "rmeval.labeling.ordering, rmeval.labeling.trajectories, rmeval.labeling.exchange, rmeval.labeling.results, "
        "rmeval.labeling.cached_rewards, rmeval.labeling.config, rmeval.labeling.answers, "
        "rmeval.labeling.frame_ids"),
        ("streamlit", "torch"),
    ),
    "scaling and report": ("import rmeval.scaling, rmeval.scaling_figures, rmeval.report", ("torch", "open_clip", "mujoco")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_imports_stay_light(case: str) -> None:
    statement, forbidden = CASES[case]
    code = f"import sys\n{statement}\nprint(sorted(m for m in {forbidden!r} if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", f"{case}: {statement} loads {done.stdout.strip()}"
