"""The note, read-only, with each element's evidence in its own colour.

One ``Static`` per line of the note inside a ``VerticalScroll`` (public Textual API only). Evidence
spans get the element's colour; discarded mentions (negated, historical…) are struck through and
dimmed; their context cue is underlined. ``show_evidence`` scrolls to a span and outlines it.
The note text is never modified: offsets index the text exactly as read.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from scribe.display import same_length_visible
from scribe.models import ELEMENT_NAMES, Evidence, Extraction

ELEMENT_COLOURS: dict[str, str] = {
    "procedure_type": "#1f6feb",
    "cavity_creation": "#8250df",
    "levels": "#9a6700",
    "guidance": "#1a7f37",
    "biopsy": "#cf222e",
    "laterality": "#0a7ea4",
    "conservative_therapy": "#bc4c00",
    "indication": "#bf3989",
    "abn_on_file": "#57606a",
}
DISCARDED = Style(dim=True, strike=True, italic=True)
CUE = Style(underline=True, dim=True)
FOCUS = Style(reverse=True, bold=True)


def element_style(element: str) -> Style:
    return Style(color="#ffffff", bgcolor=ELEMENT_COLOURS.get(element, "#57606a"), bold=True)


class NoteLine(Static):
    """One line of the note (wraps inside the view)."""

    DEFAULT_CSS = "NoteLine { width: 1fr; height: auto; }"


class NoteView(VerticalScroll, can_focus=True):
    """The highlighted note. ``load`` once per note, ``set_extraction`` whenever answers change."""

    DEFAULT_CSS = "NoteView { height: 1fr; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = ""
        self._starts: list[int] = [0]
        self._lines: list[str] = []
        self._spans: list[tuple[int, int, Style]] = []
        self._focus: tuple[int, int] | None = None
        self._widgets: list[NoteLine] = []

    # ------------------------------------------------------------------ content
    async def load(self, text: str, extraction: Extraction | None = None, message: str = "") -> None:
        """Show a new note (or just ``message`` when there is no note)."""
        self.text = text
        self._focus = None
        self._lines = text.split("\n") if text else []
        self._starts = []
        pos = 0
        for line in self._lines:
            self._starts.append(pos)
            pos += len(line) + 1
        self._spans = _spans(extraction) if extraction is not None else []
        await self.remove_children()
        if message or not self._lines:
            self._widgets = [NoteLine(Text(message or "(empty note)", style="italic"), classes="message")]
        else:
            self._widgets = [NoteLine(self._render_line(i)) for i in range(len(self._lines))]
        await self.mount_all(self._widgets)
        self.scroll_home(animate=False)

    def set_extraction(self, extraction: Extraction | None) -> None:
        """Re-colour the spans (answers do not change the text)."""
        new = _spans(extraction) if extraction is not None else []
        if new == self._spans:
            return
        self._spans = new
        self._refresh_lines(range(len(self._lines)))

    def _render_line(self, index: int) -> Text:
        line = self._lines[index]
        start = self._starts[index]
        end = start + len(line)
        shown = line[:-1] if line.endswith("\r") else line
        text = Text(same_length_visible(shown) or " ")  # a note's ESC never reaches the terminal; offsets kept
        spans = list(self._spans)
        if self._focus is not None:
            spans.append((*self._focus, FOCUS))
        for s, e, style in spans:
            if e <= start or s >= end:
                continue
            a, b = max(s, start) - start, min(e, end) - start
            if a < len(shown):
                text.stylize(style, a, min(b, len(shown)))
        return text

    def _refresh_lines(self, indexes: Iterable[int]) -> None:
        if len(self._widgets) != len(self._lines):
            return
        for i in indexes:
            if 0 <= i < len(self._widgets):
                self._widgets[i].update(self._render_line(i))

    def line_of(self, offset: int) -> int:
        return max(0, bisect_right(self._starts, offset) - 1)

    # ------------------------------------------------------------------ navigation
    def show_evidence(self, evidence: Evidence | None) -> None:
        """Scroll so the span is visible (about a third down the view) and outline it."""
        old = self._focus
        self._focus = (evidence.start, evidence.end) if evidence is not None else None
        touched: set[int] = set()
        for span in (old, self._focus):
            if span is not None:
                touched.update(range(self.line_of(span[0]), self.line_of(max(span[0], span[1] - 1)) + 1))
        self._refresh_lines(sorted(touched))
        if evidence is None or not self._widgets or len(self._widgets) != len(self._lines):
            return
        index = self.line_of(evidence.start)
        widget = self._widgets[index]
        column = evidence.start - self._starts[index]
        self.call_after_refresh(self._scroll_to_evidence, widget, index, column)

    def _scroll_to_evidence(self, widget: NoteLine, index: int, column: int) -> None:
        row = _wrapped_row(self._lines[index], column, max(1, widget.content_size.width), self.app.console)
        y = widget.virtual_region.y + row
        height = self.scrollable_content_region.height
        if self.scroll_y <= y < self.scroll_y + height - 1:
            return
        self.scroll_to(y=max(0, y - height // 3), animate=False)

    @property
    def focused_span(self) -> tuple[int, int] | None:
        return self._focus


def _wrapped_row(line: str, column: int, width: int, console: object) -> int:
    """The wrapped row of ``column`` in ``line`` rendered ``width`` cells wide (approximate)."""
    if column <= 0 or len(line) <= width:
        return 0
    rows = Text(line).wrap(console, width)  # type: ignore[arg-type]
    pos = 0
    for i, row in enumerate(rows):
        pos += len(row.plain)
        while pos < len(line) and line[pos] == " ":
            pos += 1
        if column < pos:
            return i
    return max(0, len(rows) - 1)


def _spans(ex: Extraction) -> list[tuple[int, int, Style]]:
    """Discarded mentions first (so evidence paints over them), then each element's evidence."""
    spans: list[tuple[int, int, Style]] = []
    for m in ex.mentions:
        if m.used:
            continue
        spans.append((m.start, m.end, DISCARDED))
        for f in m.flags:
            spans.append((f.cue_start, f.cue_end, CUE))
    for name in ELEMENT_NAMES:
        style = element_style(name)
        for ev in ex.elements.get(name).evidence:
            spans.append((ev.start, ev.end, style))
    return spans
