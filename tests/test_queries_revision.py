"""Auto-send revision queries (queries/revision.py): exact counts from a few planted rows, both backends.

WINDOW is [T0 - 1h, T0). Draft queries window on autoSendRevisionAttemptedAt, telemetry on createdAt.
"""

import pytest

from queries import revision
from queries.filters import Window
from tests.seed import at

WINDOW = Window(at(hours=-1), at())


def table(frame, keys, value):
    """{(key values...): value} for a result frame, so expectations read as small dicts."""
    return {tuple(row[k] for k in keys): row[value] for row in frame.to_dict("records")}


def revised(db, ws, minutes, *, channel="email", applied=True, original=None, revised_to=None, iterations=0,
            lead=None):
    """A draft evaluated and revision-attempted `minutes` from T0."""
    when = at(minutes=minutes)
    return db.seed.draft(ws, when=when, action="needs_review", confidence=revised_to, channel=channel, lead=lead,
                         revision_attempted_at=when, original_confidence=original, revision_confidence=revised_to,
                         revision_applied=applied, iterations=iterations)


def plant_revisions(db):
    """A: at the start; B: not applied; C: applied; D: sms, no revision confidence; E: at the end; F: ws-b."""
    db.seed.workspace("ws-a")
    db.seed.workspace("ws-b")
    a = revised(db, "ws-a", -60, original=0.6, revised_to=0.93, iterations=2)
    b = revised(db, "ws-a", -40, applied=False, original=0.5, revised_to=0.55)
    c = revised(db, "ws-a", -20, original=0.7, revised_to=0.95, iterations=1)
    d = revised(db, "ws-a", -20, channel="sms", original=0.4, revised_to=None, iterations=0)
    revised(db, "ws-a", 0, original=0.1, revised_to=0.2, iterations=1)  # == end: out
    revised(db, "ws-b", -30, original=0.3, revised_to=0.9, iterations=3)  # another workspace
    db.seed.draft("ws-a", when=at(minutes=-30), action="needs_review", confidence=0.4)  # never attempted
    return a, b, c, d


def test_revision_series_counts_attempts_and_sums_paired_deltas(db):
    plant_revisions(db)
    frame = revision.revision_series(db.conn, WINDOW.with_workspaces(["ws-a"]), bucket_seconds=1800)
    rows = {(r["bucket"], r["channel"]): r for r in frame.to_dict("records")}
    assert set(rows) == {(at(minutes=-60), "email"), (at(minutes=-30), "email"), (at(minutes=-30), "sms")}
    first = rows[(at(minutes=-60), "email")]  # A (start edge, in) and B: both paired, A applied
    assert (first["attempted"], first["applied"], first["paired"]) == (2, 1, 2)
    assert first["original_sum"] == pytest.approx(0.6 + 0.5)
    assert first["revised_sum"] == pytest.approx(0.93 + 0.55)
    assert first["delta_sum"] == pytest.approx(0.33 + 0.05)
    assert first["delta_sumsq"] == pytest.approx(0.33**2 + 0.05**2)  # 0.1114
    email = rows[(at(minutes=-30), "email")]  # C only; E sits exactly at the end
    assert (email["attempted"], email["applied"], email["paired"]) == (1, 1, 1)
    assert (email["delta_sum"], email["delta_sumsq"]) == (pytest.approx(0.25), pytest.approx(0.0625))
    sms = rows[(at(minutes=-30), "sms")]  # D: attempted and applied, but no revision confidence: not paired
    assert (sms["attempted"], sms["applied"], sms["paired"]) == (1, 1, 0)
    assert (sms["original_sum"], sms["revised_sum"], sms["delta_sum"], sms["delta_sumsq"]) == (0, 0, 0, 0)


def test_revision_series_isolates_workspaces_and_filters_channel(db):
    plant_revisions(db)
    everyone = revision.revision_series(db.conn, WINDOW, bucket_seconds=3600)
    assert table(everyone, ["workspace", "channel"], "attempted") == {
        ("ws-a", "email"): 3, ("ws-a", "sms"): 1, ("ws-b", "email"): 1,
    }
    sms = revision.revision_series(db.conn, Window(WINDOW.start, WINDOW.end, channel="sms"), bucket_seconds=3600)
    assert table(sms, ["workspace", "channel"], "attempted") == {("ws-a", "sms"): 1}


def test_revision_series_defaults_to_the_window_grain(db):
    plant_revisions(db)
    frame = revision.revision_series(db.conn, WINDOW.with_workspaces(["ws-a"]))
    # one-hour window -> 60 s buckets: A at -60, B at -40, C and D at -20 (two channels)
    assert table(frame, ["bucket", "channel"], "attempted") == {
        (at(minutes=-60), "email"): 1, (at(minutes=-40), "email"): 1,
        (at(minutes=-20), "email"): 1, (at(minutes=-20), "sms"): 1,
    }


