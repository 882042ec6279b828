"""SQLite storage of human labels: append-only label events and trajectory scores.

## The database (an "rmeval labels database", schema version 2)

One SQLite file in WAL mode (many readers and one writer at a time, writers wait up to
``busy_timeout``). It is marked as rmeval's three ways: ``PRAGMA application_id`` =
:data:`APPLICATION_ID`, ``PRAGMA user_version`` = :data:`SCHEMA_VERSION`, and a ``meta``
table whose ``app`` row is :data:`MARKER`. A file that is not SQLite, or an SQLite file
without the marker, is refused and never modified.

Tables:

``label_events`` -- one row per click, never updated or deleted:

| column     | meaning                                                                  |
|------------|--------------------------------------------------------------------------|
| `id`       | increasing event id (the order of events; later id = later event)        |
| `dataset`  | dataset identity: the dataset's name (``metadata.json`` ``name``)        |
| `frame`    | the frame's path inside the dataset (``index.parquet`` ``frame``)        |
| `rater`    | the rater's name                                                          |
| `kind`     | ``label`` (with `label` 1 goal / 0 not goal), ``skip``, or ``retract``   |
| `label`    | 1, 0, or NULL (skip / retract)                                            |
| `retracts` | for ``retract`` events: the id of the event it takes back (Undo)          |
| `source`   | ``app``, or ``import:<what>`` for imported labels                        |
| `session`  | browser session id (for auditing)                                         |
| `time`     | Unix time (seconds) of the event                                          |

The *current* answer of a rater for a frame is that rater's latest ``label`` or ``skip``
event for the frame that no ``retract`` event points at. Undo retracts the rater's
latest such event, so the previous answer (if any) becomes current again; history is
kept. Frames are identified by (dataset name, frame path), so re-ordering or extending
a dataset's index keeps every label.

``trajectory_scores`` -- one row per saved trajectory score (the latest per rater and
episode counts): `dataset`, `episode`, `policy`, `rater`, `n_steps` (episode length),
`n_task` (timesteps in which the agent performs the task, 0..n_steps), `session`, `time`.

``answer_receipts`` -- which answers from the labelling page's frame view are stored, so a
browser that re-sends an answer (after a reconnect or a server restart) never stores it twice:
`session` (the browser tab), `seq` (the tab's answer number: one per frame display),
`event_id` (the ``label_events`` row it produced), `shown_at` / `key_at` (browser clock, Unix
seconds: when the frame appeared, when the key was pressed; NULL for undos), primary key (`session`, `seq`).

## Schema versions and upgrades

Version 1 had no ``answer_receipts``; version 2 (this one) adds it. Opening a writable
database of an older version upgrades it in place, in one transaction (:data:`MIGRATIONS`:
tables are only added, no row is changed or lost). A read-only one is read as it is. A
database of a newer version than :data:`SCHEMA_VERSION`, or of an unknown older one, is
refused with a message and not modified.

Every write is one short ``BEGIN IMMEDIATE`` transaction on its own connection,
committed (``synchronous=FULL``) before the method returns, so a label a caller was told
about survives a crash of the process right after.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import pandas as pd

from rmeval.errors import InvalidInputError, RmevalError

__all__ = [
    "APPLICATION_ID",
    "MARKER",
    "SCHEMA_VERSION",
    "LabelEvent",
    "LabelStore",
    "LabelStoreError",
    "check_rater",
    "default_db_path",
]

#: ``PRAGMA application_id`` of an rmeval labels database ("RMLB").
APPLICATION_ID = 0x524D4C42
#: ``PRAGMA user_version``: the schema version this code writes and reads.
SCHEMA_VERSION = 2
#: Value of the ``app`` row of the ``meta`` table.
MARKER = "rmeval-labels"
#: How long a writer waits for another writer's lock before giving up (ms).
BUSY_TIMEOUT_MS = 10_000
#: Longest accepted rater name.
MAX_RATER_LEN = 80

_SQLITE_HEADER = b"SQLite format 3\x00"

Kind = Literal["label", "skip", "retract"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS label_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset  TEXT NOT NULL,
    frame    TEXT NOT NULL,
    rater    TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('label', 'skip', 'retract')),
    label    INTEGER CHECK (label IN (0, 1)),
    retracts INTEGER REFERENCES label_events(id),
    source   TEXT NOT NULL DEFAULT 'app',
    session  TEXT NOT NULL DEFAULT '',
    time     REAL NOT NULL,
    CHECK ((kind = 'label') = (label IS NOT NULL)),
    CHECK ((kind = 'retract') = (retracts IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS label_events_by_rater ON label_events(dataset, rater, frame);
CREATE INDEX IF NOT EXISTS label_events_by_retracts ON label_events(retracts);
CREATE TABLE IF NOT EXISTS trajectory_scores (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset  TEXT NOT NULL,
    episode  INTEGER NOT NULL,
    policy   TEXT NOT NULL DEFAULT '',
    rater    TEXT NOT NULL,
    n_steps  INTEGER NOT NULL CHECK (n_steps >= 1),
    n_task   INTEGER NOT NULL CHECK (n_task >= 0 AND n_task <= n_steps),
    session  TEXT NOT NULL DEFAULT '',
    time     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS trajectory_scores_by_rater ON trajectory_scores(dataset, rater, episode);
"""
#: Which answers of the frame view are stored (schema 2; see :data:`MIGRATIONS`).
_RECEIPTS_TABLE = """CREATE TABLE IF NOT EXISTS answer_receipts (
    session  TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    event_id INTEGER NOT NULL REFERENCES label_events(id),
    shown_at REAL,
    key_at   REAL,
    PRIMARY KEY (session, seq)
)"""
_SCHEMA += _RECEIPTS_TABLE + ";\n"

