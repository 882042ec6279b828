"""rmeval's labelling app: a thin router over the pages in ``rmeval/labeling/pages``.

Start it with ``rmeval label`` (see ``rmeval label --help``) or ``streamlit run app.py``.
All logic lives in plain modules under ``rmeval/labeling``; the pages only render.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from rmeval.labeling import pages

PAGES = Path(pages.__file__).parent

st.set_page_config(page_title="rmeval labelling", page_icon=":material/label:", layout="wide")
st.navigation(
    [
        st.Page(PAGES / "label_frames.py", title="Label frames", icon=":material/label:", default=True),
        st.Page(PAGES / "score_trajectories.py", title="Score trajectories", icon=":material/movie:"),
        st.Page(PAGES / "results.py", title="Results", icon=":material/analytics:"),
        st.Page(PAGES / "import_export.py", title="Import / export", icon=":material/swap_horiz:"),
    ]
).run()
