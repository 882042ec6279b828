"""``rmeval label``: start the labelling app (Streamlit) for a dataset."""

from __future__ import annotations

import argparse
import errno
import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from rmeval.commands.common import bundled_dataset, say
from rmeval.errors import InvalidInputError, RmevalError

HELP = "label frames and score trajectories in the browser (Streamlit app)"
#: The ports tried, in order, when --port is not given (Streamlit's default first).
AUTO_PORTS: Sequence[int] = range(8501, 8521)
EPILOG = """\
Opens a local web app with four pages: Label frames (goal / not goal / skip, keys G N S,
U undo, J next unlabelled), Score trajectories, Results (rater statistics, Cohen's /
Fleiss' kappa, EPIC of cached models against the current labels) and Import / export.

Labels go to an SQLite database, one row per click, committed before the next frame is
shown; several raters can label at the same time. Without --db the database is
labels/<dataset name>.sqlite under the current directory (not inside the dataset,
which may be read-only). "Import / export" writes the labels into the dataset's label
column (majority vote or one rater), after which `rmeval epic --dataset DIR` uses them.

The server listens on 127.0.0.1 only, unless --host says otherwise. Without --port it
takes 8501, or the next free port up to 8520 when another app holds 8501, and prints the
address to open; a --port that is taken is an error.

examples:
  rmeval label --dataset datasets/cartpole-angle
  rmeval label --dataset datasets/humanoid-kneeling --db ~/labels/kneeling.sqlite --port 8502
  rmeval label --host 0.0.0.0 --port 8501     # let others on your network label too
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("label", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default=None, help="dataset directory (default: the bundled datasets/cartpole-angle)")
    p.add_argument("--db", default=None,
                   help="labels database file (default: labels/<dataset name>.sqlite under the current directory)")
    p.add_argument("--port", type=int, default=None,
                   help="port to serve on; an error if it is taken (default: 8501, or the next free one up to 8520)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--auto-label-column", default=None,
                   help="index column with automatic (pose-predicate) labels to compare with (default: auto_label)")
    p.add_argument("--cache-dir", default=None,
                   help="embedding cache with model embeddings (default: $RMEVAL_CACHE_DIR or ~/.cache/rmeval)")
    p.set_defaults(run=run)


def app_path() -> Path:
    """The router ``app.py`` next to the ``rmeval`` package (the repository root)."""
    return Path(__file__).resolve().parents[2] / "app.py"


def port_problem(host: str, port: int) -> str | None:
    """Why a server could not listen on ``host``:``port`` now, or None if it could.

    Binds a socket the way Streamlit's server does: the address as given, IPv6 (dual
    stack) when it has a colon, SO_REUSEADDR except on Windows, so a port a stopped
    Streamlit left in TIME_WAIT counts as free, as it does for Streamlit. Only a snapshot:
    another process may take the port right after (Streamlit then says so and exits).

    Raises:
        InvalidInputError: ``host`` is not a name or address this machine can listen on.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if os.name != "nt":  # on Windows SO_REUSEADDR lets a second server share a taken port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        try:
            sock.bind((host, port))
            sock.listen(1)
        except socket.gaierror:
            raise InvalidInputError(
                f"--host {host}: not a known host name or address; use an address of this machine "
                "(127.0.0.1, or 0.0.0.0 for all its interfaces)"
            ) from None
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "is already in use (another `rmeval label` or Streamlit app?)"
            if exc.errno == errno.EACCES:
                return "is not open to this user (ports below 1024 need administrator rights; some are reserved)"
            raise InvalidInputError(
                f"--host {host}: cannot listen there ({exc.strerror or exc}); use an address of this "
                "machine (127.0.0.1, or 0.0.0.0 for all its interfaces)"
            ) from None
    return None