#: Upgrade steps: ``MIGRATIONS[v]`` turns a version ``v`` database into version ``v + 1``.
#: (Version 1 databases written by rmeval after the frame view came may already hold
#: ``answer_receipts``: it was created on first use then, hence IF NOT EXISTS.)
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (_RECEIPTS_TABLE,),
}

# Latest live (not retracted) label/skip event per (rater, frame) of one dataset.
_CURRENT_SQL = """
SELECT id, frame, rater, kind, label, time FROM (
    SELECT e.id, e.frame, e.rater, e.kind, e.label, e.time,
           ROW_NUMBER() OVER (PARTITION BY e.rater, e.frame ORDER BY e.id DESC) AS rn
    FROM label_events AS e
    WHERE e.dataset = ? {rater_clause}
      AND e.kind IN ('label', 'skip')
      AND NOT EXISTS (SELECT 1 FROM label_events AS r WHERE r.retracts = e.id)
) WHERE rn = 1
ORDER BY id
"""


class LabelStoreError(RmevalError):
    """The labels database cannot be opened, read or written (the message says why and what to do)."""


@dataclass(frozen=True)
class LabelEvent:
    """One row of ``label_events``."""

    id: int
    dataset: str
    frame: str
    rater: str
    kind: str
    label: int | None
    time: float


def default_db_path(dataset_name: str, cwd: str | Path | None = None) -> Path:
    """``<cwd>/labels/<dataset_name>.sqlite``: the database ``rmeval label`` uses without ``--db``.

    Kept out of the dataset directory, which may be read-only or bundled with rmeval.
    """
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in dataset_name).strip("._") or "dataset"
    return Path(cwd or Path.cwd()) / "labels" / f"{safe}.sqlite"


