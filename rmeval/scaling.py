"""How reward-model quality scales with model size (paper Section 4.4, Figures 4 and 7).

Pure functions over tidy DataFrames and arrays, in the style of evaluating-rewards and
rliable; no plotting here (see :mod:`rmeval.plots`) and no files (figures:
:mod:`rmeval.scaling_figures`; files: ``rmeval scaling``).

- :func:`check_results`: validate a results table (the CSV ``rmeval epic`` writes, one
  row per (model, alpha)) and fill sizes from the registry where it can.
- :func:`scaling_points`: the rows that go into one EPIC-vs-size plot (``params_m`` or
  ``image_gflops``), with models that have no size dropped and a warning for each.
- :func:`log_linear_fit` / :func:`fit_log_linear`: least squares of EPIC on
  ``log10(size)``, per alpha: slope (EPIC change per tenfold size), intercept, R², n.
- :func:`frame_rewards_table` / :func:`reward_summary`: per-frame rewards of goal and
  non-goal frames for the reward histograms (Figure 7).
- :func:`check_trajectory_scores` / :func:`success_rates`: success rate per model from
  human trajectory scores, with a seeded bootstrap CI (Figure 4c; thresholds, success
  test and bootstrap from :mod:`rmeval.success`).
- :func:`compute_frame_rewards`: the one function here that loads models: per-frame
  rewards of a dataset's labelled frames from the embedding cache (encoding only what is
  not cached).

Random weights: every table that comes out of here keeps a boolean ``random_weights``
column, so plots and reports can mark those results.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from rmeval.embedding_options import EmbeddingOptions
from rmeval.errors import InvalidInputError, RmevalError
from rmeval.success import (
    DEFAULT_THRESHOLD,
    bootstrap_rate_ci,
    is_success,
    parse_threshold,
)

if TYPE_CHECKING:
    from rmeval.dataset import Dataset

#: Columns a results table needs for scaling plots (the rest of ``rmeval epic``'s columns are optional).
REQUIRED_RESULT_COLUMNS = ("model", "alpha", "epic", "epic_ci_low", "epic_ci_high")
#: Size measures a scaling plot can use, with their axis labels.
SIZE_MEASURES: dict[str, str] = {
    "params_m": "total parameters, millions",
    "image_gflops": "image-tower GFLOPs per frame",
}
#: Columns of :func:`fit_log_linear`'s result.
FIT_COLUMNS = ["size", "alpha", "slope", "intercept", "r2", "n", "n_sizes", "slope_se", "random_weights", "note"]
#: Columns of :func:`success_rates`'s result.
SUCCESS_COLUMNS = [
    "model", "n_trajectories", "n_success", "success_rate", "ci_low", "ci_high", "ci_level",
    "random_weights", "params_m",
]
#: Columns of :func:`frame_rewards_table`'s result.
#: ``p_yes``: a judge's p(yes) normalised over yes+no (= sigmoid(reward)); NaN for contrastive models.
FRAME_REWARD_COLUMNS = ["model", "random_weights", "alpha", "row", "label", "reward", "p_yes"]


# ----------------------------------------------------------------------------- results table
def _is_random_model(model: str) -> bool:
    from rmeval.registry import parse_model

    try:
        return parse_model(str(model), check_arch=False).is_random
    except RmevalError:
        return str(model).split(":", 1)[-1].lower().startswith("random")


def _as_bool(values: pd.Series, what: str) -> pd.Series:
    if values.dtype == bool:
        return values
    mapping = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
    out = values.map(lambda v: mapping.get(str(v).strip().lower()) if not isinstance(v, bool) else v)
    if out.isna().any():
        bad = values[out.isna()].iloc[0]
        raise InvalidInputError(f"{what} must hold true/false (or 1/0), found {bad!r}")
    return out.astype(bool)


def _registry_size(model: str, measure: str) -> float:
    """``params_m`` or ``image_gflops`` of a model (any name form) from rmeval's registry or
    :mod:`rmeval.sizes` (counted from the architecture); NaN when unknown (plug-ins, judges,
    configurations not here)."""
    from rmeval.registry import get_spec, parse_model
    from rmeval.sizes import ref_size

    try:
        ref = parse_model(str(model), check_arch=False)
    except RmevalError:
        return float("nan")
    spec = get_spec(ref.arch)
    if spec is not None:
        return float(getattr(spec, measure))
    try:
        size = ref_size(ref)
    except RmevalError:
        size = None
    return float(getattr(size, measure)) if size is not None else float("nan")


def model_family_of(model: str) -> str:
    """The family of a model name (:func:`rmeval.registry.model_family`), ``other`` when it does not parse."""
    from rmeval.registry import parse_model

    try:
        return parse_model(str(model), check_arch=False).family
    except RmevalError:
        return "other"


def check_results(table: pd.DataFrame, *, min_models: int = 2, source: str = "the results table") -> pd.DataFrame:
    """Validate a results table and return a clean copy.

    Args:
        table: One row per (model, alpha) with at least :data:`REQUIRED_RESULT_COLUMNS`;
            ``params_m``, ``image_gflops``, ``random_weights``, ``arch`` and ``dataset``
            are used when present (``rmeval epic`` writes them all).
        min_models: Fewest distinct models accepted.
        source: How to name the table in messages (e.g. its path).

    Returns:
        A copy with ``alpha``/``epic``/CI/size columns as float, ``random_weights`` as bool
        (derived from the model name when the column is missing), ``arch`` filled from
        the model name, and missing sizes filled from rmeval's registry.

    Raises:
        InvalidInputError: missing columns, non-numeric values, fewer than ``min_models``
            models, or a model with no parameter count that the registry does not know.
    """
    if not isinstance(table, pd.DataFrame):
        raise InvalidInputError(f"{source} must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in REQUIRED_RESULT_COLUMNS if c not in table.columns]
    if missing:
        raise InvalidInputError(
            f"{source} lacks the column(s) {', '.join(missing)}; a results table needs "
            f"{', '.join(REQUIRED_RESULT_COLUMNS)} (plus params_m and image_gflops for sizes). "
            "Make one with `rmeval epic --models A,B --alpha 0:1:0.2` (reports/epic_<dataset>.csv)."
        )
    df = table.copy()
    if df.empty:
        raise InvalidInputError(f"{source} has no rows; run `rmeval epic --models A,B` first.")
    df["model"] = df["model"].astype(str)
    for col in ("alpha", "epic", "epic_ci_low", "epic_ci_high", "params_m", "image_gflops"):
        if col not in df.columns:
            df[col] = np.nan
        try:
            df[col] = pd.to_numeric(df[col], errors="raise").astype(float)
        except (ValueError, TypeError):
            raise InvalidInputError(f"{source}: column {col} must be numeric") from None
    # A judge's row has no alpha (alphas do not apply to judges): NaN there is expected.
    judge = df["model"].str.lower().str.startswith("judge:")
    if df["epic"].isna().any() or (df["alpha"].isna() & ~judge).any():
        raise InvalidInputError(f"{source}: alpha and epic must not be empty (alpha may be empty only for judge: models)")
    if "random_weights" in df.columns:
        df["random_weights"] = _as_bool(df["random_weights"], f"{source}: random_weights")
    else:
        df["random_weights"] = df["model"].map(_is_random_model)
    if "arch" not in df.columns:
        df["arch"] = df["model"].str.split(":", n=1).str[0]
    df["arch"] = df["arch"].astype(str)
    if "family" not in df.columns:
        df["family"] = df["model"].map(model_family_of)
    df["family"] = df["family"].fillna("other").astype(str)
    models = list(dict.fromkeys(df["model"]))
    if len(models) < min_models:
        raise InvalidInputError(
            f"{source} has {len(models)} model(s) ({', '.join(models)}); scaling needs at least "
            f"{min_models}. Run e.g. `rmeval epic --models rmeval-tiny,ViT-B-32:random` or "
            "`rmeval scaling --models A,B`."
        )
    for measure in SIZE_MEASURES:
        gap = df[measure].isna()
        if gap.any():
            df.loc[gap, measure] = [_registry_size(m, measure) for m in df.loc[gap, "model"]]
    no_params = sorted(df.loc[df["params_m"].isna(), "model"].unique())
    if no_params:
        raise InvalidInputError(
            f"{source}: no parameter count for {', '.join(no_params)} and rmeval's registry "
            "does not know the architecture; fill the params_m column (millions of parameters) "
            "for those rows, or rerun `rmeval epic`, which counts them from the model."
        )
    bad = sorted(df.loc[(df["params_m"] <= 0) | (df["image_gflops"] <= 0), "model"].unique())
    if bad:
        raise InvalidInputError(f"{source}: sizes must be positive (log scale); check params_m/image_gflops of {', '.join(bad)}")
    dup = df.duplicated(["model", "alpha"])
    if dup.any():
        first = df.loc[dup].iloc[0]
        raise InvalidInputError(
            f"{source} has several rows for model {first['model']} at alpha {first['alpha']:g}; "
            "one row per (model, alpha) is expected (mixing runs? split the table by dataset or run)."
        )
    return df.reset_index(drop=True)


def results_dataset_name(table: pd.DataFrame) -> str:
    """The dataset a results table is about (its ``dataset`` column), or ``"results"``.

    Raises InvalidInputError when the table mixes several datasets.
    """
    if "dataset" not in table.columns:
        return "results"
    names = sorted({str(n) for n in table["dataset"].dropna()})
    if len(names) > 1:
        raise InvalidInputError(
            f"the results table mixes datasets ({', '.join(names)}); scaling compares models on "
            "one dataset: split the table (one CSV per dataset)."
        )
    return names[0] if names else "results"


def scaling_points(results: pd.DataFrame, size: str = "params_m") -> tuple[pd.DataFrame, list[str]]:
    """The points of one EPIC-vs-size plot.

    Args:
        results: A table from :func:`check_results`.
        size: ``params_m`` or ``image_gflops``.

    Returns:
        points: Rows with a known, positive ``size``; columns ``model, arch,
            random_weights, size, alpha, epic, epic_ci_low, epic_ci_high`` (``size`` holds
            the chosen measure), sorted by size then model then alpha.
        warnings: One message per model left out for lack of that size.
    """
    if size not in SIZE_MEASURES:
        raise InvalidInputError(f"size must be one of {', '.join(SIZE_MEASURES)}, got {size!r}")
    have = results[size].notna() & (results[size] > 0)
    dropped = sorted(results.loc[~have, "model"].unique())
    warnings = [
        f"{m}: no {size} (neither rmeval's registry nor rmeval.sizes knows it), left out of the {size} plot" for m in dropped
    ]
    cols = ["model", "arch", "random_weights", size, "alpha", "epic", "epic_ci_low", "epic_ci_high"]
    cols += ["family"] if "family" in results.columns else []
    points = results.loc[have, cols].rename(columns={size: "size"})
    points = points.sort_values(["size", "model", "alpha"], kind="stable").reset_index(drop=True)
    return points, warnings


# ----------------------------------------------------------------------------- fits
@dataclass(frozen=True)
class LogLinearFit:
    """``y ≈ intercept + slope * log10(x)`` by least squares.

    Attributes:
        slope: Change of y per tenfold x.
        intercept: y at x = 1.
        r2: Coefficient of determination (NaN when y is constant or the fit is undefined).
        n: Points used.
        n_sizes: Distinct x values among them.
        slope_se: Standard error of the slope (NaN with fewer than 3 points or 2 sizes).
        note: Why the fit is undefined or weak evidence ("" otherwise).
    """

    slope: float
    intercept: float
    r2: float
    n: int
    n_sizes: int
    slope_se: float
    note: str = ""

    def predict(self, x: ArrayLike) -> np.ndarray:
        """Fitted y at sizes ``x`` (any shape)."""
        return self.intercept + self.slope * np.log10(np.asarray(x, dtype=float))


def log_linear_fit(sizes: ArrayLike, values: ArrayLike) -> LogLinearFit:
    """Least-squares fit of ``values`` on ``log10(sizes)``.

    Args:
        sizes: (n,) positive sizes (repeats allowed: e.g. two random-weight variants of
            one architecture).
        values: (n,) y values (EPIC distances).

    Returns:
        A :class:`LogLinearFit`. With fewer than two distinct sizes the slope is NaN (the
        note says why); with exactly two distinct sizes the line passes through the mean
        y at each size, so R² only measures the spread at each size (exactly 1 when there
        is one point per size), which the note says.
    """
    x = np.asarray(sizes, dtype=float).reshape(-1)
    y = np.asarray(values, dtype=float).reshape(-1)
    if x.shape != y.shape:
        raise InvalidInputError(f"sizes and values must have the same length, got {x.shape} and {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if (x <= 0).any():
        raise InvalidInputError("sizes must be positive to take log10")
    n = int(x.size)
    lx = np.log10(x)
    n_sizes = int(np.unique(np.round(lx, 12)).size)
    nan = float("nan")
    if n_sizes < 2:
        note = "no fit: needs models of at least two different sizes"
        return LogLinearFit(nan, nan, nan, n, n_sizes, nan, note)
    mx, my = lx.mean(), y.mean()
    sxx = float(((lx - mx) ** 2).sum())
    slope = float(((lx - mx) * (y - my)).sum() / sxx)
    intercept = float(my - slope * mx)
    resid = y - (intercept + slope * lx)
    ss_res = float((resid**2).sum())
    ss_tot = float(((y - my) ** 2).sum())
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else nan
    slope_se = math.sqrt(ss_res / (n - 2) / sxx) if n > 2 else nan
    note = ""
    if n_sizes == 2:
        note = (
            "only two distinct sizes: the line passes through the mean at each size, so R² is 1 "
            "with one point per size and is no evidence of a log-linear trend"
        )
    elif ss_tot == 0:
        note = "EPIC is the same for every model: R² undefined"
    return LogLinearFit(slope, intercept, float(r2), n, n_sizes, float(slope_se), note)


def fit_log_linear(points: pd.DataFrame, *, size: str = "params_m") -> pd.DataFrame:
    """Per-alpha log-linear fits of EPIC on size.

    Args:
        points: Rows with ``alpha``, ``epic`` and a size column: either ``size`` (from
            :func:`scaling_points`) or the measure named by ``size`` (a results table).
            ``random_weights`` is used when present.
        size: The size measure's name, recorded in the output's ``size`` column.

    Returns:
        One row per alpha (alpha NaN: the judge models' series), columns :data:`FIT_COLUMNS`: ``slope`` (EPIC per tenfold size;
        negative = bigger models are closer to the labels), ``intercept``, ``r2``, ``n``,
        ``n_sizes``, ``slope_se``, ``random_weights`` (any point had random weights) and
        ``note``.
    """
    col = "size" if "size" in points.columns else size
    for need in ("alpha", "epic", col):
        if need not in points.columns:
            raise InvalidInputError(f"fit_log_linear needs columns alpha, epic and {col}; {need} is missing")
    rows = []
    for alpha, group in points.groupby("alpha", sort=True, dropna=False):  # NaN: the judges' series
        fit = log_linear_fit(group[col].to_numpy(), group["epic"].to_numpy())
        rand = bool(group["random_weights"].any()) if "random_weights" in group else False
        rows.append(
            {
                "size": size, "alpha": float(alpha), "slope": fit.slope, "intercept": fit.intercept,
                "r2": fit.r2, "n": fit.n, "n_sizes": fit.n_sizes, "slope_se": fit.slope_se,
                "random_weights": rand, "note": fit.note,
            }
        )
    return pd.DataFrame(rows, columns=FIT_COLUMNS)


# ----------------------------------------------------------------------------- per-frame rewards
def frame_rewards_table(
    rewards: ArrayLike,
    labels: ArrayLike,
    *,
    model: str,
    alpha: float,
    random_weights: bool,
    rows: ArrayLike | None = None,
    p_yes: ArrayLike | None = None,
) -> pd.DataFrame:
    """Tidy per-frame rewards of one model and alpha.

    Args:
        rewards: (N,) rewards of the labelled frames.
        labels: (N,) 0/1 labels.
        model: The model id (``rmeval-tiny:random``).
        alpha: The regularisation strength the rewards were computed with.
        random_weights: Whether the model had random weights.
        rows: (N,) dataset row of each frame (default 0..N-1).
        p_yes: (N,) a judge's p(yes) normalised over yes+no (default NaN: not a probability).

    Returns:
        N rows, columns :data:`FRAME_REWARD_COLUMNS`.
    """
    r = np.asarray(rewards, dtype=float).reshape(-1)
    lab = np.asarray(labels).reshape(-1)
    if r.shape != lab.shape:
        raise InvalidInputError(f"rewards and labels must have the same length, got {r.shape} and {lab.shape}")
    if not np.isin(lab, (0, 1)).all():
        raise InvalidInputError("labels must be 0 (non-goal) or 1 (goal)")
    idx = np.arange(r.size) if rows is None else np.asarray(rows).reshape(-1)
    p = np.full(r.shape, np.nan) if p_yes is None else np.asarray(p_yes, dtype=float).reshape(-1)
    if p.shape != r.shape:
        raise InvalidInputError(f"p_yes and rewards must have the same length, got {p.shape} and {r.shape}")
    return pd.DataFrame(
        {
            "model": model, "random_weights": bool(random_weights), "alpha": float(alpha),
            "row": idx.astype(np.int64), "label": lab.astype(np.int64), "reward": r, "p_yes": p,
        },
        columns=FRAME_REWARD_COLUMNS,
    )


def reward_summary(frame_rewards: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread of rewards of goal and non-goal frames, per model and alpha.

    Args:
        frame_rewards: Rows as from :func:`frame_rewards_table` (several models stacked).

    Returns:
        One row per (model, alpha): ``random_weights, n_goal, n_non_goal, mean_goal,
        mean_non_goal, std_goal, std_non_goal, gap`` (``gap = mean_goal - mean_non_goal``,
        the separation of the dotted lines in the paper's Figure 7).
    """
    need = {"model", "alpha", "label", "reward"}
    if not need <= set(frame_rewards.columns):
        raise InvalidInputError(f"per-frame rewards need columns {', '.join(sorted(need))}")
    out = []
    for (model, alpha), g in frame_rewards.groupby(["model", "alpha"], sort=False):
        goal = g.loc[g["label"] == 1, "reward"].to_numpy(float)
        non = g.loc[g["label"] == 0, "reward"].to_numpy(float)
        out.append(
            {
                "model": model, "alpha": float(alpha),
                "random_weights": bool(g["random_weights"].any()) if "random_weights" in g else False,
                "n_goal": goal.size, "n_non_goal": non.size,
                "mean_goal": goal.mean() if goal.size else np.nan,
                "mean_non_goal": non.mean() if non.size else np.nan,
                "std_goal": goal.std(ddof=1) if goal.size > 1 else np.nan,
                "std_non_goal": non.std(ddof=1) if non.size > 1 else np.nan,
            }
        )
    df = pd.DataFrame(out)
    if not df.empty:
        df["gap"] = df["mean_goal"] - df["mean_non_goal"]
    return df