def choose_port(host: str, port: int | None, candidates: Sequence[int] | None = None) -> int:
    """The port to serve on: ``port`` if it is free, else the first free one of ``candidates``.

    Args:
        host: The address the server will listen on (--host).
        port: The port the user asked for (--port), or None to pick one.
        candidates: The ports tried in order when ``port`` is None, and the ones a suggestion
            is taken from when it is taken (default: :data:`AUTO_PORTS`).

    Raises:
        InvalidInputError: ``port`` is out of range or cannot be used, every candidate is
            taken, or ``host`` is not an address of this machine.
    """
    tried = list(AUTO_PORTS if candidates is None else candidates)
    span = f"{tried[0]}-{tried[-1]}" if len(tried) > 1 else "".join(map(str, tried))
    if port is not None:
        if not 1 <= port <= 65535:
            raise InvalidInputError(f"--port must lie between 1 and 65535, got {port}")
        problem = port_problem(host, port)
        if problem is None:
            return port
        free = next((p for p in tried if p != port and port_problem(host, p) is None), None)
        other = f"--port {free}" if free is not None else "--port PORT with a free port"
        raise InvalidInputError(
            f"port {port} on {host} {problem}; pass another one, e.g. {other}, or leave out --port "
            f"to take the first free one of {span}"
        )
    for candidate in tried:
        if port_problem(host, candidate) is None:
            return candidate
    raise InvalidInputError(
        f"ports {span} on {host} are all in use; stop an app that holds one, or pass a free port with --port PORT"
    )


def browser_url(host: str, port: int) -> str:
    """The address to open for a server on ``host``:``port``."""
    if host in ("127.0.0.1", "localhost", "::1"):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def streamlit_command(args: argparse.Namespace, app: Path) -> list[str]:
    """The ``python -m streamlit run`` command line for ``args`` (``args.port`` None: 8501)."""
    port = AUTO_PORTS[0] if args.port is None else args.port
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", args.host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        "--theme.primaryColor", "#1e7b46",
    ]


def app_environment(args: argparse.Namespace) -> dict[str, str]:
    """Environment variables that tell ``app.py`` what to open (see :mod:`rmeval.labeling.config`)."""
    from rmeval.labeling.config import (
        ENV_AUTO_COLUMN,
        ENV_CACHE_DIR,
        ENV_DATASET,
        ENV_DB,
    )

    env = dict(os.environ)
    dataset = Path(args.dataset).expanduser() if args.dataset else bundled_dataset()
    env[ENV_DATASET] = str(dataset.absolute())
    if args.db:
        env[ENV_DB] = str(Path(args.db).expanduser().absolute())
    else:
        env.pop(ENV_DB, None)
    if args.auto_label_column:
        env[ENV_AUTO_COLUMN] = args.auto_label_column
    if args.cache_dir:
        env[ENV_CACHE_DIR] = str(Path(args.cache_dir).expanduser().absolute())
    return env


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("streamlit") is None:
        raise RmevalError("the labelling app needs Streamlit: pip install streamlit (or pip install -e .)")
    app = app_path()
    if not app.is_file():
        raise RmevalError(f"cannot find the app at {app}; run `streamlit run app.py` from an rmeval checkout")
    env = app_environment(args)
    picked = args.port is None
    args.port = choose_port(args.host, args.port)
    say(f"rmeval label: dataset {env['RMEVAL_LABEL_DATASET']}")
    if picked and args.port != AUTO_PORTS[0]:
        say(f"rmeval label: port {AUTO_PORTS[0]} is in use; serving on the next free port, {args.port}")
    say(f"rmeval label: open {browser_url(args.host, args.port)} in a browser (Ctrl+C stops the server)")
    command = streamlit_command(args, app)
    sys.stdout.flush()
    if os.name == "posix":
        # Become the server: signals (Ctrl+C, kill) reach Streamlit directly, no orphan is left.
        os.execve(sys.executable, command, env)
    try:  # pragma: no cover - Windows
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:  # pragma: no cover
        return 0
