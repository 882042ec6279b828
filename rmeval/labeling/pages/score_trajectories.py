"""Score trajectories: watch an episode, record how many timesteps the agent performs the task.

Keys: 1-5 save 0 / 25 / 50 / 75 / 100 % of the episode's timesteps; Left / Right previous /
next episode; J next episode you have not scored. A percentage button stores that share of
the episode's timesteps rounded to the nearest whole timestep, halves up (the button shows
the count it stores); "Save exact count" stores the count typed.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from rmeval.errors import RmevalError
from rmeval.labeling.ordering import next_position
from rmeval.labeling.pages import common
from rmeval.labeling.pages.frame_view import frames_base
from rmeval.labeling.storage import LabelStore
from rmeval.labeling.trajectories import (
    DEFAULT_THRESHOLD,
    Episode,
    episodes,
    quick_counts,
    scores_csv,
    success_rates,
)

POS = "tr_pos"
FLASH = "tr_flash"
ALL_RATERS = "All raters (mean per episode)"


@st.cache_data(show_spinner=False, max_entries=4)
def _episodes(root: str, stamp: tuple[int, int]) -> list[Episode]:
    return episodes(common.load_current_dataset(root).index)  # type: ignore[arg-type]


def _player(urls: list[str], steps: list[int], fps: float, width: int, height: int) -> None:
    """Play the episode's PNG frames as stored (lossless) with a timestep counter; pause to look closer."""
    data = json.dumps({"urls": urls, "steps": steps, "ms": round(1000 / fps)})
    components.html(
        f"""<div style="font-family:sans-serif">
<img id="f" style="width:{width}px;height:{height}px;object-fit:contain;display:block;background:#f0f2f6;border-radius:6px">
<div style="display:flex;gap:12px;align-items:center;margin-top:6px;font-size:14px;color:#31333f">
<button id="p" style="padding:3px 12px">Pause</button><span id="c" aria-live="off"></span></div></div>
<script>
const d = {data}; const img = document.getElementById("f"), c = document.getElementById("c"), b = document.getElementById("p");
const pre = d.urls.map(u => {{ const i = new Image(); i.src = u; return i; }});
let t = 0, playing = true;
function draw() {{ img.src = pre[t].src; c.textContent = "timestep " + (t + 1) + " of " + d.urls.length + " (step " + d.steps[t] + ")"; }}
b.onclick = () => {{ playing = !playing; b.textContent = playing ? "Pause" : "Play"; }};
draw(); setInterval(() => {{ if (playing) {{ t = (t + 1) % d.urls.length; draw(); }} }}, d.ms);
</script>""",
        height=height + 48,
    )


def _save_exact(store: LabelStore, dataset: str, ep: Episode, rater: str, key: str, session: str, scored: np.ndarray) -> None:
    """Save the count typed in the box ``key`` (read when the button is clicked, so nothing typed is lost)."""
    value = st.session_state.get(key)
    if value is None:
        st.session_state[FLASH] = ("error", "Type a count in the box first (nothing was saved).")
        return
    _save(store, dataset, ep, rater, int(value), session, scored)


def _save(store: LabelStore, dataset: str, ep: Episode, rater: str, n_task: int, session: str, scored: np.ndarray) -> None:
    try:
        store.add_score(dataset, ep.episode, rater, int(n_task), ep.n_steps, policy=ep.policy, session=session)
    except RmevalError as exc:
        st.session_state[FLASH] = ("error", f"Not saved: {exc}")
        return
    pos = int(st.session_state.get(POS) or 0)
    done = scored.copy()
    done[pos] = True
    nxt = next_position(np.arange(done.size), done, pos + 1)
    st.session_state[POS] = pos if nxt is None else nxt
    pct = 100 * n_task / ep.n_steps
    st.session_state[FLASH] = ("saved", f"Saved episode {ep.episode}: {n_task} of {ep.n_steps} timesteps ({pct:.4g}%).")


def _move(delta: int, n: int) -> None:
    st.session_state[POS] = int(min(n - 1, max(0, int(st.session_state.get(POS) or 0) + delta)))


def _next_unscored(scored: np.ndarray) -> None:
    pos = int(st.session_state.get(POS) or 0)
    nxt = next_position(np.arange(scored.size), scored, pos + 1)
    if nxt is None:
        st.session_state[FLASH] = ("info", "You have scored every episode.")
    else:
        st.session_state[POS] = nxt


