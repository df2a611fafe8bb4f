"""`python -m ui.serve run app.py [streamlit options]`: `streamlit run` for an st.navigation app with a
`pages/` folder (what `./dev.sh run` starts).

Streamlit decides once per process, at the first session, whether the `pages/` folder beside the entry
script is a v1 multipage app; until a script has called st.navigation it is, and the first visitor of a
fresh process is sent every page file's name for the sidebar (the page list flashed on the sign-in
form) and a deep link runs the page file without app.py. This app never is one, so the launcher says so
before the server starts; `ui.pages_mode` still covers a plain `streamlit run app.py`.

It also imports, in the background while the server starts, the modules the first script run needs
before it can draw the sign-in form (about a second of the first visitor's wait, issue 13) and those the
pages need after it.
"""

from __future__ import annotations

import importlib
import threading
import time

from streamlit import runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

#: the sign-in form's modules first, then the pages' heaviest; never streamlit_authenticator: importing it
#: declares its cookie component, which must happen inside the running app (else it is never drawn)
PRELOAD = ("auth.session", "jwt", "ui.context", "ui.navigation", "auth.store",
           "pandas", "plotly.graph_objects", "queries.registry", "ui.data", "ui.charts")


def preload() -> None:
    """Import PRELOAD once Streamlit's runtime exists (the cached functions' decorators look it up)."""
    deadline = time.monotonic() + 30
    while not runtime.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an import that fails here fails again, with its message, in the app
            return


def main() -> None:
    PagesManager.uses_pages_directory = False
    threading.Thread(target=preload, name="canarywatch-preload", daemon=True).start()
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
