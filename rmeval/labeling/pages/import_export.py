"""Import / export: labels into the dataset's label column, CSV downloads, imports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from rmeval.dataset import load_dataset
from rmeval.errors import RmevalError
from rmeval.labeling.exchange import (
    AUTO_LABEL_COLUMN,
    MAJORITY,
    apply_labels,
    events_csv,
    export_to_dataset,
    human_labels,
    labels_csv,
    labels_from_index,
    parse_labels_csv,
)
from rmeval.labeling.pages import common
from rmeval.labeling.trajectories import scores_csv

FLASH = "io_flash"
TIES = {"none": "leave unlabelled", "goal": "goal", "not_goal": "not goal"}


def _flash(level: str, text: str, where: str = "top") -> None:
    st.session_state[FLASH] = (level, text, where)


def _show_flash(where: str) -> None:
    """The last action's message, shown where that action's button is (so it is in view)."""
    flash = st.session_state.get(FLASH)
    if flash and flash[2] == where:
        st.session_state.pop(FLASH)
        with st.container(key=f"io_msg_{where}"):
            {"error": st.error, "success": st.success, "info": st.info}[flash[0]](flash[1])
        # scroll the page so that the message is in view (the button may be far down the page)
        components.html(
            "<script>const el = window.parent.document.querySelector('.st-key-io_msg_" + where + "');"
            "if (el) el.scrollIntoView({block: 'center'});</script>",
            height=0,
        )


def render() -> None:
    ctx = common.context(need_rater=False)
    ds, store = ctx.dataset, ctx.store
    frames = ctx.frames
    try:
        current = store.current_labels(ds.name)
        scores = store.current_scores(ds.name)
        events = store.events(ds.name)
    except RmevalError as exc:
        common.fail(f"Cannot read the labels: {exc}")
    raters = sorted(current.loc[current["label"].notna(), "rater"].unique())

    st.markdown(f"#### Import / export · {ds.name}")
    _show_flash("top")
    identity = common.current_identity(ds)

    # ------------------------------------------------------------ export into the dataset
    st.markdown("##### Write labels into the dataset")
    st.caption(
        f"Replaces the `label` column of `{ds.root / 'index.parquet'}` (atomically), so `rmeval epic "
        f"--dataset {ds.root}` uses the human labels. The first export of a dataset whose labels came from a "
        f"rule keeps the old labels in the column `{AUTO_LABEL_COLUMN}`."
    )
    c1, c2 = st.columns(2)
    source = c1.selectbox(
        "Labels from", [MAJORITY, *raters], key="io_source",
        format_func=lambda s: "Majority vote of all raters" if s == MAJORITY else f"Rater: {s}",
    )
    tie = c2.selectbox("Majority ties", list(TIES), format_func=TIES.__getitem__, key="io_tie")
    keep = st.checkbox("Keep the old label of frames that have no human label", key="io_keep")
    labels = human_labels(current, frames, source=source, tie=tie)  # type: ignore[arg-type]
    _, preview = apply_labels(ds.index, labels, keep_unlabelled=keep)
    st.write(f"Preview: {preview.message()}.")
    if st.button("Write labels into index.parquet...", type="primary", key="io_export", disabled=preview.n_labelled == 0):
        st.session_state["io_confirm"] = True
    if st.session_state.get("io_confirm"):
        with st.container(border=True):
            st.warning(
                f"This rewrites `{ds.root / 'index.parquet'}`: **{preview.n_set}** label(s) set or changed, "
                f"**{preview.n_cleared}** cleared, {preview.n_frames - preview.n_changed} unchanged "
                f"({preview.n_labelled} of {preview.n_frames} frames labelled afterwards). Write it?",
                icon=":material/warning:",
            )
            y, n = st.columns(2)
            if y.button("Yes, write index.parquet", type="primary", key="io_export_yes"):
                st.session_state.pop("io_confirm", None)
                try:
                    _, summary = export_to_dataset(ds, labels, keep_unlabelled=keep)
                except RmevalError as exc:
                    _flash("error", f"Not written: {exc}", "export")
                else:
                    _flash("success", f"Wrote the labels into {ds.root / 'index.parquet'}: {summary.message()}.", "export")
                st.rerun()
            if n.button("Cancel", key="io_export_no"):
                st.session_state.pop("io_confirm", None)
                _flash("info", "Nothing was written.", "export")
                st.rerun()
    _show_flash("export")

    # ------------------------------------------------------------ downloads
    st.markdown("##### Download")
    d1, d2, d3 = st.columns(3)
    d1.download_button("Current labels (CSV)", labels_csv(current, ds.index, ds.name, identity.digest), f"{ds.name}-labels.csv",
                       "text/csv", icon=":material/download:", key="io_dl_labels")
    d2.download_button("Full label history (CSV)", events_csv(events), f"{ds.name}-label-events.csv",
                       "text/csv", icon=":material/download:", key="io_dl_events")
    d3.download_button("Trajectory scores (CSV)", scores_csv(scores, ds.name), f"{ds.name}-trajectory-scores.csv",
                       "text/csv", icon=":material/download:", key="io_dl_scores")

    # ------------------------------------------------------------ imports
    st.markdown("##### Import labels")
    st.caption("Imported labels are stored as label events of the rater you name; importing the same labels twice adds nothing.")
    t1, t2, t3 = st.tabs(["From this dataset's label column", "From another dataset", "From a CSV file"])
    with t1:
        rater = st.text_input("Store them as rater", value=f"{ds.name}:label", key="io_self_rater")
        if st.button("Import", key="io_import_self", disabled=store.read_only):
            _import_index(ctx, ds.index, rater, "label", f"import:{ds.root.name}/index.parquet", "self")
        _show_flash("self")
    with t2:
        path = st.text_input("Dataset directory", key="io_other_path", placeholder="/path/to/dataset")
        column = st.text_input("Column", value="label", key="io_other_column")
        rater2 = st.text_input("Store them as rater", value="imported", key="io_other_rater")
        if st.button("Import", key="io_import_other", disabled=store.read_only or not path.strip()):
            try:
                other = load_dataset(Path(path.strip()).expanduser(), check_frames=False)
            except RmevalError as exc:
                _flash("error", f"Cannot load that dataset: {exc}", "other")
                st.rerun()
            else:
                _import_index(ctx, other.index, rater2, column, f"import:{other.root}", "other")
        _show_flash("other")
    with t3:
        st.caption("Columns: `frame,label[,rater]` or `episode,step,label[,rater]`; label 1/0, goal/not goal, yes/no.")
        upload = st.file_uploader("CSV file", type=["csv"], key="io_csv")
        rater3 = st.text_input("Rater for rows without one", value="imported", key="io_csv_rater")
        if st.button("Import", key="io_import_csv", disabled=store.read_only or upload is None):
            assert upload is not None
            try:
                rows, n_empty = parse_labels_csv(upload.getvalue(), ds.index, default_rater=rater3, identity=identity)
                n_new = store.add_labels(ds.name, rows, source=f"import:{upload.name}", session=ctx.session)
            except RmevalError as exc:
                _flash("error", f"Nothing imported from {upload.name}: {exc}", "csv")
            else:
                skipped = f"; {n_empty} row(s) with an empty label skipped" if n_empty else ""
                _flash("success", f"Imported {n_new} new label(s) from {upload.name} ({len(rows) - n_new} already there{skipped}).", "csv")
            st.rerun()
        _show_flash("csv")


def _import_index(ctx: common.Context, index: pd.DataFrame, rater: str, column: str, source: str, where: str) -> None:
    try:
        rows, unmatched = labels_from_index(index, ctx.dataset.index, rater=rater, column=column)
        n = ctx.store.add_labels(ctx.dataset.name, rows, source=source, session=ctx.session)
    except RmevalError as exc:
        _flash("error", f"Nothing imported: {exc}", where)
    else:
        extra = f"; {unmatched} labelled frame(s) are not in this dataset" if unmatched else ""
        _flash("success", f"Imported {n} new label(s) as rater '{rater}' ({len(rows) - n} already there{extra}).", where)
    st.rerun()


if __name__ == "__main__":
    render()