def render() -> None:
    ctx = common.context(need_rater=True)
    assert ctx.rater is not None
    ds, store, rater = ctx.dataset, ctx.store, ctx.rater
    stamp = common.dataset_stamp(ds.root)
    eps = _episodes(str(ds.root), stamp)
    n_eps = len(eps)
    try:
        scores = store.current_scores(ds.name)
    except RmevalError as exc:
        common.fail(f"Cannot read the trajectory scores: {exc}")
    mine = scores[scores["rater"] == rater].set_index("episode")
    scored = np.array([e.episode in mine.index for e in eps], dtype=bool)

    if POS not in st.session_state or st.session_state[POS] >= n_eps:
        first = next_position(np.arange(n_eps), scored, 0)
        st.session_state[POS] = 0 if first is None else first
    pos = int(st.session_state[POS])
    ep = eps[pos]

    with st.sidebar:
        st.divider()
        fps = float(st.select_slider("Playback speed (frames/s)", options=[2, 5, 10, 20, 30], value=10, key="tr_fps"))
        st.caption("Keys: **1-5** save 0/25/50/75/100 % · **J** next unscored · **←/→** episodes")

    goal = " / ".join(ds.metadata.goal_prompts)
    st.markdown(f"##### Task: *{goal}*")
    st.caption(
        f"Episode {ep.episode} · policy **{ep.policy}** · {ep.n_steps} timesteps · "
        f"episode {pos + 1} of {n_eps} · you have scored {int(scored.sum())} of {n_eps}"
    )
    left, right = st.columns([3, 1], gap="medium")
    h, w = ds.frame_size
    width = int(min(900, 480 * w / h))
    with left:
        play, scrub = st.tabs(["Play", "Scrub frame by frame"])
        with play, st.container(border=True):
            base = "/component/" + frames_base(ds.root).strip("./").rstrip("/") + "/"
            urls = [base + ctx.frames[int(r)] for r in ep.rows]
            _player(urls, [int(x) for x in ep.steps], fps, width, round(width * h / w))
        with scrub:
            t = st.slider("Timestep", 0, ep.n_steps - 1, 0, key=f"tr_scrub_{ep.episode}")
            with st.container(border=True):
                st.image(str(ds.frame_paths([int(ep.rows[t])])[0]), width=width)
            st.caption(f"timestep {t} of {ep.n_steps} (step {int(ep.steps[t])})")

    with right:
        st.markdown(f"**In how many of the {ep.n_steps} timesteps does the agent perform the task?**")
        args = (store, ds.name, ep, rater)
        st.caption("Buttons: that share of the timesteps, rounded to a whole timestep (halves up).")
        for i, (pct, count) in enumerate(quick_counts(ep.n_steps)):
            exact = count * 100 == pct * ep.n_steps
            st.button(
                f"{pct}%  =  {count} of {ep.n_steps}" if exact else f"{pct}%  ≈  {count} of {ep.n_steps}",
                key=f"quick_{pct}", shortcut=str(i + 1), width="stretch",
                disabled=store.read_only, on_click=_save, args=(*args, count, ctx.session, scored),
            )
        prev = int(mine.loc[ep.episode, "n_task"]) if ep.episode in mine.index else None
        box = f"tr_exact_{ep.episode}"
        st.number_input(f"Exact count (0 to {ep.n_steps})", min_value=0, max_value=ep.n_steps, value=None, step=1,
                        key=box, placeholder="type a count")
        st.button("Save exact count", key="save_exact", type="primary", width="stretch", disabled=store.read_only,
                  on_click=_save_exact, args=(*args, box, ctx.session, scored))
        if prev is not None:
            st.markdown(f"Your score: **{prev} / {ep.n_steps}** ({100 * prev / ep.n_steps:.0f}%)")
        flash = st.session_state.pop(FLASH, None)
        common.show_flash(flash)
        c1, c2 = st.columns(2)
        c1.button("Prev", key="ep_prev", shortcut="Left", width="stretch", on_click=_move, args=(-1, n_eps))
        c2.button("Next", key="ep_next", shortcut="Right", width="stretch", on_click=_move, args=(1, n_eps))
        st.button("Next unscored", key="ep_jump", shortcut="J", icon=":material/skip_next:", width="stretch",
                  on_click=_next_unscored, args=(scored,))

    st.divider()
    _summary(ds.name, scores)


def _summary(dataset: str, scores: pd.DataFrame) -> None:
    st.markdown("##### Success rates")
    if scores.empty:
        st.info("No trajectory has been scored yet.")
        return
    c1, c2, c3 = st.columns([2, 2, 3])
    threshold = c1.slider("Success threshold (% of timesteps)", 0, 100, int(100 * DEFAULT_THRESHOLD), 5, key="tr_threshold") / 100
    inclusive = c2.radio("A trajectory succeeds when its share is", ["at least the threshold", "above the threshold"],
                         key="tr_inclusive") == "at least the threshold"
    raters = sorted(scores["rater"].unique())
    who = c3.selectbox("Scores of", [ALL_RATERS, *raters], key="tr_who")
    table = success_rates(scores, threshold=threshold, inclusive=inclusive, rater=None if who == ALL_RATERS else who)
    view = table.assign(
        success_rate=(100 * table["success_rate"]).round(1),
        ci=[f"[{100 * lo:.1f}, {100 * hi:.1f}]" for lo, hi in zip(table["ci_low"], table["ci_high"])],
    )[["policy", "n_trajectories", "n_success", "success_rate", "ci"]]
    st.dataframe(
        view, hide_index=True,
        column_config={"success_rate": st.column_config.NumberColumn("success rate (%)"), "ci": "95% CI (%) bootstrap"},
    )
    st.download_button(
        "Download trajectory scores (CSV)", scores_csv(scores, dataset, threshold=threshold, inclusive=inclusive),
        file_name=f"{dataset}-trajectory-scores.csv", mime="text/csv", icon=":material/download:",
    )


if __name__ == "__main__":
    render()
