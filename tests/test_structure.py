"""The package's structure: layers point down, bundled datasets are found from a wheel install too."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rmeval"
#: The CLI layer: the subcommands and the entry points that dispatch to them.
CLI_LAYER = ("rmeval/commands/", "rmeval/cli.py", "rmeval/__main__.py")


def _imports_commands(path: Path) -> list[str]:
    """``line: what`` for every import of ``rmeval.commands`` in ``path`` (also by string, for importlib)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names = [module] + [f"{module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value]
        if any(n == "rmeval.commands" or n.startswith("rmeval.commands.") for n in names):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_library_code_never_imports_the_cli_layer() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(CLI_LAYER) or "bundled_datasets" in rel:
            continue
        offenders += _imports_commands(path)
    assert not offenders, "library modules import rmeval.commands (move the logic into library code):\n" + "\n".join(offenders)


def test_layering_check_sees_an_offending_import(tmp_path: Path) -> None:
    """The check above would catch each form of import (guards against a check that sees nothing)."""
    sub = ROOT / "rmeval" / "_layering_probe.py"  # parsed only, never imported
    assert not sub.exists()
    forms = [
        "from rmeval.commands.common import say",
        "import rmeval.commands.scaling",
        "from rmeval import commands",
        "from .commands import epic",
        "importlib.import_module('rmeval.commands.epic')",
    ]
    try:
        for form in forms:
            sub.write_text(form + "\n")
            assert _imports_commands(sub), form
        sub.write_text("from rmeval.scaling_figures import scaling_artifacts\n")
        assert not _imports_commands(sub)
    finally:
        sub.unlink(missing_ok=True)


def test_bundled_datasets_are_found_through_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from rmeval.dataset import load_dataset
    from rmeval.dataset.bundled import bundled_dataset, bundled_names, datasets_dir, resolve_dataset_path

    monkeypatch.delenv("RMEVAL_DATASETS", raising=False)
    assert datasets_dir().resolve() == (ROOT / "datasets").resolve()
    assert "cartpole-angle" in bundled_names()
    assert resolve_dataset_path("cartpole-angle") == bundled_dataset("cartpole-angle")
    assert load_dataset(resolve_dataset_path("cartpole-angle"), check_frames=False).name == "cartpole-angle"
    assert resolve_dataset_path("no-such-dataset") == Path("no-such-dataset")
    monkeypatch.setenv("RMEVAL_DATASETS", "/elsewhere")
    assert bundled_dataset() == Path("/elsewhere/cartpole-angle")


@pytest.mark.slow
def test_wheel_install_finds_bundled_datasets(tmp_path: Path) -> None:
    """Build a wheel, install it into a bare directory, and load a bundled dataset from there."""
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels)],
        capture_output=True, text=True, check=False, timeout=600,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("rmeval-*.whl")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True, text=True, check=False, timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    code = (
        "import rmeval, rmeval.dataset as d\n"
        "from rmeval.dataset.bundled import bundled_dataset, bundled_names\n"
        "ds = d.load_dataset(bundled_dataset())\n"
        "print(rmeval.__file__); print(ds.root); print(len(ds), ','.join(bundled_names()))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RMEVAL_DATASETS")}
    env["PYTHONPATH"] = str(target)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    module, root, summary = done.stdout.splitlines()
    assert module.startswith(str(target)) and root.startswith(str(target))
    n, names = summary.split(" ")
    assert int(n) > 0 and "cartpole-angle" in names.split(",")
