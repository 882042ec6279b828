"""What every page needs: settings, the dataset, the labels database and the rater.

Errors (a missing or malformed dataset, a database that is not rmeval's or is
read-only, an empty rater name) are shown in the page with ``st.error``; the page then
stops. Nothing here writes labels.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
import streamlit as st

from rmeval.dataset import Dataset, load_dataset
from rmeval.errors import InvalidInputError, RmevalError
from rmeval.labeling.cached_rewards import CachedModel, cached_models, has_cached_models
from rmeval.labeling.config import AppConfig, config_from_env
from rmeval.labeling.frame_ids import DatasetIdentity, dataset_identity, frame_hashes
from rmeval.labeling.storage import LabelStore, check_rater, default_db_path

#: Session-state keys shared by the pages.
RATER = "rater"
SESSION = "session_id"


@dataclass
class Context:
    """The loaded app state for one script run."""

    config: AppConfig
    dataset: Dataset
    store: LabelStore
    rater: str | None
    session: str

    @property
    def frames(self) -> list[str]:
        """Frame paths in dataset row order."""
        return self.dataset.index["frame"].astype(str).tolist()


def dataset_stamp(root: Path) -> tuple[int, int]:
    """Changes when the dataset's index or metadata is rewritten (e.g. by an export)."""
    out = []
    for name in ("index.parquet", "metadata.json"):
        try:
            out.append((root / name).stat().st_mtime_ns)
        except OSError:
            out.append(0)
    return out[0], out[1]


@st.cache_resource(show_spinner="Loading the dataset...", max_entries=4)
def _load_dataset(path: str, stamp: tuple[int, int]) -> Dataset:
    return load_dataset(path)


def load_current_dataset(path: Path) -> Dataset:
    """The dataset at ``path`` (cached until its index or metadata changes)."""
    root = Path(path).expanduser().absolute()
    return _load_dataset(str(root), dataset_stamp(root))


@st.cache_data(show_spinner="Hashing the frames...", max_entries=4)
def _frame_hashes(root: str, stamp: tuple[int, int], frames: tuple[str, ...]) -> list[str]:
    return frame_hashes(root, frames)


def current_frame_hashes(dataset: Dataset) -> list[str]:
    """The hash of each frame file in row order (computed once per dataset version)."""
    frames = tuple(dataset.index["frame"].astype(str))
    return _frame_hashes(str(dataset.root), dataset_stamp(dataset.root), frames)


def current_identity(dataset: Dataset) -> DatasetIdentity:
    """The dataset's identity (its name and the digest of its frames)."""
    frames = dataset.index["frame"].astype(str).tolist()
    return dataset_identity(dataset.name, frames, current_frame_hashes(dataset))


def fail(message: str, hint: str = "", detail: str = "") -> NoReturn:
    """Show an error in the page (``detail`` as wrapped plain text below it) and stop this run."""
    st.error(message + (f"\n\n{hint}" if hint else ""), icon=":material/error:")
    if detail:
        st.code(detail, language=None, wrap_lines=True)
    st.stop()


def session_id() -> str:
    if SESSION not in st.session_state:
        st.session_state[SESSION] = uuid.uuid4().hex[:12]
    return str(st.session_state[SESSION])


def _rater_from_state() -> str | None:
    name = st.session_state.get(RATER)
    if not name:
        q = st.query_params.get("rater")
        if q:
            try:
                name = check_rater(q)
                st.session_state[RATER] = name
            except InvalidInputError:
                name = None
    return str(name) if name else None


def _set_rater() -> None:
    try:
        name = check_rater(st.session_state.get("rater_input", ""))
    except InvalidInputError as exc:
        st.session_state["rater_error"] = str(exc)
        return
    st.session_state.pop("rater_error", None)
    st.session_state[RATER] = name
    st.query_params["rater"] = name


def _change_rater() -> None:
    st.session_state.pop(RATER, None)
    if "rater" in st.query_params:
        del st.query_params["rater"]


def ask_rater() -> None:
    """The one-time 'who are you' form; stops the run until a name is given."""
    with st.container(width=520):
        st.subheader("Who is labelling?")
        st.write("Your name is stored with every label, so several people can label the same dataset.")
        with st.form("rater_form", border=False):
            st.text_input("Your name", key="rater_input", placeholder="e.g. alice", max_chars=80)
            st.form_submit_button("Start", type="primary", on_click=_set_rater)
        if st.session_state.get("rater_error"):
            st.error(st.session_state["rater_error"], icon=":material/error:")
    st.stop()


