"""Rich text that people write (messages, news, notes of the carnet de liaison, and later blogs and forums):
one tag set and one sanitiser (nh3) for all of Préau.

- `clean(text)`: safe HTML. Text without any tag is plain text: blank lines make paragraphs, line breaks `<br>`,
  everything escaped ("Fin <3" stays text).
- `to_text(html)`: the plain text of safe HTML, paragraphs and lines kept (search, emails).
- `summary(html, limit)`: one line of text (notifications, lists).
"""

from __future__ import annotations

import html
import re

import nh3

# Paragraphs, emphasis, headings below a page's own title, lists, quotes, code and links.
TAGS = {"p", "br", "strong", "b", "em", "i", "u", "s", "h2", "h3", "h4", "ul", "ol", "li", "blockquote", "pre",
        "code", "hr", "a"}
ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}

_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")
_LINE_BREAK = re.compile(r"(?i)<br\s*/?>|</li>")
_BLOCK_END = re.compile(r"(?i)</(p|h2|h3|h4|blockquote|pre|ul|ol)>|<hr\s*/?>")
_BLANKS = re.compile(r"\n{3,}")


def clean(text: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if text and not _TAG.search(text):
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        text = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return nh3.clean(text, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="noopener noreferrer nofollow", strip_comments=True).strip()


def to_text(safe_html: str) -> str:
    text = nh3.clean(_LINE_BREAK.sub("\n", _BLOCK_END.sub("\n\n", safe_html or "")), tags=set())
    return _BLANKS.sub("\n\n", html.unescape(text)).strip()


def summary(safe_html: str, limit: int = 300) -> str:
    # A space before each tag keeps the words of two paragraphs apart; the text is escaped again where shown.
    text = " ".join(html.unescape(nh3.clean((safe_html or "").replace("<", " <"), tags=set())).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
