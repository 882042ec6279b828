"""``rmeval label``: options, help, environment for the app; the logic modules stay Streamlit-free."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rmeval.cli import SUBCOMMANDS, build_parser, main
from rmeval.commands import label
from rmeval.labeling.config import ENV_AUTO_COLUMN, ENV_CACHE_DIR, ENV_DATASET, ENV_DB, config_from_env


def test_label_is_a_subcommand_with_an_example(capsys):
    assert "label" in SUBCOMMANDS
    with pytest.raises(SystemExit) as info:
        main(["label", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "rmeval label --dataset" in out
    assert "labels/<dataset name>.sqlite" in out and "127.0.0.1" in out


def test_command_line_and_environment(tmp_path):
    args = build_parser().parse_args(
        ["label", "--dataset", str(tmp_path / "ds"), "--db", str(tmp_path / "l.sqlite"), "--port", "8600",
         "--auto-label-column", "pose_ok", "--cache-dir", str(tmp_path / "c")]
    )
    cmd = label.streamlit_command(args, label.app_path())
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"] and cmd[4].endswith("app.py")
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"  # local only unless --host
    assert cmd[cmd.index("--server.port") + 1] == "8600"
    assert cmd[cmd.index("--browser.gatherUsageStats") + 1] == "false"
    env = label.app_environment(args)
    assert env[ENV_DATASET] == str(tmp_path / "ds") and env[ENV_DB] == str(tmp_path / "l.sqlite")
    assert env[ENV_AUTO_COLUMN] == "pose_ok" and env[ENV_CACHE_DIR] == str(tmp_path / "c")
    cfg = config_from_env(env)
    assert cfg.dataset == tmp_path / "ds" and cfg.db == tmp_path / "l.sqlite" and cfg.auto_column == "pose_ok"

    defaults = build_parser().parse_args(["label", "--host", "0.0.0.0"])
    env = label.app_environment(defaults)
    assert ENV_DB not in env and env[ENV_DATASET].endswith("cartpole-angle")
    assert config_from_env({}).db is None and config_from_env({}).auto_column == "auto_label"
    cmd = label.streamlit_command(defaults, label.app_path())
    assert cmd[cmd.index("--server.address") + 1] == "0.0.0.0"
    assert label.app_path().is_file()


def test_bad_port_is_a_clear_error(capsys):
    assert main(["label", "--port", "0"]) == 2
    assert "--port must lie between 1 and 65535" in capsys.readouterr().err


def test_logic_modules_do_not_import_streamlit():
    code = (
        "import sys, rmeval, rmeval.cli, rmeval.commands.label, rmeval.labeling.storage, rmeval.labeling.agreement, "
        "rmeval.labeling.ordering, rmeval.labeling.trajectories, rmeval.labeling.exchange, rmeval.labeling.results, "
        "rmeval.labeling.cached_rewards, rmeval.labeling.config, rmeval.labeling.media; rmeval.cli.build_parser(); "
        "print('streamlit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