def open_store(config: AppConfig, dataset: Dataset) -> LabelStore:
    db = config.db if config.db is not None else default_db_path(dataset.name)
    try:
        return LabelStore.open(db)
    except RmevalError as exc:
        fail(f"The labels database cannot be used. {exc}", "Start the app with `rmeval label --db PATH` to use another file.")


#: Less empty space above the page content, so a frame and its buttons fit a laptop screen.
_STYLE = "<style>.stMainBlockContainer { padding-top: 2.5rem; }</style>"


def context(*, need_rater: bool) -> Context:
    """Load settings, dataset and database (showing any problem in the page) and the rater."""
    st.html(_STYLE)
    config = config_from_env()
    try:
        dataset = load_current_dataset(config.dataset)
    except RmevalError as exc:
        fail(
            f"The dataset at `{config.dataset}` cannot be loaded (details below).",
            "Start the app with `rmeval label --dataset DIR` pointing at an rmeval dataset "
            "(a directory with metadata.json, index.parquet and frames/).",
            detail=str(exc),
        )
    store = open_store(config, dataset)
    from rmeval.labeling.pages.frame_view import restart_command, server_watch

    server_watch(restart_command(dataset.root, store.path))
    rater = _rater_from_state()
    sidebar(config, dataset, store, rater)
    if store.read_only:
        st.warning(
            f"The labels database is **read-only** ({store.read_only_reason}): you can look, "
            "but labels cannot be saved.",
            icon=":material/lock:",
        )
    if need_rater and rater is None:
        ask_rater()
    return Context(config=config, dataset=dataset, store=store, rater=rater, session=session_id())


def sidebar(config: AppConfig, dataset: Dataset, store: LabelStore, rater: str | None) -> None:
    with st.sidebar:
        st.markdown(f"**Dataset:** {dataset.name}  \n{len(dataset)} frames")
        st.caption(f"`{dataset.root}`")
        st.markdown("**Labels database:**" + (" (read-only)" if store.read_only else ""))
        st.caption(f"`{store.path}`")
        if rater:
            st.markdown(f"**Rater:** {rater}")
            st.button("Change rater", on_click=_change_rater, type="tertiary", key="change_rater")


def labels_as_float(labels: pd.Series) -> np.ndarray:
    """Int8 labels with <NA> as a float array with NaN."""
    return labels.to_numpy(dtype="float64", na_value=np.nan)


def show_flash(flash: tuple[str, str] | None) -> None:
    """The message the last click left: an error, a quiet "saved" caption, or information."""
    if not flash:
        return
    level, text = flash
    if level == "error":
        st.error(text, icon=":material/error:")
    elif level == "saved":
        st.caption(text)
    else:
        st.info(text)


def show_error(exc: Exception) -> None:
    st.error(str(exc), icon=":material/error:")


@st.cache_resource(show_spinner="Looking up cached embeddings of the frames...", max_entries=4)
def _cached_models(
    root: str, stamp: tuple[int, int], cache_dir: str | None, goal: tuple[str, ...], baseline: tuple[str, ...]
) -> tuple[list[CachedModel], list[str]]:
    dataset = load_current_dataset(Path(root))
    incomplete: list[str] = []
    models = cached_models(dataset, list(goal), list(baseline), cache_dir=cache_dir, incomplete=incomplete)
    return models, incomplete


def get_cached_models(ctx: Context) -> tuple[list[CachedModel], list[str]]:
    """Models with cached embeddings of this dataset's frames and prompts, and the ids of
    models with cached frames but no cached prompt embeddings (computed once per dataset version)."""
    if not has_cached_models(ctx.config.cache_dir):
        return [], []
    meta = ctx.dataset.metadata
    return _cached_models(
        str(ctx.dataset.root),
        dataset_stamp(ctx.dataset.root),
        None if ctx.config.cache_dir is None else str(ctx.config.cache_dir),
        tuple(meta.goal_prompts),
        tuple(meta.baseline_prompts),
    )


def refresh_cached_models() -> None:
    _cached_models.clear()


def no_models_message(ctx: Context, incomplete: list[str]) -> str:
    """What to run so that cached rewards exist for this dataset."""
    cmd = f"rmeval epic --dataset {ctx.dataset.root} --models MODEL"
    if ctx.config.cache_dir is not None:
        cmd += f" --cache-dir {ctx.config.cache_dir}"
    if incomplete:
        return (
            f"The cache holds frame embeddings from {', '.join(incomplete)} but not the embeddings of the goal "
            f"prompt. Run `{cmd}` once: it caches both."
        )
    return f"No cached embeddings of this dataset's frames were found. Run `{cmd}` once: it caches frames and prompts."
