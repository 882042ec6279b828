"""Moving labels between the labels database, datasets and CSV files.

- Export: :func:`human_labels` (majority vote, or one rater) and :func:`apply_labels` /
  :func:`export_to_dataset` write them into the dataset's ``label`` column
  (``index.parquet``, replaced atomically), so ``rmeval epic`` uses them.
- Import: :func:`labels_from_index` (another dataset's, or this dataset's own, label
  column) and :func:`parse_labels_csv` turn labels into ``(frame, rater, label)`` rows for
  :meth:`LabelStore.add_labels`.
- CSV text: :func:`labels_csv` (current labels, the same format :func:`parse_labels_csv`
  reads) and :func:`events_csv` (the full history).

Automatic labels (from pose predicates or another rule) live in the index column
:data:`AUTO_LABEL_COLUMN` (``auto_label``, 0/1). See :func:`auto_labels`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rmeval.errors import InvalidInputError
from rmeval.labeling.agreement import Tie, label_matrix, majority_vote
from rmeval.labeling.frame_ids import DatasetIdentity

__all__ = [
    "AUTO_LABEL_COLUMN",
    "MAJORITY",
    "ExportSummary",
    "apply_labels",
    "auto_labels",
    "events_csv",
    "export_to_dataset",
    "human_labels",
    "labels_csv",
    "labels_from_index",
    "parse_label_value",
    "parse_labels_csv",
]

#: Index column holding automatic (pose-predicate / rule) labels, 0/1 or missing.
AUTO_LABEL_COLUMN = "auto_label"
#: ``source`` value of :func:`human_labels` meaning "majority vote of all raters".
MAJORITY = "majority"

_LABEL_WORDS = {
    "1": 1, "1.0": 1, "goal": 1, "true": 1, "yes": 1, "y": 1, "g": 1,
    "0": 0, "0.0": 0, "not goal": 0, "not_goal": 0, "not-goal": 0, "non-goal": 0, "non_goal": 0,
    "nongoal": 0, "false": 0, "no": 0, "n": 0,
}
_MAX_LISTED = 10


@dataclass(frozen=True)
class ExportSummary:
    """What an export changed in the ``label`` column."""

    n_frames: int
    n_labelled: int
    n_goal: int
    n_changed: int
    preserved_as: str | None
    n_set: int = 0
    n_cleared: int = 0

    def message(self) -> str:
        text = (
            f"{self.n_labelled} of {self.n_frames} frames labelled ({self.n_goal} goal); "
            f"{self.n_changed} label(s) differ from the dataset's previous label column "
            f"({self.n_set} set or changed, {self.n_cleared} cleared)"
        )
        if self.preserved_as:
            text += f"; the previous labels were kept in the column '{self.preserved_as}'"
        return text


def human_labels(
    current: pd.DataFrame, frames: Sequence[str], *, source: str = MAJORITY, tie: Tie = "none"
) -> pd.Series:
    """Human labels for every frame of a dataset.

    Args:
        current: :meth:`LabelStore.current_labels` output.
        frames: the dataset's frame paths, in row order.
        source: :data:`MAJORITY` (majority vote of all raters, ties per ``tie``) or a
            rater's name (that rater's labels only).
        tie: for the majority vote: ``none`` (unlabelled), ``goal`` or ``not_goal``.

    Returns:
        ``Int8`` Series indexed by ``frames`` (same order): 1, 0 or <NA>.
    """
    matrix = label_matrix(current, frames)
    if source == MAJORITY:
        lab = majority_vote(matrix, tie=tie)
    elif source in matrix.columns:
        lab = matrix[source]
    elif matrix.empty or source in set(current["rater"]):
        lab = pd.Series(pd.array([], dtype="Int8"), index=pd.Index([], dtype=object))
    else:
        raise InvalidInputError(f"no rater named {source!r} has labelled this dataset")
    out = lab.reindex(pd.Index(frames, name="frame")).astype("Int8")
    out.name = "label"
    return out


def _as_label_series(values: pd.Series) -> pd.Series:
    """Values as ``Int8`` 0/1/<NA>; anything else becomes <NA>."""
    num = pd.to_numeric(values.astype(object).where(values.notna(), None), errors="coerce")
    num = num.where(num.isin([0, 1]))
    return num.astype("Float64").astype("Int8")


def auto_labels(index: pd.DataFrame, label_rule: str = "", column: str = AUTO_LABEL_COLUMN) -> tuple[pd.Series | None, str]:
    """The dataset's automatic labels, indexed by frame, and where they came from.

    Uses the index column ``column`` (default ``auto_label``) when present. Otherwise,
    when the dataset's metadata has a ``label_rule`` (its labels were made by a rule, like
    the bundled CartPole dataset's pole-angle predicate), the ``label`` column itself.
    Returns ``(None, "")`` when neither exists.
    """
    frames = pd.Index(index["frame"].astype(object), name="frame")
    if column and column in index.columns:
        s = _as_label_series(index[column])
        s.index = frames
        return s, f"the index column '{column}'"
    if label_rule and index["label"].notna().any():
        s = index["label"].astype("Int8").copy()
        s.index = frames
        return s, f"the dataset's label column (made by its rule: {label_rule})"
    return None, ""


def apply_labels(
    index: pd.DataFrame,
    labels: pd.Series,
    *,
    keep_unlabelled: bool = False,
    preserve_as: str | None = None,
) -> tuple[pd.DataFrame, ExportSummary]:
    """A copy of ``index`` whose ``label`` column holds ``labels``.

    Args:
        index: a dataset index (``frame``, ``label``, ...).
        labels: ``Int8`` labels indexed by frame path (frames missing from it count as
            unlabelled).
        keep_unlabelled: keep the old label of frames ``labels`` leaves unlabelled
            (default: they become unlabelled, so only human labels remain).
        preserve_as: first copy the old ``label`` column into this new column (skipped
            when the column already exists).

    Returns:
        ``(new_index, summary)``.
    """
    new = index.copy()
    old = index["label"].astype("Int8").reset_index(drop=True)
    lab = labels.reindex(pd.Index(index["frame"].astype(object))).astype("Int8").reset_index(drop=True)
    if keep_unlabelled:
        lab = lab.where(lab.notna(), old)
    preserved = None
    if preserve_as and preserve_as not in new.columns and old.notna().any():
        new[preserve_as] = old.to_numpy()
        new[preserve_as] = new[preserve_as].astype("Int8")
        preserved = preserve_as
    new["label"] = pd.array(lab.to_numpy(), dtype="Int8")
    changed = ~((lab == old).fillna(False) | (lab.isna() & old.isna()))
    summary = ExportSummary(
        n_frames=len(new),
        n_labelled=int(lab.notna().sum()),
        n_goal=int((lab == 1).sum()),
        n_changed=int(changed.sum()),
        preserved_as=preserved,
        n_set=int((changed & lab.notna()).sum()),
        n_cleared=int((changed & lab.isna()).sum()),
    )
    return new, summary


def export_to_dataset(dataset: Any, labels: pd.Series, *, keep_unlabelled: bool = False) -> tuple[Any, ExportSummary]:
    """Write ``labels`` into the dataset's ``label`` column (``index.parquet``, atomic replace).

    The first export of a dataset whose labels came from a rule (metadata ``label_rule``)
    and that has no ``auto_label`` column keeps those labels in ``auto_label``, so the
    automatic labels are not lost.

    Returns:
        ``(updated_dataset, summary)``. Raises :class:`rmeval.errors.StorageError` when the
        dataset directory is not writable (nothing is changed then).
    """
    from rmeval.dataset import save_index

    preserve = AUTO_LABEL_COLUMN if dataset.metadata.label_rule else None
    new_index, summary = apply_labels(dataset.index, labels, keep_unlabelled=keep_unlabelled, preserve_as=preserve)
    return save_index(dataset, new_index), summary


def labels_from_index(
    source: pd.DataFrame, target: pd.DataFrame, *, rater: str, column: str = "label"
) -> tuple[list[tuple[str, str, int]], int]:
    """Labels of ``source``'s ``column`` for frames of ``target``, matched by frame path.

    Returns:
        ``(rows, n_unmatched)``: ``(frame, rater, label)`` rows for labelled frames present
        in both, and the number of labelled source frames missing from ``target``.
    """
    if column not in source.columns:
        raise InvalidInputError(f"the source dataset has no column {column!r}")
    lab = _as_label_series(source[column])
    frames = source["frame"].astype(str)
    known = set(target["frame"].astype(str))
    rows: list[tuple[str, str, int]] = []
    unmatched = 0
    for frame, value in zip(frames, lab):
        if pd.isna(value):
            continue
        if frame not in known:
            unmatched += 1
            continue
        rows.append((frame, rater, int(value)))
    return rows, unmatched


def parse_label_value(value: object) -> int | None:
    """1, 0, or None (empty) from a CSV cell; ValueError for anything else."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().lower()
    if not text:
        return None
    if text in _LABEL_WORDS:
        return _LABEL_WORDS[text]
    raise ValueError(text)