@dataclass
class FrameRewards:
    """Per-frame rewards for several models plus the models that could not be done."""

    table: pd.DataFrame
    skipped: dict[str, str]
    stats: dict[str, dict[str, Any]]


def _dataset_question(dataset: Dataset, models: Sequence[str]) -> str | None:
    """The dataset's judge question template when a judge is among ``models``, else None."""
    from rmeval.judges.names import is_judge_name
    from rmeval.judges.question import question_template

    return question_template(None, dataset.metadata.extra) if any(is_judge_name(m) for m in models) else None


def compute_frame_rewards(
    dataset: Dataset,
    models: Sequence[str],
    *,
    alpha: float,
    goal_prompts: Sequence[str],
    baseline_prompts: Sequence[str],
    embedding: EmbeddingOptions | None = None,
    question: str | None = None,
    log: Callable[[str], None] = lambda msg: None,
) -> FrameRewards:
    """Rewards of a dataset's labelled frames, for each model, at one alpha.

    Embeddings come from the embedding cache when they are there (same model, weights,
    preprocessing and precision: nothing is encoded then); otherwise the frames are
    encoded and cached. A model whose weights cannot be loaded, or that fails with an
    rmeval error, is skipped and listed in ``skipped`` with its message.

    Args:
        dataset: A loaded dataset with both goal and non-goal labels.
        models: Model ids as in a results table's ``model`` column.
        alpha: Regularisation strength (0 = the CLIP reward).
        embedding: How to embed (default :class:`~rmeval.embedding_options.EmbeddingOptions`);
            its precision may be a mapping model -> precision (a results table's
            ``precision`` column), so the same cache entries are found. No progress bars.
        question: A judge's question template (None: the dataset's, else the default).

    Returns:
        :class:`FrameRewards` whose table has :data:`FRAME_REWARD_COLUMNS`.
    """
    from rmeval.epic_table import check_labels
    from rmeval.model_rewards import RewardSettings, rewards_per_model

    if not goal_prompts:
        raise InvalidInputError("no goal prompt for the reward histograms; the dataset's metadata has none")
    if alpha > 0 and not baseline_prompts:
        raise InvalidInputError("alpha > 0 needs a baseline prompt; use --hist-alpha 0 or give the dataset baseline prompts")
    rows = dataset.labelled_rows()
    labels = dataset.labels(rows) if len(rows) else np.zeros(0, dtype=np.int8)
    check_labels(labels, dataset.name)
    settings = RewardSettings(
        alphas=[alpha], goal_prompts=list(goal_prompts), baseline_prompts=list(baseline_prompts),
        embedding=replace(embedding or EmbeddingOptions(), progress=False),
        question=question if question is not None else _dataset_question(dataset, models),
    )
    parts: list[pd.DataFrame] = []
    failures: dict[str, str] = {}
    stats: dict[str, dict[str, Any]] = {}
    for name in models:  # one at a time, so each result keeps the table's model name
        for result in rewards_per_model(dataset, rows, [name], settings, failures=failures, log=log):
            parts.append(
                frame_rewards_table(result.rewards[0], labels, model=name, alpha=alpha,
                                    random_weights=result.random_weights, rows=rows, p_yes=result.p_yes)
            )
            stats[name] = {"encoded": result.stats["encoded"], "cached": result.stats["cached"]}
    skipped = {name: message.splitlines()[0] for name, message in failures.items()}
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FRAME_REWARD_COLUMNS)
    return FrameRewards(table=table, skipped=skipped, stats=stats)


