"""Streamlit pages of the labelling app (run by ``app.py``; they only render).

Each page is a script Streamlit runs as ``__main__``; importing a page module does not
render anything. :mod:`rmeval.labeling.pages.common` loads the dataset, the database and
the rater for every page.
"""
