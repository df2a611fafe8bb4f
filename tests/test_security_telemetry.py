"""Issue 12 finding 10: a metadata key that is an e-mail address (or a phone number) is upstream
personal data: metadata_key_counts redacts it before the page, the summaries or an export see it."""

from __future__ import annotations

import pytest

from queries import telemetry
from queries.filters import Window
from tests.seed import at

WINDOW = Window(at(hours=-2), at())
GEN = "draft.generate.email"


def test_keys_that_look_like_personal_data_are_redacted_and_counted(db):
    db.seed.workspace("ws-a")
    db.seed.interaction("ws-a", when=at(-100), feature=GEN,
                        metadata={"alice.smith@example.com": 1, "leadContextBundle": {"x": 1}})
    db.seed.interaction("ws-a", when=at(-90), feature=GEN,
                        metadata={"bob@corp.example": "x" * 40, "+44 (20) 7946-0958": 2})
    db.seed.interaction("ws-a", when=at(-80), feature=GEN, metadata={"5550100199": 3, "retries2024": 1})
    frame = telemetry.metadata_key_counts(db.conn, WINDOW)
    got = {r.key: (r.rows, r.documented, r.long_strings) for r in frame.itertuples()}
    assert got == {
        "<redacted e-mail key>": (2, False, 1),  # two addresses, one holding a long string
        "<redacted phone key>": (2, False, 0),
        "leadContextBundle": (1, True, 0),
        "retries2024": (1, False, 0),  # a few digits in a name are not a phone number
    }
    shown = frame.to_csv()
    for personal in ("alice", "example.com", "bob@", "7946", "5550100199"):
        assert personal not in shown


@pytest.mark.parametrize(("key", "shown"), [
    ("x@y.io", "<redacted e-mail key>"), ("Name <a.b@c.de>", "<redacted e-mail key>"),
    ("+1 555 010 9999", "<redacted phone key>"), ("555-0100", "<redacted phone key>"),
    ("2024", "2024"), ("elapsedMs", "elapsedMs"), ("@handle", "@handle"),
])
def test_redact_key(key, shown):
    assert telemetry.redact_key(key) == shown