# ----------------------------------------------------------------------------- success rates
_MODEL_ALIASES = ("model", "policy")
_SUCCESS_NEEDED = "model (or policy), episode, success (0/1)"


def check_trajectory_scores(scores: pd.DataFrame, *, source: str = "the trajectory scores") -> pd.DataFrame:
    """Validate human trajectory scores: one row per scored trajectory.

    Args:
        scores: Columns ``model`` (or ``policy``), ``episode`` and ``success`` (0/1 or
            true/false: whether the agent did the task in enough of the trajectory; the
            threshold, e.g. >= 50% of timesteps, is the scorer's). Other columns (rater,
            fraction, threshold, seed) are kept. The labelling app's export
            (``dataset, episode, policy, rater, n_task, n_steps, fraction, success,
            threshold, time``) qualifies as it is.

    Returns:
        A copy with a ``model`` column (renamed from ``policy`` if needed) and ``success``
        as int 0/1.

    Raises:
        InvalidInputError: naming the needed columns when they are missing, or bad values.
    """
    cols = {c.lower().strip(): c for c in scores.columns}
    model_col = next((cols[a] for a in _MODEL_ALIASES if a in cols), None)
    missing = [
        what for what, ok in (
            ("model (or policy)", model_col is not None), ("episode", "episode" in cols), ("success", "success" in cols)
        ) if not ok
    ]
    if missing:
        raise InvalidInputError(
            f"{source} lacks {', '.join(missing)}: trajectory scores need the columns {_SUCCESS_NEEDED}, "
            f"one row per scored trajectory; found columns: {', '.join(map(str, scores.columns)) or '(none)'}."
        )
    df = scores.rename(columns={model_col: "model", cols["episode"]: "episode", cols["success"]: "success"}).copy()
    if df.empty:
        raise InvalidInputError(f"{source} has no rows")
    df["model"] = df["model"].astype(str)
    succ = df["success"]
    if succ.dtype == bool:
        df["success"] = succ.astype(int)
    else:
        mapped = succ.map(lambda v: {"true": 1, "false": 0, "1": 1, "0": 0, "1.0": 1, "0.0": 0}.get(str(v).strip().lower()))
        if mapped.isna().any():
            bad = succ[mapped.isna()].iloc[0]
            raise InvalidInputError(f"{source}: success must be 0 or 1 (or true/false), found {bad!r}")
        df["success"] = mapped.astype(int)
    return df