def test_revision_confidence_pairs_bucket_both_ends_and_skip_unpaired(db):
    plant_revisions(db)
    frame = revision.revision_confidence_pairs(db.conn, WINDOW.with_workspaces(["ws-a"]))
    # width 0.05: A 0.6 -> 12, 0.93 -> 18; B 0.5 -> 10, 0.55 -> 11; C 0.7 -> 14, 0.95 -> 19; D unpaired
    assert table(frame, ["workspace", "original_bucket", "revised_bucket"], "drafts") == {
        ("ws-a", 12, 18): 1, ("ws-a", 10, 11): 1, ("ws-a", 14, 19): 1,
    }


def test_revision_confidence_pairs_fine_width_edge(db):
    db.seed.workspace("ws-a")
    revised(db, "ws-a", -10, original=0.29, revised_to=0.57)
    frame = revision.revision_confidence_pairs(db.conn, WINDOW, width=0.01)
    assert table(frame, ["original_bucket", "revised_bucket"], "drafts") == {(29, 57): 1}


def test_revision_iterations_count_applied_revisions_only(db):
    plant_revisions(db)
    revised(db, "ws-a", -5, original=0.5, revised_to=0.8, iterations=2)
    frame = revision.revision_iterations(db.conn, WINDOW)
    # applied in ws-a: A (email, 2), C (email, 1), D (sms, 0), the extra one (email, 2); B not applied
    assert table(frame, ["workspace", "channel", "iterations"], "drafts") == {
        ("ws-a", "email", 1): 1, ("ws-a", "email", 2): 2, ("ws-a", "sms", 0): 1, ("ws-b", "email", 3): 1,
    }


def test_revision_by_campaign_groups_on_the_leads_campaign(db):
    db.seed.workspace("ws-a")
    main, strict = db.seed.campaign("ws-a"), db.seed.campaign("ws-a", threshold=0.95)
    lead_main, lead_strict = db.seed.lead("ws-a", campaign=main), db.seed.lead("ws-a", campaign=strict)
    revised(db, "ws-a", -30, lead=lead_main)
    revised(db, "ws-a", -30, lead=lead_main, applied=False)
    revised(db, "ws-a", -30, lead=lead_strict, applied=False)
    revised(db, "ws-a", 0, lead=lead_strict)  # at the end: out
    frame = revision.revision_by_campaign(db.conn, WINDOW)
    assert table(frame, ["workspace", "campaign_id"], "attempted") == {("ws-a", main): 2, ("ws-a", strict): 1}
    assert table(frame, ["workspace", "campaign_id"], "applied") == {("ws-a", main): 1, ("ws-a", strict): 0}


# -- telemetry ---------------------------------------------------------------------------------------


def test_revise_latency_histogram_buckets_calls_and_errors(db):
    db.seed.workspace("ws-a")
    db.seed.workspace("ws-b")
    revise = {"feature": "auto_send.revise", "metadata": {"autoSendRevision": {"stage": "revise", "iteration": 1}}}
    db.seed.interaction("ws-a", when=at(hours=-1), latency_ms=120, **revise)  # start edge: in
    db.seed.interaction("ws-a", when=at(minutes=-30), latency_ms=149, status="error", **revise)
    db.seed.interaction("ws-a", when=at(minutes=-30), latency_ms=150, **revise)
    db.seed.interaction("ws-a", when=at(minutes=-30), latency_ms=40, **revise)
    db.seed.interaction("ws-a", when=at(minutes=-30), latency_ms=None, status="error", **revise)  # no latency: out
    db.seed.interaction("ws-a", when=at(), latency_ms=120, **revise)  # end edge: out
    db.seed.interaction("ws-a", when=at(minutes=-30), latency_ms=120, feature="auto_send.evaluate")  # other feature
    db.seed.interaction("ws-b", when=at(minutes=-30), latency_ms=120, **revise)  # other workspace
    frame = revision.revise_latency_histogram(db.conn, WINDOW.with_workspaces(["ws-a"]))
    # 50 ms buckets: 40 -> 0; 120, 149 -> 100 (one error); 150 -> 150
    assert table(frame, ["workspace", "latency_bucket_ms"], "calls") == {("ws-a", 0): 1, ("ws-a", 100): 2,
                                                                         ("ws-a", 150): 1}
    assert table(frame, ["latency_bucket_ms"], "errors") == {(0,): 0, (100,): 1, (150,): 0}
    wide = revision.revise_latency_histogram(db.conn, WINDOW, width_ms=100)
    # 100 ms buckets: ws-a 0 -> 1, 100 -> 3 (120, 149, 150); ws-b 100 -> 1
    assert table(wide, ["workspace", "latency_bucket_ms"], "calls") == {("ws-a", 0): 1, ("ws-a", 100): 3,
                                                                        ("ws-b", 100): 1}
    with pytest.raises(ValueError):
        revision.revise_latency_histogram(db.conn, WINDOW, width_ms=0)


