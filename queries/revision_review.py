"""The post-launch review of the auto-send revision loop: a sample of applied revisions to open upstream.

AIDraft columns as in DATA_CONTRACT.md section 4: applied = `autoSendRevisionApplied`, confidence before =
`autoSendOriginalConfidence`, after = `autoSendRevisionConfidence`; windowed on the indexed
`autoSendRevisionAttemptedAt`. Ids, times, channels and numbers only: never the draft's text.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, func, select

from db import upstream as up
from queries.drafts import WORKSPACE, D, drafts_from
from queries.filters import Window
from queries.frame import query, read_frame
from queries.revision import APPLIED, ATTEMPTED_AT

MAX_SAMPLE = 200


@query("Applied revisions spread evenly over the window in attempt order: draft id, workspace, attempt time, "
       "channel, confidence before and after (ids and numbers only, never the text).")
def applied_revision_sample(conn: Connection, f: Window, *, size: int = 10) -> pd.DataFrame:
    """Up to `size` (1..200) applied revisions attempted in the window, oldest first.

    Of the n applied revisions numbered 0..n-1 by attempt time (then id), the i-th is kept when
    i * size mod n < size: exactly min(size, n) rows, spaced evenly from the first, so a reviewer sees
    the start, the middle and the end of the window, and the same rows every time.
    """
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_SAMPLE:
        raise ValueError(f"sample size must be between 1 and {MAX_SAMPLE}, got {size!r}")
    order = (ATTEMPTED_AT, D.c.id)
    numbered = (
        select(D.c.id.label("draft_id"), WORKSPACE, ATTEMPTED_AT.label("attempted_at"), D.c.channel.label("channel"),
               D.c.autoSendOriginalConfidence.label("confidence_before"),
               D.c.autoSendRevisionConfidence.label("confidence_after"),
               (func.row_number().over(order_by=order) - 1).label("position"),
               func.count().over().label("applied_total"))
        .select_from(drafts_from())
        .where(*f.clauses(time=ATTEMPTED_AT, workspace=up.lead.c.clientId, channel=D.c.channel), APPLIED)
        .subquery("numbered")
    )
    n = numbered.c
    stmt = (select(n.draft_id, n.workspace, n.attempted_at, n.channel, n.confidence_before, n.confidence_after)
            .where((n.position * size) % n.applied_total < size)
            .order_by(n.position))
    return read_frame(conn, stmt)
