"""Imaging guidance used for the procedure: fluoroscopy (C-arm, biplane) and CT (CT-guided,
cone-beam, O-arm). Diagnostic imaging before the encounter and planned guidance are not."""

from __future__ import annotations

from functools import cache

from scribe.lexicon import default_lexicon
from scribe.models import Element, Status
from scribe.resolvers.view import View

_EXCLUDE = frozenset({"negated", "historical", "hypothetical", "diagnostic"})


@cache
def _guidance_sections() -> frozenset[str]:
    """Sections outside the session narrative whose guidance terms still count ("Imaging: fluoroscopy")."""
    return frozenset(s.name for s in default_lexicon().sections.sections if s.guidance)


def resolve_guidance(v: View) -> Element:
    found: dict[str, list] = {}
    for t in v.terms_of("GUIDE"):
        flags = [f for f in v.flags(t.start, t.end, _EXCLUDE)
                 if not v.aimed_before(f, t) and not v.aimed_after(f, t)]
        sec = v.section(t.start)
        here = sec.session or sec.name in _guidance_sections()
        ok = here and not flags and not v.blank_field(t)
        if v.keep_mentions:  # (batch output keeps none: no call per term)
            v.record("guidance", t.value, t.start_char, t.end_char, t.start, t.end, ok, flags, t.fuzzy)
        if ok and t.value:
            found.setdefault(t.value, []).append(v.term_evidence(t))
    value = sorted(found)
    evidence = [e for k in value for e in found[k][:3]]
    return Element.of(value=value, status=Status.FOUND if value else Status.MISSING, evidence=evidence)
