"""Agreement between raters: Cohen's and Fleiss' kappa, majority vote, disagreements.

Everything works on a *label matrix*: a DataFrame indexed by frame path with one column
per rater, holding pandas ``Int8`` labels (1 goal, 0 not goal, <NA> not labelled or
skipped). :func:`label_matrix` builds it from :meth:`LabelStore.current_labels`.
Pure pandas/numpy; no Streamlit.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from rmeval.errors import InvalidInputError

__all__ = [
    "agreement_with_reference",
    "cohen_kappa",
    "disagreements",
    "fleiss_from_matrix",
    "fleiss_kappa",
    "label_matrix",
    "majority_vote",
    "pairwise_agreement",
]

Tie = Literal["none", "goal", "not_goal"]


def cohen_kappa(a: ArrayLike, b: ArrayLike) -> float:
    """Cohen's kappa of two raters over the same items.

    ``kappa = (p_o - p_e) / (1 - p_e)``: p_o the share of items both raters put in the same
    category, p_e the agreement expected by chance from each rater's category shares.

    Args:
        a, b: ``(N,)`` categories (any hashable values, e.g. 0/1) given by rater A and B
            to the same N items, N >= 1.

    Returns:
        kappa in [-1, 1]; NaN when p_e = 1 (both raters used one and the same category for
        every item: chance agreement is already perfect, kappa is undefined).
    """
    x = np.asarray(a)
    y = np.asarray(b)
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape:
        raise InvalidInputError(f"cohen_kappa needs two 1-D arrays of equal length, got {x.shape} and {y.shape}")
    n = x.shape[0]
    if n == 0:
        raise InvalidInputError("cohen_kappa needs at least one item rated by both raters")
    cats = np.union1d(x, y)
    p_o = float(np.mean(x == y))
    p_e = float(sum(np.mean(x == c) * np.mean(y == c) for c in cats))
    if np.isclose(p_e, 1.0):
        return float("nan")
    return (p_o - p_e) / (1.0 - p_e)


def fleiss_kappa(counts: ArrayLike) -> float:
    """Fleiss' kappa from a count table.

    Args:
        counts: ``(N, K)`` non-negative integers: ``counts[i, j]`` raters who put item i in
            category j. Every item needs at least 2 ratings. With the same number n of
            raters per item this is Fleiss (1971); with varying numbers n_i each item's
            agreement is ``P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1))`` and the category
            shares ``p_j = sum_i n_ij / sum_i n_i`` (the usual generalisation).

    Returns:
        ``(P_bar - P_e) / (1 - P_e)`` with ``P_bar`` the mean of P_i and ``P_e = sum_j p_j^2``;
        NaN when P_e = 1 (every rating in one category).
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] == 0 or c.shape[1] == 0:
        raise InvalidInputError(f"fleiss_kappa needs an (items, categories) table, got shape {c.shape}")
    if (c < 0).any() or not np.allclose(c, np.round(c)):
        raise InvalidInputError("fleiss_kappa counts must be non-negative integers")
    n_i = c.sum(axis=1)
    if (n_i < 2).any():
        bad = int(np.flatnonzero(n_i < 2)[0])
        raise InvalidInputError(f"item {bad} has {int(n_i[bad])} rating(s); Fleiss' kappa needs at least 2 per item")
    p_i = ((c * c).sum(axis=1) - n_i) / (n_i * (n_i - 1))
    p_bar = float(p_i.mean())
    p_j = c.sum(axis=0) / n_i.sum()
    p_e = float((p_j * p_j).sum())
    if np.isclose(p_e, 1.0):
        return float("nan")
    return (p_bar - p_e) / (1.0 - p_e)


def label_matrix(current: pd.DataFrame, frames: Sequence[str] | None = None) -> pd.DataFrame:
    """Frames x raters table of current labels.

    Args:
        current: :meth:`LabelStore.current_labels` output (``frame``, ``rater``, ``label``).
            Skips (label <NA>) count as not labelled.
        frames: restrict to (and order by) these frame paths; frames nobody labelled are
            dropped either way.

    Returns:
        DataFrame indexed by frame (only frames with at least one label), one ``Int8``
        column per rater (sorted by name), <NA> where that rater has no label.
    """
    lab = current.loc[current["label"].notna(), ["frame", "rater", "label"]]
    if frames is not None:
        keep = pd.Index(frames)
        lab = lab[lab["frame"].isin(keep)]
    if lab.empty:
        return pd.DataFrame(index=pd.Index([], name="frame", dtype=object))
    m = lab.pivot(index="frame", columns="rater", values="label")
    m = m.reindex(sorted(m.columns), axis=1).astype("Int8")
    if frames is not None:
        order = [f for f in frames if f in m.index]
        m = m.loc[order]
    m.columns.name = None
    m.index.name = "frame"
    return m


def pairwise_agreement(matrix: pd.DataFrame) -> pd.DataFrame:
    """Cohen's kappa and raw agreement of every pair of raters on the frames both labelled.

    Returns:
        DataFrame with columns ``rater_a``, ``rater_b``, ``n_common`` (frames labelled by
        both), ``agreement`` (share of equal labels), ``kappa`` (NaN when undefined or
        no common frame).
    """
    rows = []
    raters = list(matrix.columns)
    for i, a in enumerate(raters):
        for b in raters[i + 1 :]:
            both = matrix[a].notna() & matrix[b].notna()
            n = int(both.sum())
            if n:
                x = matrix.loc[both, a].to_numpy(dtype=np.int8)
                y = matrix.loc[both, b].to_numpy(dtype=np.int8)
                agree, kappa = float(np.mean(x == y)), cohen_kappa(x, y)
            else:
                agree, kappa = float("nan"), float("nan")
            rows.append({"rater_a": a, "rater_b": b, "n_common": n, "agreement": agree, "kappa": kappa})
    return pd.DataFrame(rows, columns=["rater_a", "rater_b", "n_common", "agreement", "kappa"])


