"""``rmeval report``: one self-contained HTML page with a dataset's results."""

from __future__ import annotations

import argparse
from pathlib import Path

from rmeval.commands.common import bundled_dataset, out_dir, say
from rmeval.errors import InvalidInputError, RmevalError
from rmeval.fileio import write_text

HELP = "build a self-contained HTML report (reports/<dataset>/index.html)"
#: Where the results are read from without --results-dir: the other commands' default --out.
DEFAULT_RESULTS_DIR = "reports"
EPILOG = """\
Collects what the other commands wrote for a dataset into one HTML page: a dataset summary
with example goal and non-goal frames, the EPIC table (epic_<dataset>.csv), scaling plots
with log-linear fits, reward histograms (histograms_<dataset>.csv), landscapes
(landscape_<dataset>*.png), success rates (success_<dataset>.csv) and labelling
statistics. A section whose inputs do not exist yet says which command makes them. Images
are embedded and the CSS is inline: the file opens from disk with no network. Results
computed with random weights get a banner at the top and a mark on every row and plot.

The results are read from --results-dir (default reports/, where `rmeval epic`, `scaling`
and `landscape` write without --out); the page is written to <--out>/<dataset>/index.html
(default reports/<dataset>/index.html). --out never changes where results are read from.

examples:
  rmeval epic --models rmeval-tiny,ViT-B-32:random --alpha 0:1:0.2
  rmeval scaling --results reports/epic_cartpole-angle.csv
  rmeval report                                    # reports/ -> reports/cartpole-angle/index.html
  rmeval report --dataset datasets/my-set --out /tmp/reports
  rmeval report --results-dir runs/sweep1 --out runs/sweep1   # results and page in runs/sweep1/
  rmeval report --run runs/cartpole-ft                         # runs/cartpole-ft/report.html (monitor plots)
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default=None, help="dataset directory (default: the bundled datasets/cartpole-angle)")
    p.add_argument("--out", default="reports",
                   help="where the page goes: <out>/<dataset>/index.html (default: reports/); "
                        "results are still read from --results-dir")
    p.add_argument("--results-dir", default=None,
                   help="where the results files are (epic_<dataset>.csv, ...): the --out you gave "
                        f"`rmeval epic`/`scaling`/`landscape` (default: {DEFAULT_RESULTS_DIR}/)")
    p.add_argument("--labels-db", default=None,
                   help="the labelling app's database (default: $RMEVAL_LABEL_DB, else labels/<dataset>.sqlite if present)")
    p.add_argument("--run", dest="run_dir", default=None, metavar="RUN",
                   help="a training run folder: write RUN/report.html (or <out>/report.html when --out is given) "
                   "with the reward-hacking monitor plotted over training and the checkpoints")
    p.set_defaults(run=run)


def _run_page(args: argparse.Namespace) -> int:
    from rmeval.run_report import run_report_html

    root = Path(args.run_dir).expanduser()
    if not (root / "config.json").is_file():
        raise InvalidInputError(f"--run {root} is not a training run folder (no config.json); give the --out of `rmeval train`")
    target = out_dir(args.out) if args.out != "reports" else root
    path = target / "report.html"
    write_text(path, run_report_html(root), what="the run report")
    say(f"wrote {path}")
    return 0


def run(args: argparse.Namespace) -> int:
    from rmeval.report import build_report, make_context

    if args.run_dir is not None:
        return _run_page(args)

    if args.results_dir is not None:
        results_dir = Path(args.results_dir).expanduser()
        if not results_dir.is_dir():
            what = "is not a directory" if results_dir.exists() else "does not exist"
            raise InvalidInputError(
                f"--results-dir {results_dir} {what}; give the directory `rmeval epic --out` wrote to "
                f"(or leave out --results-dir for {DEFAULT_RESULTS_DIR}/)"
            )
    else:
        results_dir = Path(DEFAULT_RESULTS_DIR)
    out = out_dir(args.out)
    labels_db = Path(args.labels_db).expanduser() if args.labels_db else None
    if labels_db is not None and not labels_db.is_file():
        raise InvalidInputError(f"--labels-db {labels_db} does not exist; label frames with `rmeval label` first")
    if labels_db is not None:
        _check_labels_db(labels_db)
    given = Path(args.dataset).expanduser() if args.dataset else None
    if given is not None and not given.is_dir() and not _has_results(results_dir, given.name):
        # A dataset that is gone but has results still gets a page (saying so); a wrong
        # path with nothing to report is a typo.
        what = "is not a directory" if given.exists() else "does not exist"
        raise InvalidInputError(
            f"--dataset {given} {what} and {results_dir} holds no results for {given.name!r}; give a dataset "
            "directory (one holding metadata.json)"
        )
    ctx = make_context(Path(args.dataset).expanduser() if args.dataset else bundled_dataset(), results_dir,
                       labels_db=labels_db)
    page, sections = build_report(ctx)
    target = out_dir(str(out / ctx.name))
    path = target / "index.html"
    write_text(path, page, what="the report")
    missing = "" if results_dir.is_dir() else " (no such directory: --results-dir DIR says where the results are)"
    say(f"results from {results_dir}{missing}")
    for s in sections:
        say(f"  {'✓' if s.available else '–'} {s.title}" + ("  (random weights)" if s.random_models else ""))
    randoms = sorted({m for s in sections for m in s.random_models})
    if randoms:
        say(f"NOTE: RANDOM weights in {', '.join(randoms)}; the report says so in a banner.")
    say(f"wrote {path} ({len(page) / 1e6:.1f} MB)")
    return 0


def _check_labels_db(path: Path) -> None:
    """Refuse a --labels-db that is not an rmeval labels database (before any page is written)."""
    from rmeval.labeling.storage import LabelStore

    try:
        store = LabelStore.open(path, read_only=True, create=False)
    except RmevalError as exc:
        reason = str(exc).splitlines()[0].split(". ")[0].rstrip(".")
        raise InvalidInputError(
            f"--labels-db {path}: {reason}; give the labels database `rmeval label` wrote (nothing was written)"
        ) from None
    close = getattr(store, "close", None)
    if close is not None:
        close()


def _has_results(results_dir: Path, name: str) -> bool:
    """Whether ``results_dir`` holds any result file of dataset ``name`` (``epic_<name>.csv``, ...)."""
    if not results_dir.is_dir():
        return False
    return any(results_dir.glob(f"*_{name}.csv")) or any(results_dir.glob(f"*_{name}_*.csv"))
