"""``rmeval bench``: reward models x datasets x metrics in one run, as a tidy table and a leaderboard.

For each dataset, each model embeds the frames once (through the cache) and scores them
with the dataset's prompts -- and, for task confusion, with the prompts of the other task
datasets of the same environment -- for every alpha; every metric is then computed from
those rewards (:mod:`rmeval.metrics`), each with a bootstrap interval. What a dataset
supports follows from what it holds:

- labels of both classes: success detection (EPIC, AUROC, average precision, best
  balanced accuracy with its threshold);
- trajectories (an ``episode_return`` column, as ``rmeval render --policy`` writes, or
  ``env_reward`` with every step kept, as ``rmeval rollout`` writes, whose sum is the return): value-order correlation (over successful
  trajectories when an ``episode_success`` column says which), preference accuracy on
  trajectory pairs ordered by the true return, and, with three or more policies
  (``policy`` or ``checkpoint`` column), policy ranking by mean true return; three or more
  datasets of one policy each (one ``rmeval rollout`` per checkpoint) of one environment and
  task are ranked together, each dataset a policy scored by its mean reward per frame;
- a progress column (``--progress COLUMN``, else the metadata's ``render.progress_column``):
  Pearson and Spearman of reward against it over the trajectories' frames;
- two or more labelled datasets of one environment with different tasks: the task
  confusion matrix (AUROC and EPIC), with its diagonal summary.

A judge (``judge:`` model) has one reward whatever the alpha: it is scored once, at its own
reward, with ``alpha`` NaN (shown as ``-``); on labelled datasets its p(yes) (normalised over
yes+no) also gets calibration rows (Brier score, expected calibration error). Contrastive
models have no probability, so no calibration rows.

A metric a dataset cannot support for a model (a constant reward, say) is listed in
``skipped`` with the reason, and the rest goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from rmeval.embedding_options import EmbeddingOptions
from rmeval.errors import InvalidInputError
from rmeval.metrics import (
    calibration,
    epic_to_labels,
    group_means,
    policy_ranking,
    preference_accuracy,
    progress_correlation,
    success_detection,
    task_confusion,
    trajectory_returns,
    value_order_correlation,
)
from rmeval.metrics._core import Estimate
from rmeval.model_rewards import RewardSettings, rewards_per_model
from rmeval.registry import AnyRef

#: metric -> (leaderboard heading, higher is better). Order = the leaderboard's columns.
METRICS: dict[str, tuple[str, bool]] = {
    "epic": ("EPIC", False),
    "auroc": ("AUROC", True),
    "average_precision": ("AP", True),
    "balanced_accuracy": ("bal.acc", True),
    "value_order": ("VOC", True),
    "progress_pearson": ("prog.r", True),
    "progress_spearman": ("prog.rho", True),
    "policy_kendall_tau": ("policy.tau", True),
    "policy_spearman": ("policy.rho", True),
    "preference_accuracy": ("pref.acc", True),
    "brier": ("Brier", False),
    "ece": ("ECE", False),
    "confusion_auroc_diagonal": ("conf.diag", True),
    "confusion_auroc_off_diagonal": ("conf.off", False),
    "confusion_auroc_diagonal_best": ("conf.best", True),
    "confusion_epic_diagonal": ("conf.epic.diag", False),
    "confusion_epic_off_diagonal": ("conf.epic.off", True),
    "confusion_epic_diagonal_best": ("conf.epic.best", True),
}
#: Cells of the confusion matrices (in the tidy table, not the leaderboard).
CELL_METRICS = {"confusion_auroc": True, "confusion_epic": False}
#: The leaderboard's columns (a subset of METRICS).
LEADERBOARD = ("epic", "auroc", "average_precision", "balanced_accuracy", "value_order", "progress_spearman",
               "policy_kendall_tau", "preference_accuracy", "confusion_auroc_diagonal_best", "brier", "ece")
#: Bins of the expected calibration error.
ECE_BINS = 10
#: Columns of the tidy table.
COLUMNS = ["model", "random_weights", "alpha", "dataset", "metric", "value", "ci_low", "ci_high", "n", "level",
           "prompt_task", "detail"]
#: Columns of the judges' per-frame table (``bench_p_yes.csv``): label NaN for unlabelled frames.
P_YES_COLUMNS = ["model", "random_weights", "dataset", "row", "label", "reward", "p_yes"]


@dataclass(frozen=True)
class BenchJob:
    """Settings of a bench run: alphas, the embedding options, the bootstrap, the progress column."""

    alphas: Sequence[float]
    embedding: EmbeddingOptions = field(default_factory=EmbeddingOptions)
    n_resamples: int = 1000
    level: float = 0.95
    seed: int = 0
    progress_column: str | None = None
    #: Ground truth per policy for ranking (``--policy-truth``), replacing the mean episode return.
    policy_truth: Mapping[str, float] | None = None

    @property
    def boot(self) -> dict[str, Any]:
        return {"n_resamples": self.n_resamples, "level": self.level, "seed": self.seed}


@dataclass
class Role:
    """What one dataset can be scored on (see the module docstring)."""

    dataset: Any
    labelled: np.ndarray  # (n_l,) rows with a label
    labels: np.ndarray | None  # (n_l,) 0/1 when both classes are present
    traj_rows: np.ndarray  # (n_t,) rows of trajectories
    episodes: np.ndarray  # (n_t,)
    steps: np.ndarray  # (n_t,)
    truth: dict[Any, float] = field(default_factory=dict)  # episode -> true return
    success: dict[Any, bool] = field(default_factory=dict)  # episode -> success
    policy: dict[Any, Any] = field(default_factory=dict)  # episode -> policy
    progress: np.ndarray | None = None  # (n_t,)
    progress_column: str | None = None

    @property
    def name(self) -> str:
        return str(self.dataset.name)


def _every_step_kept(idx: pd.DataFrame) -> bool:
    """Whether every rollout episode keeps consecutive steps (so its env_reward sums to its return)."""
    sub = idx[idx["policy"].ne("constructed")] if "policy" in idx else idx
    if sub.empty:
        return False
    steps = sub.sort_values(["episode", "step"]).groupby("episode")["step"]
    return bool(steps.apply(lambda s: bool((np.diff(s.to_numpy()) == 1).all())).all())


def describe(dataset: Any, progress_column: str | None = None) -> Role:
    """Which metrics ``dataset`` supports, and the arrays they need."""
    idx = dataset.index
    labelled = dataset.labelled_rows()
    labels = None
    if labelled.size:
        lab = dataset.labels(labelled)
        if 0 < int(lab.sum()) < lab.size:
            labels = lab
    if "episode_return" in idx:
        traj = np.flatnonzero(idx["episode_return"].notna().to_numpy())
        truth_of = idx.iloc[traj].groupby("episode")["episode_return"].first()
    elif "env_reward" in idx and _every_step_kept(idx):
        keep = idx["policy"].ne("constructed").to_numpy() if "policy" in idx else np.ones(len(idx), dtype=bool)
        traj = np.flatnonzero(keep)
        truth_of = idx.iloc[traj].groupby("episode")["env_reward"].sum(min_count=0)
    else:
        traj = np.zeros(0, dtype=np.intp)
        truth_of = pd.Series(dtype=float)
    sub = idx.iloc[traj]
    role = Role(dataset, labelled, labels, traj, sub["episode"].to_numpy(), sub["step"].to_numpy(),
                truth={k: float(v) for k, v in truth_of.items()})
    if traj.size and "episode_success" in idx and sub["episode_success"].notna().all():
        role.success = {k: bool(v) for k, v in sub.groupby("episode")["episode_success"].first().items()}
    for col in ("policy", "checkpoint"):
        if traj.size and col in idx and sub[col].nunique() >= 2:
            role.policy = dict(sub.groupby("episode")[col].first().items())
            break
    column = progress_column or (dataset.metadata.render or {}).get("progress_column")
    if column and traj.size:
        if column not in idx:
            raise InvalidInputError(
                f"dataset {dataset.name!r} has no column {column!r} for --progress; its columns: {', '.join(idx.columns)}."
            )
        values = pd.to_numeric(sub[column], errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise InvalidInputError(f"--progress {column}: dataset {dataset.name!r} has missing or non-numeric values there.")
        role.progress, role.progress_column = values, column
    return role


def question_of(metadata: Any) -> str:
    """A judge's question template on a dataset: its metadata's ``judge_question``, else the default."""
    from rmeval.judges.question import question_template

    return question_template(None, metadata.extra)


def confusion_groups(roles: Sequence[Role]) -> dict[str, list[Role]]:
    """Labelled datasets grouped by environment, where a group holds two or more tasks (one dataset each)."""
    by_env: dict[str, dict[str, Role]] = {}
    for role in roles:
        if role.labels is not None:
            by_env.setdefault(role.dataset.metadata.env, {}).setdefault(role.dataset.metadata.task, role)
    return {env: list(tasks.values()) for env, tasks in by_env.items() if len(tasks) >= 2}


#: Columns of a policy-truth table that name the policy, and that hold the truth (first found).
TRUTH_KEYS = ("policy", "checkpoint", "model")
TRUTH_VALUES = ("success_rate", "mean_return", "success", "return")


def read_policy_truth(path: str | Path, column: str | None = None) -> tuple[dict[str, float], str]:
    """Ground truth per policy from a CSV: ``rmeval evaluate``'s table (``checkpoint``,
    ``success_rate``, ``mean_return``) or the labelling app's trajectory scores (``policy`` or
    ``model``, ``success`` per episode). The value is the mean of ``column`` (default: the first
    of ``TRUTH_VALUES`` present) per policy. Returns ``(truth, column)``.

    Raises:
        InvalidInputError: an unreadable file, no policy column, no (numeric) value column.
    """
    p = Path(path).expanduser()
    try:
        table = pd.read_csv(p)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"--policy-truth {p}: not a readable CSV ({str(exc).splitlines()[0]}).") from None
    key = next((c for c in TRUTH_KEYS if c in table.columns), None)
    if key is None:
        raise InvalidInputError(f"--policy-truth {p}: no policy column (one of {', '.join(TRUTH_KEYS)}).")
    col = column or next((c for c in TRUTH_VALUES if c in table.columns), None)
    if col is None or col not in table.columns:
        raise InvalidInputError(
            f"--policy-truth {p}: no column {col or ' / '.join(TRUTH_VALUES)}; name one as FILE:COLUMN."
        )
    values = pd.to_numeric(table[col], errors="coerce")
    if values.isna().any() or table[key].isna().any():
        raise InvalidInputError(f"--policy-truth {p}: column {col!r} or {key!r} has missing or non-numeric values.")
    truth = values.groupby(table[key].astype(str)).mean()
    return {str(k): float(v) for k, v in truth.items()}, col


def truth_of(name: str, truth: Mapping[str, float]) -> float:
    """The truth of policy ``name``: by exact name, else by file stem (``checkpoints/step_1000.zip`` =
    ``step_1000``)."""
    if name in truth:
        return truth[name]
    stem = Path(name).stem
    hits = [v for k, v in truth.items() if Path(k).stem == stem]
    if len(hits) == 1:
        return hits[0]
    raise InvalidInputError(f"policy {name!r} is not in the --policy-truth table (it has {', '.join(sorted(truth)[:6])}).")


def _single_policy(role: Role) -> str:
    idx = role.dataset.index.iloc[role.traj_rows]
    for col in ("checkpoint", "policy"):
        if col in idx and idx[col].nunique() == 1:
            return str(idx[col].iloc[0])
    return role.name


def policy_pools(roles: Sequence[Role]) -> dict[str, list[Role]]:
    """Trajectory datasets of one policy each (``rmeval rollout`` of one checkpoint, say), grouped by
    environment and task where a group has three or more: ranked as policies, one per dataset, by
    mean reward per frame against mean true return."""
    pools: dict[str, list[Role]] = {}
    for role in roles:
        if role.traj_rows.size and not role.policy and role.truth:
            meta = role.dataset.metadata
            pools.setdefault(f"{meta.env}/{meta.task}", []).append(role)
    return {key: members for key, members in pools.items() if len(members) >= 3}


def _rows(est: Estimate, base: dict[str, Any], alphas: Sequence[float], metric: str, **extra: Any) -> list[dict[str, Any]]:
    out = []
    for k, alpha in enumerate(alphas):
        e = est.row(k)
        out.append({**base, "alpha": float(alpha), "metric": metric, "value": e.value, "ci_low": e.ci_low,
                    "ci_high": e.ci_high, "n": e.n, "level": e.level, **{key: v[k] if isinstance(v, list) else v
                                                                          for key, v in extra.items()}})
    return out


def alpha_label(alpha: float) -> str:
    """An alpha as shown in tables: ``-`` for a judge's own reward (NaN), else ``%g``."""
    return "-" if not np.isfinite(alpha) else f"{alpha:g}"