def fleiss_from_matrix(matrix: pd.DataFrame, *, complete_only: bool = False) -> tuple[float, int]:
    """Fleiss' kappa over the frames labelled by at least 2 raters (or by all, ``complete_only``).

    Returns:
        ``(kappa, n_frames)``; kappa is NaN when no frame qualifies or it is undefined.
    """
    if matrix.empty or matrix.shape[1] < 2:
        return float("nan"), 0
    n_rated = matrix.notna().sum(axis=1)
    need = matrix.shape[1] if complete_only else 2
    sub = matrix[n_rated >= need]
    if sub.empty:
        return float("nan"), 0
    goal = (sub == 1).sum(axis=1).to_numpy()
    not_goal = (sub == 0).sum(axis=1).to_numpy()
    return fleiss_kappa(np.column_stack([goal, not_goal])), len(sub)


def disagreements(matrix: pd.DataFrame) -> pd.DataFrame:
    """Frames given both labels by different raters.

    Returns:
        The rows of ``matrix`` with at least one 1 and one 0, plus columns ``n_goal`` and
        ``n_not_goal``, most evenly split first (then by frame order).
    """
    if matrix.empty:
        return matrix.assign(n_goal=pd.Series(dtype="int64"), n_not_goal=pd.Series(dtype="int64"))
    goal = (matrix == 1).sum(axis=1).astype("int64")
    not_goal = (matrix == 0).sum(axis=1).astype("int64")
    out = matrix.assign(n_goal=goal, n_not_goal=not_goal)
    out = out[(goal > 0) & (not_goal > 0)]
    balance = (out["n_goal"] - out["n_not_goal"]).abs()
    position = pd.Series(np.arange(len(out)), index=out.index)
    order = pd.DataFrame({"b": balance, "p": position}).sort_values(["b", "p"]).index
    return out.loc[order]


def majority_vote(matrix: pd.DataFrame, *, tie: Tie = "none") -> pd.Series:
    """Majority label per frame of the raters who labelled it.

    Args:
        matrix: a :func:`label_matrix`.
        tie: what an even split becomes: ``"none"`` (<NA>, left unlabelled), ``"goal"`` (1)
            or ``"not_goal"`` (0).

    Returns:
        ``Int8`` Series indexed by frame: 1, 0 or <NA>.
    """
    if tie not in ("none", "goal", "not_goal"):
        raise InvalidInputError(f"tie must be 'none', 'goal' or 'not_goal', not {tie!r}")
    if matrix.empty:
        return pd.Series(pd.array([], dtype="Int8"), index=matrix.index, name="label")
    goal = (matrix == 1).sum(axis=1).to_numpy()
    not_goal = (matrix == 0).sum(axis=1).to_numpy()
    tie_value = {"none": None, "goal": 1, "not_goal": 0}[tie]
    values: list[int | None] = []
    for g, ng in zip(goal, not_goal):
        if g > ng:
            values.append(1)
        elif ng > g:
            values.append(0)
        elif g == 0:
            values.append(None)
        else:
            values.append(tie_value)
    return pd.Series(pd.array(values, dtype="Int8"), index=matrix.index, name="label")


def agreement_with_reference(
    matrix: pd.DataFrame,
    reference: pd.Series,
    *,
    extra: Mapping[str, pd.Series] | None = None,
) -> pd.DataFrame:
    """How often each rater (and each extra labelling, e.g. the majority) matches reference labels.

    Args:
        matrix: a :func:`label_matrix`.
        reference: labels indexed by frame (e.g. automatic pose-predicate labels), 0/1 or <NA>.
        extra: more labellings to compare, name -> Series indexed by frame.

    Returns:
        DataFrame with columns ``who``, ``n`` (frames both have), ``agreement``, ``kappa``
        (Cohen's, NaN when undefined), ``goal_recall`` (share of reference-goal frames
        labelled goal) and ``goal_precision`` (share of frames labelled goal that are
        reference goal).
    """
    ref = reference.astype("Int8")
    series: dict[Hashable, pd.Series] = {c: matrix[c] for c in matrix.columns}
    series.update(extra or {})
    rows = []
    for who, s in series.items():
        s = s.astype("Int8")
        common = s.index.intersection(ref.index)
        a = s.reindex(common)
        b = ref.reindex(common)
        both = (a.notna() & b.notna()).to_numpy()
        x = a.to_numpy(dtype="float64", na_value=np.nan)[both].astype(np.int8)
        y = b.to_numpy(dtype="float64", na_value=np.nan)[both].astype(np.int8)
        n = int(both.sum())
        rows.append(
            {
                "who": who,
                "n": n,
                "agreement": float(np.mean(x == y)) if n else float("nan"),
                "kappa": cohen_kappa(x, y) if n else float("nan"),
                "goal_recall": float(np.mean(x[y == 1] == 1)) if (y == 1).any() else float("nan"),
                "goal_precision": float(np.mean(y[x == 1] == 1)) if (x == 1).any() else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=["who", "n", "agreement", "kappa", "goal_recall", "goal_precision"])
