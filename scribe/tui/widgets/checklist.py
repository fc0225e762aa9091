"""The checklist: one row per element (status and value), plus answered or pending payer questions.

Highlighting a row scrolls the note to its evidence; selecting it (enter or a click) asks the
review screen to open its prompt.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from scribe.tui.state import LABELS
from scribe.tui.widgets.note_view import ELEMENT_COLOURS

STATUS_STYLE: dict[str, tuple[str, str]] = {
    "found": ("✓", "green"),
    "missing": ("✗", "bold red"),
    "conflict": ("!", "bold yellow"),
    "answered": ("✎", "bold cyan"),
    "corrected": ("✎", "bold magenta"),
    "not_applicable": ("·", "dim"),
    "stale": ("⚠", "bold yellow"),
}


def row_text(element: str, status: str, value: str) -> Text:
    mark, style = STATUS_STYLE.get(status, ("?", ""))
    word = "n/a" if status == "not_applicable" else status
    text = Text()
    text.append(f"{mark} ", style=style)
    text.append("▌", style=ELEMENT_COLOURS.get(element, ""))  # the colour of its evidence in the note
    text.append(f"{LABELS.get(element, element):<13}", style="bold")
    text.append(f"{word:<10}", style=style)
    text.append(value, style="dim" if status == "not_applicable" else "")
    return text


class Checklist(OptionList):
    """Rows are ``Option``s whose id is the element name."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: list[tuple[str, str, str]] = []

    def set_rows(self, rows: list[tuple[str, str, str]]) -> None:
        if rows == self.rows:
            return
        keep = self.highlighted_option.id if self.highlighted_option is not None else None
        self.rows = list(rows)
        self.set_options([Option(row_text(*r), id=r[0]) for r in rows])
        ids = [r[0] for r in rows]
        if keep in ids:
            self.highlighted = ids.index(keep)

    @property
    def selected_element(self) -> str | None:
        opt = self.highlighted_option
        return opt.id if opt is not None else None

    def status_of(self, element: str) -> str | None:
        for name, status, _ in self.rows:
            if name == element:
                return status
        return None