def dataset_metrics(
    role: Role, rewards: np.ndarray, job: BenchJob, base: dict[str, Any], skipped: list[dict[str, str]],
    *, alphas: Sequence[float] | None = None, p_yes: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Tidy rows of every metric ``role`` supports, for rewards (K, N) over all its frames.

    ``alphas``: the K alphas of ``rewards`` (default ``job.alphas``; ``[nan]`` for a judge).
    ``p_yes``: (N,) a judge's p(yes) over all frames: calibration rows (Brier, ECE) on the labels.
    """
    rows: list[dict[str, Any]] = []
    alphas = list(job.alphas if alphas is None else alphas)

    def attempt(metric: str, fn: Callable[[], list[dict[str, Any]]]) -> None:
        try:
            rows.extend(fn())
        except InvalidInputError as exc:
            skipped.append({"model": base["model"], "dataset": role.name, "metric": metric, "reason": str(exc)})

    if role.labels is not None:
        r_lab = rewards[:, role.labelled]
        labels = role.labels

        def detection() -> list[dict[str, Any]]:
            res = success_detection(r_lab, labels, **job.boot)
            thr = [f"threshold {t:.6g}" for t in np.atleast_1d(res.threshold)]
            return (_rows(res.auroc, base, alphas, "auroc") + _rows(res.average_precision, base, alphas, "average_precision")
                    + _rows(res.balanced_accuracy, base, alphas, "balanced_accuracy", detail=thr))

        attempt("auroc", detection)
        attempt("epic", lambda: _rows(epic_to_labels(r_lab, labels, **job.boot), base, alphas, "epic"))
        if p_yes is not None:
            p_lab = np.asarray(p_yes, dtype=np.float64)[role.labelled]

            def calibrated() -> list[dict[str, Any]]:
                res = calibration(p_lab, labels, n_bins=ECE_BINS, **job.boot)
                return (_rows(res.brier, base, alphas[:1], "brier", detail="p(yes)")
                        + _rows(res.ece, base, alphas[:1], "ece", detail=f"p(yes), {res.n_bins} bins"))

            attempt("brier", calibrated)
    if role.traj_rows.size:
        r_traj = rewards[:, role.traj_rows]
        chosen = [e for e, ok in role.success.items() if ok] if any(role.success.values()) else None
        what = f"{len(chosen)} successful trajectories" if chosen else "all trajectories"
        attempt("value_order", lambda: _rows(
            value_order_correlation(r_traj, role.episodes, role.steps, trajectories=chosen, **job.boot).mean,
            base, alphas, "value_order", detail=what))
        ids, returns = trajectory_returns(r_traj, role.episodes)
        truth = np.array([role.truth[e] for e in ids])
        attempt("preference_accuracy", lambda: _rows(
            preference_accuracy(returns, truth, **job.boot), base, alphas, "preference_accuracy",
            detail="pairs ordered by true return"))
        if role.policy:
            pol = np.array([role.policy[e] for e in ids])

            def ranking() -> list[dict[str, Any]]:
                pol_ids, score = group_means(returns, pol)
                if job.policy_truth is not None:
                    true_v = np.array([truth_of(str(p), job.policy_truth) for p in pol_ids])
                    d = f"{score.shape[1]} policies by --policy-truth"
                else:
                    true_v = group_means(truth, pol)[1][0]
                    d = f"{score.shape[1]} policies by mean true return"
                res = policy_ranking(score, true_v, **job.boot)
                return (_rows(res.kendall_tau, base, alphas, "policy_kendall_tau", detail=d)
                        + _rows(res.spearman, base, alphas, "policy_spearman", detail=d))

            attempt("policy_kendall_tau", ranking)
        if role.progress is not None:
            progress_values = role.progress

            def progress() -> list[dict[str, Any]]:
                res = progress_correlation(r_traj, progress_values, role.episodes, **job.boot)
                d = f"against {role.progress_column}"
                return (_rows(res.pearson, base, alphas, "progress_pearson", detail=d)
                        + _rows(res.spearman, base, alphas, "progress_spearman", detail=d))

            attempt("progress_pearson", progress)
    return rows


@dataclass
class BenchResults:
    """A bench run: the tidy ``table`` (``COLUMNS``), confusion matrices, failures and skips, and
    ``p_yes``: the judges' per-frame reward and p(yes) (``P_YES_COLUMNS``; empty without judges)."""

    table: pd.DataFrame
    confusion: list[dict[str, Any]]
    failures: dict[str, str]
    skipped: list[dict[str, str]]
    stats: list[dict[str, Any]]
    seconds_metrics: float
    p_yes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=P_YES_COLUMNS))

    @property
    def random_models(self) -> list[str]:
        if self.table.empty:
            return []
        return sorted(self.table.loc[self.table["random_weights"].astype(bool), "model"].unique())


