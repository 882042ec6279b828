"""Label frames: goal / not goal / skip, one frame at a time, with keyboard shortcuts.

Keys: G goal, N not goal, S skip, U undo, J next frame you have not labelled,
Left / Right previous / next frame. Every answer is committed to the database before
the next frame is shown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from rmeval.errors import RmevalError
from rmeval.labeling.ordering import ORDERS, frame_order, informativeness, next_position
from rmeval.labeling.pages import common
from rmeval.labeling.storage import LabelStore

#: Button label, keyboard shortcut and stored value of each answer.
ANSWERS: tuple[tuple[str, str, int | None], ...] = (("Goal", "G", 1), ("Not goal", "N", 0), ("Skip", "S", None))
LABEL_TEXT = {1: "Goal", 0: "Not goal", None: "Skip"}

# Session-state keys of this page.
KEY = "lf_key"
ORDER = "lf_order"
POS = "lf_pos"
FLASH = "lf_flash"


def _masks(frames: list[str], store: LabelStore, dataset: str, rater: str) -> tuple[np.ndarray, np.ndarray]:
    """(answered, labelled) bool masks by row for ``rater``: answered includes skips."""
    cur = store.current_labels(dataset, rater)
    answered_set = set(cur["frame"])
    labelled_set = set(cur.loc[cur["kind"] == "label", "frame"])
    answered = np.fromiter((f in answered_set for f in frames), dtype=bool, count=len(frames))
    labelled = np.fromiter((f in labelled_set for f in frames), dtype=bool, count=len(frames))
    return answered, labelled


def _flash(level: str, text: str) -> None:
    st.session_state[FLASH] = (level, text)


# ---------------------------------------------------------------- callbacks (run before the rerun)
def _answer(store: LabelStore, dataset: str, frames: list[str], frame: str, rater: str, label: int | None, session: str) -> None:
    try:
        store.add_label(dataset, frame, rater, label, session=session)
        answered, _ = _masks(frames, store, dataset, rater)
    except RmevalError as exc:
        _flash("error", f"Not saved: {exc}")
        return
    pos = st.session_state.get(POS)
    start = 0 if pos is None else pos + 1
    st.session_state[POS] = next_position(st.session_state[ORDER], answered, start)
    _flash("saved", f"Saved **{LABEL_TEXT[label]}** for `{frame}`.")


def _undo(store: LabelStore, dataset: str, frames: list[str], rater: str, session: str) -> None:
    try:
        event = store.undo_last(dataset, rater, session=session)
    except RmevalError as exc:
        _flash("error", f"Undo failed: {exc}")
        return
    if event is None:
        _flash("info", "Nothing to undo: you have no label in this dataset.")
        return
    order = st.session_state[ORDER]
    row = frames.index(event.frame) if event.frame in frames else None
    if row is not None:
        st.session_state[POS] = int(np.flatnonzero(order == row)[0])
    _flash("info", f"Undid **{LABEL_TEXT[event.label]}** for `{event.frame}`; it is shown again.")


def _jump(store: LabelStore, dataset: str, frames: list[str], rater: str) -> None:
    try:
        _, labelled = _masks(frames, store, dataset, rater)
    except RmevalError as exc:
        _flash("error", str(exc))
        return
    pos = st.session_state.get(POS)
    target = next_position(st.session_state[ORDER], labelled, 0 if pos is None else pos + 1)
    if target is None:
        _flash("info", "You have labelled every frame.")
    else:
        st.session_state[POS] = target


def _step(delta: int, n: int) -> None:
    pos = st.session_state.get(POS)
    if pos is None:
        st.session_state[POS] = 0 if delta > 0 else n - 1
    else:
        st.session_state[POS] = int(min(n - 1, max(0, pos + delta)))


# ---------------------------------------------------------------- rendering
def _order(ctx: common.Context, mode: str, seed: int) -> tuple[np.ndarray, str]:
    n = len(ctx.dataset)
    if mode == "informative":
        models, incomplete = common.get_cached_models(ctx)
        if not models:
            return frame_order(n, "sequential"), (
                "Showing the frames in sequential order: 'most informative first' needs rewards of cached "
                "models. " + common.no_models_message(ctx, incomplete)
            )
        rewards = np.vstack([m.rewards([0.0])[0] for m in models])
        names = ", ".join(m.model for m in models)
        return frame_order(n, "informative", scores=informativeness(rewards)), f"Ordered by the rewards of: {names}."
    return frame_order(n, mode, seed=seed), ""  # type: ignore[arg-type]


def render() -> None:
    ctx = common.context(need_rater=True)
    assert ctx.rater is not None
    ds, store, rater = ctx.dataset, ctx.store, ctx.rater
    frames = ctx.frames
    n = len(frames)

    with st.sidebar:
        st.divider()
        mode = st.selectbox("Order", list(ORDERS), format_func=ORDERS.__getitem__, key="lf_mode")
        seed = 0
        if mode == "random":
            seed = int(st.number_input("Random seed", min_value=0, value=0, step=1, key="lf_seed"))
        st.caption("Keys: **G** goal · **N** not goal · **S** skip · **U** undo · **J** next unlabelled · **←/→** browse")

    try:
        answered, labelled = _masks(frames, store, ds.name, rater)
        everyone = store.current_labels(ds.name)
    except RmevalError as exc:
        common.fail(f"Cannot read the labels: {exc}")

    key = (str(ds.root), common.dataset_stamp(ds.root), n, rater, mode, seed)
    if st.session_state.get(KEY) != key:
        order, note = _order(ctx, mode, seed)
        st.session_state[KEY] = key
        st.session_state[ORDER] = order
        st.session_state["lf_note"] = note
        st.session_state[POS] = next_position(order, answered, 0)
    order = st.session_state[ORDER]
    pos = st.session_state.get(POS)
    if st.session_state.get("lf_note"):
        st.sidebar.info(st.session_state["lf_note"])

    goal = " / ".join(ds.metadata.goal_prompts)
    st.markdown(f"##### Goal: *{goal}*")

    flash = st.session_state.pop(FLASH, None)
    left, right = st.columns([3, 1], gap="medium")
    with right:
        if pos is None:
            st.success(f"You have answered all {n} frames. Undo, browse, or jump to a skipped frame.")
            frame = None
        else:
            row = int(order[pos])
            frame = frames[row]
            mine = everyone[(everyone["rater"] == rater) & (everyone["frame"] == frame)]
            if not mine.empty:
                current = mine["label"].iloc[0]
                answer = LABEL_TEXT[None] if pd.isna(current) else LABEL_TEXT[int(current)]
                st.markdown(f"Your answer for this frame: **{answer}**")
        args = (store, ds.name, frames)
        for text, keyname, value in ANSWERS:
            st.button(
                text,
                key=f"answer_{keyname}",
                shortcut=keyname,
                type="primary" if value == 1 else "secondary",
                width="stretch",
                disabled=frame is None or store.read_only,
                on_click=_answer,
                args=(*args, frame, rater, value, ctx.session),
            )
        st.button("Undo", key="undo", shortcut="U", icon=":material/undo:", width="stretch",
                  disabled=store.read_only, on_click=_undo, args=(*args, rater, ctx.session))
        st.button("Next unlabelled", key="jump", shortcut="J", icon=":material/skip_next:", width="stretch",
                  on_click=_jump, args=(*args, rater))
        c1, c2 = st.columns(2)
        c1.button("Prev", key="prev", shortcut="Left", width="stretch", on_click=_step, args=(-1, n))
        c2.button("Next", key="next", shortcut="Right", width="stretch", on_click=_step, args=(1, n))

        common.show_flash(flash)

        n_mine = int(labelled.sum())
        n_skip = int(answered.sum() - n_mine)
        st.markdown(f"**You:** {n_mine} / {n} labelled" + (f" · {n_skip} skipped" if n_skip else ""))
        st.progress(n_mine / n if n else 0.0)
        lab_all = everyone[everyone["label"].notna()]
        n_any = len(set(lab_all["frame"]) & set(frames))
        n_raters = int(lab_all["rater"].nunique())
        st.markdown(
            f"**All raters:** {n_any} / {n} frames labelled · {len(lab_all)} labels · "
            f"{n_raters} rater{'s' if n_raters != 1 else ''}"
        )
        st.progress(n_any / n if n else 0.0)

    with left:
        if frame is None:
            st.info("No frame left to answer in this order.")
        else:
            assert pos is not None
            h, w = ds.frame_size
            width = int(min(960, 560 * w / h))
            rec = ds.index.iloc[row]
            with st.container(border=True):
                st.image(str(ds.root / frame), width=width)
            st.caption(
                f"Frame {pos + 1} of {n} in this order · row {row} · episode {int(rec['episode'])} · "
                f"step {int(rec['step'])} · `{frame}`"
            )


if __name__ == "__main__":
    render()
