"""The notebook API (``rmeval.load_dataset``, ``rmeval.epic``), run as the README shows it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_notebook_snippet() -> str:
    """The first ```python block of the README's "In a notebook" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## In a notebook\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README's 'In a notebook' section has no python block"
    return match.group(1)


def test_readme_notebook_snippet_runs(tmp_path: Path) -> None:
    """The snippet, as written, from a directory that is not the repository; then its results are checked."""
    check = """
from rmeval.epic_table import COLUMNS
from matplotlib.figure import Figure
assert list(res.table.columns) == COLUMNS, list(res.table.columns)
assert sorted(res.table["model"].unique()) == ["rmeval-tiny:random", "rmeval-tiny:random1"]
assert res.table["alpha"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0] * 2
assert res.table["epic"].between(0, 1).all() and (res.table["epic_ci_low"] <= res.table["epic"]).all()
assert isinstance(fig, Figure) and len(fig.axes[0].get_lines()) == 2
assert "random weights" in repr(res)
print("snippet ok")
"""
    env = {**os.environ, "RMEVAL_CACHE_DIR": str(tmp_path / "cache"), "MPLBACKEND": "Agg",
           "PYTHONPATH": str(ROOT)}
    env.pop("RMEVAL_DATASETS", None)
    done = subprocess.run([sys.executable, "-c", readme_notebook_snippet() + check], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "snippet ok" in done.stdout


def test_epic_table_matches_the_command_and_the_metric(tmp_path: Path, run, cartpole_dataset) -> None:
    import pandas as pd

    import rmeval

    res = rmeval.epic("cartpole-angle", models="rmeval-tiny", alphas=[0.0, 0.5], n_resamples=50,
                      cache_dir=tmp_path / "cache")
    code, _, _ = run("epic", "--models", "rmeval-tiny", "--alpha", "0,0.5", "--resamples", "50",
                     "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out"), "--no-progress")
    assert code == 0
    csv = pd.read_csv(tmp_path / "out" / "epic_cartpole-angle.csv")
    assert list(csv.columns) == list(res.table.columns)
    np.testing.assert_allclose(csv["epic"], res.table["epic"], rtol=1e-12)
    np.testing.assert_allclose(csv["epic_ci_low"], res.table["epic_ci_low"], rtol=1e-12)
    assert res.table["n_labelled"].iloc[0] == len(cartpole_dataset.labelled_rows())


def test_failures_raise_or_warn_never_vanish(tmp_path: Path, cartpole_dataset) -> None:
    import rmeval

    ds = cartpole_dataset
    models = ["rmeval-tiny", f"ViT-B-32:{tmp_path / 'missing.pt'}"]
    with pytest.raises(rmeval.RmevalError, match=r"1 of 2 models failed:\n  ViT-B-32:.*missing\.pt"):
        rmeval.epic(ds, models=models, n_resamples=20, cache_dir=tmp_path / "cache")
    with pytest.warns(UserWarning, match="missing.pt"):
        res = rmeval.epic(ds, models=models, n_resamples=20, cache_dir=tmp_path / "cache", errors="warn")
    assert res.table["model"].unique().tolist() == ["rmeval-tiny:random"] and list(res.failures) == [models[1]]
    with pytest.raises(rmeval.InvalidInputError, match="alpha must lie in"):
        rmeval.epic(ds, models=["rmeval-tiny"], alphas="0:2:1")
    with pytest.raises(rmeval.DatasetError, match="no such directory"):
        rmeval.load_dataset("no-such-dataset")


def test_epic_package_stays_importable_and_callable() -> None:
    import rmeval
    import rmeval.epic
    from rmeval.epic import epic_from_labels

    assert callable(rmeval.epic) and rmeval.epic is sys.modules["rmeval.epic"]
    assert epic_from_labels([1.0, 2.0, 3.0, 4.0], [0, 0, 1, 1]) < 0.3
