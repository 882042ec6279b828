"""Answers from the labelling page's frame view, bound to the frame the rater saw.

The frame view (a browser component, ``rmeval/labeling/frame_view/``) shows frames and
owns the keyboard. Each frame *display* gets a number ``seq`` (increasing per browser tab);
one display takes at most one answer. An answer names the frame shown, the hash of the
bytes shown, when it was shown and when the key was pressed. The browser keeps sending an
answer until the server acknowledges it, so this module stores each ``(tab, seq)`` once
(:meth:`LabelStore.add_answer`) and only for the frame it names, after checking that the
frame belongs to the dataset and that its file still has the hash shown. Anything else is
refused, with a reason the page shows; nothing is ever stored on another frame.

Operations (``ops`` in the view's value), each a dict:

- ``{"op": "answer", "seq", "frame", "hash", "label": 1 | 0 | None, "shown_at", "key_at"}``
  (times in ms since the epoch, browser clock);
- ``{"op": "undo", "seq", "target"}``: retract this tab's answer number ``target``.

The value may also carry ``foreign``: ``[{"tab", "ops"}]``, answers other tabs of the same
dataset and rater left unconfirmed in the browser (a tab closed while the server was down):
the page re-sends them under their own tab id and seq (:func:`parse_foreign`), so each is
stored once and for the frame it names, like the tab's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rmeval.errors import RmevalError
from rmeval.labeling.frame_ids import file_hash
from rmeval.labeling.storage import LabelStore

__all__ = ["Outcome", "apply_ops", "parse_foreign", "parse_ops"]

Status = Literal["stored", "already", "undone", "refused"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one operation: ``stored`` (written now), ``already`` (written before:
    a re-sent answer), ``undone``, or ``refused`` (``message`` says why)."""

    seq: int
    status: Status
    frame: str = ""
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "status": self.status, "frame": self.frame, "message": self.message}


def parse_ops(value: object) -> tuple[str, list[dict[str, Any]]]:
    """``(tab, ops sorted by seq)`` from the view's value; ``("", [])`` when it has none."""
    if not isinstance(value, Mapping):
        return "", []
    tab = value.get("tab")
    ops = value.get("ops")
    if not isinstance(tab, str) or not tab or not isinstance(ops, list):
        return "", []
    good = [op for op in ops if isinstance(op, Mapping) and isinstance(op.get("seq"), int)]
    return tab, sorted((dict(op) for op in good), key=lambda op: int(op["seq"]))


def parse_foreign(value: object) -> list[tuple[str, list[dict[str, Any]]]]:
    """``[(tab, ops sorted by seq)]`` of the other tabs' answers the view re-sends (see above)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("foreign"), list):
        return []
    own = value.get("tab")
    out = []
    for entry in value["foreign"]:
        tab, ops = parse_ops(entry)
        if tab and ops and tab != own:
            out.append((tab, ops))
    return out


def apply_ops(
    store: LabelStore,
    dataset: str,
    rater: str,
    tab: str,
    ops: Iterable[Mapping[str, Any]],
    *,
    root: str | Path,
    frames: set[str],
    hash_of: Callable[[Path], str] = file_hash,
    done: set[int] | None = None,
) -> list[Outcome]:
    """Store or refuse each operation, in ``seq`` order (see the module docstring).

    Consecutive answers are written in one transaction. ``done`` (updated here) holds the
    seqs already stored by this server process, skipped without touching the database.

    Args:
        store: the labels database.
        dataset: the dataset's name.
        rater: who answers.
        tab: the browser tab's id (``session`` of the stored events).
        ops: the operations.
        root: the dataset directory (frames are ``root / frame``).
        frames: the dataset's frame paths.
        hash_of: the hash of a frame file (default :func:`file_hash`).
        done: seqs of this tab known to be stored (a cache; the receipts in the database decide).
    """
    done = set() if done is None else done
    out: list[Outcome] = []
    batch: list[tuple[int, str, int | None, float | None, float | None]] = []

    def flush() -> None:
        if not batch:
            return
        try:
            for seq, _event, new in store.add_answers(dataset, rater, batch, session=tab):
                done.add(seq)
                frame = next(b[1] for b in batch if b[0] == seq)
                out.append(Outcome(seq, "stored" if new else "already", frame=frame))
        except RmevalError as exc:
            out.extend(Outcome(b[0], "refused", frame=b[1], message=f"not saved: {exc}") for b in batch)
        batch.clear()

    for op in ops:
        seq = int(op["seq"])
        if seq in done:
            out.append(Outcome(seq, "already", frame=str(op.get("frame", ""))))
            continue
        kind = op.get("op")
        if kind == "answer":
            checked = _check_answer(seq, op, Path(root), frames, hash_of)
            if isinstance(checked, Outcome):
                out.append(checked)
            else:
                batch.append(checked)
            continue
        flush()
        try:
            if kind == "undo":
                target = op.get("target")
                if not isinstance(target, int):
                    out.append(Outcome(seq, "refused", message="an undo without the answer it takes back"))
                    continue
                event = store.retract_answer(dataset, rater, session=tab, seq=seq, target_seq=target)
                done.add(seq)
                out.append(Outcome(seq, "undone", frame="" if event is None else event.frame))
            else:
                out.append(Outcome(seq, "refused", message=f"unknown operation {kind!r}"))
        except RmevalError as exc:
            out.append(Outcome(seq, "refused", frame=str(op.get("frame", "")), message=f"not saved: {exc}"))
    flush()
    return sorted(out, key=lambda o: o.seq)


def _check_answer(
    seq: int, op: Mapping[str, Any], root: Path, frames: set[str], hash_of: Callable[[Path], str]
) -> Outcome | tuple[int, str, int | None, float | None, float | None]:
    """The answer as a row for :meth:`LabelStore.add_answers`, or why it is refused."""
    frame = op.get("frame")
    label = op.get("label")
    if not isinstance(frame, str) or frame not in frames:
        return Outcome(seq, "refused", frame=str(frame), message=f"{frame!r} is not a frame of this dataset")
    if label not in (0, 1, None) or isinstance(label, bool):
        return Outcome(seq, "refused", frame=frame, message=f"{label!r} is not an answer (1, 0 or skip)")
    shown = op.get("hash")
    try:
        now = hash_of(root / frame)
    except OSError as exc:
        return Outcome(seq, "refused", frame=frame, message=f"cannot read {frame}: {exc.strerror}")
    if shown != now:
        return Outcome(
            seq, "refused", frame=frame,
            message=f"{frame} changed on disk since it was shown (hash {shown} shown, {now} now); reload the page",
        )
    shown_at, key_at = _seconds(op.get("shown_at")), _seconds(op.get("key_at"))
    if shown_at is not None and key_at is not None and key_at < shown_at:
        return Outcome(seq, "refused", frame=frame, message=f"the key came before {frame} was shown")
    return seq, frame, label, shown_at, key_at


def _seconds(ms: object) -> float | None:
    """Browser milliseconds since the epoch as Unix seconds (None when missing)."""
    if isinstance(ms, bool) or not isinstance(ms, int | float):
        return None
    return float(ms) / 1000.0
