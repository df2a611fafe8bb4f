"""Log upload cost: one parse of a ~190 MB JSON-lines export, then the second refresh (cached by content hash).

Run: cd <worktree> && /work/main/.venv/bin/python -m bench.canary_log_upload [megabytes] [--hostile]
(--hostile: every line a webhook timeout at a random millisecond, out of order: the most the parse keeps)
Prints the export size, the first parse's CPU seconds and its peak RSS above the RSS it started from
(the kernel's peak is reset just before the parse, so building the export does not hide it), and the
second call's time.
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def export(megabytes: int, *, hostile: bool = False) -> bytes:
    """The export's bytes, written to a file line by line and read back in one piece (as an upload arrives),
    so that building it leaves no freed heap behind for the parse to grow into unseen."""
    start = datetime(2026, 2, 18, tzinfo=UTC)
    shuffle = random.Random(1)
    with tempfile.TemporaryFile() as out:
        size, i = 0, 0
        while size < megabytes * 1024 * 1024:
            if hostile:
                stamp = 1771372800 + shuffle.randrange(86_400_000) / 1000
                line = f'{{"timestamp":{stamp},"message":"Task timed out after 60 seconds","path":"/api/webhooks/x"}}\n'
                size += out.write(line.encode())
                continue
            line = (f'{{"timestamp": "{(start + timedelta(milliseconds=i * 50)):%Y-%m-%dT%H:%M:%S.%fZ}", '
                    f'"message": "{"Task timed out after 60 seconds" if i % 97 == 0 else "request handled"}", '
                    f'"path": "/api/webhooks/inboxxia", "status": "200", "level": "info", "pad": "{"x" * 60}"}}\n')
            size += out.write(line.encode())
            i += 1
        out.seek(0)
        return out.read()


def _status_kb(field: str) -> int:
    """VmRSS (now) or VmHWM (peak since the last reset) of this process, in kB (Linux)."""
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def main() -> None:
    import streamlit as st  # noqa: F401  (the cache lives in streamlit's resource cache)

    from ui.canary import _parsed

    sizes = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    data = export(int(sizes[0]) if sizes else 190, hostile="--hostile" in sys.argv)
    digest = hashlib.sha256(data).hexdigest()
    _reset_peak()
    rss0 = _status_kb("VmRSS")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    parse = _parsed(digest, data)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    peak, kept = _status_kb("VmHWM"), _status_kb("VmRSS")
    again = _parsed(digest, data)
    wall2 = time.perf_counter()
    assert again is parse
    print(f"export {len(data) / 1e6:.0f} MB, {parse.lines} lines, {parse.malformed} malformed")
    print(f"first parse: {cpu1 - cpu0:.1f} CPU-s, {wall1 - wall0:.1f} s wall, peak RSS +{(peak - rss0) / 1024:.0f} MB"
          f" over the {rss0 / 1024:.0f} MB before it (export included), +{(kept - rss0) / 1024:.0f} MB kept after")
    print(f"second refresh (same content hash): {(wall2 - wall1) * 1000:.1f} ms, no parse")


if __name__ == "__main__":
    main()