def trajectory_outcomes(scores: pd.DataFrame) -> pd.DataFrame:
    """One success flag per trajectory, combining several raters' scores of the same one.

    Args:
        scores: From :func:`check_trajectory_scores`; one row per scored trajectory, or per
            (rater, trajectory) as the labelling app exports them (columns ``rater``,
            ``fraction`` of timesteps on task and ``threshold`` such as ``>=0.5``).

    Returns:
        One row per (model, episode): ``model, episode, n_raters, success`` (0/1). With
        several rows for a trajectory: the mean ``fraction`` compared with the threshold
        when those columns exist (as the labelling app does), else the majority of the
        ``success`` flags (ties count as success).
    """
    keys = ["model", "episode"]
    if not scores.duplicated(keys).any():
        out = scores[[*keys, "success"]].copy()
        out.insert(2, "n_raters", 1)
        return out.reset_index(drop=True)
    rows = []
    for (model, episode), g in scores.groupby(keys, sort=False):
        if "fraction" in g.columns and pd.to_numeric(g["fraction"], errors="coerce").notna().all():
            threshold, inclusive = (
                parse_threshold(g["threshold"].iloc[0]) if "threshold" in g.columns else (DEFAULT_THRESHOLD, True)
            )
            ok = bool(is_success(pd.to_numeric(g["fraction"]).mean(), threshold, inclusive=inclusive))
        else:
            ok = g["success"].mean() >= 0.5
        rows.append({"model": model, "episode": episode, "n_raters": len(g), "success": int(ok)})
    return pd.DataFrame(rows, columns=["model", "episode", "n_raters", "success"])


