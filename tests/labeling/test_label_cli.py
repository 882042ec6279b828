"""``rmeval label``: options, help, environment for the app; the logic modules stay Streamlit-free."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from rmeval.cli import SUBCOMMANDS, build_parser, main
from rmeval.commands import label
from rmeval.errors import InvalidInputError
from rmeval.labeling.config import (
    ENV_AUTO_COLUMN,
    ENV_CACHE_DIR,
    ENV_DATASET,
    ENV_DB,
    config_from_env,
)


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
        "rmeval.labeling.cached_rewards, rmeval.labeling.config, rmeval.labeling.answers, rmeval.labeling.frame_ids; rmeval.cli.build_parser(); "
        "print('streamlit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- ports
@contextlib.contextmanager
def listening(host: str = "127.0.0.1") -> Iterator[int]:
    """A real server socket listening on a free port of ``host``; yields the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (the kernel's pick; nobody connected, so no TIME_WAIT)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Launched(Exception):
    """Raised instead of starting Streamlit; carries the command line."""


@pytest.fixture
def no_launch(monkeypatch):
    """Make `rmeval label` raise Launched(command) where it would start Streamlit."""

    def launch(*args, **kwargs):
        command = args[1] if len(args) > 1 and isinstance(args[1], list) else args[0]
        raise Launched(command)

    monkeypatch.setattr(label.os, "execve", launch)
    monkeypatch.setattr(label.subprocess, "call", launch)


def test_a_busy_port_is_seen_and_the_next_free_one_chosen():
    with listening() as busy:
        free = free_port()
        assert label.port_problem("127.0.0.1", free) is None
        assert "already in use" in label.port_problem("127.0.0.1", busy)
        assert label.choose_port("127.0.0.1", None, candidates=[busy, free]) == free
        assert label.choose_port("127.0.0.1", None, candidates=[free, busy]) == free
        assert label.choose_port("127.0.0.1", free, candidates=[busy]) == free  # asked for and free
        with pytest.raises(InvalidInputError, match=rf"ports {busy}-{busy} on 127.0.0.1 are all in use.*--port"):
            label.choose_port("127.0.0.1", None, candidates=[busy, busy])
        # asked for explicitly: an error naming the port, suggesting a free one
        with pytest.raises(InvalidInputError) as info:
            label.choose_port("127.0.0.1", busy, candidates=[busy, free])
        message = str(info.value)
        assert f"port {busy} on 127.0.0.1 is already in use" in message
        assert f"--port {free}" in message and "leave out --port" in message and "\n" not in message
    assert label.port_problem("127.0.0.1", busy) is None  # closed: free again


@pytest.mark.skipif(os.name == "nt", reason="TIME_WAIT and SO_REUSEADDR work differently on Windows")
def test_a_port_in_time_wait_counts_as_free():
    """A Streamlit server that just stopped leaves its port in TIME_WAIT; a new one can take it."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Streamlit's server does
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = server.accept()
        conn.close()  # the server side closes first: its end (127.0.0.1:port) goes to TIME_WAIT
        client.recv(1)
        client.close()
    with socket.socket() as plain, pytest.raises(OSError, match="Address already in use"):  # the port really is in TIME_WAIT
        plain.bind(("127.0.0.1", port))
    assert label.port_problem("127.0.0.1", port) is None


def test_explicit_busy_port_fails_before_streamlit_starts(capsys, no_launch):
    with listening() as busy:
        assert main(["label", "--port", str(busy)]) == 2
    out, err = capsys.readouterr()
    assert f"port {busy} on 127.0.0.1 is already in use" in err and "--port" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "open http" not in out


def test_default_port_moves_on_when_taken(capsys, monkeypatch, no_launch):
    with listening() as busy:
        free = free_port()
        monkeypatch.setattr(label, "AUTO_PORTS", (busy, free))
        with pytest.raises(Launched) as info:
            main(["label"])
    command = info.value.args[0]
    assert command[command.index("--server.port") + 1] == str(free)
    out = capsys.readouterr().out
    assert f"port {busy} is in use; serving on the next free port, {free}" in out
    assert f"open http://localhost:{free} in a browser" in out


def test_default_port_is_used_as_is_when_free(capsys, monkeypatch, no_launch):
    free = free_port()
    monkeypatch.setattr(label, "AUTO_PORTS", (free, free_port()))
    with pytest.raises(Launched) as info:
        main(["label"])
    command = info.value.args[0]
    assert command[command.index("--server.port") + 1] == str(free)
    out = capsys.readouterr().out
    assert "in use" not in out and f"open http://localhost:{free} in a browser" in out


def test_host_that_is_not_this_machine_is_a_clear_error(capsys, no_launch):
    assert main(["label", "--host", "203.0.113.7"]) == 2  # TEST-NET-3: never a local address
    err = capsys.readouterr().err
    assert "--host 203.0.113.7: cannot listen there" in err and len(err.strip().splitlines()) == 1


def test_browser_url():
    assert label.browser_url("127.0.0.1", 8502) == "http://localhost:8502"
    assert label.browser_url("0.0.0.0", 8501) == "http://0.0.0.0:8501"
    assert label.browser_url("::1", 8501) == "http://localhost:8501"
    assert label.browser_url("fe80::1", 8501) == "http://[fe80::1]:8501"
