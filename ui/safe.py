"""Untrusted text made safe for Markdown on a page: see analysis/markdown.py (pure, shared with the
evidence files, which are Markdown too)."""

from analysis.markdown import plain

__all__ = ["plain"]
