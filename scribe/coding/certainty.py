"""Uncertain diagnoses: "suspected myeloma", "possible metastasis", "probable osteoporotic fracture",
"rule out tumour".

In the outpatient setting (ICD-10-CM Official Guidelines, Section IV.H) an uncertain diagnosis is not
coded as if it were established: the documented sign or fracture is coded instead. This module reads the
words just before the indication's evidence and marks the element ``detail["uncertain"]`` (the cue and its
offsets); the coding engine then codes the fracture without the unconfirmed cause and raises
``uncertain_diagnosis`` for the coder. A clinician's answer to the indication prompt is a confirmed cause.
No spaCy here: a small look-back on the note text, clause by clause.
"""

from __future__ import annotations

import re
from functools import cache

from scribe.models import Extraction, Status, copy_with

# the cue must stand in the same clause, at most three words before the diagnosis
_CUE = re.compile(
    r"\b(suspected|suspicion\s+of|suspicious\s+for|possible|possibly|probable|probably|presumed|presumptive|"
    r"likely|questionable|query|concerning\s+for|worrisome\s+for|rule[-\s]out|r/o|cannot\s+(?:be\s+)?exclude[d]?)"
    r"((?:\s+[\w/-]+){0,3}?)\s*$",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[.;:\n!?]|\bbut\b|\bhowever\b", re.IGNORECASE)
_LOOK_BACK = 60


# a literal part of every cue above (lower case): a look-back window holding none of them holds no cue
_CUE_WORDS = ("suspect", "suspicio", "possib", "probab", "presum", "likely", "question", "query", "concerning",
              "worrisome", "rule", "r/o", "cannot")


def uncertain_cue(text: str, start: int) -> tuple[str, int, int] | None:
    """The uncertainty cue (text, start, end) qualifying the words at ``start``, or None.

    Fast path: an ASCII window (where case-insensitive matching is plain lower-casing) holding none of
    ``_CUE_WORDS`` cannot hold a cue, and nearly every window is one; the two searches below take
    microseconds each even on the 60 characters, so they run only on the rest."""
    lo = max(0, start - _LOOK_BACK)
    window = text[lo:start]
    if window.isascii():
        low = window.lower()
        for word in _CUE_WORDS:  # a plain loop: a generator's frame costs more than these searches
            if word in low:
                break
        else:
            return None
    ends = list(_CLAUSE_END.finditer(window))
    if ends:
        lo += ends[-1].end()
        window = text[lo:start]
    m = _CUE.search(window)
    if m is None:
        return None
    return m.group(1), lo + m.start(1), lo + m.end(1)


_CUE_STEMS = ("suspect", "suspicio", "possib", "probab", "presum", "likely", "question", "query", "concerning",
              "worrisome", "rule out", "rule-out", "r/o", "exclude")


@cache
def _uncertain_cause() -> tuple[re.Pattern[str], dict[str, str]]:
    """A cue followed (within three words) by a cause the indication lexicon names, and phrase -> value."""
    from scribe.lexicon import default_lexicon

    values = {t.pattern.lower(): t.value for t in default_lexicon().terms
              if t.label == "IND" and t.value and t.value != "other"}
    phrases = "|".join(re.escape(p) for p in sorted(values, key=len, reverse=True))
    return re.compile(rf"{_CUE.pattern.rstrip('$').rsplit('((?:', 1)[0]}\s+(?:[\w-]+\s+){{0,3}}?({phrases})\b",
                      re.IGNORECASE), values


def _uncertain_mention(text: str) -> dict[str, object] | None:
    """The first cause named only as uncertain ("rule out metastatic disease"), for an indication the
    resolver set aside."""
    lower = text.lower()
    if not any(stem in lower for stem in _CUE_STEMS):
        return None
    rx, values = _uncertain_cause()
    m = rx.search(text)
    if m is None:
        return None
    return {"cue": m.group(1), "start": m.start(1), "end": m.end(1), "value": values.get(m.group(2).lower())}


def mark_uncertain_indication(ex: Extraction, text: str) -> Extraction:
    """``ex`` with ``elements.indication.detail["uncertain"]`` set when every span that decided the
    indication is qualified as uncertain (one plain statement of the cause elsewhere confirms it), or when
    no cause was found but one is named as uncertain ("possible myeloma"): the value then stays null and
    the clinician is still asked."""
    ind = ex.elements.indication
    if ind.status == Status.MISSING and ind.value is None and ex.is_procedure_note:
        found = _uncertain_mention(text)
        if found is None:
            return ex
        detail = {**ind.detail, "uncertain": found}
    elif ind.status != Status.FOUND or not ind.evidence or ind.value in (None, "other"):
        return ex
    else:
        cues = [uncertain_cue(text, e.start) for e in ind.evidence]
        if not all(cues):
            return ex
        cue, start, end = cues[0]  # type: ignore[misc]
        detail = {**ind.detail, "uncertain": {"cue": cue, "start": start, "end": end, "value": ind.value}}
    elements = copy_with(ex.elements, {"indication": copy_with(ind, {"detail": detail})})
    return copy_with(ex, {"elements": elements})