def test_revision_loop_counts_flag_drafts_looped_more_than_once(db):
    db.seed.workspace("ws-a")
    db.seed.workspace("ws-b")

    def loop(ws, draft_id, minutes=-30, **extra):
        meta = {"runId": "run", "stopReason": "threshold_met", "iterationsUsed": 2, "channel": "email", **extra}
        if draft_id is not None:
            meta["draftId"] = draft_id
        db.seed.interaction(ws, when=at(minutes=minutes), feature="auto_send.revision_loop", metadata=meta)

    loop("ws-a", "draft-1", minutes=-60)  # start edge: in
    loop("ws-a", "draft-1")
    loop("ws-a", "draft-2")
    loop("ws-a", None)  # no draftId: a row, but no draft
    loop("ws-a", "draft-3", minutes=0)  # end edge: out
    loop("ws-b", "draft-9")
    frame = revision.revision_loop_counts(db.conn, WINDOW).set_index("workspace")
    # ws-a: 4 rows, 2 distinct drafts, draft-1 twice
    cols = ["drafts_looped", "loop_rows", "drafts_looped_more_than_once"]
    assert list(frame.loc["ws-a", cols]) == [2, 4, 1]
    assert list(frame.loc["ws-b", cols]) == [1, 1, 0]
    sms = Window(WINDOW.start, WINDOW.end, channel="sms")  # loop rows carry metadata.channel = email
    assert revision.revision_loop_counts(db.conn, sms).empty


def test_revision_inconsistencies_find_each_broken_invariant(db):
    db.seed.workspace("ws-a")
    db.seed.workspace("ws-b")
    db.seed.draft("ws-a", when=at(minutes=-30), action="send_immediate", confidence=0.95, revision_applied=True)
    db.seed.draft("ws-a", when=at(), action="send_immediate", confidence=0.95, revision_applied=True)  # end: out
    revised(db, "ws-a", -30, original=0.5, revised_to=0.7, iterations=4)  # email out of 1..3
    revised(db, "ws-a", -30, original=0.5, revised_to=0.7, iterations=0)  # email out of 1..3
    revised(db, "ws-a", -30, original=0.5, revised_to=0.7, iterations=3)  # fine
    revised(db, "ws-a", -30, applied=False, iterations=0)  # not applied: fine
    revised(db, "ws-a", -30, channel="sms", applied=False, iterations=1)  # sms must be 0
    revised(db, "ws-a", -30, channel="linkedin", iterations=0)  # fine
    revised(db, "ws-b", -30, iterations=5)  # other workspace
    frame = revision.revision_inconsistencies(db.conn, WINDOW.with_workspaces(["ws-a"]))
    assert table(frame, ["workspace", "check"], "drafts") == {
        ("ws-a", "applied_without_attempt"): 1, ("ws-a", "email_iterations_out_of_range"): 2,
        ("ws-a", "non_email_iterations_nonzero"): 1,
    }
    sms = Window(WINDOW.start, WINDOW.end, workspaces=("ws-a",), channel="sms")
    assert table(revision.revision_inconsistencies(db.conn, sms), ["check"], "drafts") == {
        ("non_email_iterations_nonzero",): 1,
    }


def test_revision_sample_ids_are_newest_first_and_bounded(db):
    a, b, c, d = plant_revisions(db)
    frame = revision.revision_sample_ids(db.conn, WINDOW.with_workspaces(["ws-a"]), limit=3)
    assert list(frame.columns) == ["draft_id", "workspace", "channel", "attempted_at", "applied"]
    # C and D share -20 (ties broken by id, descending: D was planted later), then B at -40
    assert list(frame["draft_id"]) == [d, c, b]
    assert list(frame["applied"]) == [True, True, False]
    assert list(frame["attempted_at"]) == [at(minutes=-20), at(minutes=-20), at(minutes=-40)]
    assert len(revision.revision_sample_ids(db.conn, WINDOW)) == 5  # A-D and ws-b's; E is at the end
    for bad in (0, 201):
        with pytest.raises(ValueError):
            revision.revision_sample_ids(db.conn, WINDOW, limit=bad)


def test_revise_error_series_counts_calls_and_errors_per_bucket(db):
    from queries.revision import revise_error_series

    db.seed.workspace("ws-a")
    db.seed.workspace("ws-b")
    for minute, status in ((0, "error"), (10, "success"), (29, "error"), (30, "error"), (60, "error")):
        db.seed.interaction("ws-a", when=at(minutes=minute), feature="auto_send.revise", status=status)
    db.seed.interaction("ws-a", when=at(minutes=5), feature="auto_send.evaluate", status="error")  # other feature
    db.seed.interaction("ws-b", when=at(minutes=5), feature="auto_send.revise", status="error")  # other workspace
    window = Window(at(), at(minutes=60), workspaces=("ws-a",))
    frame = revise_error_series(db.conn, window, bucket_seconds=1800)
    # [12:00, 12:30): 3 calls, 2 errors; [12:30, 13:00): 1 call, 1 error; the row at 13:00 is outside
    assert frame[["calls", "errors"]].values.tolist() == [[3, 2], [1, 1]]
    assert list(frame["bucket"]) == [at(), at(minutes=30)]