def check_rater(name: object) -> str:
    """The rater name with surrounding spaces removed; InvalidInputError if unusable."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("enter your name (the rater name) before labelling: it cannot be empty")
    text = " ".join(name.split())
    if len(text) > MAX_RATER_LEN:
        raise InvalidInputError(f"the rater name is too long ({len(text)} characters; at most {MAX_RATER_LEN})")
    if any(ord(c) < 32 for c in text):
        raise InvalidInputError("the rater name contains control characters")
    return text


def _check_text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{what} must be a non-empty string, not {value!r}")
    return value


def _sqlite_message(exc: sqlite3.Error, path: Path, doing: str) -> str:
    text = str(exc)
    low = text.lower()
    if "readonly" in low or "read-only" in low:
        return (
            f"cannot {doing}: the labels database {path} is read-only ({text}). Nothing was saved. "
            "Make the file and its directory writable, or start with --db pointing at a writable path."
        )
    if "locked" in low or "busy" in low:
        return (
            f"cannot {doing}: the labels database {path} stayed locked by another program for "
            f"{BUSY_TIMEOUT_MS / 1000:g} s ({text}). Nothing was saved; try again."
        )
    if "not a database" in low or "malformed" in low:
        return f"cannot {doing}: {path} is damaged or not an SQLite database ({text})."
    if "full" in low:
        return f"cannot {doing}: the disk holding {path} is full ({text}). Nothing was saved; free some space."
    if "unable to open" in low:
        return f"cannot {doing}: cannot open {path} ({text}); check that the path and its directory exist and are accessible."
    return f"cannot {doing} in the labels database {path}: {text}"


class LabelStore:
    """An rmeval labels database (see the module docstring for the schema).

    Open with :meth:`open`. Thread- and process-safe: every method uses its own short-lived
    connection. Methods raise :class:`LabelStoreError` for database problems and
    :class:`~rmeval.errors.InvalidInputError` for bad arguments; nothing is written then.

    Attributes:
        path: absolute path of the database file.
        read_only: True when writes are refused (the file or its directory is not
            writable, or ``read_only=True`` was asked for).
        read_only_reason: why, for the page to show ('' when writable).
    """

    def __init__(self, path: Path, *, read_only: bool, read_only_reason: str = "", immutable: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.read_only_reason = read_only_reason
        self._immutable = immutable

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False, create: bool = True) -> LabelStore:
        """Open (or create) the labels database at ``path``.

        - A missing or empty (0-byte) file is created as a new database (its parent
          directories too) unless ``read_only`` or not ``create``.
        - A file that is not SQLite, an SQLite database without rmeval's marker, or one
          written by a newer rmeval raises :class:`LabelStoreError`; the file is not modified.
        - A writable database of an older schema version is upgraded in place (see the
          module docstring); a read-only one is read as it is.
        - A database whose file or directory is not writable opens read-only
          (``read_only`` is then True and ``read_only_reason`` says why).
        """
        p = Path(path).expanduser().absolute()
        if p.exists() and not p.is_file():
            raise LabelStoreError(
                f"{p} is a directory, not a labels database file; give a file path such as {p / 'labels.sqlite'}"
            )
        size = p.stat().st_size if p.exists() else 0
        if size == 0:
            if read_only or not create:
                raise LabelStoreError(f"{p}: no labels database there yet (label some frames first, or check the path)")
            cls._create(p)
            return cls(p, read_only=False)
        version = cls._check_existing(p)
        reason = cls._not_writable_reason(p)
        if read_only and not reason:
            reason = "opened read-only on request"
        if version < SCHEMA_VERSION and not reason:
            cls._migrate(p)
        store = cls(p, read_only=bool(reason), read_only_reason=reason)
        if store.read_only:
            store._immutable = not store._can_read_shared()
        return store

    @staticmethod
    def _not_writable_reason(p: Path) -> str:
        if not os.access(p, os.W_OK):
            return f"the file {p} is not writable"
        if not os.access(p.parent, os.W_OK):
            return f"its directory {p.parent} is not writable (SQLite needs to create its -wal/-shm files there)"
        for extra in (p.with_name(p.name + "-wal"), p.with_name(p.name + "-shm")):
            if extra.exists() and not os.access(extra, os.W_OK):
                return f"{extra} is not writable"
        return ""

    @staticmethod
    def _check_existing(p: Path) -> int:
        """Refuse a file that is not an rmeval labels database this code can read; its schema version."""
        try:
            with open(p, "rb") as f:
                header = f.read(len(_SQLITE_HEADER))
        except OSError as exc:
            raise LabelStoreError(f"cannot read {p}: {exc.strerror}; check its permissions") from None
        if header != _SQLITE_HEADER:
            raise LabelStoreError(
                f"{p} is not an SQLite database, so it is not an rmeval labels database. It was not "
                "modified. Choose another --db path (a new file is created there)."
            )
        try:
            con = sqlite3.connect(f"file:{quote(str(p))}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            raise LabelStoreError(_sqlite_message(exc, p, "open the database")) from None
        try:
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
            version = con.execute("PRAGMA user_version").fetchone()[0]
            has_meta = con.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone()[0]
            marker = con.execute("SELECT value FROM meta WHERE key = 'app'").fetchone() if has_meta else None
        except sqlite3.Error as exc:
            raise LabelStoreError(
                f"{p} cannot be read as an rmeval labels database ({exc}). It was not modified. "
                "Choose another --db path."
            ) from None
        finally:
            con.close()
        if app_id != APPLICATION_ID or marker is None or marker[0] != MARKER:
            raise LabelStoreError(
                f"{p} is an SQLite database but not an rmeval labels database (it lacks rmeval's "
                "marker). It was not modified. Choose another --db path (a new file is created there)."
            )
        if version > SCHEMA_VERSION:
            raise LabelStoreError(
                f"{p} was written by a newer rmeval (labels schema {version}; this rmeval reads "
                f"{SCHEMA_VERSION}). Upgrade rmeval (pip install -U rmeval), or open it with the rmeval "
                "that wrote it. The file was not modified."
            )
        if version < min(MIGRATIONS, default=SCHEMA_VERSION):
            raise LabelStoreError(
                f"{p} has an unknown labels schema version {version} (this rmeval reads "
                f"{min(MIGRATIONS)} to {SCHEMA_VERSION}). It was not modified. Choose another --db path."
            )
        return int(version)

    @staticmethod
    def _migrate(p: Path) -> None:
        """Upgrade ``p`` to :data:`SCHEMA_VERSION` in one transaction (nothing changes on failure)."""
        try:
            con = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise LabelStoreError(_sqlite_message(exc, p, "upgrade the database")) from None
        try:
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            con.execute("BEGIN IMMEDIATE")
            version = int(con.execute("PRAGMA user_version").fetchone()[0])  # another process may have done it
            while version < SCHEMA_VERSION:
                for statement in MIGRATIONS[version]:
                    con.execute(statement)
                version += 1
            con.execute(f"PRAGMA user_version = {version}")
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            raise LabelStoreError(
                _sqlite_message(exc, p, f"upgrade the labels database to schema {SCHEMA_VERSION}")
            ) from None
        finally:
            con.close()

    @staticmethod
    def _create(p: Path) -> None:
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LabelStoreError(
                f"cannot create the directory {p.parent} for the labels database ({exc.strerror}); "
                "choose a writable --db path"
            ) from None
        if not os.access(p.parent, os.W_OK):
            raise LabelStoreError(
                f"cannot create the labels database {p}: the directory {p.parent} is not writable; "
                "choose a writable --db path"
            )
        try:
            con = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise LabelStoreError(_sqlite_message(exc, p, "create the database")) from None
        try:
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            con.execute("BEGIN IMMEDIATE")
            exists = con.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone()[0]
            if not exists:  # another process may have created it meanwhile
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.execute("INSERT INTO meta (key, value) VALUES ('app', ?)", (MARKER,))
                con.execute("INSERT INTO meta (key, value) VALUES ('created', ?)", (repr(time.time()),))
                con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.execute("COMMIT")
            con.execute("PRAGMA journal_mode = WAL")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            raise LabelStoreError(_sqlite_message(exc, p, "create the database")) from None
        finally:
            con.close()
        # A file we could not mark is not ours to use.
        LabelStore._check_existing(p)

    def _can_read_shared(self) -> bool:
        try:
            con = sqlite3.connect(f"file:{quote(str(self.path))}?mode=ro", uri=True)
            try:
                con.execute("SELECT count(*) FROM meta").fetchone()
            finally:
                con.close()
            return True
        except sqlite3.Error:
            return False

    # ------------------------------------------------------------------ connections
    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            flag = "immutable=1" if self._immutable else "mode=ro"
            uri = f"file:{quote(str(self.path))}?{flag}"
        else:
            uri = f"file:{quote(str(self.path))}?mode=rw"
        con = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not self.read_only:
            con.execute("PRAGMA synchronous = FULL")
        return con

    @contextlib.contextmanager
    def _reading(self, doing: str) -> Iterator[sqlite3.Connection]:
        try:
            con = self._connect()
        except sqlite3.Error as exc:
            raise LabelStoreError(_sqlite_message(exc, self.path, doing)) from None
        try:
            yield con
        except sqlite3.Error as exc:
            raise LabelStoreError(_sqlite_message(exc, self.path, doing)) from None
        finally:
            con.close()

    @contextlib.contextmanager
    def _writing(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, committed on exit (rolled back on error)."""
        if self.read_only:
            raise LabelStoreError(
                f"cannot {doing}: the labels database {self.path} is open read-only "
                f"({self.read_only_reason}). Nothing was saved. Start with --db pointing at a writable file."
            )
        try:
            con = self._connect()
        except sqlite3.Error as exc:
            raise LabelStoreError(_sqlite_message(exc, self.path, doing)) from None
        try:
            con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise LabelStoreError(_sqlite_message(exc, self.path, doing)) from None
            raise
        finally:
            con.close()

    # ------------------------------------------------------------------ label events
    def add_label(
        self,
        dataset: str,
        frame: str,
        rater: str,
        label: int | None,
        *,
        session: str = "",
        source: str = "app",
    ) -> int:
        """Record one answer and commit it; return the new event id.

        Args:
            label: 1 goal, 0 not goal, None skip.
        """
        dataset = _check_text(dataset, "dataset")
        frame = _check_text(frame, "frame")
        rater = check_rater(rater)
        if label is not None and label not in (0, 1):
            raise InvalidInputError(f"label must be 1 (goal), 0 (not goal) or None (skip), not {label!r}")
        kind = "skip" if label is None else "label"
        with self._writing("save the label") as con:
            cur = con.execute(
                "INSERT INTO label_events (dataset, frame, rater, kind, label, source, session, time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (dataset, frame, rater, kind, None if label is None else int(label), source, session, time.time()),
            )
            return int(cur.lastrowid or 0)

    def add_labels(
        self,
        dataset: str,
        rows: Iterable[tuple[str, str, int]],
        *,
        source: str,
        session: str = "",
        skip_unchanged: bool = True,
    ) -> int:
        """Record many ``(frame, rater, label)`` answers in one transaction (all or nothing).

        With ``skip_unchanged`` an answer equal to that rater's current label of the frame
        adds no event, so importing the same file twice changes nothing. Returns the
        number of events written.
        """
        dataset = _check_text(dataset, "dataset")
        checked: list[tuple[str, str, int]] = []
        for frame, rater, label in rows:
            if label not in (0, 1):
                raise InvalidInputError(f"label of {frame!r} must be 0 or 1, not {label!r}")
            checked.append((_check_text(frame, "frame"), check_rater(rater), int(label)))
        if not checked:
            return 0
        now = time.time()
        with self._writing("import the labels") as con:
            current: dict[tuple[str, str], int | None] = {}
            if skip_unchanged:
                sql = _CURRENT_SQL.format(rater_clause="")
                for _id, frame, rater, _kind, label, _t in con.execute(sql, (dataset,)):
                    current[(rater, frame)] = label
            n = 0
            for frame, rater, label in checked:
                if skip_unchanged and current.get((rater, frame), -1) == label:
                    continue
                con.execute(
                    "INSERT INTO label_events (dataset, frame, rater, kind, label, source, session, time) "
                    "VALUES (?, ?, ?, 'label', ?, ?, ?, ?)",
                    (dataset, frame, rater, label, source, session, now),
                )
                current[(rater, frame)] = label
                n += 1
            return n

    def add_answer(
        self, dataset: str, frame: str, rater: str, label: int | None, *, session: str, seq: int,
        shown_at: float | None = None, key_at: float | None = None,
    ) -> tuple[int, bool]:
        """Record the answer number ``seq`` of browser tab ``session`` once; commit it.

        The same ``(session, seq)`` a second time stores nothing (a re-sent answer).

        Returns:
            ``(event_id, new)``: the event this answer produced and whether it was written now.
        """
        [(_, event_id, new)] = self.add_answers(dataset, rater, [(seq, frame, label, shown_at, key_at)], session=session)
        return event_id, new

    def add_answers(
        self, dataset: str, rater: str, answers: Iterable[tuple[int, str, int | None, float | None, float | None]],
        *, session: str,
    ) -> list[tuple[int, int, bool]]:
        """:meth:`add_answer` for many ``(seq, frame, label, shown_at, key_at)`` in one transaction.

        Returns ``(seq, event_id, new)`` per answer, in the order given.
        """
        dataset = _check_text(dataset, "dataset")
        rater = check_rater(rater)
        session = _check_text(session, "session")
        items = []
        for seq, frame, label, shown_at, key_at in answers:
            if label is not None and label not in (0, 1):
                raise InvalidInputError(f"label must be 1 (goal), 0 (not goal) or None (skip), not {label!r}")
            items.append((int(seq), _check_text(frame, "frame"), label, shown_at, key_at))
        out: list[tuple[int, int, bool]] = []
        if not items:
            return out
        with self._writing("save the labels") as con:
            now = time.time()
            for seq, frame, label, shown_at, key_at in items:
                row = con.execute(
                    "SELECT event_id FROM answer_receipts WHERE session = ? AND seq = ?", (session, seq)
                ).fetchone()
                if row is not None:
                    out.append((seq, int(row[0]), False))
                    continue
                cur = con.execute(
                    "INSERT INTO label_events (dataset, frame, rater, kind, label, source, session, time) "
                    "VALUES (?, ?, ?, ?, ?, 'app', ?, ?)",
                    (dataset, frame, rater, "skip" if label is None else "label",
                     None if label is None else int(label), session, now),
                )
                event_id = int(cur.lastrowid or 0)
                con.execute(
                    "INSERT INTO answer_receipts (session, seq, event_id, shown_at, key_at) VALUES (?, ?, ?, ?, ?)",
                    (session, seq, event_id, shown_at, key_at),
                )
                out.append((seq, event_id, True))
        return out

    def retract_answer(self, dataset: str, rater: str, *, session: str, seq: int, target_seq: int) -> LabelEvent | None:
        """Undo number ``seq`` of tab ``session``: retract that tab's answer ``target_seq`` once.

        Returns the retracted event, or None when that answer was never stored, is already
        retracted, or this undo was already applied (a re-sent undo changes nothing).
        """
        rater = check_rater(rater)
        session = _check_text(session, "session")
        with self._writing("undo the label") as con:
            if con.execute(
                "SELECT 1 FROM answer_receipts WHERE session = ? AND seq = ?", (session, int(seq))
            ).fetchone():
                return None
            row = con.execute(
                "SELECT e.id, e.dataset, e.frame, e.rater, e.kind, e.label, e.time FROM answer_receipts AS a "
                "JOIN label_events AS e ON e.id = a.event_id WHERE a.session = ? AND a.seq = ? "
                "AND e.dataset = ? AND e.rater = ? AND e.kind IN ('label', 'skip') "
                "AND NOT EXISTS (SELECT 1 FROM label_events AS r WHERE r.retracts = e.id)",
                (session, int(target_seq), dataset, rater),
            ).fetchone()
            if row is None:
                return None
            cur = con.execute(
                "INSERT INTO label_events (dataset, frame, rater, kind, retracts, source, session, time) "
                "VALUES (?, ?, ?, 'retract', ?, 'app', ?, ?)",
                (dataset, row[2], rater, row[0], session, time.time()),
            )
            con.execute(
                "INSERT INTO answer_receipts (session, seq, event_id) VALUES (?, ?, ?)",
                (session, int(seq), int(cur.lastrowid or 0)),
            )
            return LabelEvent(*row)

    def undo_last(self, dataset: str, rater: str, *, session: str = "") -> LabelEvent | None:
        """Retract ``rater``'s latest live answer in ``dataset``; return it (None if there is none).

        With ``session`` (a browser tab), the latest live answer given in that session is
        retracted, so a rater labelling in two tabs undoes each tab's own answers; when the
        session has none left (a reloaded page is a new session), the rater's latest live
        answer from any session. Appends a ``retract`` event; the answer before it (if any)
        becomes current again.
        """
        rater = check_rater(rater)
        latest = (
            "SELECT e.id, e.dataset, e.frame, e.rater, e.kind, e.label, e.time FROM label_events AS e "
            "WHERE e.dataset = ? AND e.rater = ? AND e.kind IN ('label', 'skip') {session_clause}"
            "AND NOT EXISTS (SELECT 1 FROM label_events AS r WHERE r.retracts = e.id) "
            "ORDER BY e.id DESC LIMIT 1"
        )
        with self._writing("undo the last label") as con:
            row = None
            if session:
                row = con.execute(latest.format(session_clause="AND e.session = ? "), (dataset, rater, session)).fetchone()
            if row is None:
                row = con.execute(latest.format(session_clause=""), (dataset, rater)).fetchone()
            if row is None:
                return None
            con.execute(
                "INSERT INTO label_events (dataset, frame, rater, kind, retracts, source, session, time) "
                "VALUES (?, ?, ?, 'retract', ?, 'app', ?, ?)",
                (dataset, row[2], rater, row[0], session, time.time()),
            )
            return LabelEvent(*row)

    def current_labels(self, dataset: str, rater: str | None = None) -> pd.DataFrame:
        """Each rater's current answer per frame.

        Returns:
            DataFrame with one row per (rater, frame) answered, in event order, columns
            ``event_id`` (int), ``frame`` (str), ``rater`` (str), ``kind`` (``label`` or
            ``skip``), ``label`` (pandas ``Int8``: 1, 0, or <NA> for a skip), ``time`` (float).
        """
        clause = "AND e.rater = ?" if rater is not None else ""
        params: tuple[str, ...] = (dataset, check_rater(rater)) if rater is not None else (dataset,)
        with self._reading("read the labels") as con:
            rows = con.execute(_CURRENT_SQL.format(rater_clause=clause), params).fetchall()
        df = pd.DataFrame(rows, columns=["event_id", "frame", "rater", "kind", "label", "time"])
        df["event_id"] = df["event_id"].astype("int64")
        df["frame"] = df["frame"].astype(object)
        df["rater"] = df["rater"].astype(object)
        df["kind"] = df["kind"].astype(object)
        df["label"] = pd.array([None if pd.isna(v) else int(v) for v in df["label"]], dtype="Int8")
        df["time"] = df["time"].astype("float64")
        return df

    def events(self, dataset: str | None = None) -> pd.DataFrame:
        """Every label event (the full history), ordered by id; all datasets when None."""
        sql = "SELECT id, dataset, frame, rater, kind, label, retracts, source, session, time FROM label_events"
        params: tuple[str, ...] = ()
        if dataset is not None:
            sql += " WHERE dataset = ?"
            params = (dataset,)
        with self._reading("read the label history") as con:
            rows = con.execute(sql + " ORDER BY id", params).fetchall()
        df = pd.DataFrame(
            rows, columns=["id", "dataset", "frame", "rater", "kind", "label", "retracts", "source", "session", "time"]
        )
        df["label"] = pd.array([None if pd.isna(v) else int(v) for v in df["label"]], dtype="Int8")
        df["retracts"] = pd.array([None if pd.isna(v) else int(v) for v in df["retracts"]], dtype="Int64")
        return df

    def raters(self, dataset: str) -> list[str]:
        """Raters with at least one event in ``dataset`` (label or trajectory score), sorted."""
        with self._reading("read the raters") as con:
            rows = con.execute(
                "SELECT rater FROM label_events WHERE dataset = ? UNION "
                "SELECT rater FROM trajectory_scores WHERE dataset = ? ORDER BY rater",
                (dataset, dataset),
            ).fetchall()
        return [r[0] for r in rows]

    def datasets(self) -> list[str]:
        """Dataset names the database holds labels or scores for."""
        with self._reading("read the datasets") as con:
            rows = con.execute(
                "SELECT dataset FROM label_events UNION SELECT dataset FROM trajectory_scores ORDER BY dataset"
            ).fetchall()
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ trajectory scores
    def add_score(
        self,
        dataset: str,
        episode: int,
        rater: str,
        n_task: int,
        n_steps: int,
        *,
        policy: str = "",
        session: str = "",
    ) -> int:
        """Record that ``rater`` saw the agent perform the task in ``n_task`` of ``n_steps`` timesteps."""
        dataset = _check_text(dataset, "dataset")
        rater = check_rater(rater)
        for name, value in (("episode", episode), ("n_task", n_task), ("n_steps", n_steps)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInputError(f"{name} must be an integer, not {value!r}")
        if n_steps < 1:
            raise InvalidInputError(f"the episode has no timesteps (n_steps = {n_steps})")
        if not 0 <= n_task <= n_steps:
            raise InvalidInputError(
                f"the number of timesteps performing the task must lie between 0 and {n_steps} (the "
                f"episode's length), not {n_task}"
            )
        with self._writing("save the trajectory score") as con:
            cur = con.execute(
                "INSERT INTO trajectory_scores (dataset, episode, policy, rater, n_steps, n_task, session, time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (dataset, int(episode), str(policy), rater, int(n_steps), int(n_task), session, time.time()),
            )
            return int(cur.lastrowid or 0)

    def current_scores(self, dataset: str, rater: str | None = None) -> pd.DataFrame:
        """Latest score per (rater, episode).

        Returns:
            DataFrame with columns ``score_id``, ``episode``, ``policy``, ``rater``,
            ``n_steps``, ``n_task``, ``time``, ordered by episode then rater.
        """
        clause = "AND rater = ?" if rater is not None else ""
        params: tuple[str, ...] = (dataset, check_rater(rater)) if rater is not None else (dataset,)
        sql = f"""
            SELECT id, episode, policy, rater, n_steps, n_task, time FROM (
                SELECT *, ROW_NUMBER() OVER (PARTITION BY rater, episode ORDER BY id DESC) AS rn
                FROM trajectory_scores WHERE dataset = ? {clause}
            ) WHERE rn = 1 ORDER BY episode, rater
        """
        with self._reading("read the trajectory scores") as con:
            rows = con.execute(sql, params).fetchall()
        df = pd.DataFrame(rows, columns=["score_id", "episode", "policy", "rater", "n_steps", "n_task", "time"])
        for col in ("score_id", "episode", "n_steps", "n_task"):
            df[col] = df[col].astype("int64")
        return df

    def counts(self, dataset: str) -> dict[str, int]:
        """Totals for a status line: ``events``, ``scores``."""
        with self._reading("read the totals") as con:
            events = con.execute("SELECT count(*) FROM label_events WHERE dataset = ?", (dataset,)).fetchone()[0]
            scores = con.execute("SELECT count(*) FROM trajectory_scores WHERE dataset = ?", (dataset,)).fetchone()[0]
        return {"events": int(events), "scores": int(scores)}

