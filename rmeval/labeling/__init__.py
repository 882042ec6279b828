"""The labelling app's logic: everything behind ``rmeval label`` / ``streamlit run app.py``.

Plain modules, tested without Streamlit:

- :mod:`rmeval.labeling.storage`: the SQLite labels database (append-only label events,
  trajectory scores, WAL, refusal of foreign files).
- :mod:`rmeval.labeling.ordering`: sequential, random and "most informative first" orders.
- :mod:`rmeval.labeling.agreement`: Cohen's and Fleiss' kappa, majority vote, disagreements.
- :mod:`rmeval.labeling.trajectories`: trajectory scores, success rates with bootstrap CIs.
- :mod:`rmeval.labeling.cached_rewards`: rewards of models found in the embedding cache.
- :mod:`rmeval.labeling.results`: rater statistics and EPIC from the current labels.
- :mod:`rmeval.labeling.exchange`: export to the dataset's label column, CSV import/export.
- :mod:`rmeval.labeling.config`: the app's settings (environment variables set by ``rmeval label``).
- :mod:`rmeval.labeling.answers`: answers from the frame view, stored only for the frame shown.
- :mod:`rmeval.labeling.frame_ids`: frame hashes and dataset identities.
- :mod:`rmeval.labeling.packs`: frames in display order, packed for the browser.

The Streamlit pages live in :mod:`rmeval.labeling.pages` (they only render); the frame view
(a custom component in plain HTML/JS, no build step) in ``rmeval/labeling/frame_view/``.
Importing this package does not import Streamlit.
"""

from __future__ import annotations
