"""canarywatch entry point: page config, sign-in, and the navigation built from the user's roles."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import streamlit as st

from auth.session import sign_in
from db.config import ConfigError
from ui.context import AppContext, app_context
from ui.navigation import navigation_for, refused_pages, spec_for_stem

REQUESTED = "cw_requested_link"  # (url path, query params) this session was opened with
PENDING = "cw_requested_link_pending"  # True until the requested page has been opened
FAVICON = Path(__file__).resolve().parent / "ui" / "favicon.png"  # served by this app: no font CDN

# the icon is set after the sign-in form is drawn: a file icon imports numpy and PIL (issue 13, fast first start)
st.set_page_config(page_title="canarywatch", layout="wide")


def demo_build_progress(ctx: AppContext, *, rerun_when_done: bool) -> None:
    """While the embedded demo database is built: a progress bar that updates itself every second
    (and, for a signed-in user waiting for a page, re-runs the app once the data is there)."""
    build = ctx.demo_build

    @st.fragment(run_every=1)
    def progress() -> None:
        if build.done.is_set():
            if build.error:
                st.error(f"The demo database could not be built ({build.error}).", icon=":material/error:")
            elif rerun_when_done:
                st.rerun(scope="app")
            else:
                st.success("The demo data is ready.", icon=":material/check:")
            return
        st.progress(build.progress(), text="Preparing the demo data: generating 30 days of synthetic activity "
                                           f"({build.elapsed():.0f} s so far; usually about 10 s)…")

    progress()


try:
    ctx = app_context()
except ConfigError as exc:
    st.error(f"canarywatch is misconfigured: {exc}", icon=":material/gpp_bad:")
    st.stop()

if REQUESTED not in st.session_state:
    # Remember the link this session was opened with: the cookie component's first rerun forgets it.
    st.session_state[REQUESTED] = (urlparse(st.context.url or "").path, st.query_params.to_dict())
    st.session_state[PENDING] = True
requested_path, requested_params = st.session_state[REQUESTED]
wanted = requested_path.strip("/").rsplit("/", 1)[-1]
user = sign_in(demo=ctx.demo, write_engine=ctx.write)
st.set_page_config(page_icon=str(FAVICON))
if not ctx.ready:
    # the demo database is still being generated: sign-in works meanwhile, pages wait for it
    demo_build_progress(ctx, rerun_when_done=user is not None)
if user is None or not ctx.ready:
    # Only the sign-in view exists for a visitor: no page of the app is registered or reachable. It also
    # answers at the URL the visitor asked for, so the address (and its query string) stays as typed and
    # the page opens there right after sign-in, without a detour through the Overview.
    signin = [st.Page(lambda: None, title="Sign in", url_path="signin", default=True)]
    if spec_for_stem(wanted) is not None:
        signin.append(st.Page(lambda: None, title="Sign in", url_path=wanted, visibility="hidden"))
    st.navigation(signin, position="hidden").run()
    st.stop()
# imported only now: they pull in pandas, which the sign-in form does not need (it must be up fast)
from ui.refresher import start_summary_refresher  # noqa: E402

start_summary_refresher()
pages = navigation_for(user.roles)
refused = refused_pages(user.roles, requested_path)  # a new URL typed in the address bar is a new session
registered = [p for group in pages.values() for p in group]
if refused:
    pages.setdefault("Monitor", []).extend(refused)
page = st.navigation(pages)
if st.session_state.get(PENDING):
    # Open the page the session's link named, with its query string (or the refusal at its URL). Kept until
    # that page is the one running: a rerun from the cookie component can supersede one switch_page.
    target = next((p for p in [*registered, *refused] if wanted and p.url_path == wanted), None)
    if target is None or target.url_path == page.url_path:
        st.session_state[PENDING] = False
    else:
        st.switch_page(target, query_params=requested_params)
page.run()