def success_rates(
    scores: pd.DataFrame,
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    sizes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Success rate per model with bootstrap CIs (the paper's Figure 4c).

    Args:
        scores: Trajectory scores (see :func:`check_trajectory_scores`); several raters'
            scores of one trajectory are combined first (:func:`trajectory_outcomes`).
        sizes: Optional table with ``model`` and ``params_m`` (e.g. a results table) to
            order models by size; the registry is used for models it lacks.

    Returns:
        One row per model, columns :data:`SUCCESS_COLUMNS`, ordered by ``params_m`` (models
        of unknown size last, in input order).
    """
    df = trajectory_outcomes(check_trajectory_scores(scores))
    known: dict[str, float] = {}
    if sizes is not None and {"model", "params_m"} <= set(sizes.columns):
        known = {str(m): float(p) for m, p in zip(sizes["model"], sizes["params_m"]) if pd.notna(p)}
    rows = []
    for i, (model, group) in enumerate(df.groupby("model", sort=False)):
        rate, low, high = bootstrap_rate_ci(group["success"].to_numpy(), n_resamples=n_resamples, level=level, seed=seed + i)
        rows.append(
            {
                "model": model, "n_trajectories": len(group), "n_success": int(group["success"].sum()),
                "success_rate": rate, "ci_low": low, "ci_high": high, "ci_level": level,
                "random_weights": _is_random_model(model),
                "params_m": known.get(model, _registry_size(str(model), "params_m")),
            }
        )
    out = pd.DataFrame(rows, columns=SUCCESS_COLUMNS)
    return out.sort_values("params_m", kind="stable", na_position="last").reset_index(drop=True)