def run_bench(
    datasets: Sequence[Any],
    models: Sequence[AnyRef],
    job: BenchJob,
    *,
    log: Callable[[str], None] = lambda msg: None,
) -> BenchResults:
    """Score every model on every dataset with every metric the dataset supports."""
    roles = [describe(ds, job.progress_column) for ds in datasets]
    names = [r.name for r in roles]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"two datasets share a name ({', '.join(names)}); give each a distinct name.")
    groups = confusion_groups(roles)
    group_of = {r.name: env for env, members in groups.items() for r in members}
    pools = policy_pools(roles)
    pool_of = {r.name: key for key, members in pools.items() for r in members}
    # pooled policy ranking: pool -> model -> dataset -> (K,) mean reward per frame of its trajectories
    pooled: dict[str, dict[str, dict[str, np.ndarray]]] = {key: {} for key in pools}
    failures: dict[str, str] = {}
    skipped: list[dict[str, str]] = []
    stats: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    # confusion rewards: env -> model -> (prompt task, dataset task) -> (K, n_labelled)
    conf: dict[str, dict[str, dict[tuple[str, str], np.ndarray]]] = {env: {} for env in groups}
    random_of: dict[str, bool] = {}
    alphas_of: dict[str, list[float]] = {}  # model -> its alphas ([nan] for a judge)
    p_yes_parts: list[pd.DataFrame] = []
    t_metrics = 0.0
    any_judge = any(getattr(m, "is_judge", False) for m in models)
    for role in roles:
        meta = role.dataset.metadata
        extra: dict[str, tuple[Sequence[str], Sequence[str]]] = {}
        if role.name in group_of:
            for other in groups[group_of[role.name]]:
                if other is not role:
                    m = other.dataset.metadata
                    extra[m.task] = (list(m.goal_prompts), list(m.baseline_prompts))
        settings = RewardSettings(
            alphas=list(job.alphas), goal_prompts=list(meta.goal_prompts), baseline_prompts=list(meta.baseline_prompts),
            embedding=job.embedding, extra_prompts=extra, question=question_of(meta) if any_judge else None,
        )
        log(f"dataset {role.name}: {len(role.dataset)} frames")
        for mr in rewards_per_model(role.dataset, None, [m for m in models if m.id not in failures], settings,
                                    failures=failures, log=lambda msg: log("  " + msg)):
            random_of[mr.ref.id] = mr.random_weights
            stats.append({"model": mr.ref.id, "dataset": role.name, **mr.stats})
            t0 = time.perf_counter()
            judge = not mr.alphas_apply  # one reward: scored once, alpha NaN
            alphas_of[mr.ref.id] = [float("nan")] if judge else list(job.alphas)
            rewards = mr.rewards[:1] if judge else mr.rewards
            extra_rewards = {task: (rew[:1] if judge else rew) for task, rew in mr.extra.items()}
            base = {"model": mr.ref.id, "random_weights": mr.random_weights, "dataset": role.name,
                    "prompt_task": meta.task, "detail": ""}
            rows.extend(dataset_metrics(role, rewards, job, base, skipped, alphas=alphas_of[mr.ref.id],
                                        p_yes=mr.p_yes))
            if mr.p_yes is not None:
                p_yes_parts.append(_p_yes_frames(role, mr.ref.id, mr.random_weights, rewards[0], mr.p_yes))
            if role.name in pool_of:
                _, per_traj = trajectory_returns(rewards[:, role.traj_rows], role.episodes)
                lengths = np.bincount(np.unique(role.episodes, return_inverse=True)[1])
                pooled[pool_of[role.name]].setdefault(mr.ref.id, {})[role.name] = (per_traj / lengths).mean(axis=1)
            if role.name in group_of:
                cell = conf[group_of[role.name]].setdefault(mr.ref.id, {})
                cell[(meta.task, meta.task)] = rewards[:, role.labelled]
                for task, rew in extra_rewards.items():
                    cell[(task, meta.task)] = rew[:, role.labelled]
            t_metrics += time.perf_counter() - t0
    t0 = time.perf_counter()
    for key, members in pools.items():
        names_ = [_single_policy(r) for r in members]
        try:
            truth = (np.array([truth_of(n, job.policy_truth) for n in names_]) if job.policy_truth is not None
                     else np.array([np.mean(list(r.truth.values())) for r in members]))
        except InvalidInputError as exc:
            skipped.append({"model": "*", "dataset": f"policies:{key}", "metric": "policy_kendall_tau", "reason": str(exc)})
            continue
        for model, scores in pooled[key].items():
            if len(scores) != len(members):
                continue
            base = {"model": model, "random_weights": random_of[model], "dataset": f"policies:{key}",
                    "prompt_task": "", "detail": f"{len(members)} policies, one per dataset: " + ", ".join(names_)}
            try:
                res = policy_ranking(np.stack([scores[r.name] for r in members], axis=1), truth, **job.boot)
            except InvalidInputError as exc:
                skipped.append({"model": model, "dataset": base["dataset"], "metric": "policy_kendall_tau",
                                "reason": str(exc)})
                continue
            rows.extend(_rows(res.kendall_tau, base, alphas_of[model], "policy_kendall_tau")
                        + _rows(res.spearman, base, alphas_of[model], "policy_spearman"))
    confusion: list[dict[str, Any]] = []
    for env, members in groups.items():
        tasks = [r.dataset.metadata.task for r in members]
        labels = [cast(np.ndarray, r.labels) for r in members]  # confusion groups hold labelled datasets only
        for model, cells in conf[env].items():
            if len(cells) != len(tasks) ** 2:
                continue
            for metric in ("auroc", "epic"):
                try:
                    confusion_res = task_confusion([[cells[(ti, tj)] for tj in tasks] for ti in tasks], labels, tasks,
                                                   metric=metric, **job.boot)
                except InvalidInputError as exc:
                    skipped.append({"model": model, "dataset": f"confusion:{env}", "metric": f"confusion_{metric}",
                                    "reason": str(exc)})
                    continue
                mats = [np.asarray(x).reshape(len(alphas_of[model]), len(tasks), len(tasks))
                        for x in (confusion_res.matrix, confusion_res.ci_low, confusion_res.ci_high)]
                for k, alpha in enumerate(alphas_of[model]):
                    base = {"model": model, "random_weights": random_of[model], "alpha": float(alpha),
                            "dataset": f"confusion:{env}", "detail": ", ".join(tasks), "prompt_task": ""}
                    for part in ("diagonal", "off_diagonal", "diagonal_best"):
                        e: Estimate = getattr(confusion_res, part).row(k)
                        rows.append({**base, "metric": f"confusion_{metric}_{part}", "value": e.value, "ci_low": e.ci_low,
                                     "ci_high": e.ci_high, "n": e.n, "level": e.level})
                    for i, ti in enumerate(tasks):
                        for j, _ in enumerate(tasks):
                            rows.append({**base, "dataset": members[j].name, "prompt_task": ti,
                                         "metric": f"confusion_{metric}", "value": float(mats[0][k, i, j]),
                                         "ci_low": float(mats[1][k, i, j]), "ci_high": float(mats[2][k, i, j]),
                                         "n": int(members[j].labelled.size), "level": job.level, "detail": ""})
                    confusion.append({"env": env, "model": model, "random_weights": random_of[model],
                                      "alpha": float(alpha), "metric": metric, "tasks": tasks,
                                      "datasets": [r.name for r in members], "matrix": mats[0][k].tolist(),
                                      "ci_low": mats[1][k].tolist(), "ci_high": mats[2][k].tolist()})
    t_metrics += time.perf_counter() - t0
    table = pd.DataFrame(rows, columns=COLUMNS)
    p_yes = pd.concat(p_yes_parts, ignore_index=True) if p_yes_parts else pd.DataFrame(columns=P_YES_COLUMNS)
    return BenchResults(table, confusion, failures, skipped, stats, t_metrics, p_yes)


