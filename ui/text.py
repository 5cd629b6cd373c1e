"""Text from URLs, files and uploads, made safe to show: plain text, never Markdown or HTML (no Streamlit here).

Streamlit renders Markdown in st.markdown, st.caption, st.toast, st.info/st.error and widget labels, so a URL key like
`[Sign in again](//example.org)` would become a link inside an app message. Every character that Markdown, GitHub's
extensions or Streamlit's own directives (`:red[...]`, `:material/...:`, `$math$`) read as the start of a link, an
image, emphasis, code, HTML, a directive or math is escaped with a backslash (CommonMark renders an escaped ASCII
punctuation character as itself), and so is a leading heading, list or quote mark; control characters go. GitHub's
bare links (https://…, www.…, a@b.c) are matched on the text after escapes, so an invisible word joiner breaks them.
"""

from __future__ import annotations

import re
import unicodedata

_INLINE = re.compile(r"([\\`*_\[\]<>~:$|!&@./])")  # links, images, emphasis, code, HTML, directives, math, tables;
# every . and / too: a linkifier turns bare example.org or //example.org into a link
_AUTOLINK = re.compile(r"(?i)(:)(?=//)|(www)(?=\\?\.)|(@)")  # GitHub's bare-link forms: https://, www., a@b.c
_JOINER = "\u2060"  # WORD JOINER: invisible, and no link form spans it (Streamlit's autolinking ignores escapes)
_LINE_START = re.compile(r"^(\s*(?:\d+)?)([#>+=)-])")  # headings, quotes, lists: only at the start of a line


def printable(s: object, limit: int = 200) -> str:
    """The text with line breaks and other control characters turned into spaces, at most `limit` characters."""
    text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in str(s))
    return text[:limit] + ("…" if len(text) > limit else "")


def plain(s: object, limit: int = 200) -> str:
    """`s` as literal text inside any Streamlit element that renders Markdown."""
    text = _AUTOLINK.sub(lambda m: m.group(0) + _JOINER, printable(s, limit))
    escaped = _INLINE.sub(r"\\\1", text)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)
