"""mypy (pinned in constraints.txt) over rmeval/, with the policy in pyproject.toml's [tool.mypy]."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_passes_over_the_package() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
        capture_output=True, text=True, cwd=ROOT, timeout=540, check=False,
    )
    assert done.returncode == 0, "mypy found type errors:\n" + (done.stdout + done.stderr)[-6000:]
    assert "Success" in done.stdout
