"""Laterality of a sacroplasty (decides 0200T vs 0201T): bilateral when both sides are
treated or the procedure is called bilateral; unilateral when one side only."""

from __future__ import annotations

from scribe.models import Element, Status
from scribe.nlp.types import Term
from scribe.resolvers.view import View

_EXCLUDE = frozenset({"negated", "historical", "hypothetical", "corrected", "diagnostic"})
_CONTEXT = {"PROC", "SACRUM", "ACCESS", "CEMENT", "INJECT"}


_FRACTURE_WORDS = {"fracture", "fractures", "fx", "insufficiency"}


def _describes_fracture(v: View, t: Term) -> bool:
    """"bilateral sacral insufficiency fractures": the side of the fracture, not of the access."""
    if t.text.lower() == "h-type":
        return False
    following = v.tab.lowers[t.end : t.end + 4]
    return bool(_FRACTURE_WORDS & set(following))


def resolve_laterality(v: View, sacroplasty: bool) -> Element:
    if not sacroplasty:
        return Element.of(value=None, status=Status.NOT_APPLICABLE)
    explicit: dict[str, list] = {}
    sides: dict[str, list] = {}
    for t in v.terms_of("SIDE"):
        sec = v.section(t.start)
        if not sec.session or sec.name == "DEMOGRAPHICS":
            continue
        flags = v.flags(t.start, t.end, _EXCLUDE)
        sid = v.sent_id[t.start]
        near = {x.label for x in v.sent_terms(sid)} & _CONTEXT
        ok = not flags and bool(near) and not _describes_fracture(v, t)
        v.record("laterality", t.value, t.start_char, t.end_char, t.start, t.end, ok, flags)
        if not ok or t.value is None:
            continue
        if t.value in ("bilateral", "unilateral"):
            explicit.setdefault(t.value, []).append(v.term_evidence(t))
        elif len(t.text) > 1 or sec.name != "DEMOGRAPHICS":
            sides.setdefault(t.value, []).append(v.term_evidence(t))
    # an explicit "unilateral" outweighs side words said in passing ("left (unilateral) sacroplasty")
    if "bilateral" in explicit or ({"left", "right"} <= set(sides) and "unilateral" not in explicit):
        ev = explicit.get("bilateral", []) or sides.get("left", [])[:1] + sides.get("right", [])[:1]
        return Element.of(value="bilateral", status=Status.FOUND, evidence=ev[:3])
    if "unilateral" in explicit or sides:
        ev = explicit.get("unilateral", []) or next(iter(sides.values()))
        return Element.of(value="unilateral", status=Status.FOUND, evidence=ev[:3])
    return Element.of(value=None, status=Status.MISSING)
