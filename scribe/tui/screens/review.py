"""The review screen: the note on the left; the checklist and the codes panel on the right."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static

from scribe.tui.widgets.acts import ActsPanel
from scribe.tui.widgets.checklist import Checklist
from scribe.tui.widgets.codes import CodesPanel
from scribe.tui.widgets.note_view import NoteView

if TYPE_CHECKING:
    from scribe.tui.app import ReviewApp


class ReviewScreen(Screen[None]):
    """Layout only: the actions live on the app (their keys are data in ``scribe.tui.bindings``)."""

    def compose(self) -> ComposeResult:
        yield Static("", id="status")
        with Horizontal(id="body"):
            note = NoteView(id="note")
            note.border_title = "Note"
            yield note
            with Vertical(id="side"):
                checklist = Checklist(id="checklist")
                checklist.border_title = "Checklist"
                yield checklist
                acts = ActsPanel(id="acts")
                acts.border_title = "Done, level by level"
                yield acts
                codes = CodesPanel(id="codes")
                codes.border_title = "Codes & flags"
                yield codes
        yield Footer()

    @property
    def review_app(self) -> ReviewApp:
        return cast("ReviewApp", self.app)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "checklist" and event.option.id:
            self.review_app.show_element(event.option.id)
        elif event.option_list.id == "codes" and event.option.id:
            self.review_app.show_code(event.option.id)
        elif event.option_list.id == "acts" and event.option.id:
            self.review_app.show_act(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "checklist" and event.option.id:
            self.review_app.open_prompt(event.option.id)
        elif event.option_list.id == "codes" and event.option.id:
            self.review_app.show_code(event.option.id)
