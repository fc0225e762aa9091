"""The ``?`` help screen: every key, listed from the same data as the footer and the palette."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from scribe.tui.bindings import BUILTIN_KEYS, KeySpec


def help_table(keys: Sequence[KeySpec]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for k in keys:
        table.add_row(k.display_key, k.title)
    table.add_row("", "")
    for key, text in BUILTIN_KEYS:
        table.add_row(Text(key, style="bold dim"), Text(text, style="dim"))
    return table


def legend() -> Text:
    from scribe.tui.widgets.note_view import CUE, DISCARDED, element_style

    text = Text("\nIn the note: ")
    text.append("evidence", style=element_style("levels"))
    text.append(" in its element's colour (the bar in the checklist); ")
    text.append("discarded mention", style=DISCARDED)
    text.append(" (negated, historical…) with its ")
    text.append("cue", style=CUE)
    text.append(" underlined.")
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", key_display="?"),
    ]

    def __init__(self, keys: Sequence[KeySpec], title: str = "Keys") -> None:
        super().__init__()
        self.keys = list(keys)
        self.title_text = title

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = self.title_text
            box.border_subtitle = "esc or ? to close"
            yield Static(help_table(self.keys), id="help-table")
            yield Static(legend(), id="help-legend")

    def action_close(self) -> None:
        self.dismiss(None)
