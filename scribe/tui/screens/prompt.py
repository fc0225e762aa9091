"""The prompt modal: the question, the note's own words it cites, the choices and a typed answer.

Typed answers go through ``scribe.prompts.parse_answer`` ("T12, L1", "T11-L1", "6 weeks", "3 months",
a choice number or the start of its label, "undetermined"). An invalid answer shows its error inline
and keeps what was typed. The answer is saved (by the app's ``submit`` callback) before the modal
closes; if saving fails the modal stays open with the error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from scribe.models import Prompt
from scribe.prompts import AnswerError, parse_answer
from scribe.tui.state import LABELS
from scribe.tui.widgets.note_view import ELEMENT_COLOURS

# submit(element, value, comment) -> an error message, or None once the answer is saved
Submit = Callable[[str, Any, str], "str | None"]

PLACEHOLDERS = {
    "levels": "levels, e.g. T12, L1 or T11-L1",
    "duration": "duration, e.g. 6 weeks or 3 months",
    "biopsy": "site(s), e.g. L1, or 'no'",
    "choice": "number or words of a choice above",
    "bool": "yes / no",
    "text": "answer",
    "multi": "numbers or words of the choices above",
}


class PromptScreen(ModalScreen[bool]):
    """Dismisses with True when an answer was saved, False when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, prompt: Prompt, submit: Submit, *, coder: bool = False) -> None:
        super().__init__()
        self.prompt = prompt
        self.submit = submit
        self.coder = coder

    def compose(self) -> ComposeResult:
        p = self.prompt
        with Vertical(id="prompt-box") as box:
            label = LABELS.get(p.element, p.element)
            box.border_title = f"{'Correct' if self.coder else 'Clarify'}: {label}"
            box.border_subtitle = p.reason
            yield Static(Text(p.question), id="question")
            if p.cites:
                cites = Text("Note says: ", style="dim")
                colour = ELEMENT_COLOURS.get(p.element, "#57606a")
                for i, ev in enumerate(p.cites):
                    if i:
                        cites.append(" … ", style="dim")
                    cites.append(" ".join(ev.text.split()), style=f"bold #ffffff on {colour}")
                yield Static(cites, id="cites")
            if p.options:
                yield OptionList(*[Option(Text(f"{i}  {o.label}"), id=str(i - 1))
                                   for i, o in enumerate(p.options, 1)], id="choices")
            yield Input(placeholder=PLACEHOLDERS.get(p.input_kind, "answer"), id="answer", compact=True)
            yield Input(placeholder="comment (optional)", id="comment", compact=True)
            yield Static("", id="error")
            yield Static(Text("enter save · tab next field · esc cancel", style="dim"), id="hint")

    def on_mount(self) -> None:
        self.query_one("#answer", Input).focus()

    # ------------------------------------------------------------------ submitting
    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        # the value as submitted: keys typed after Enter (still reaching the input before the modal closes) are
        # not part of the answer
        raw = event.value if event.input.id == "answer" else self.query_one("#answer", Input).value
        if event.input.id == "comment" and not raw.strip():
            self.query_one("#answer", Input).focus()
            self.show_error("type an answer or choose one of the options")
            return
        if not raw.strip():
            self.show_error("type an answer or choose one of the options")
            return
        try:
            value = parse_answer(self.prompt.element, raw)
        except AnswerError as err:
            self.show_error(self._friendly(err))
            return
        self._save(value)

    def _friendly(self, err: AnswerError) -> str:
        """parse_choice lists raw values (e.g. "['ct']"): name the choices by number instead."""
        if self.prompt.input_kind in ("choice", "bool", "multi") and self.prompt.options:
            n = len(self.prompt.options)
            return f"not one of the choices: type a number 1-{n} or the first words of a choice"
        return str(err)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int(event.option.id or 0)
        option = self.prompt.options[index]
        try:
            value = parse_answer(self.prompt.element, option.value)
        except AnswerError as err:
            self.show_error(str(err))
            return
        self._save(value)

    def _save(self, value: Any) -> None:
        comment = self.query_one("#comment", Input).value.strip()
        error = self.submit(self.prompt.element, value, comment)
        if error:
            self.show_error(error)
            return
        self.dismiss(True)

    def show_error(self, message: str) -> None:
        self.query_one("#error", Static).update(Text(f"✗ {message}", style="bold red"))

    @property
    def error_text(self) -> str:
        return str(self.query_one("#error", Static).render())

    def action_cancel(self) -> None:
        self.dismiss(False)
