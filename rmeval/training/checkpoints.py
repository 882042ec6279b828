"""The run folder: checkpoints, their list, the resume state, the replay buffer.

```text
runs/NAME/
  config.json          the run's configuration (JSON)
  checkpoints.csv      one row per checkpoint: step, checkpoint, episodes,
                       mean_vlm_return, mean_env_return, wall_time_s
  checkpoints/step_000000128000.zip   stable-baselines3 model + optimiser state (a pickled archive)
  replay_buffer.npz    the replay buffer at the last checkpoint (plain arrays, no pickle)
  resume.json          the last checkpoint: step, files, recent episode returns
  tb/                  TensorBoard logs
```

Every file is written through :mod:`rmeval.fileio` (a temporary name in the same folder,
fsync'd, renamed into place with ``os.replace``, atomic on POSIX), in this order: model, replay buffer,
``checkpoints.csv``, ``resume.json``. A process killed at any point leaves every listed
checkpoint loadable and ``resume.json`` naming a complete (model, buffer) pair.

``mean_vlm_return`` is the mean, over the episodes finished since the previous checkpoint
(at most the last ``stats_window``; the last finished episode when none finished since),
of the episode's summed VLM reward (empty for ground-truth runs); ``mean_env_return`` the
same for the environment's own reward; ``episodes`` counts those episodes. ``--best`` picks the checkpoint with the highest
``mean_vlm_return`` (the paper: "the checkpoint with the highest training reward"), or
``mean_env_return`` for ground-truth runs.

Stable-baselines3's checkpoints (``.zip``) hold pickled Python objects: loading one can
execute code. Load only checkpoints you made or trust. rmeval's own files here
(``config.json``, ``resume.json``, ``checkpoints.csv``, ``replay_buffer.npz``, read with
``allow_pickle=False``) never execute code when read.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from rmeval.errors import RmevalError
from rmeval.fileio import atomic_write, clean_leftovers, read_step_table, write_json, write_text

CHECKPOINTS_CSV = "checkpoints.csv"
CHECKPOINTS_DIR = "checkpoints"
RESUME_FILE = "resume.json"
BUFFER_FILE = "replay_buffer.npz"
TB_DIR = "tb"
CSV_COLUMNS: tuple[str, ...] = ("step", "checkpoint", "episodes", "mean_vlm_return", "mean_env_return", "wall_time_s")
_BUFFER_FIELDS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


# --------------------------------------------------------------------------- atomic files


def remove_temporaries(root: Path) -> int:
    """Delete temporaries a killed process left in ``root`` and its checkpoints folder (one note each)."""
    n = 0
    for folder in (root, root / CHECKPOINTS_DIR):
        n += len(clean_leftovers(folder))
        if folder.is_dir():  # names of rmeval before rmeval.fileio
            for p in folder.glob(".*.tmp-*"):
                p.unlink(missing_ok=True)
                n += 1
    return n


# --------------------------------------------------------------------------- replay buffer


def save_replay_buffer(buffer: Any, path: Path) -> None:
    """Save a stable-baselines3 ``ReplayBuffer``'s contents as ``.npz`` (arrays only, atomic).

    Only the filled rows are written (all rows once the buffer has wrapped around).
    """
    if getattr(buffer, "optimize_memory_usage", False):
        raise RmevalError("saving a replay buffer with optimize_memory_usage=True is not supported")
    n = buffer.buffer_size if buffer.full else buffer.pos
    arrays = {name: np.asarray(getattr(buffer, name)[:n]) for name in _BUFFER_FIELDS}
    meta = np.array([buffer.pos, int(buffer.full), buffer.buffer_size, buffer.n_envs], dtype=np.int64)

    def write(f: IO[bytes]) -> None:
        np.savez(f, meta=meta, **arrays)  # type: ignore[arg-type]  # (numpy's stub types **kwds as allow_pickle)

    atomic_write(path, write, what="the replay buffer")


def load_replay_buffer(buffer: Any, path: Path) -> None:
    """Fill a fresh ``ReplayBuffer`` of the same size and spaces from :func:`save_replay_buffer`'s file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            pos, full, size, n_envs = (int(v) for v in data["meta"])
            if size != buffer.buffer_size or n_envs != buffer.n_envs:
                raise RmevalError(
                    f"{path}: replay buffer of {size} rows x {n_envs} environments, but the run's buffer has "
                    f"{buffer.buffer_size} x {buffer.n_envs}"
                )
            for name in _BUFFER_FIELDS:
                arr = data[name]
                target = getattr(buffer, name)
                if arr.shape[1:] != target.shape[1:] or len(arr) > len(target):
                    raise RmevalError(f"{path}: {name} has shape {arr.shape}, the buffer {target.shape}")
                target[: len(arr)] = arr
    except (OSError, KeyError, ValueError) as exc:
        raise RmevalError(f"cannot read the replay buffer {path}: {exc}") from None
    buffer.pos = pos
    buffer.full = bool(full)


# --------------------------------------------------------------------------- checkpoint list


