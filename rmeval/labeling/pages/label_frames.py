"""Label frames: goal / not goal / skip, one frame at a time, with keyboard shortcuts.

Keys: G goal, N not goal, S skip, U undo, J next frame you have not labelled,
Left / Right previous / next frame. The frame view (:mod:`.frame_view`) shows the next
frame at once, without waiting for the server, and binds every answer to the frame on
screen; :mod:`rmeval.labeling.answers` stores it for that frame or refuses it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from rmeval.errors import RmevalError
from rmeval.labeling.answers import Outcome, apply_ops, parse_foreign, parse_ops
from rmeval.labeling.exchange import auto_labels
from rmeval.labeling.ordering import ORDERS, frame_order, informativeness
from rmeval.labeling.pages import common
from rmeval.labeling.pages.frame_view import frame_packs, frame_view, frames_base, restart_command

# Session-state keys of this page.
KEY = "lf_key"
ORDER = "lf_order"
SKIP = -1  # a skip, in the answers sent to the view
DONE = "lf_done"  # seqs of each tab stored by this server process


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


def _instructions(ctx: common.Context) -> None:
    ds = ctx.dataset
    meta = ds.metadata
    with st.expander("Instructions", icon=":material/info:"):
        st.markdown(
            "Answer **Goal** when the frame shows the goal below, **Not goal** when it does not, **Skip** when "
            "you cannot tell. Each answer is saved for the frame on screen when you press the key; the next "
            "frame appears at once. A frame you come back to shows your answer (a tick on its button)."
        )
        st.markdown("**Goal:** " + " / ".join(f"*{p}*" for p in meta.goal_prompts))
        if meta.baseline_prompts:
            st.markdown("**Baseline (the usual, non-goal state):** " + " / ".join(f"*{p}*" for p in meta.baseline_prompts))
        auto, where = auto_labels(ds.index, meta.label_rule)
        if meta.label_rule:
            st.markdown(f"**Automatic labels** come from the rule: `{meta.label_rule}`.")
        if auto is None:
            st.caption("This dataset has no automatic labels, so there are no example frames.")
            return
        st.caption(f"Examples from {where}:")
        values = auto.to_numpy(dtype="float64", na_value=np.nan)
        cols = st.columns(4)
        k = 0
        for value, text in ((1.0, "goal"), (0.0, "not goal")):
            rows = np.flatnonzero(values == value)[:2]
            for r in rows:
                with cols[k % 4]:
                    st.image(str(ds.root / ctx.frames[int(r)]), caption=f"Example: {text}", width="stretch")
                k += 1


def _store_answers(ctx: common.Context) -> tuple[list[Outcome], list[dict[str, Any]]]:
    """Store what the view sent (answers bound to the frames shown): the outcomes of this tab's
    answers, and ``[{tab, outcomes}]`` of the other tabs' answers it re-sent."""
    assert ctx.rater is not None
    value = st.session_state.get("lf_view")
    done_by_tab = st.session_state.setdefault(DONE, {})
    frames = set(ctx.frames)

    def apply(tab: str, ops: list[dict[str, Any]]) -> list[Outcome]:
        assert ctx.rater is not None
        return apply_ops(ctx.store, ctx.dataset.name, ctx.rater, tab, ops, root=ctx.dataset.root,
                         frames=frames, done=done_by_tab.setdefault(tab, set()))

    tab, ops = parse_ops(value)
    own = apply(tab, ops) if ops else []
    adopted = [{"tab": t, "outcomes": [o.as_dict() for o in apply(t, o_)]} for t, o_ in parse_foreign(value)]
    return own, adopted


@st.fragment
def _view(ctx: common.Context, order: np.ndarray, order_key: str) -> None:
    """The frame view. A key in it reruns only this fragment: store the answers, send the acks."""
    assert ctx.rater is not None
    ds, store, rater, frames = ctx.dataset, ctx.store, ctx.rater, ctx.frames
    outcomes, adopted = _store_answers(ctx)
    try:
        mine = store.current_labels(ds.name, rater)
    except RmevalError as exc:
        common.fail(f"Cannot read the labels: {exc}")
    given = {f: (SKIP if pd.isna(v) else int(v)) for f, v in zip(mine["frame"], mine["label"])}
    ordered = [int(r) for r in order]
    h, w = ds.frame_size
    value = st.session_state.get("lf_view")
    held = isinstance(value, dict) and value.get("have") == order_key  # the view has this order already
    static: dict[str, Any] = {"order": None, "hashes": None, "info": None, "packs": None}
    if not held:
        hashes = common.current_frame_hashes(ds)
        idx = ds.index
        in_order = [frames[r] for r in ordered]
        static = {
            "order": in_order,
            "packs": frame_packs(ds.root, common.dataset_stamp(ds.root), in_order),
            "hashes": [hashes[r] for r in ordered],
            "info": [f"row {r} · episode {int(idx['episode'].iat[r])} · step {int(idx['step'].iat[r])}" for r in ordered],
        }
    frame_view(
        key="lf_view",
        dataset=ds.name,
        identity=str(common.current_identity(ds)),
        rater=rater,
        order_key=order_key,
        **static,
        answers=[given.get(frames[r]) for r in ordered],
        outcomes=[o.as_dict() for o in outcomes],
        adopted=adopted,
        base=frames_base(ds.root),
        frame_w=int(w),
        frame_h=int(h),
        max_height=560,
        read_only=bool(store.read_only),
        restart=restart_command(ds.root, store.path),
    )


def render() -> None:
    ctx = common.context(need_rater=True)
    assert ctx.rater is not None
    ds, store, rater = ctx.dataset, ctx.store, ctx.rater
    frames = ctx.frames
    n = len(frames)
    stamp = common.dataset_stamp(ds.root)

    with st.sidebar:
        st.divider()
        mode = st.selectbox("Order", list(ORDERS), format_func=ORDERS.__getitem__, key="lf_mode")
        seed = 0
        if mode == "random":
            seed = int(st.number_input("Random seed", min_value=0, value=0, step=1, key="lf_seed"))
        st.caption("Keys: **G** goal · **N** not goal · **S** skip · **U** undo · **J** next unlabelled · **←/→** browse")


    key = (str(ds.root), stamp, n, rater, mode, seed)
    if st.session_state.get(KEY) != key:
        order, note = _order(ctx, mode, seed)
        st.session_state[KEY] = key
        st.session_state[ORDER] = order
        st.session_state["lf_note"] = note
    order = st.session_state[ORDER]
    if st.session_state.get("lf_note"):
        st.sidebar.info(st.session_state["lf_note"])

    goal = " / ".join(ds.metadata.goal_prompts)
    st.markdown(f"##### Goal: *{goal}*")
    _instructions(ctx)

    _view(ctx, order, repr(key))  # stores what the view sent, first

    try:
        everyone = store.current_labels(ds.name)
    except RmevalError as exc:
        common.fail(f"Cannot read the labels: {exc}")

    lab_all = everyone[everyone["label"].notna()]
    n_any = len(set(lab_all["frame"]) & set(frames))
    n_raters = int(lab_all["rater"].nunique())
    st.markdown(
        f"**All raters:** {n_any} / {n} frames labelled · {len(lab_all)} labels · "
        f"{n_raters} rater{'s' if n_raters != 1 else ''}"
    )
    st.progress(n_any / n if n else 0.0)


if __name__ == "__main__":
    render()
