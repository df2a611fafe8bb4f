"""The canary service's log step, shared by the page and the CLI: a size limit, a clear refusal, a count."""

from __future__ import annotations

import pytest

import services.canary as service


def test_an_export_over_the_limit_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(service, "LOG_LIMIT_MB", 1)
    with pytest.raises(service.LogExportError, match="2 MB is over the 1 MB limit"):
        service.parse_logs(b"x" * (2 * 1024 * 1024))


def test_an_export_without_time_and_message_columns_says_so_unless_they_are_named():
    text = b"when,what\n2026-02-18T12:00:00Z,Task timed out after 60 seconds\n"
    with pytest.raises(service.LogExportError, match="no timestamp column"):
        service.parse_logs(text)
    parse = service.parse_logs(text, timestamp="when", message="what")
    assert (parse.lines, parse.malformed, parse.well_formed) == (1, 0, 1)
