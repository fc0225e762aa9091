"""Indication: the etiology of the treated fracture. Neoplasm (metastasis, myeloma, lymphoma,
other tumour) > hemangioma > osteoporosis (incl. steroid-induced and low-energy falls) > other
named etiologies (Kummell, Paget) > trauma (high-energy, normal bone)."""

from __future__ import annotations

import re

from scribe.models import Element, Evidence, Status
from scribe.nlp.types import Term
from scribe.resolvers.view import View
from scribe.scan import may_contain

PRIORITY = ("neoplasm", "hemangioma", "osteoporosis", "other", "trauma")
_STEROID = re.compile(r"glucocorticoid|steroid|prednisone|prednisolone|dexamethasone|cortico", re.I)
_STEROID_WORDS = ("steroid", "prednis", "dexamethasone", "cortico")  # one is in every match of _STEROID
# a primary malignant bone tumour of the spine (D2: C41.2) unless called metastatic
_KINDS = (("myeloma", "myeloma"), ("plasmacytoma", "plasmacytoma"), ("lymphoma", "lymphoma"),
          ("metasta", "metastasis"), ("chordoma", "primary"), ("ewing", "primary"), ("osteosarcoma", "primary"),
          ("chondrosarcoma", "primary"), ("carcinoma", "metastasis"), ("cancer", "metastasis"),
          ("mets", "metastasis"), (" ca", "metastasis"))
_PRIMARY = re.compile(r"\b(breast|lung|prostate|renal|kidney|thyroid|colon|colorectal|melanoma|"
                      r"bladder|esophag\w*|gastric|pancrea\w*|hepato\w*|liver|ovarian|uterine|cervical cancer)\b",
                      re.I)


_NHH = frozenset({"negated", "hypothetical", "historical", "uncertain"})
_IN_BONE = re.compile(r"myeloma|plasmacytoma|metasta|lymphoma", re.IGNORECASE)
_FRACTURE = re.compile(r"\bfractur|\bcollapse", re.IGNORECASE)
_BURST = re.compile(r"\b(un)?stable\s+burst\b|\bburst\s+(?:fracture|fx)\s*,?\s*(?:which\s+is\s+)?(un)?stable\b"
                    r"|\bburst\b", re.IGNORECASE)
_WEDGE = re.compile(r"\b(?:wedge|compression)\s+(?:type\s+)?(?:fracture|deformity|fx)", re.IGNORECASE)


def _fracture_type(text: str) -> str | None:
    """Wedge compression, stable / unstable burst (D4's 6th character), or None. (Each pattern is tried only
    on a text holding its words: the text may be the note's first 4000 characters.)"""
    m = _BURST.search(text) if may_contain(text, ("burst",)) else None
    if m:
        said = m.group(0).lower()
        if said.startswith("unstable") or said.endswith("unstable"):
            return "burst_unstable"
        if said.startswith("stable") or said.endswith("stable"):
            return "burst_stable"
        return "burst"
    return "wedge" if may_contain(text, ("wedge", "compression")) and _WEDGE.search(text) else None


# a bone-density T-score at or below -2.5 is osteoporosis by its definition (WHO), the word unsaid
_T_SCORE = re.compile(r"t[- ]?scores?\s*(?:of|was|is|=|:)?\s*(?:-|\u2212|minus|negative)\s*(\d(?:\.\d+)?)")
OSTEOPOROSIS_T_SCORE = -2.5


def _t_score_evidence(v: View) -> list[Evidence]:
    lower = v.tab.lower_text
    if "score" not in lower or len(lower) != len(v.text):
        return []
    out: list[Evidence] = []
    for m in _T_SCORE.finditer(lower):
        if -float(m.group(1)) <= OSTEOPOROSIS_T_SCORE:
            out.append(v.evidence(m.start(), m.end(), "indication:t_score"))
    return out


_PATHOLOGIC_WORDS = frozenset({"pathologic", "pathological"})
_FRACTURE_WORDS = frozenset({"fracture", "fractures", "fx", "collapse"})


def _pathologic_stated(v: View) -> bool:
    """A fracture or lesion called pathologic or lytic, not negated, doubted or only planned for; the
    levels may stand between the words ("pathologic L1 compression fracture")."""
    def live(start: int, end: int) -> bool:
        return v.section_name(start) not in ("PLAN", "CONSENT") and not v.has(start, end, "negated", "hypothetical")

    if any(live(t.start, t.end) for t in v.terms_of("PATHOLOGIC")):
        return True
    lowers = v.tab.lowers
    for i in v.tab.positions(_PATHOLOGIC_WORDS):
        after = lowers[i + 1 : i + 6]
        k = next((j for j, w in enumerate(after) if w in _FRACTURE_WORDS), None)
        if k is not None and all(w not in ".;" for w in after[:k]) and live(i, i + k + 2):
            return True
    return False


def _at_untreated_level(v: View, t: Term, treated: set[str]) -> bool:
    """The term names a lesion of a level not treated today ("a T8 hemangioma" when L1 was treated)."""
    if not treated:
        return False
    near = [m for m in v.sent_levels(v.sent_id[t.start]) if 0 <= t.start - m.end <= 2 or 0 <= m.start - t.end <= 2]
    return bool(near) and all(not set(m.levels) & treated for m in near)


_WORD_TAIL = re.compile(r"\w*")
_INJECTED = re.compile(r"\s*(?:injections?|shots?|inj\b|epidural|joint|facet)", re.IGNORECASE)
_INJECTED_BEFORE = re.compile(r"(?:epidural|facet|joint|trigger point|esi|injections? of)\s*$", re.IGNORECASE)


