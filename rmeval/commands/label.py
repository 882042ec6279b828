"""``rmeval label``: start the labelling app (Streamlit) for a dataset."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from rmeval.commands.common import bundled_dataset, say
from rmeval.errors import InvalidInputError, RmevalError

HELP = "label frames and score trajectories in the browser (Streamlit app)"
EPILOG = """\
Opens a local web app with four pages: Label frames (goal / not goal / skip, keys G N S,
U undo, J next unlabelled), Score trajectories, Results (rater statistics, Cohen's /
Fleiss' kappa, EPIC of cached models against the current labels) and Import / export.

Labels go to an SQLite database, one row per click, committed before the next frame is
shown; several raters can label at the same time. Without --db the database is
labels/<dataset name>.sqlite under the current directory (not inside the dataset,
which may be read-only). "Import / export" writes the labels into the dataset's label
column (majority vote or one rater), after which `rmeval epic --dataset DIR` uses them.

The server listens on 127.0.0.1 only, unless --host says otherwise.

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
    p.add_argument("--port", type=int, default=8501, help="port to serve on (default: 8501)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--auto-label-column", default=None,
                   help="index column with automatic (pose-predicate) labels to compare with (default: auto_label)")
    p.add_argument("--cache-dir", default=None,
                   help="embedding cache with model embeddings (default: $RMEVAL_CACHE_DIR or ~/.cache/rmeval)")
    p.set_defaults(run=run)


def app_path() -> Path:
    """The router ``app.py`` next to the ``rmeval`` package (the repository root)."""
    return Path(__file__).resolve().parents[2] / "app.py"


def streamlit_command(args: argparse.Namespace, app: Path) -> list[str]:
    """The ``python -m streamlit run`` command line for ``args``."""
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", args.host,
        "--server.port", str(args.port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        "--theme.primaryColor", "#1e7b46",
    ]


def app_environment(args: argparse.Namespace) -> dict[str, str]:
    """Environment variables that tell ``app.py`` what to open (see :mod:`rmeval.labeling.config`)."""
    from rmeval.labeling.config import ENV_AUTO_COLUMN, ENV_CACHE_DIR, ENV_DATASET, ENV_DB

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
    if not 1 <= args.port <= 65535:
        raise InvalidInputError(f"--port must lie between 1 and 65535, got {args.port}")
    if importlib.util.find_spec("streamlit") is None:
        raise RmevalError("the labelling app needs Streamlit: pip install streamlit (or pip install -e .)")
    app = app_path()
    if not app.is_file():
        raise RmevalError(f"cannot find the app at {app}; run `streamlit run app.py` from an rmeval checkout")
    env = app_environment(args)
    host = "localhost" if args.host in ("127.0.0.1", "localhost") else args.host
    say(f"rmeval label: dataset {env['RMEVAL_LABEL_DATASET']}")
    say(f"rmeval label: open http://{host}:{args.port} in a browser (Ctrl+C stops the server)")
    command = streamlit_command(args, app)
    sys.stdout.flush()
    if os.name == "posix":
        # Become the server: signals (Ctrl+C, kill) reach Streamlit directly, no orphan is left.
        os.execve(sys.executable, command, env)
    try:  # pragma: no cover - Windows
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:  # pragma: no cover
        return 0
