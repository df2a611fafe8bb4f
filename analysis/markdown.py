"""Untrusted text (upstream names, keys, labels, reasons) made safe inside Markdown (pages and evidence files).

Streamlit renders `st.markdown`, `st.caption`, `st.info`, labels and help texts as Markdown (links,
images, `:color[...]` directives, `:material/...:` icons). Upstream data is untrusted: a workspace
named `![t](http://host/t.png)` must show as those characters, never fetch an image. Every value that
came from a database or an upload goes through `plain()` before it is concatenated into Markdown.
Tables (`st.dataframe`) show cell text as text and need no escaping.
"""

from __future__ import annotations

import re

#: every character Markdown, GitHub-flavoured Markdown or Streamlit's directives give a meaning to
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&=\"'^@/])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def plain(value: object, limit: int = 200) -> str:
    """`value` as literal text inside Markdown: control characters dropped, line breaks folded,
    cut to `limit` characters (with an ellipsis), every Markdown-special character escaped (so URLs
    are not auto-linked either)."""
    text = _CONTROL.sub(" ", str(value))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _SPECIAL.sub(r"\\\1", text)
