"""A self-contained HTML report of one dataset's results (``rmeval report``).

The report is one HTML file with its CSS inline and every image embedded (base64 PNG):
it opens from disk, mails as one attachment and needs no network. It is built from the
files other commands leave in the results directory (``reports/`` by default):

=======================  ==========================================  ======================
section                  from                                        made by
=======================  ==========================================  ======================
dataset summary          the dataset directory                       ``rmeval render`` etc.
EPIC table               ``epic_<name>.csv``                         ``rmeval epic``
scaling plots            ``epic_<name>.csv`` (two or more models)    ``rmeval epic``
reward histograms        ``histograms_<name>.csv``                   ``rmeval scaling``
success rates            ``success_<name>.csv``                      ``rmeval scaling --trajectory-scores``
landscapes               ``landscape_<name>*.png``                   landscape plots
labelling statistics     the labels database (``labels/<name>.sqlite``  the labelling app
                         or ``$RMEVAL_LABEL_DB``), a
                         ``rmeval.labeling.report_tables`` hook, or
                         ``labeling_stats_<name>.csv`` /
                         ``labeling_agreement_<name>.csv``
=======================  ==========================================  ======================

A section whose inputs are missing says how to make them. Sections are pluggable:
:data:`SECTION_BUILDERS` is a list of functions ``(ReportContext) -> Section | None``;
:func:`register_section` adds one.

Random weights: any result computed with random weights puts a banner at the top of the
report, a mark on its rows, and "(random weights)"/``*`` in its plots.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import importlib
import io
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rmeval import __version__
from rmeval.errors import DatasetError, RmevalError
from rmeval.fileio import read_csv

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rmeval.dataset import Dataset


def esc(text: object) -> str:
    """HTML-escape any value's text (quotes included)."""
    return html.escape(str(text), quote=True)


# ----------------------------------------------------------------------------- model
@dataclass
class Section:
    """One section of the report.

    Attributes:
        id: Anchor (letters, digits, dashes).
        title: Heading text (escaped when rendered).
        body: HTML of the body (already escaped by the builder).
        random_models: Models with random weights whose results this section shows.
        available: False when the section only says how to produce its inputs.
    """

    id: str
    title: str
    body: str
    random_models: list[str] = field(default_factory=list)
    available: bool = True


@dataclass
class ReportContext:
    """What section builders get.

    Attributes:
        name: Dataset name (file names use it: ``epic_<name>.csv``).
        results_dir: Where the results files are.
        dataset: The loaded dataset, or None when it could not be loaded.
        dataset_path: The dataset directory asked for.
        dataset_error: Why the dataset could not be loaded ("" when it was).
        labels_db: The labelling app's database (None: :func:`default_labels_db`).
    """

    name: str
    results_dir: Path
    dataset: Dataset | None = None
    dataset_path: Path | None = None
    dataset_error: str = ""
    labels_db: Path | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def results_file(self, pattern: str) -> Path:
        return self.results_dir / pattern.format(name=self.name)

    def epic_results(self) -> pd.DataFrame | None:
        """``epic_<name>.csv`` checked (one model allowed), or None when absent."""
        if "epic" not in self._cache:
            from rmeval.scaling import check_results

            path = self.results_file("epic_{name}.csv")
            table = None
            if path.is_file():
                table = check_results(read_csv(path, "results table", "rerun the command that wrote it"), min_models=1, source=str(path))
            self._cache["epic"] = table
        return self._cache["epic"]


SectionBuilder = Callable[[ReportContext], "Section | None"]


# ----------------------------------------------------------------------------- HTML helpers


def png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def figure_html(fig: Figure, alt: str, *, dpi: int = 110) -> str:
    """A figure as an embedded PNG ``<img>``."""
    from rmeval.plots import figure_bytes

    uri = png_data_uri(figure_bytes(fig, "png", dpi=dpi))
    return f'<img class="plot" src="{uri}" alt="{esc(alt)}">'


def note_html(text: str, kind: str = "info") -> str:
    return f'<p class="note {esc(kind)}">{esc(text)}</p>'


def code(text: str) -> str:
    return f"<code>{esc(text)}</code>"


