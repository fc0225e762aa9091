"""Resolvers: from the analysed Doc to one Element per contract field, then `missing`.

Each element has its own module; this one orders them (procedure first: the others depend on
the procedure type and treated levels) and applies the contract's rules for `missing` and for
notes that describe no procedure of this family.
"""

from __future__ import annotations

from datetime import date

from spacy.tokens import Doc

from scribe.acts import build_acts
from scribe.document import classify
from scribe.models import MISSING_ORDER, Element, Elements, Extraction, Status
from scribe.resolvers.biopsy import resolve_biopsy
from scribe.resolvers.coverage import find_coverage
from scribe.resolvers.guidance import resolve_guidance
from scribe.resolvers.indication import resolve_indication
from scribe.resolvers.laterality import resolve_laterality
from scribe.resolvers.procedure import SP, resolve_procedure
from scribe.resolvers.therapy import resolve_therapy
from scribe.resolvers.view import View


def compute_missing(elements: Elements, is_procedure_note: bool = True) -> list[str]:
    """Elements the clinician must be asked about, in the contract's order."""
    if not is_procedure_note:
        return []
    out: list[str] = []
    for name in MISSING_ORDER:
        el: Element = elements.get(name)
        if el.status in (Status.MISSING, Status.CONFLICT):
            out.append(name)
    return out


def resolve(doc: Doc, note_id: str, source: str = "", date_of_service: date | None = None,
            keep_mentions: bool = True) -> Extraction:
    """Resolve every element. ``keep_mentions`` records every candidate mention (for the TUI and
    the audit); batch output does not print them, so it can skip the work."""
    v = View(doc, keep_mentions=keep_mentions)
    acts = build_acts(v)  # first: the procedure resolver reads which needle words state access
    proc = resolve_procedure(v)
    gate = classify(v, acts, performed=list(proc.procedure_type.evidence) if proc.procedure_type.value else [],
                    named=bool(proc.family_names) or bool(proc.procedure_type.evidence))
    if not gate.augmentation or gate.discontinued:
        proc.is_procedure_note = False
    sacro = proc.procedure_type.value == SP
    treated_levels = list(proc.levels.value or [])
    guidance = resolve_guidance(v)
    biopsy = resolve_biopsy(v, treated_levels, sacro)
    laterality = resolve_laterality(v, sacro)
    therapy = resolve_therapy(v, date_of_service)
    indication = resolve_indication(v, treated_levels)
    elements = Elements(
        procedure_type=proc.procedure_type, cavity_creation=proc.cavity_creation, levels=proc.levels,
        guidance=guidance, biopsy=biopsy, laterality=laterality, conservative_therapy=therapy,
        indication=indication,
    )
    if elements.procedure_type.value and not elements.procedure_type.evidence:
        # a procedure known from what was done (a cavity step, cement), not from its name: those acts are its
        # evidence
        done = [e for a in acts if a.when == "today" and a.polarity == "affirmed" and a.act in ("cavity", "cement")
                for e in a.evidence]
        elements.procedure_type.evidence = (done or list(elements.cavity_creation.evidence)
                                            or list(elements.levels.evidence))[:4]
    if not proc.is_procedure_note:
        # not a procedure note of this family: nothing was treated this session
        for name in ("procedure_type", "cavity_creation", "levels", "guidance", "biopsy", "laterality",
                     "indication"):
            el = elements.get(name)
            empty = {"levels": [], "guidance": [], "biopsy": {"performed": None, "sites": []}}.get(name)
            setattr(elements, name, Element.of(value=empty, status=Status.NOT_APPLICABLE, evidence=[],
                                            detail=el.detail))
        elements.conservative_therapy.status = Status.NOT_APPLICABLE
    return Extraction(
        note_id=note_id, source=source, document=gate.document, elements=elements, acts=acts,
        missing=compute_missing(elements, proc.is_procedure_note),
        date_of_service=date_of_service, is_procedure_note=proc.is_procedure_note,
        treated=proc.treated if proc.is_procedure_note else [], mentions=v.mentions, text_length=len(v.text),
        coverage=find_coverage(v.text, [t.level for t in proc.treated], v.tab.lower_text)
        if proc.is_procedure_note else {},
    )
