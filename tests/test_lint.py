"""The tree is clean under the project's ruff policy (``[tool.ruff]`` in pyproject.toml)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
    importlib.util.find_spec("ruff") is None,
    reason="ruff is not installed (pip install -e '.[test]' brings it)",
)
def test_ruff_check_is_clean() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
         "rmeval", "tests", "benchmarks", "app.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert res.returncode == 0, (
        f"ruff check found problems (fix them, or see [tool.ruff] in pyproject.toml):\n{res.stdout}{res.stderr}"
    )
