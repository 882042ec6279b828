"""The environment catalogue: every table of environment facts reads it; no cycles, no shadowing."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from rmeval.envs.catalogue import EnvInfo, env_names, get_env, list_envs
from rmeval.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[1]
ENVS_DIR = ROOT / "rmeval" / "envs"


def test_catalogue_lists_the_three_environments() -> None:
    assert env_names() == ["cartpole", "mountaincar", "humanoid"]
    assert [e.id for e in list_envs()] == ["rmeval/CartPole-v0", "rmeval/MountainCarContinuous-v0", "rmeval/Humanoid-v0"]
    assert [(e.algo, e.episode_steps) for e in list_envs()] == [("dqn", 200), ("sac", 200), ("sac", 100)]


@pytest.mark.parametrize("spelling", ["humanoid", "Humanoid", " rmeval/Humanoid-v0 ", "humanoid-v0"])
def test_get_env_accepts_names_ids_and_aliases(spelling: str) -> None:
    assert get_env(spelling).name == "humanoid"


def test_unknown_env_lists_the_known_ones() -> None:
    from rmeval.rendering.renderers import RenderSettings
    from rmeval.training.presets import get_preset

    for call in (lambda: get_env("pendulum"), lambda: RenderSettings("pendulum").resolved(),
                 lambda: get_preset("pendulum", "quick")):
        with pytest.raises(InvalidInputError) as err:
            call()
        assert "'pendulum'" in str(err.value)
        for name in env_names():
            assert name in str(err.value)


def test_presets_read_the_catalogue() -> None:
    from rmeval.training.presets import PRESETS, get_preset

    for env in list_envs():
        for preset in PRESETS:
            p = get_preset(env.name, preset)
            assert (p.env, p.algo, p.episode_steps) == (env.name, env.algo, env.episode_steps)


def test_run_config_reads_the_catalogue() -> None:
    from rmeval.training.config import new_config

    cfg = new_config("mountaincar", preset="quick", reward="ground-truth")
    info = get_env("mountaincar")
    assert cfg.env_id == info.id
    assert cfg.env_kwargs == info.env_kwargs
    with pytest.raises(InvalidInputError, match="textured, standard"):
        new_config("mountaincar", preset="quick", reward="ground-truth", look="shiny")


def test_render_defaults_read_the_catalogue() -> None:
    from rmeval.commands.render import ENVS
    from rmeval.rendering.renderers import RenderSettings
    from rmeval.rendering.sweep import SWEEP_ENVS
    from rmeval.training.evaluate import EVALUATED_ENVS

    assert list(ENVS) == env_names()
    assert list(SWEEP_ENVS) == [e.name for e in list_envs() if e.sweepable] == ["cartpole", "mountaincar"]
    assert list(EVALUATED_ENVS) == [e.name for e in list_envs() if e.ground_truth]
    for env in list_envs():
        s = RenderSettings(env.name).resolved()
        assert s.look == env.looks[0]
        assert s.camera == (env.cameras[0] if env.cameras else None)
        assert s.quality == (env.qualities[0] if env.qualities else None)
        size = (s.width, s.height) if s.width is not None else None
        assert size == env.render_size
        for look in env.looks:
            assert RenderSettings(env.name, look=look).resolved().look == look


def test_environment_modules_read_the_catalogue() -> None:
    from rmeval.envs import ENV_IDS, cartpole, cartpole_env, humanoid, humanoid_xml, mountaincar, mountaincar_env, tasks

    assert ENV_IDS == tuple(e.id for e in list_envs())
    assert cartpole_env.EPISODE_STEPS == get_env("cartpole").episode_steps
    assert mountaincar_env.EPISODE_STEPS == get_env("mountaincar").episode_steps
    assert mountaincar.LOOKS == get_env("mountaincar").looks
    assert cartpole.CartPoleStateRenderer.env_id == get_env("cartpole").state_renderer_id
    assert mountaincar.MountainCarStateRenderer.env_id == get_env("mountaincar").state_renderer_id
    h = get_env("humanoid")
    assert (humanoid.EPISODE_STEPS, humanoid.CAMERAS, humanoid.DEFAULT_SIZE) == (h.episode_steps, h.cameras, h.render_size)
    assert (humanoid_xml.LOOKS, humanoid_xml.QUALITIES) == (h.looks, h.qualities)
    assert {t.env_id for t in tasks.list_tasks()} == set(ENV_IDS)
    assert get_env("cartpole").goal_param in cartpole.STATE_PARAMS
    assert get_env("mountaincar").goal_param in mountaincar.STATE_PARAMS


def test_landscape_goal_predicates_read_the_catalogue() -> None:
    from rmeval.landscape import _PREDICATES

    assert _PREDICATES == {
        "CartPole-v1": ("angle", "rmeval.envs.cartpole"),
        "rmeval/CartPole-v0": ("angle", "rmeval.envs.cartpole"),
        "MountainCarContinuous-v0": ("x", "rmeval.envs.mountaincar"),
        "rmeval/MountainCarContinuous-v0": ("x", "rmeval.envs.mountaincar"),
    }


def test_registration_uses_string_entry_points() -> None:
    import gymnasium as gym

    from rmeval.envs import register_rmeval_envs

    register_rmeval_envs()
    for env in list_envs():
        spec = gym.spec(env.id)
        assert spec.entry_point == env.entry_point and isinstance(spec.entry_point, str)
        assert spec.max_episode_steps == env.episode_steps


def _imports(path: Path) -> set[str]:
    """Every rmeval module ``path`` imports, at the top or inside functions."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in out if m.startswith("rmeval")}


def test_no_import_cycle_among_env_modules() -> None:
    modules = {f"rmeval.envs.{p.stem}" if p.stem != "__init__" else "rmeval.envs": p for p in ENVS_DIR.glob("*.py")}
    graph = {m: _imports(p) & set(modules) - {m} for m, p in modules.items()}

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*path, nxt]
                if nxt not in path:
                    stack.append((nxt, [*path, nxt]))
        return None

    cycles = [c for m in graph if (c := cycle_from(m))]
    assert not cycles, f"import cycles: {cycles}"


def test_importing_env_modules_registers_nothing() -> None:
    """Only rmeval.envs.registration registers (Gymnasium's "module:id" convention needs it)."""
    names = sorted(p.stem for p in ENVS_DIR.glob("*.py") if p.stem not in ("__init__", "registration"))
    code = (
        "import gymnasium as gym, importlib\n"
        f"for m in {names!r}: importlib.import_module('rmeval.envs.' + m)\n"
        "assert not [i for i in gym.registry if i.startswith('rmeval/')], 'an import registered'\n"
        "import rmeval.envs.registration\n"
        "assert 'rmeval/Humanoid-v0' in gym.registry\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_no_rmeval_name_shadows_a_gymnasium_name() -> None:
    import gymnasium
    import gymnasium.envs.registration as registration

    gym_names = {n for m in (gymnasium, registration) for n in m.__all__ if not n.startswith("_")}
    shadowed = []
    for path in (ROOT / "rmeval").rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            else:
                continue
            shadowed += [f"{path.relative_to(ROOT)}: {n}" for n in names if n in gym_names]
    assert not shadowed, f"rmeval names equal to Gymnasium's: {shadowed}"
    assert "EnvSpec" in gym_names and "register_envs" in gym_names  # what the check guards against
    assert isinstance(get_env("cartpole"), EnvInfo)