def parse_labels_csv(
    data: bytes | str, index: pd.DataFrame, *, default_rater: str, identity: DatasetIdentity | None = None
) -> tuple[list[tuple[str, str, int]], int]:
    """Read labels from CSV text for the dataset with ``index``.

    The CSV has a header. Frames are named by a ``frame`` column (path as in the index) or
    by ``episode`` and ``step`` columns; ``label`` holds 1/0, goal/not goal, yes/no or
    true/false (empty = unlabelled, skipped); an optional ``rater`` column names the rater
    of each row (``default_rater`` where missing or empty). Column names are
    case-insensitive. Every row is checked first: any problem raises
    :class:`InvalidInputError` listing the bad rows, and nothing is imported.

    With ``identity`` (this dataset's), a file that says which dataset it belongs to (the
    ``dataset`` and ``dataset_digest`` columns :func:`labels_csv` writes) must name this one:
    another dataset's export is refused even when its frame paths look alike.

    Returns:
        ``(rows, n_empty)``: ``(frame, rater, label)`` rows and the number of rows with an
        empty label.
    """
    from rmeval.labeling.storage import check_rater

    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    if not text.strip():
        raise InvalidInputError("the CSV file is empty")
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except Exception as exc:  # noqa: BLE001 - pandas raises ParserError, UnicodeError, EmptyDataError, ...
        raise InvalidInputError(f"cannot read the CSV file: {exc}") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    if "label" not in df.columns:
        raise InvalidInputError(
            f"the CSV file has no 'label' column (its columns: {', '.join(df.columns)}); "
            "expected frame,label[,rater] or episode,step,label[,rater]"
        )
    if identity is not None:
        _check_identity(df, identity)
    by_frame = "frame" in df.columns
    if not by_frame and not {"episode", "step"} <= set(df.columns):
        raise InvalidInputError(
            "the CSV file names no frames: give a 'frame' column (e.g. frames/000012.png) or "
            "'episode' and 'step' columns"
        )
    known = set(index["frame"].astype(str))
    by_pair = {
        (int(e), int(s)): str(f) for e, s, f in zip(index["episode"], index["step"], index["frame"])
    }
    default = check_rater(default_rater)
    problems: list[str] = []
    rows: list[tuple[str, str, int]] = []
    n_empty = 0
    for i, rec in enumerate(df.to_dict(orient="records")):
        line = i + 2  # header is line 1
        try:
            label = parse_label_value(rec["label"])
        except ValueError:
            problems.append(f"line {line}: label {rec['label']!r} is not 1/0, goal/not goal, yes/no or true/false")
            continue
        if label is None:
            n_empty += 1
            continue
        if by_frame:
            frame = str(rec["frame"]).strip()
            if frame not in known:
                problems.append(f"line {line}: frame {frame!r} is not in this dataset")
                continue
        else:
            try:
                pair = (int(str(rec["episode"]).strip()), int(str(rec["step"]).strip()))
            except ValueError:
                problems.append(f"line {line}: episode/step {rec['episode']!r}/{rec['step']!r} are not integers")
                continue
            if pair not in by_pair:
                problems.append(f"line {line}: no frame with episode {pair[0]}, step {pair[1]} in this dataset")
                continue
            frame = by_pair[pair]
        rater = str(rec.get("rater", "") or "").strip() or default
        try:
            rater = check_rater(rater)
        except InvalidInputError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        rows.append((frame, rater, label))
    if problems:
        shown = problems[:_MAX_LISTED]
        more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise InvalidInputError(
            f"the CSV file has {len(problems)} bad row(s); nothing was imported:\n  - " + "\n  - ".join(shown) + more
        )
    return rows, n_empty


