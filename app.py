"""canarywatch entry point: page config, sign-in, and the navigation built from the user's roles."""

from __future__ import annotations

from urllib.parse import urlparse

import streamlit as st

from auth.session import sign_in
from db.config import ConfigError
from ui.context import app_context
from ui.navigation import navigation_for
from ui.refresher import start_summary_refresher

REQUESTED, DEEP_LINK_HONOURED = "cw_requested_link", "cw_deep_link_honoured"

st.set_page_config(page_title="canarywatch", page_icon=":material/monitoring:", layout="wide")

try:
    ctx = app_context()
except ConfigError as exc:
    st.error(f"canarywatch is misconfigured: {exc}", icon=":material/gpp_bad:")
    st.stop()
start_summary_refresher()

if REQUESTED not in st.session_state:
    # Remember the link this session was opened with: the cookie component's first rerun forgets it.
    st.session_state[REQUESTED] = (urlparse(st.context.url or "").path, st.query_params.to_dict())
user = sign_in(demo=ctx.demo, write_engine=ctx.write)
if user is None:
    # Only the sign-in view exists for a visitor: no page of the app is registered or reachable.
    st.navigation([st.Page(lambda: None, title="Sign in", url_path="signin")], position="hidden").run()
    st.stop()
pages = navigation_for(user.roles)
page = st.navigation(pages)
if not st.session_state.get(DEEP_LINK_HONOURED):
    # Open the page the session's link named, once, if this user may open it (a deep link survives the
    # cookie component's rerun and the sign-in form).
    st.session_state[DEEP_LINK_HONOURED] = True
    path, params = st.session_state[REQUESTED]
    wanted = path.rstrip("/").rsplit("/", 1)[-1]
    target = next((p for group in pages.values() for p in group if wanted and p.url_path == wanted), None)
    if target is not None and target.url_path != page.url_path:
        st.switch_page(target, query_params=params)
page.run()
