"""The acts panel: what was done at each level today and how the level is coded, beside the checklist, so a
clinician sees why a level is billed (``scribe.acts_view``). Highlighting a level scrolls the note to its act.
"""

from __future__ import annotations

from rich.text import Text

from scribe.acts_view import acts_by_level
from scribe.models import Evidence, Extraction
from scribe.tui.widgets.codes import EvidenceList


def _items(ex: Extraction) -> list[tuple[str, Text, list[Evidence]]]:
    items: list[tuple[str, Text, list[Evidence]]] = []
    kind = ex.document.kind.replace("_", " ")
    if ex.document.kind != "augmentation_procedure" or ex.document.discontinued:
        items.append(("doc", Text(f"{kind}: {ex.document.reason}", style="italic"), list(ex.document.evidence)))
    evidence = {a.evidence[0].start: a.evidence for a in ex.acts if a.evidence}
    for i, row in enumerate(acts_by_level(ex)):
        if not row.done and not row.billed:
            continue  # only set-aside acts here: the checklist and the note show those
        t = Text()
        t.append(f"{row.level:<5}", style="bold")
        t.append(f" {row.billed or 'not billed'}", style="green" if row.billed else "dim")
        if row.done:
            kinds: list[str] = []  # each act once: "access, cavity (balloon), cement"
            for d in row.done:
                word = d.rsplit(" @", 1)[0].split(",")[0].replace("needle access", "access")
                if word not in kinds and not (word == "cavity" and any(k.startswith("cavity") for k in kinds)):
                    kinds.append(word)
            t.append(" · " + ", ".join(kinds), style="")
        first = next((int(d.rsplit(" @", 1)[1]) for d in row.done if " @" in d), None)
        items.append((f"act-{i}", t, list(evidence.get(first, [])) if first is not None else []))
    if not items:
        items.append(("acts-none", Text("no act of this family recorded", style="dim"), []))
    return items


class ActsPanel(EvidenceList):
    def items_of(self, ex: Extraction) -> list[tuple[str, Text, list[Evidence]]]:
        return _items(ex)
