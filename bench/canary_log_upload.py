"""Log upload cost: one parse of a ~190 MB JSON-lines export, then the second refresh (cached by content hash).

Run: cd <worktree> && /work/main/.venv/bin/python -m bench.canary_log_upload [megabytes]
Prints the export size, the first parse's CPU seconds and peak RSS growth, and the second call's time.
"""

from __future__ import annotations

import hashlib
import resource
import sys
import time
from datetime import UTC, datetime, timedelta


def export(megabytes: int) -> bytes:
    start = datetime(2026, 2, 18, tzinfo=UTC)
    lines, size, i = [], 0, 0
    while size < megabytes * 1024 * 1024:
        line = (f'{{"timestamp": "{(start + timedelta(milliseconds=i * 50)):%Y-%m-%dT%H:%M:%S.%fZ}", '
                f'"message": "{"Task timed out after 60 seconds" if i % 97 == 0 else "request handled"}", '
                f'"path": "/api/webhooks/inboxxia", "status": "200", "level": "info", "pad": "{"x" * 60}"}}\n')
        lines.append(line)
        size += len(line)
        i += 1
    return "".join(lines).encode()


def main() -> None:
    import streamlit as st  # noqa: F401  (the cache lives in streamlit's resource cache)

    from ui.canary import _parsed

    data = export(int(sys.argv[1]) if len(sys.argv) > 1 else 190)
    digest = hashlib.sha256(data).hexdigest()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0, wall0 = time.process_time(), time.perf_counter()
    parse = _parsed(digest, data)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    again = _parsed(digest, data)
    wall2 = time.perf_counter()
    assert again is parse
    print(f"export {len(data) / 1e6:.0f} MB, {parse.lines} lines, {parse.malformed} malformed")
    print(f"first parse: {cpu1 - cpu0:.1f} CPU-s, {wall1 - wall0:.1f} s wall, peak RSS +{(rss1 - rss0) / 1024:.0f} MB")
    print(f"second refresh (same content hash): {(wall2 - wall1) * 1000:.1f} ms, no parse")


if __name__ == "__main__":
    main()