@dataclass(frozen=True)
class CheckpointRecord:
    """One row of ``checkpoints.csv`` (``checkpoint``: path relative to the run folder)."""

    step: int
    checkpoint: str
    episodes: int
    mean_vlm_return: float
    mean_env_return: float
    wall_time_s: float

    def row(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in CSV_COLUMNS}


def checkpoint_name(step: int) -> str:
    """Path (relative to the run folder) of the checkpoint at ``step``."""
    return f"{CHECKPOINTS_DIR}/step_{int(step):012d}.zip"


def read_checkpoints(run_dir: str | Path) -> pd.DataFrame:
    """``checkpoints.csv`` of a run as a DataFrame (empty, with the columns, when there is none)."""
    df = read_step_table(Path(run_dir) / CHECKPOINTS_CSV, CSV_COLUMNS)
    if df is None:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c.startswith(("mean", "wall")) else "object") for c in CSV_COLUMNS})
    return df


def _nan_to_none(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


class RunFolder:
    """Reads and writes a run folder's checkpoint files (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def tb_dir(self) -> Path:
        return self.root / TB_DIR

    def create(self) -> None:
        """Create the folder (it must not exist, or be empty)."""
        if self.root.exists() and (not self.root.is_dir() or any(self.root.iterdir())):
            raise RmevalError(f"{self.root} already exists; pass --resume to continue that run, or choose another --out.")
        try:
            (self.root / CHECKPOINTS_DIR).mkdir(parents=True, exist_ok=True)
            self.tb_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise RmevalError(f"cannot create the run folder {self.root}: {exc.strerror}") from None

    def checkpoints(self) -> pd.DataFrame:
        return read_checkpoints(self.root)

    def read_resume(self) -> dict[str, Any] | None:
        """The resume state, or None when no checkpoint was completed."""
        path = self.root / RESUME_FILE
        if not path.is_file():
            return None
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RmevalError(f"cannot read {path}: {exc}") from None
        for key in ("step", "checkpoint", "replay_buffer"):
            if key not in state:
                raise RmevalError(f"{path}: missing key {key!r}")
        return state

    def save_checkpoint(
        self,
        model: Any,
        step: int,
        *,
        episodes: list[dict[str, float]],
        wall_time_s: float,
        uses_vlm: bool,
        window: list[dict[str, float]] | None = None,
    ) -> CheckpointRecord:
        """Save model + optimiser, replay buffer, list row and resume state, each atomically.

        ``episodes``: the finished episodes the row's mean returns are taken over;
        ``window``: the recent episodes kept in ``resume.json`` (default: ``episodes``).
        """
        rel = checkpoint_name(step)
        (self.root / CHECKPOINTS_DIR).mkdir(parents=True, exist_ok=True)
        atomic_write(self.root / rel, lambda f: model.save(f), what="the checkpoint")
        save_replay_buffer(model.replay_buffer, self.root / BUFFER_FILE)
        chosen = list(episodes)
        vlm = float(np.mean([e["model_return"] for e in chosen])) if (chosen and uses_vlm) else float("nan")
        env = float(np.mean([e["env_return"] for e in chosen])) if chosen else float("nan")
        record = CheckpointRecord(int(step), rel, len(chosen), vlm, env, round(float(wall_time_s), 3))
        table = self.checkpoints()
        # Rows at or after this step come from a run killed after writing them but before
        # resume.json moved on; this checkpoint replaces them.
        table = table[table["step"].astype("int64") < step] if len(table) else table
        table = pd.concat([table, pd.DataFrame([record.row()])], ignore_index=True) if len(table) else pd.DataFrame([record.row()])
        write_text(self.root / CHECKPOINTS_CSV, table[list(CSV_COLUMNS)].to_csv(index=False))
        state = {
            "step": int(step),
            "checkpoint": rel,
            "replay_buffer": BUFFER_FILE,
            "wall_time_s": float(wall_time_s),
            "episodes": [{k: _nan_to_none(v) for k, v in e.items()} for e in (episodes if window is None else window)],
        }
        write_json(self.root / RESUME_FILE, state, indent=1)
        return record


def best_checkpoint(table: pd.DataFrame) -> pd.Series:
    """The row with the highest ``mean_vlm_return`` (else ``mean_env_return``); the later on ties."""
    if table.empty:
        raise RmevalError("the run has no checkpoints yet")
    for column in ("mean_vlm_return", "mean_env_return"):
        values = pd.to_numeric(table[column], errors="coerce")
        if values.notna().any():
            best = values[values == values.max()].index[-1]
            return table.loc[best]
    raise RmevalError(
        "no checkpoint has a recorded training reward (no episode had finished when they were saved); "
        "pick one with --checkpoint"
    )


__all__ = [
    "BUFFER_FILE",
    "CHECKPOINTS_CSV",
    "CHECKPOINTS_DIR",
    "CSV_COLUMNS",
    "RESUME_FILE",
    "CheckpointRecord",
    "RunFolder",
    "best_checkpoint",
    "checkpoint_name",
    "load_replay_buffer",
    "read_checkpoints",
    "remove_temporaries",
    "save_replay_buffer",
]