def _check_identity(df: pd.DataFrame, identity: DatasetIdentity) -> None:
    """Refuse a CSV whose ``dataset`` / ``dataset_digest`` columns name another dataset."""
    names = sorted({str(v).strip() for v in df["dataset"]} - {""}) if "dataset" in df.columns else []
    digests = sorted({str(v).strip() for v in df["dataset_digest"]} - {""}) if "dataset_digest" in df.columns else []
    wrong_name = any(n != identity.name for n in names)
    wrong_digest = any(d != identity.digest for d in digests)
    if wrong_name or wrong_digest:
        theirs = ", ".join(names) or "an unnamed dataset"
        what = f"'{theirs}'" + (f" (frames digest {', '.join(digests)})" if digests else "")
        raise InvalidInputError(
            f"this file holds labels of the dataset {what}, not of '{identity.name}' (frames digest "
            f"{identity.digest}); nothing was imported. Import it into the app of the dataset it came from"
            + ("; the frames differ even though the frame paths may look alike" if wrong_digest and not wrong_name else "")
            + "."
        )


def labels_csv(current: pd.DataFrame, index: pd.DataFrame, dataset: str, digest: str = "") -> str:
    """Current labels (not skips) as CSV: ``dataset, dataset_digest, frame, episode, step, rater, label, time``.

    ``digest`` is the dataset's frames digest (:func:`rmeval.labeling.frame_ids.dataset_identity`),
    so an import checks that the file belongs to the dataset. :func:`parse_labels_csv`
    reads this format back.
    """
    lab = current[current["label"].notna()]
    meta = index[["frame", "episode", "step"]].astype({"frame": object})
    df = lab.merge(meta, on="frame", how="left")
    df.insert(0, "dataset", dataset)
    df.insert(1, "dataset_digest", digest)
    df["episode"] = df["episode"].astype("Int64")
    df["step"] = df["step"].astype("Int64")
    df["time"] = pd.to_datetime(df["time"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    buf = io.StringIO()
    df[["dataset", "dataset_digest", "frame", "episode", "step", "rater", "label", "time"]].to_csv(buf, index=False)
    return buf.getvalue()


def events_csv(events: pd.DataFrame) -> str:
    """The full label history (:meth:`LabelStore.events`) as CSV, times in ISO 8601 UTC."""
    df = events.copy()
    df["time"] = pd.to_datetime(df["time"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue()