def _steroid_exposure(v: View, lo: int) -> bool:
    """A glucocorticoid taken (D1: M80.88XA + T38.0X5A) named in the 140 characters from ``lo`` around an
    osteoporosis term: not denied ("denies steroid use") and not a local injection ("epidural steroid
    injections", which treats pain and is no systemic exposure)."""
    window = v.text[lo : lo + 140]
    if not may_contain(window, _STEROID_WORDS):
        return False
    for m in _STEROID.finditer(window):
        start, end = lo + m.start(), lo + m.end()
        tail = _WORD_TAIL.match(v.text, end)  # to the end of the word ("steroids", "corticosteroid")
        word_end = tail.end() if tail is not None else end
        if _INJECTED.match(v.text, word_end) or _INJECTED_BEFORE.search(v.text[max(0, start - 20) : start]):
            continue
        tok = v.tab.token_at(start)
        if v.has(tok, tok + 1, "negated"):
            continue
        return True
    return False


def _high_energy(v: View) -> list[Evidence]:
    """A mechanism that would break a normal bone ("a fall from a ladder", "a high-speed collision"), said of
    this fracture: not negated, doubted, historical or inside a low-energy phrase ("nothing high energy")."""
    low = v.terms_of("IND_LOWENERGY")
    return [v.term_evidence(t) for t in v.terms_of("IND_HIGHENERGY")
            if v.section_name(t.start) not in ("PLAN", "CONSENT")
            and not v.has(t.start, t.end, "negated", "hypothetical", "historical")
            and not any(w.start < t.end and t.start < w.end for w in low)]


def resolve_indication(v: View, treated: list[str] | None = None) -> Element:
    found: dict[str, list[Evidence]] = {}
    weak_neoplasm: list[Evidence] = []
    suspected_neoplasm: list[Evidence] = []
    texts: dict[str, list[str]] = {}
    windows: dict[str, list[int]] = {}  # where each of ``texts`` starts in the note
    for t in v.terms_of("IND"):
        sec = v.section_name(t.start)
        flags = v.flags(t.start, t.end, _NHH)
        cats = {f.category for f in flags}
        ok = sec not in ("PLAN", "CONSENT") and not (cats & {"negated", "hypothetical"})
        if v.keep_mentions:  # (batch output keeps none: no call per term)
            v.record("indication", t.value, t.start_char, t.end_char, t.start, t.end, ok, flags, t.fuzzy)
        if not ok or not t.value:
            continue
        if t.value == "neoplasm" and "historical" in cats:
            weak_neoplasm.append(v.term_evidence(t))
            continue
        if t.value == "neoplasm" and "uncertain" in cats:
            suspected_neoplasm.append(v.term_evidence(t))
            continue
        if t.value == "hemangioma" and (v.has(t.start, t.end, "other_level")
                                        or _at_untreated_level(v, t, set(treated or ()))):
            continue
        found.setdefault(t.value, []).append(v.term_evidence(t))
        texts.setdefault(t.value, []).append(v.text[max(0, t.start_char - 60) : t.end_char + 60])
        windows.setdefault(t.value, []).append(max(0, t.start_char - 60))
    if "osteoporosis" not in found:
        t_score = _t_score_evidence(v)
        if t_score:
            found["osteoporosis"] = t_score
    if weak_neoplasm and "osteoporosis" not in found and (
            any(_IN_BONE.search(e.text) for e in weak_neoplasm) or _pathologic_stated(v)):
        # a disease of bone itself (myeloma, metastases) counts even when a history cue reaches it; a history
        # of a primary cancer only beside a fracture or lesion called pathologic or lytic ("history of prostate
        # cancer ... biopsy to exclude malignancy" establishes no etiology)
        found.setdefault("neoplasm", []).extend(weak_neoplasm)
    if suspected_neoplasm and "neoplasm" not in found and _pathologic_stated(v):
        # a neoplasm only suspected ("suspected myeloma", "concerning for metastasis") is the etiology of a
        # fracture or lesion called pathologic or lytic, not of a fracture of unstated cause
        found["neoplasm"] = suspected_neoplasm
    value = next((k for k in PRIORITY if k in found), None)
    if value == "osteoporosis":
        # D1 / ICD-10-CM: M80 only when the injury would not usually break a healthy bone; a high-energy
        # mechanism is a traumatic fracture even in osteoporotic or osteopenic bone
        high = _high_energy(v)
        if high:
            value = "trauma"
            found["trauma"] = high + [e for e in found.get("trauma", []) if e not in high]
    if value is None:
        return Element.of(value=None, status=Status.MISSING)
    el = Element.of(value=value, status=Status.FOUND, evidence=found[value][:4])
    if value == "osteoporosis" and any(_steroid_exposure(v, lo) for lo in windows.get(value, [])):
        el.detail["subtype"] = "steroid_induced"
    if value == "hemangioma" and any(_FRACTURE.search(x) for x in texts.get(value, [])):
        el.detail["with_fracture"] = True  # D3: M84.58XA first, then D18.09
    if value == "trauma":
        context = " ".join([*texts.get(value, []), v.text[:4000]])
        ftype = _fracture_type(context)
        if ftype:
            el.detail["fracture_type"] = ftype
    if value == "neoplasm":
        joined = " ".join(e.text.lower() for e in found[value])
        kind = next((k for needle, k in _KINDS if needle in joined), "other")
        el.detail["neoplasm_kind"] = kind
        context = " ".join(texts.get(value, []))
        el.detail["primary_site_stated"] = bool(_PRIMARY.search(context)) if kind == "metastasis" else True
    return el
