"""Text from URLs and files is shown literally (ui/text.py): checked by rendering through the Markdown parser
that Streamlit's frontend mirrors (CommonMark with GitHub's extensions), here markdown-it-py."""

import pytest
from markdown_it import MarkdownIt

from ui.text import plain, printable

MD = MarkdownIt("gfm-like")

HOSTILE = [
    "[Sign in again](//example.org)",
    "![x](https://example.org/a.png)",
    "<https://example.org>",
    "see www.example.org now",
    "https://example.org/login",
    "mail me: a@example.org",
    "[x](https://example.org)",
    "WWW.EXAMPLE.ORG",
    "<img src=x onerror=alert(1)>",
    "**bold** _it_ ~~gone~~ `code`",
    "# Heading",
    "- item",
    "1. item",
    "> quote",
    "| a | b |",
    "&lt;b&gt;",
    "line\nbreak\r\n# two",
]


@pytest.mark.parametrize("s", HOSTILE)
def test_hostile_text_renders_as_one_plain_paragraph(s):
    html = MD.render(plain(s))
    for tag in ("<a", "<img", "<strong", "<em", "<code", "<h1", "<ul", "<ol", "<blockquote", "<table", "<s>", "<del"):
        assert tag not in html, (s, html)
    assert html.startswith("<p>") and html.count("<p>") == 1


def test_the_reader_sees_the_same_characters():
    from html import unescape

    for s in HOSTILE:
        rendered = unescape(MD.render(plain(s)).removeprefix("<p>").removesuffix("</p>\n")).replace("\u2060", "")
        assert rendered == printable(s), (s, rendered)


def test_long_text_is_cut_and_control_characters_go():
    assert printable("a\x00b\nc", 10) == "a b c"
    assert plain("x" * 500, 20) == "x" * 20 + "…"


def test_the_default_cut_is_200_characters_and_exactly_200_is_not_cut():
    assert printable("y" * 200) == "y" * 200 and plain("y" * 200) == "y" * 200
    assert printable("y" * 201) == "y" * 200 + "…" and plain("y" * 201) == "y" * 200 + "…"
