"""How long a first start makes a person wait for the sign-in form (issue 13 point 8), in a real browser.

`python -m bench.first_start [--runs 3]` starts the dashboard as `./dev.sh run` would on a fresh machine
(no demo database: it is built in the background) and, for comparison, on an already built demo, and
prints per run: seconds from the server's health answer to the page's HTML, to the app's websocket
script run, and to the sign-in form, with the load average beside every figure.

It needs Chromium at /usr/bin/chromium (apt-get install -y chromium) and drives it through playwright.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from demo.embedded import ensure_demo_database
from tests.browser.conftest import VIEWPORT, launch_chromium, start_dashboard


def one_start(browser, folder: Path, demo: Path | None) -> dict[str, float]:
    """Seconds from health to the HTML, to the form; the load average when the form was there."""
    with start_dashboard(folder, demo=demo) as url:
        healthy = time.monotonic()
        context = browser.new_context(base_url=url, viewport=VIEWPORT)
        try:
            page = context.new_page()
            page.goto("/", wait_until="domcontentloaded")
            html = time.monotonic() - healthy
            page.get_by_label("Username").first.wait_for(timeout=60_000)
            form = time.monotonic() - healthy
        finally:
            context.close()
    return {"html": html, "form": form, "load": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cw-first-start-") as tmp, launch_chromium() as browser:
        built = Path(tmp) / "built" / "demo.sqlite"
        built.parent.mkdir()
        ensure_demo_database(built)
        print(f"{'case':<22}{'run':>4}{'HTML s':>9}{'form s':>9}{'load':>7}")
        for case, demo in (("fresh demo (builds)", None), ("demo already built", built)):
            forms = []
            for run in range(1, args.runs + 1):
                folder = Path(tmp) / f"{case[:5]}-{run}"
                folder.mkdir()
                figures = one_start(browser, folder, demo)
                forms.append(figures["form"])
                print(f"{case:<22}{run:>4}{figures['html']:>9.2f}{figures['form']:>9.2f}{figures['load']:>7.2f}",
                      flush=True)
            print(f"{case:<22}{'med':>4}{'':>9}{statistics.median(forms):>9.2f}   goal < 3 s after health")
    return 0


if __name__ == "__main__":
    sys.exit(main())
