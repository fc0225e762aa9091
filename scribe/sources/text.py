"""Turning an attachment's bytes into note text: plain text as it is, HTML to text, RTF refused.

The text returned is what evidence offsets point into. Plain text goes through the same decoder as
a text file (:func:`scribe.notes.decode`: UTF-8 with or without BOM, cp1252, CRLF to LF), so a note
sent as a FHIR attachment gives the same offsets as the same note in a ``.txt`` file.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

from scribe.notes import decode

PLAIN = ("text/plain", "")
HTML = ("text/html", "application/xhtml+xml")
RTF = ("text/rtf", "application/rtf")

_BLOCK = frozenset({
    "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre",
    "section", "article", "header", "footer", "blockquote", "dt", "dd", "hr", "title",
})
_SKIP = frozenset({"script", "style", "head"})
_SPACES = re.compile(r"[ \t\f\v\r\n]+")


class AttachmentError(ValueError):
    """An attachment that cannot become note text; the message names the problem, never the text."""


def media_type(content_type: str | None) -> tuple[str, str | None]:
    """(``type/subtype`` lower-cased, charset or None) of a MIME content type."""
    if not content_type:
        return "", None
    parts = [p.strip() for p in content_type.split(";")]
    charset = None
    for p in parts[1:]:
        key, _, value = p.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    return parts[0].lower(), charset


def supported(content_type: str | None) -> bool:
    kind, _ = media_type(content_type)
    return kind in PLAIN or kind in HTML


def to_text(data: bytes, content_type: str | None, source: str) -> str:
    """The note text of an attachment. Raises ``AttachmentError`` (RTF, PDF, ...) or ``NoteError``
    (empty, binary)."""
    kind, charset = media_type(content_type)
    head = data.lstrip()[:16]
    if kind in RTF or head.startswith(b"{\\rtf"):
        raise AttachmentError("RTF attachment not supported (send text/plain or text/html)")
    if kind and kind not in PLAIN and kind not in HTML:
        raise AttachmentError(f"unsupported attachment type {kind!r} (text/plain or text/html)")
    text = _decode(data, charset, source)
    if kind in HTML or (not kind and _looks_html(text)):
        text = html_to_text(text)
        if not text.strip():
            raise AttachmentError("HTML attachment holds no text")
    return text


def _decode(data: bytes, charset: str | None, source: str) -> str:
    if charset and charset not in ("utf-8", "utf8"):
        try:
            codecs.lookup(charset)
        except LookupError:
            raise AttachmentError(f"unknown charset {charset!r}") from None
        try:
            text = data.decode(charset)
        except UnicodeDecodeError:
            raise AttachmentError(f"attachment is not valid {charset}") from None
        return decode(text.encode("utf-8"), source)[0]
    return decode(data, source)[0]


def _looks_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html", "<div", "<p>", "<p ", "<body"))


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip = 0
        self.pre = 0

    def _break(self) -> None:
        line = "".join(self.current)
        if self.pre:
            self.lines.extend(line.split("\n"))
        else:
            line = _SPACES.sub(" ", line).strip()
            if line:  # a block boundary ends a line; it never makes an empty one
                self.lines.append(line)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self._break()
            if tag == "pre":
                self.pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self._break()
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.current.append(data)


def html_to_text(html: str) -> str:
    """The text of an HTML document: one line per block (paragraph, heading, list item, ``<br>``),
    runs of white space inside a block made one space, scripts and styles dropped, entities decoded."""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    parser._break()
    while parser.lines and not parser.lines[-1]:
        parser.lines.pop()
    return "\n".join(parser.lines) + "\n" if parser.lines else ""