def _p_yes_frames(role: Role, model: str, random_weights: bool, reward: np.ndarray, p_yes: np.ndarray) -> pd.DataFrame:
    """A judge's per-frame reward and p(yes) on every frame of ``role``'s dataset (label NaN where unlabelled)."""
    n = len(role.dataset)
    label = np.full(n, np.nan)
    if role.labelled.size:
        label[role.labelled] = role.dataset.labels(role.labelled)
    return pd.DataFrame({"model": model, "random_weights": bool(random_weights), "dataset": role.name,
                         "row": np.arange(n, dtype=np.int64), "label": label,
                         "reward": np.asarray(reward, dtype=np.float64), "p_yes": np.asarray(p_yes, dtype=np.float64)},
                        columns=P_YES_COLUMNS)


def leaderboard(table: pd.DataFrame, columns: Sequence[str] = LEADERBOARD) -> pd.DataFrame:
    """One row per model and alpha, one column per metric: the mean value over the datasets that
    have it (NaN where none has). Columns with no value at all are left out. A judge has one
    row, alpha NaN."""
    if table.empty:
        return pd.DataFrame(columns=["model", "random_weights", "alpha"])
    keys_cols = ["model", "random_weights", "alpha"]
    sub = table[table["metric"].isin(list(columns))]
    wide = (sub.groupby([*keys_cols, "metric"], dropna=False, sort=False)["value"].mean()
            .unstack("metric").reset_index())
    keys = table[keys_cols].drop_duplicates()
    wide = keys.merge(wide, on=keys_cols, how="left")
    cols = [c for c in columns if c in wide.columns and wide[c].notna().any()]
    return wide[["model", "random_weights", "alpha", *cols]].reset_index(drop=True)


def best_mask(board: pd.DataFrame) -> pd.DataFrame:
    """True where a cell is its column's best (lowest for EPIC-like metrics, else highest)."""
    mask = pd.DataFrame(False, index=board.index, columns=board.columns)
    for col in board.columns:
        if col in METRICS and board[col].notna().any():
            best = board[col].min() if not METRICS[col][1] else board[col].max()
            mask[col] = np.isclose(board[col], best, rtol=0, atol=1e-12)
    return mask


def format_leaderboard(board: pd.DataFrame) -> str:
    """The leaderboard as text; each column's best is in [brackets], random-weight models end in *."""
    if board.empty:
        return "(no results)"
    mask = best_mask(board)
    view = pd.DataFrame({"model": [m + (" *" if r else "") for m, r in zip(board["model"], board["random_weights"])],
                         "alpha": board["alpha"].map(alpha_label)})
    for col in board.columns[3:]:
        head = METRICS[col][0] + (" v" if not METRICS[col][1] else " ^")
        view[head] = [("-" if not np.isfinite(v) else f"[{v:.3f}]" if b else f" {v:.3f} ")
                      for v, b in zip(board[col], mask[col])]
    return view.to_string(index=False)
