"""Every key of the review app, defined once as data.

The footer (``App.BINDINGS``), the ``?`` help screen and the ``ctrl+p`` command palette are all
derived from ``KEYS``. Keys avoid ctrl+enter and ctrl+i/j/m/h, which terminals swallow or alias.
This module does not import Textual at import time.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

Mode = Literal["both", "review", "audit"]


class KeySpec(NamedTuple):
    key: str
    action: str
    description: str  # short: the footer
    show: bool = True  # shown in the footer
    mode: Mode = "both"  # review (clinician) only, audit (coder) only, or both
    long: str = ""  # the help screen and the command palette (defaults to ``description``)

    def applies(self, audit: bool) -> bool:
        return self.mode == "both" or (self.mode == "audit") == audit

    @property
    def display_key(self) -> str:
        return {"question_mark": "?", "escape": "esc"}.get(self.key, self.key)

    @property
    def title(self) -> str:
        return self.long or self.description


# Footer order: what matters most first (narrow terminals cut the end of the footer).
KEYS: tuple[KeySpec, ...] = (
    KeySpec("a", "answer_next", "Answer", True, "review", "Answer the next open question"),
    KeySpec("w", "mark_wrong", "Mark wrong", True, "audit", "Mark the selected value wrong and give the right one"),
    KeySpec("enter", "open_selected", "Open", False, "both", "Open the question of the selected checklist row"),
    KeySpec("n", "next_note", "Next", True, "both", "Next note in the queue"),
    KeySpec("p", "previous_note", "Prev", True, "both", "Previous note in the queue"),
    KeySpec("e", "export_addendum", "Addendum", True, "review", "Write the addendum beside the note"),
    KeySpec("s", "attest", "Attest", True, "review", "Attest the addendum (records who and when)"),
    KeySpec("g", "export_gold", "Gold", True, "audit", "Export the gold record of the corrections"),
    KeySpec("question_mark", "help", "Help", True, "both", "Show every key"),
    KeySpec("q", "quit", "Quit", True, "both", "Quit (answers are already saved)"),
    KeySpec("t", "cycle_theme", "Theme", True, "both", "Cycle the colour theme"),
    KeySpec("f", "focus_next_panel", "Panel", False, "both", "Focus the next panel (note, checklist, codes)"),
)

# Built into Textual; listed in the help screen only.
BUILTIN_KEYS: tuple[tuple[str, str], ...] = (
    ("ctrl+p", "Command palette (every action above, searchable)"),
    ("tab / shift+tab", "Move between the note, the checklist and the codes"),
    ("up / down", "Move in a list; the note scrolls to the evidence"),
    ("esc", "Close a prompt or this screen without saving"),
)

THEMES: tuple[str, ...] = ("textual-dark", "textual-light", "nord")


def keys_for(audit: bool) -> list[KeySpec]:
    return [k for k in KEYS if k.applies(audit)]


def spec_for_action(action: str) -> KeySpec | None:
    for k in KEYS:
        if k.action == action:
            return k
    return None


def textual_bindings() -> list[Any]:
    """``KEYS`` as Textual ``Binding`` objects (imports Textual)."""
    from textual.binding import Binding

    return [Binding(k.key, k.action, k.description, show=k.show, key_display=k.display_key) for k in KEYS]
