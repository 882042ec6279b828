"""Results: rater statistics, agreement, and EPIC distances from the current labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from rmeval.errors import RmevalError
from rmeval.labeling.agreement import (
    agreement_with_reference,
    disagreements,
    fleiss_from_matrix,
    label_matrix,
    pairwise_agreement,
)
from rmeval.labeling.exchange import MAJORITY, auto_labels, human_labels
from rmeval.labeling.pages import common
from rmeval.labeling.results import epic_table, labels_by_row, rater_stats
from rmeval.ranges import parse_alphas

TIES = {"none": "leave unlabelled", "goal": "goal", "not_goal": "not goal"}


def _fmt(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def render() -> None:
    ctx = common.context(need_rater=False)
    ds, store = ctx.dataset, ctx.store
    frames = ctx.frames
    try:
        current = store.current_labels(ds.name)
    except RmevalError as exc:
        common.fail(f"Cannot read the labels: {exc}")
    current = current[current["frame"].isin(set(frames))]
    matrix = label_matrix(current, frames)
    raters = list(matrix.columns)

    st.markdown(f"#### Results · {ds.name}")
    st.markdown("##### Raters")
    stats = rater_stats(current, len(frames))
    if stats.empty:
        st.info("Nobody has labelled a frame of this dataset yet. Start on **Label frames**.")
    else:
        st.dataframe(
            stats.assign(done=(100 * stats["done"]).round(1), goal_share=(100 * stats["goal_share"]).round(1)),
            hide_index=True,
            column_config={
                "done": st.column_config.NumberColumn("done (%)"),
                "goal_share": st.column_config.NumberColumn("goal (%)"),
                "first": st.column_config.DatetimeColumn("first label (UTC)", format="YYYY-MM-DD HH:mm"),
                "last": st.column_config.DatetimeColumn("last label (UTC)", format="YYYY-MM-DD HH:mm"),
            },
        )

    _agreement(ctx, current, matrix, raters)
    _epic(ctx, current, frames, raters)


def _agreement(ctx: common.Context, current: pd.DataFrame, matrix: pd.DataFrame, raters: list[str]) -> None:
    ds = ctx.dataset
    st.markdown("##### Agreement")
    if len(raters) >= 2:
        pairs = pairwise_agreement(matrix)
        st.markdown("Cohen's kappa for each pair of raters (frames both labelled):")
        st.dataframe(pairs.round(3), hide_index=True)
        if len(raters) >= 3:
            kappa, n = fleiss_from_matrix(matrix)
            st.markdown(f"Fleiss' kappa over all {len(raters)} raters: **{_fmt(kappa)}** ({n} frames with at least two labels)")
        dis = disagreements(matrix)
        st.markdown(f"Frames the raters disagree on: **{len(dis)}**")
        if not dis.empty:
            st.dataframe(dis.reset_index(), hide_index=True, height=min(400, 38 + 35 * len(dis)))
            pick = st.selectbox("Look at a frame", dis.index.tolist(), key="res_dis_frame")
            if pick:
                with st.container(border=True, width=520):
                    st.image(str(ds.root / pick), width=480, caption=pick)
    else:
        st.caption("Agreement between raters needs labels from at least two raters.")

    auto, where = auto_labels(ds.index, ds.metadata.label_rule, ctx.config.auto_column)
    if auto is None:
        st.caption(
            f"The dataset has no automatic labels (no '{ctx.config.auto_column}' column and no label rule), "
            "so human labels cannot be compared with them."
        )
        return
    if matrix.empty:
        return
    st.markdown(f"Agreement with the automatic labels ({where}):")
    extra = {"majority vote": human_labels(current, ctx.frames)} if len(raters) >= 2 else None
    table = agreement_with_reference(matrix, auto, extra=extra)
    st.dataframe(table.round(3), hide_index=True)


def _epic(ctx: common.Context, current: pd.DataFrame, frames: list[str], raters: list[str]) -> None:
    st.markdown("##### EPIC distance of cached reward models to the current labels")
    c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
    source = c1.selectbox(
        "Labels", [MAJORITY, *raters], key="res_source",
        format_func=lambda s: "Majority vote of all raters" if s == MAJORITY else f"Rater: {s}",
    )
    tie = c2.selectbox("Majority ties", list(TIES), format_func=TIES.__getitem__, key="res_tie")
    alpha_text = c3.text_input("Alphas", value="0", key="res_alphas", help="e.g. 0, or 0,0.5,1, or 0:1:0.25")
    resamples = int(c4.number_input("Resamples", 100, 10000, 1000, 100, key="res_resamples"))
    models, incomplete = common.get_cached_models(ctx)
    if not models:
        st.info(common.no_models_message(ctx, incomplete) + " Then press Refresh.")
        st.button("Refresh", on_click=common.refresh_cached_models, key="res_refresh_empty")
        return
    st.caption("Cached models: " + ", ".join(f"{m.model} ({100 * m.coverage:.0f}% of frames)" for m in models))
    try:
        alphas = parse_alphas(alpha_text)
        labels = human_labels(current, frames, source=source, tie=tie)  # type: ignore[arg-type]
        table, problems = epic_table(models, labels_by_row(frames, labels), alphas, n_resamples=resamples)
    except RmevalError as exc:
        st.warning(str(exc), icon=":material/warning:")
        return
    for model, message in problems.items():
        st.warning(f"{model}: {message}", icon=":material/warning:")
    if not table.empty:
        st.dataframe(
            table.assign(ci=[f"[{lo:.4f}, {hi:.4f}]" for lo, hi in zip(table["epic_ci_low"], table["epic_ci_high"])])[
                ["model", "precision", "alpha", "epic", "ci", "pearson_rho", "n_labelled", "n_goal"]
            ].round(4),
            hide_index=True,
            column_config={"ci": "95% CI (bootstrap)"},
        )
        if any(m.model.endswith(":random") or ":random" in m.model for m in models):
            st.caption("Models with `:random` weights test the pipeline; their numbers say nothing about pretrained models.")
    st.button("Refresh cached models", on_click=common.refresh_cached_models, key="res_refresh")


if __name__ == "__main__":
    render()
