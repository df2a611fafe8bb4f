"""Imported first by every page file, before its heavy imports (pandas, plotly, the queries).

Until some session has called st.navigation, Streamlit treats the `pages/` folder beside app.py as a v1
multipage app: a deep link (`/overview`) on a freshly started process runs pages/overview.py directly,
skipping app.py and sign-in. The page's guard() turns that mode off and reruns through app.py, but only
after the page's imports, which took most of the 5-8 s between health and the sign-in form on a fresh
demo (issue 13). Importing this module first does the same before anything heavy is loaded.

Only cheap modules here: it runs before the page's own imports.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

if PagesManager.uses_pages_directory:
    # the rerun raises out of this import, so the module is imported again (as a no-op) on the next run
    PagesManager.uses_pages_directory = False
    st.rerun()