def _fmt(value: object, fmt: str | None) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if fmt and isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return format(value, fmt)
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if value.tzinfo is not None else "")
    return str(value)


def table_html(
    df: pd.DataFrame,
    *,
    columns: Sequence[tuple[str, str, str | None]] | None = None,
    random_col: str | None = "random_weights",
    model_col: str | None = "model",
    bold: pd.Series | None = None,
) -> str:
    """An HTML table; rows with random weights get a mark and a tinted background.

    Args:
        columns: (column, header, format spec) triples (default: every column, as is).
        random_col: Boolean column flagging random-weight rows (None: no marks).
        model_col: Column that gets the "random weights" badge.
        bold: Boolean Series (same index) of rows to emphasise.
    """
    cols = list(columns) if columns is not None else [(c, c, None) for c in df.columns]
    head = "".join(f"<th>{esc(h)}</th>" for _, h, _ in cols)
    rows = []
    for idx, row in df.iterrows():
        rand = bool(random_col and random_col in df.columns and bool(row[random_col]))
        classes = [c for c, on in (("random", rand), ("best", bold is not None and bool(bold.loc[idx]))) if on]
        cells = []
        for col, _, fmt in cols:
            text = esc(_fmt(row[col], fmt)) if col in df.columns else "–"
            if rand and col == model_col:
                text += ' <span class="badge">random weights</span>'
            cells.append(f"<td>{text}</td>")
        cls = f' class="{" ".join(classes)}"' if classes else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _thumbnail(frame: np.ndarray, width: int = 200) -> str:
    from PIL import Image

    im = Image.fromarray(frame)
    height = max(1, round(im.height * width / im.width))
    im = im.resize((width, height), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return png_data_uri(buf.getvalue())


def _spread(rows: np.ndarray, k: int) -> np.ndarray:
    if len(rows) <= k:
        return rows
    return rows[np.linspace(0, len(rows) - 1, k).round().astype(int)]


def _random_models(df: pd.DataFrame) -> list[str]:
    if "random_weights" not in df.columns or "model" not in df.columns:
        return []
    flags = df["random_weights"].map(lambda v: str(v).strip().lower() in ("true", "1", "yes"))
    return sorted(df.loc[flags, "model"].astype(str).unique())


# ----------------------------------------------------------------------------- sections
def dataset_section(ctx: ReportContext) -> Section:
    """Frames, labels, prompts and a few example goal / non-goal frames."""
    ds = ctx.dataset
    if ds is None:
        where = f" ({ctx.dataset_path})" if ctx.dataset_path else ""
        body = note_html(f"The dataset{where} could not be loaded: {ctx.dataset_error}", "warn")
        return Section("dataset", "Dataset", body, available=False)
    md = ds.metadata
    labels = ds.index["label"]
    n_lab = int(labels.notna().sum())
    n_goal = int((labels == 1).sum())
    h, w = ds.frame_size
    facts = [
        ("name", ds.name), ("directory", str(ds.root)), ("environment", md.env), ("task", md.task),
        ("frames", f"{len(ds)} ({w}×{h} px)"), ("episodes", str(ds.index["episode"].nunique())),
        ("labelled", f"{n_lab} of {len(ds)}" + (f": {n_goal} goal, {n_lab - n_goal} non-goal" if n_lab else "")),
        ("label rule", md.label_rule or "–"),
        ("goal prompts", " | ".join(md.goal_prompts) or "–"),
        ("baseline prompts", " | ".join(md.baseline_prompts) or "–"),
    ]
    if md.description:
        facts.append(("description", md.description))
    body = '<dl class="facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts) + "</dl>"
    if n_lab == 0:
        body += note_html("No frame is labelled yet: EPIC needs goal and non-goal labels.", "warn")
    rows = ds.labelled_rows()
    lab = ds.labels(rows) if len(rows) else np.zeros(0, dtype=np.int8)
    for value, title in ((1, "goal frames"), (0, "non-goal frames")):
        pick = _spread(rows[lab == value], 4)
        if len(pick) == 0:
            continue
        try:
            frames = ds.read_frames(pick)
        except RmevalError as exc:
            body += note_html(f"cannot read example frames: {exc}", "warn")
            break
        figs = "".join(
            f'<figure><img class="thumb" src="{_thumbnail(f)}" alt="{esc(title)} row {int(r)}">'
            f"<figcaption>row {int(r)}: episode {int(ds.index['episode'].iloc[r])}, "
            f"step {int(ds.index['step'].iloc[r])}</figcaption></figure>"
            for f, r in zip(frames, pick)
        )
        body += f'<h3>Example {esc(title)}</h3><div class="thumbs">{figs}</div>'
    return Section("dataset", "Dataset", body)


_EPIC_COLUMNS: list[tuple[str, str, str | None]] = [
    ("model", "model", None), ("params_m", "params (M)", ".4g"),
    ("image_gflops", "image GFLOPs", ".4g"), ("alpha", "α", "g"), ("epic", "EPIC", ".4f"),
    ("epic_ci_low", "CI low", ".4f"), ("epic_ci_high", "CI high", ".4f"), ("pearson_rho", "ρ", "+.4f"),
    ("mean_reward_goal", "mean R goal", ".4f"), ("mean_reward_non_goal", "mean R non-goal", ".4f"),
    ("n_labelled", "n", None), ("n_goal", "goal", None),
]


def epic_section(ctx: ReportContext) -> Section:
    """The EPIC results table (``epic_<name>.csv``)."""
    path = ctx.results_file("epic_{name}.csv")
    table = ctx.epic_results()
    if table is None:
        cmd = (f"rmeval epic --dataset {ctx.dataset_path or 'DIR'} --models rmeval-tiny,ViT-B-32:random "
               f"--alpha 0:1:0.2 --out {ctx.results_dir}")
        body = note_html(f"No EPIC results yet ({path} does not exist). Make them with:", "info") + f"<pre>{esc(cmd)}</pre>"
        return Section("epic", "EPIC distance to labels", body, available=False)
    best = table.groupby("alpha", dropna=False)["epic"].transform("min") == table["epic"]
    level = table["ci_level"].iloc[0] if "ci_level" in table else 0.95
    judges = table["model"].astype(str).str.lower().str.startswith("judge:").any()
    intro = (
        f"<p>EPIC distance of each reward model to the labels (Lemma 1: √((1 − ρ)/2); 0 = same ranking "
        f"as the labels, 0.707 = unrelated, 1 = opposite), with {esc(_fmt(level, '.0%'))} bootstrap "
        f"confidence intervals. Bold: the lowest EPIC at each α. From {code(str(path))}.</p>"
    )
    if judges:
        intro += (
            "<p>Generative judges (<code>judge:</code> models) are asked whether the frame shows the goal; "
            "their reward is log p(yes) − log p(no) of the next token. α does not apply to them: their "
            "row (α –) is at their own reward, and bold marks the best judge.</p>"
        )
    body = intro + table_html(table, columns=_EPIC_COLUMNS, bold=best)
    return Section("epic", "EPIC distance to labels", body, random_models=_random_models(table))


def scaling_section(ctx: ReportContext) -> Section:
    """EPIC against parameters and GFLOPs with log-linear fits, and against alpha."""
    table = ctx.epic_results()
    title = "Scaling with model size"
    if table is None or table["model"].nunique() < 2:
        have = "no EPIC results" if table is None else f"results for one model ({table['model'].iloc[0]})"
        body = note_html(
            f"Scaling plots need EPIC results for two or more models; there are {have}. "
            "Run e.g. `rmeval epic --models rmeval-tiny,ViT-B-32:random` (or `rmeval scaling --models ...`).",
            "info",
        )
        return Section("scaling", title, body, available=False)
    from rmeval.scaling_figures import scaling_artifacts

    artifacts, fits, warnings = scaling_artifacts(table, ctx.name)
    parts = [
        (
            "<p>EPIC distance against model size on a log scale, one line per α, with error bars "
            "from the bootstrap CIs and dashed least-squares fits of EPIC on log10(size) (paper "
            "Figure 4b); then EPIC against α per model (Figure 4a).</p>"
        )
    ]
    for w in warnings:
        parts.append(note_html(w, "warn"))
    for art in artifacts:
        parts.append(f"<h3>{esc(art.title)}</h3>{figure_html(art.figure, art.title)}")
        for n in art.notes:
            parts.append(note_html(n, "info"))
    if not fits.empty:
        parts.append("<h3>Log-linear fits (slope = EPIC change per tenfold size)</h3>")
        parts.append(
            table_html(
                fits,
                columns=[("size", "size", None), ("alpha", "α", "g"), ("slope", "slope", "+.4f"),
                         ("intercept", "intercept", ".4f"), ("r2", "R²", ".3f"), ("n", "n", None),
                         ("n_sizes", "sizes", None), ("slope_se", "slope s.e.", ".4f")],
                model_col="size",
            )
        )
    return Section("scaling", title, "".join(parts), random_models=_random_models(table))


def histogram_section(ctx: ReportContext) -> Section:
    """Reward histograms of goal vs non-goal frames (``histograms_<name>.csv``)."""
    path = ctx.results_file("histograms_{name}.csv")
    title = "Reward histograms: goal vs non-goal frames"
    if not path.is_file():
        body = note_html(
            f"No per-frame rewards yet ({path} does not exist). `rmeval scaling --results "
            f"{ctx.results_file('epic_{name}.csv')}` computes them from the embedding cache.",
            "info",
        )
        return Section("histograms", title, body, available=False)
    from rmeval.plots import plot_reward_histograms
    from rmeval.scaling import reward_summary

    fr = read_csv(path, "results table", "rerun the command that wrote it")
    epic = ctx.epic_results()
    order = None
    if epic is not None:
        order = list(dict.fromkeys(epic.sort_values(["params_m", "model"], kind="stable")["model"]))
        order += [m for m in dict.fromkeys(fr["model"]) if m not in order]
    fig = plot_reward_histograms(fr, order=order)
    summary = reward_summary(fr)
    body = (
        "<p>Distribution of each model's reward over labelled goal and non-goal frames; the "
        "dotted lines are the means (paper Figure 7). The further apart the means relative to "
        "the spread, the lower the EPIC distance.</p>"
        + figure_html(fig, title)
        + table_html(
            summary,
            columns=[("model", "model", None), ("alpha", "α", "g"), ("n_goal", "goal frames", None),
                     ("n_non_goal", "non-goal frames", None), ("mean_goal", "mean goal", ".4f"),
                     ("mean_non_goal", "mean non-goal", ".4f"), ("gap", "gap", "+.4f"),
                     ("std_goal", "sd goal", ".4f"), ("std_non_goal", "sd non-goal", ".4f")],
        )
    )
    return Section("histograms", title, body, random_models=_random_models(fr))


def success_section(ctx: ReportContext) -> Section:
    """Success rates from human trajectory scores (``success_<name>.csv``)."""
    path = ctx.results_file("success_{name}.csv")
    title = "Success rate of trained policies"
    if not path.is_file():
        body = note_html(
            "No trajectory scores yet. Export them from the labelling app (columns model or policy, "
            "episode, success 0/1) and run `rmeval scaling --trajectory-scores CSV`.",
            "info",
        )
        return Section("success", title, body, available=False)
    from rmeval.plots import plot_success_rate

    success = read_csv(path, "results table", "rerun the command that wrote it")
    if "random_weights" in success.columns:
        success["random_weights"] = success["random_weights"].map(lambda v: str(v).strip().lower() in ("true", "1"))
    body = (
        "<p>Share of human-scored trajectories in which the agent did the task, with seeded "
        "bootstrap CIs (paper Figure 4c).</p>"
        + figure_html(plot_success_rate(success), title)
        + table_html(
            success,
            columns=[("model", "model", None), ("n_trajectories", "trajectories", None), ("n_success", "successes", None),
                     ("success_rate", "success rate", ".0%"), ("ci_low", "CI low", ".0%"), ("ci_high", "CI high", ".0%")],
        )
    )
    return Section("success", title, body, random_models=_random_models(success))


def _sidecar_random(png: Path) -> list[str]:
    """Random-weight models named by a landscape's ``.csv``/``.json`` sidecar (or its name)."""
    found: list[str] = []
    csv, js = png.with_suffix(".csv"), png.with_suffix(".json")
    try:
        if csv.is_file():
            found += _random_models(pd.read_csv(csv))
        if js.is_file():
            data = json.loads(js.read_text())
            if isinstance(data, dict):
                found += [str(m) for m in data.get("random_weights_models", []) or []]
                if data.get("random_weights") is True:
                    found.append(str(data.get("model", png.stem)))
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        pass
    if not found and "random" in png.stem.lower():  # e.g. landscape_<name>_ViT-B-32_random.png
        found.append(png.stem)
    return sorted(set(found))


def landscape_section(ctx: ReportContext) -> Section:
    """Reward landscapes (``landscape_<name>*.png``), embedded as they are."""
    title = "Reward landscapes"
    pngs = sorted(ctx.results_dir.glob(f"landscape_{ctx.name}*.png"))
    if not pngs:
        body = note_html(
            f"No landscape plots yet (no landscape_{ctx.name}*.png in {ctx.results_dir}). Reward against the "
            "environment's state (pole angle, car position), one line per α.",
            "info",
        )
        return Section("landscapes", title, body, available=False)
    parts, randoms = [], []
    for png in pngs:
        rand = _sidecar_random(png)
        randoms += rand
        mark = ' <span class="badge">random weights</span>' if rand else ""
        uri = png_data_uri(png.read_bytes())
        parts.append(f'<figure class="landscape"><img class="plot" src="{uri}" alt="{esc(png.name)}">'
                     f"<figcaption>{esc(png.name)}{mark}</figcaption></figure>")
    return Section("landscapes", title, "".join(parts), random_models=sorted(set(randoms)))


#: Files the labelling app may export, shown in this order: (pattern, heading).
LABELING_FILES = (
    ("labeling_stats_{name}.csv", "Labelling statistics"),
    ("labeling_agreement_{name}.csv", "Agreement between raters"),
)


def default_labels_db(name: str) -> Path | None:
    """The labelling app's database for dataset ``name``: ``$RMEVAL_LABEL_DB``, else
    ``labels/<name>.sqlite`` under the current directory; None when it does not exist."""
    env = os.environ.get("RMEVAL_LABEL_DB")
    path = Path(env).expanduser() if env else Path("labels") / f"{name}.sqlite"
    return path if path.is_file() else None


def _labels_db_tables(ctx: ReportContext, path: Path) -> list[tuple[str, pd.DataFrame]]:
    """Rater statistics, agreement and trajectory success rates from the labels database."""
    from rmeval.labeling import trajectories
    from rmeval.labeling.agreement import fleiss_from_matrix, label_matrix, pairwise_agreement
    from rmeval.labeling.results import rater_stats
    from rmeval.labeling.storage import LabelStore

    store = LabelStore.open(path, read_only=True, create=False)
    tables: list[tuple[str, pd.DataFrame]] = []
    current = store.current_labels(ctx.name)
    if not current.empty:
        n_frames = len(ctx.dataset) if ctx.dataset is not None else int(current["frame"].nunique())
        tables.append(("Frames labelled per rater", rater_stats(current, n_frames)))
        matrix = label_matrix(current)
        if matrix.shape[1] >= 2:
            tables.append(("Agreement between raters (Cohen's κ per pair)", pairwise_agreement(matrix)))
            kappa, n = fleiss_from_matrix(matrix)
            tables.append(("Fleiss' κ (frames labelled by two or more raters)",
                           pd.DataFrame({"raters": [matrix.shape[1]], "frames": [n], "fleiss_kappa": [kappa]})))
    scores = store.current_scores(ctx.name)
    if not scores.empty:
        tables.append(("Trajectory success rates (human scores)", trajectories.success_rates(scores)))
    return tables


def _labeling_tables(ctx: ReportContext) -> tuple[list[tuple[str, pd.DataFrame]], list[str]]:
    """Tables from, in turn: a ``rmeval.labeling.report_tables(dataset_dir, results_dir)``
    hook, the labels database, and exported CSVs; plus notes on sources that failed."""
    out: list[tuple[str, pd.DataFrame]] = []
    notes: list[str] = []
    try:
        mod = importlib.import_module("rmeval.labeling")
    except ImportError:
        mod = None
    hook = getattr(mod, "report_tables", None) if mod is not None else None
    if callable(hook) and ctx.dataset_path is not None:
        try:
            tables = hook(ctx.dataset_path, ctx.results_dir)
            out += [(str(k), v if isinstance(v, pd.DataFrame) else pd.DataFrame(v)) for k, v in dict(tables or {}).items()]
        except RmevalError as exc:
            notes.append(f"the labelling module's report hook failed: {exc}")
    db = ctx.labels_db if ctx.labels_db is not None else default_labels_db(ctx.name)
    if db is not None and not out:
        try:
            found = _labels_db_tables(ctx, db)
            out += [(f"{h} — {db.name}", t) for h, t in found]
            if not found:
                notes.append(f"the labels database {db} holds no labels or scores for {ctx.name!r} yet")
        except Exception as exc:  # noqa: BLE001 - a database or API we cannot read must not sink the report
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            notes.append(f"could not read the labels database {db}: {why}")
    for pattern, heading in LABELING_FILES:
        path = ctx.results_file(pattern)
        if path.is_file():
            out.append((f"{heading} — {path.name}", read_csv(path, "results table", "rerun the command that wrote it")))
    return out, notes


def labeling_section(ctx: ReportContext) -> Section:
    """Labelling statistics and inter-rater agreement, or "no labels yet"."""
    title = "Labelling statistics and agreement"
    tables, notes = _labeling_tables(ctx)
    if notes and not tables:
        return Section("labeling", title, "".join(note_html(n, "warn") for n in notes), available=False)
    if not tables:
        files = ", ".join(p.format(name=ctx.name) for p, _ in LABELING_FILES)
        body = note_html(
            f"No labels yet: no labelling statistics were exported ({files} in {ctx.results_dir}). "
            "Label frames with the labelling app; its statistics and agreement (Cohen's/Fleiss' κ) appear here.",
            "info",
        )
        return Section("labeling", title, body, available=False)
    body = "".join(note_html(n, "warn") for n in notes)
    body += "".join(f"<h3>{esc(h)}</h3>" + table_html(t, random_col=None, model_col=None) for h, t in tables)
    return Section("labeling", title, body)


def bench_section(ctx: ReportContext) -> Section:
    """``rmeval bench`` results (:mod:`rmeval.bench_report`)."""
    from rmeval.bench_report import bench_section as build

    return build(ctx)


#: Section builders, in report order. Append (or use :func:`register_section`) to add one.
SECTION_BUILDERS: list[SectionBuilder] = [
    dataset_section, epic_section, scaling_section, histogram_section, landscape_section, success_section,
    bench_section, labeling_section,
]


def register_section(builder: SectionBuilder, *, before: str | None = None) -> None:
    """Add a section builder (before the builder named ``before``, else last)."""
    if before is not None:
        for i, b in enumerate(SECTION_BUILDERS):
            if b.__name__ == before:
                SECTION_BUILDERS.insert(i, builder)
                return
    SECTION_BUILDERS.append(builder)


# ----------------------------------------------------------------------------- page
_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2733;background:#f6f7f9}
main{max-width:1320px;margin:0 auto;padding:1.5rem 2rem 4rem}
h1{font-size:1.7rem;margin:.2rem 0}h2{border-bottom:2px solid #dde2e8;padding-bottom:.3rem;margin-top:2.2rem}
h3{font-size:1.05rem;margin:1.4rem 0 .5rem}
.meta{color:#5b6776;font-size:.9rem}
.banner{background:#fff3e0;border:2px solid #e65100;border-left:10px solid #c62828;color:#7f2704;padding:.8rem 1rem;
margin:1rem 0;border-radius:6px;font-size:.98rem}
.banner strong{color:#b71c1c}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem 1rem}nav a{color:#1565c0;text-decoration:none}
nav .missing a{color:#8a94a3}
section{background:#fff;border:1px solid #e3e7ec;border-radius:8px;padding:.4rem 1.4rem 1.2rem;margin:1.2rem 0}
.tablewrap{overflow-x:auto}table{border-collapse:collapse;font-size:.86rem;margin:.6rem 0}
th,td{border:1px solid #dde2e8;padding:.28rem .55rem;text-align:right;white-space:nowrap}
th{background:#eef1f5}td:first-child,th:first-child{text-align:left}
tr.random td{background:#fff3e0}tr.best td{font-weight:700}
.badge{display:inline-block;background:#c62828;color:#fff;border-radius:3px;font-size:.7rem;font-weight:600;
padding:0 .35rem;margin-left:.35rem;vertical-align:middle}
.note{padding:.5rem .8rem;border-radius:5px;background:#eef4fb;border-left:4px solid #1e88e5}
.note.warn{background:#fff8e1;border-left-color:#f9a825}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.2rem;font-size:.92rem}
dl.facts dt{color:#5b6776}dl.facts dd{margin:0}
.thumbs{display:flex;flex-wrap:wrap;gap:.8rem}figure{margin:0}figcaption{font-size:.75rem;color:#5b6776}
img.thumb{border:1px solid #ccd3db;border-radius:4px;display:block}
img.plot{max-width:100%;height:auto;display:block;margin:.4rem 0}
pre{background:#f0f2f5;padding:.6rem .8rem;border-radius:5px;overflow-x:auto}
footer{color:#8a94a3;font-size:.8rem;margin-top:2rem}
"""


def _banner(random_models: Sequence[str], sections: Iterable[Section]) -> str:
    if not random_models:
        return ""
    where = ", ".join(s.title for s in sections if s.random_models)
    return (
        '<div class="banner" role="alert"><strong>⚠ Random weights.</strong> '
        f"Results of {esc(', '.join(random_models))} were computed with <strong>random weights</strong> "
        f"(sections: {esc(where)}). They test the pipeline and say nothing about the pretrained "
        "models. Rows are marked <span class=\"badge\">random weights</span>, plots with * and "
        "“(random weights)”.</div>"
    )


def render_html(ctx: ReportContext, sections: Sequence[Section], *, created: str | None = None) -> str:
    """The whole page for built sections."""
    created = created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    random_models = sorted({m for s in sections for m in s.random_models})
    nav = "".join(
        f'<li class="{"" if s.available else "missing"}"><a href="#{esc(s.id)}">{esc(s.title)}</a></li>' for s in sections
    )
    body = "".join(
        f'<section id="{esc(s.id)}"><h2>{esc(s.title)}'
        + (' <span class="badge">random weights</span>' if s.random_models else "")
        + f"</h2>{s.body}</section>"
        for s in sections
    )
    title = f"rmeval report: {ctx.name}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{esc(title)}</h1>"
        f'<p class="meta">generated {esc(created)} by rmeval {esc(__version__)} from {esc(str(ctx.results_dir))}</p>'
        f"{_banner(random_models, sections)}<nav><ul>{nav}</ul></nav>{body}"
        f"<footer>Self-contained: images are embedded; no network needed. rmeval {esc(__version__)}.</footer>"
        "</main></body></html>\n"
    )


def build_sections(ctx: ReportContext, builders: Sequence[SectionBuilder] | None = None) -> list[Section]:
    """Run every builder; one that fails with an rmeval error becomes a section saying so."""
    sections = []
    for builder in builders if builders is not None else SECTION_BUILDERS:
        try:
            section = builder(ctx)
        except RmevalError as exc:
            name = builder.__name__.removesuffix("_section")
            body = note_html(f"could not build this section: {exc}", "warn")
            section = Section(name, name.replace("_", " ").capitalize(), body, available=False)
        if section is not None:
            sections.append(section)
    return sections


def make_context(dataset_path: Path, results_dir: Path, *, labels_db: Path | None = None) -> ReportContext:
    """Load the dataset (a failure is recorded, not raised) and set up the context."""
    from rmeval.dataset import load_dataset

    try:
        ds = load_dataset(dataset_path)
        return ReportContext(name=ds.name, results_dir=results_dir, dataset=ds, dataset_path=ds.root, labels_db=labels_db)
    except DatasetError as exc:
        return ReportContext(name=dataset_path.name, results_dir=results_dir, dataset=None,
                             dataset_path=dataset_path, dataset_error=str(exc).splitlines()[0], labels_db=labels_db)


def build_report(ctx: ReportContext) -> tuple[str, list[Section]]:
    """The report's HTML and its sections."""
    sections = build_sections(ctx)
    return render_html(ctx, sections), sections
