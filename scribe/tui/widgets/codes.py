"""The codes panel: CPT lines (units, modifiers), ICD-10-CM diagnoses and flags by severity.

Highlighting or selecting an item scrolls the note to its evidence.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from scribe.models import Evidence, Extraction

SEVERITY_STYLE = {
    "hard-stop": ("■ HARD-STOP", "bold red"),
    "warning": ("▲ warning", "yellow"),
    "info": ("• info", "dim"),
}


def _items(ex: Extraction) -> list[tuple[str, Text, list[Evidence]]]:
    items: list[tuple[str, Text, list[Evidence]]] = []
    if not ex.codes:
        items.append(("cpt-none", Text("CPT  none proposed yet", style="dim"), []))
    for i, c in enumerate(ex.codes):
        t = Text()
        t.append("CPT ", style="dim")
        t.append(c.code, style="bold")
        t.append(f" ×{c.units}")
        if c.modifiers:
            t.append(" -" + " -".join(c.modifiers), style="bold cyan")
        if c.description:
            t.append(f"  {c.description}", style="dim")
        items.append((f"cpt-{i}", t, list(c.evidence)))
    for i, d in enumerate(ex.diagnoses):
        t = Text()
        t.append("ICD ", style="dim")
        t.append(d.code, style="bold")
        if d.description:
            t.append(f"  {d.description}", style="dim")
        items.append((f"icd-{i}", t, list(d.evidence)))
    for i, f in enumerate(ex.flags):
        label, style = SEVERITY_STYLE.get(f.severity, (f.severity, ""))
        t = Text()
        t.append(label, style=style)
        t.append(f" {f.message or f.id}")
        items.append((f"flag-{i}", t, list(f.evidence)))
    return items


class EvidenceList(OptionList):
    """An option list whose items point at the note's words (highlighting one scrolls the note to them);
    a subclass says which items an extraction gives (``items_of``). Options are rebuilt only when they change,
    so the highlight stays where it was."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.evidence: dict[str, list[Evidence]] = {}
        self.plain: list[str] = []

    def items_of(self, ex: Extraction) -> list[tuple[str, Text, list[Evidence]]]:
        raise NotImplementedError

    def set_extraction(self, ex: Extraction | None) -> None:
        items = self.items_of(ex) if ex is not None else []
        self.evidence = {k: ev for k, _, ev in items}
        plain = [t.plain for _, t, _ in items]
        if plain == self.plain:
            return
        self.plain = plain
        self.set_options([Option(t, id=k) for k, t, _ in items])


class CodesPanel(EvidenceList):
    def items_of(self, ex: Extraction) -> list[tuple[str, Text, list[Evidence]]]:
        return _items(ex)
