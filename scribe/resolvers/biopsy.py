"""Bone biopsy: performed (true / false when explicitly not done / null when silent) and its
sites: the level or named site nearest the biopsy mention, else the level being worked on in
that paragraph ("through the left cannula")."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from functools import cached_property
from operator import le

from scribe.models import Element, Evidence, Status
from scribe.nlp.types import LevelMention, Term, level_sort_key
from scribe.resolvers.view import LevelGroup, View

_SKIP = frozenset({"historical", "hypothetical"})
_NHH = frozenset({"negated", "historical", "hypothetical"})
_NEG = frozenset({"negated"})
_NEG_HIST = frozenset({"negated", "historical"})
_INSTRUMENT = frozenset({"needle", "needles", "trocar", "trocars", "cannula", "cannulas", "system", "kit", "device",
                         "forceps", "tool", "set"})
# words that are a biopsy only beside an act of sampling ("tissue was sent for flow cytometry", not "flow
# cytometry at the outside hospital showed myeloma")
# "bone marrow edema", "marrow signal": an imaging finding named after the marrow, not a sample of it
_FINDING = frozenset({"edema", "oedema", "signal", "replacement", "infiltration", "infiltrative", "enhancement",
                      "lesion", "lesions", "pattern", "changes", "involvement", "hyperintensity", "abnormality"})
_WEAK = frozenset({"core", "specimen", "aspirate", "aspiration", "flow cytometry", "flow cytometric analysis"})
# the value of a field left with nothing ("Pathology: none.", "Tissue: N/A", "Samples: none sent")
_NONE_VALUE = re.compile(r"[\s,.;:*_\-]*(?:none|n/?a|nil|no|not sent|none sent|not obtained|not applicable)[\s,.;]*",
                         re.IGNORECASE)
_SAMPLING = re.compile(r"obtain|\btook\b|\btaken\b|\bsent\b|patholog|formalin|harvest|collect|biops|hematopath|"
                       r"cultur|cytogenetic|histolog|handed off|submitted", re.IGNORECASE)


class _Index:
    """What ``_sites_for`` and ``_site_kind`` look up for every biopsy mention, built once per note so that a
    note of thousands of biopsy mentions in one sentence takes linear time: level groups and site terms
    found by position (bisect), and the mentions a biopsy may fall back on, per paragraph."""

    def __init__(self, v: View) -> None:
        self.v = v
        self._sites: dict[int, tuple[list[Term], list[int], int]] = {}
        self._values: dict[int, set[str | None]] = {}
        self._sampling: dict[int, bool] = {}
        self._prior: dict[int, tuple[list[LevelMention], list[int], list[bool]]] | None = None

    # made on first use: most notes affirm no biopsy, and only an affirmed one looks for its sites
    @cached_property
    def group_ends(self) -> list[int]:
        return [g.end for g in self.v.groups]

    @cached_property
    def ordered(self) -> bool:
        """The level mentions' ends never fall (always so far)."""
        ends = [m.end for m in self.v.levels]
        return all(map(le, ends, ends[1:]))

    def groups_near(self, t: Term) -> list[LevelGroup]:
        """The level groups that can sit right after ``t`` (start within 8 tokens of its end) or right before
        it (end within 4 tokens of its start), in text order; groups follow each other without overlap."""
        if not self.ordered:  # mentions out of order (never seen): every group, as before
            return self.v.groups
        groups = self.v.groups
        out = []
        for i in range(bisect_left(self.group_ends, t.start - 4), len(groups)):
            if groups[i].start > t.end + 8:
                break
            out.append(groups[i])
        return out

    def sites_near(self, sid: int, t: Term) -> list[Term]:
        """The sentence's site terms that can sit near ``t`` (same bounds as ``groups_near``), in order."""
        got = self._sites.get(sid)
        if got is None:
            sites = self.v.sent_terms(sid, "BIOPSY_SITE")
            got = self._sites[sid] = (sites, [s.start for s in sites], max((s.end - s.start for s in sites), default=0))
        sites, starts, longest = got
        lo, hi = bisect_left(starts, t.start - 4 - longest), bisect_right(starts, t.end + 8)
        return sites[lo:hi]

    def sampling(self, sid: int, tok: int) -> bool:
        """The sentence speaks of an act of sampling (once per sentence)."""
        got = self._sampling.get(sid)
        if got is None:
            got = self._sampling[sid] = _SAMPLING.search(self.v.sent_text(tok)) is not None
        return got

    def biopsy_values(self, sid: int) -> set[str | None]:
        got = self._values.get(sid)
        if got is None:
            got = self._values[sid] = {x.value for x in self.v.sent_terms(sid, "BIOPSY")}
        return got

    def prior(self, t: Term) -> tuple[LevelMention, bool] | None:
        """The last level mention before ``t`` in its paragraph (in a session section, not negated or
        historical), and whether its sentence names more than one level up to it; None when there is none."""
        v = self.v
        if not self.ordered:  # mentions out of order (never seen): the plain scan
            para = v.paragraph(t.start)
            prior = [m for m in v.levels if m.end <= t.start and v.paragraph(m.start) == para
                     and v.session(m.start) and not v.level_flags(m, _NEG_HIST)]
            if not prior:
                return None
            last = v.sent_id[prior[-1].start]
            return prior[-1], len({lv for m in prior if v.sent_id[m.start] == last for lv in m.levels}) > 1
        if self._prior is None:
            self._prior = {}
            seen: dict[tuple[int, int], set[str]] = {}
            for m in v.levels:
                if not v.session(m.start) or v.level_flags(m, _NEG_HIST):
                    continue
                para = v.paragraph(m.start)
                ms, ends, multi = self._prior.setdefault(para, ([], [], []))
                levels = seen.setdefault((para, v.sent_id[m.start]), set())
                if len(levels) < 2:
                    levels.update(m.levels)
                ms.append(m)
                ends.append(m.end)
                multi.append(len(levels) > 1)
        ms, ends, multi = self._prior.get(v.paragraph(t.start), ([], [], []))
        i = bisect_right(ends, t.start) - 1
        return (ms[i], multi[i]) if i >= 0 else None


def _site_kind(v: View, t: Term, index: _Index | None = None) -> str:
    sid = v.sent_id[t.start]
    values = index.biopsy_values(sid) if index is not None else {x.value for x in v.sent_terms(sid, "BIOPSY")}
    if "marrow_aspirate" in values or "marrow_biopsy" in values:
        asp = "marrow_aspirate" in values
        bio = "marrow_biopsy" in values or "bone" in values
        if asp and bio:
            return "marrow_both"
        return "marrow_aspirate" if asp else "marrow_biopsy"
    return "bone"


_SITE_JOIN = {"and", "of", "at", "from", ",", "the", "&", "also"}


def _evidence_of(v: View, x: LevelMention | Term) -> Evidence:
    return v.level_evidence(x) if isinstance(x, LevelMention) else v.term_evidence(x)


def _sites_for(v: View, t: Term, treated: list[str], index: _Index) -> tuple[list[str], list[Evidence], bool]:
    """Sites of one biopsy mention, and whether they are named with it ("biopsy of L3") rather than
    inferred from the paragraph ("kyphoplasty of T12 and L1 with biopsy")."""
    clause = v.clause_id[t.start]
    sid = v.sent_id[t.start]
    # (start, end, sites, what the evidence is of: made only for the candidates taken)
    cands: list[tuple[int, int, list[str], LevelMention | Term]] = []
    for g in index.groups_near(t):  # only those near the mention can be taken below
        if v.sent_id[g.start] != sid:
            continue
        ms = [m for m in g.mentions if not v.level_flags(m, _NEG_HIST)]
        if ms:
            cands.append((g.start, g.end, [lv for m in ms for lv in m.levels], ms[0]))
    for s in index.sites_near(sid, t):
        cands.append((s.start, s.end, [s.value or s.text.lower()], s))
    after = sorted((c for c in cands if c[0] >= t.end and v.clause_id[c[0]] == clause
                    and c[0] - t.end <= 8), key=lambda c: c[0])
    if after:
        sites, evs = list(after[0][2]), [_evidence_of(v, after[0][3])]
        end = after[0][1]
        for c in after[1:]:  # "biopsy of L1 and of T10"
            if not set(v.lowers(end, c[0])) <= _SITE_JOIN:
                break
            sites.extend(x for x in c[2] if x not in sites)
            evs.append(_evidence_of(v, c[3]))
            end = c[1]
        return sites, evs, True
    # a level just before the biopsy word names its site only within its clause ("L3 bone biopsy"; not
    # "Balloon kyphoplasty T12 and L1; biopsy, pathology pending")
    before = sorted((c for c in cands if c[1] <= t.start and t.start - c[1] <= 4 and v.clause_id[c[0]] == clause
                     and ";" not in v.lowers(c[1], t.start)), key=lambda c: -c[1])
    if before:
        direct = "with" not in v.lowers(before[0][1], t.start)
        if not direct and len(before[0][2]) > 1:
            return [], [], False  # "kyphoplasty T12 and L1 with biopsy": which level was sampled is unsaid
        return before[0][2], [_evidence_of(v, before[0][3])], direct
    prior = index.prior(t)
    if prior is not None:
        if prior[1]:
            return [], [], False  # "cannulas were placed at T12 and L1. A biopsy was obtained": which is unsaid
        return list(prior[0].levels), [v.level_evidence(prior[0])], False
    if len(treated) == 1:
        return list(treated), [], False
    return [], [], False


def _instrument_or_weak(v: View, t: Term, index: _Index, weak: bool) -> bool:
    """"an 11-gauge bone biopsy needle" names an access instrument, not a biopsy; "core",
    "specimen" and "aspirate" count only beside an act of sampling. ``weak``: ``_is_weak(v, t)``."""
    lowers = v.tab.lowers
    nxt = lowers[t.end] if t.end < len(lowers) else ""
    if nxt in _INSTRUMENT or nxt in _FINDING:
        return True
    if weak:
        return not index.sampling(v.sent_id[t.start], t.start)
    return False


def _is_weak(v: View, t: Term) -> bool:
    """A weak biopsy word ("core", "specimens", "aspirate") outside a field label."""
    return t.text.lower().rstrip("s") in _WEAK and not v.in_header_label(t)


def _weak_denied(v: View, t: Term, weak: bool) -> bool:
    """A weak biopsy word ("specimens") denied right beside it: "specimens none", "no specimen". ``weak``:
    ``_is_weak(v, t)``."""
    if not weak:
        return False
    return any(0 <= f.cue_start - t.end_char <= 2 or 0 <= t.start_char - f.cue_end <= 1
               for f in v.flags(t.start, t.end, _NEG))


def _field_none(v: View, t: Term) -> bool:
    """A field naming what a biopsy gives, left with nothing: its value is "none" / "N/A" ("Pathology: none."),
    or a denial follows the label with only punctuation between ("PATHOLOGY:, None.," run into one line)."""
    value = v.field_value(t)
    if value is not None:
        return _NONE_VALUE.fullmatch(value) is not None
    text = v.text
    return any(0 <= f.cue_start - t.end_char <= 3 and not text[t.end_char : f.cue_start].strip(" \t:,-")
               and ":" in text[t.end_char : f.cue_start + 1] for f in v.flags(t.start, t.end, _NEG))


def resolve_biopsy(v: View, treated: list[str], sacroplasty: bool) -> Element:
    affirmed: list[Term] = []
    denied: list[Term] = []
    index = _Index(v)
    for t in v.terms_of("BIOPSY"):
        weak = _is_weak(v, t)
        if _weak_denied(v, t, weak):  # dictated "specimens none", "no specimen"
            denied.append(t)
            v.record("biopsy", False, t.start_char, t.end_char, t.start, t.end, True)
            continue
        if _instrument_or_weak(v, t, index, weak):
            v.record("biopsy", None, t.start_char, t.end_char, t.start, t.end, False)
            continue
        if v.blank_field(t):
            v.record("biopsy", None, t.start_char, t.end_char, t.start, t.end, False)
            continue
        if v.form_state(t) == "denied":  # "Biopsy: [ ] Yes [x] No"
            denied.append(t)
            v.record("biopsy", False, t.start_char, t.end_char, t.start, t.end, True)
            continue
        flags = v.flags(t.start, t.end, _NHH)
        cats = {f.category for f in flags}
        sec = v.section(t.start)
        if "negated" in cats and sec.name not in ("PLAN",):
            denied.append(t)
            v.record("biopsy", False, t.start_char, t.end_char, t.start, t.end, True, flags)
            continue
        ok = sec.session and not (cats & _SKIP)
        if v.keep_mentions:  # (batch output keeps none: no call per term)
            v.record("biopsy", True if ok else None, t.start_char, t.end_char, t.start, t.end, ok, flags)
        if ok:
            affirmed.append(t)
    if affirmed:
        sites: list[str] = []
        kinds: dict[str, str] = {}
        evidence: list[Evidence] = []
        per_term = [(t, *_sites_for(v, t, treated, index)) for t in affirmed]
        any_direct = any(direct and found for _, found, _, direct in per_term)
        for t, found, ev, direct in per_term:
            evidence.append(v.term_evidence(t))
            if any_direct and not direct:
                continue
            evidence.extend(ev)
            for s in found:
                if s not in sites:
                    sites.append(s)
                if not s[:1].isupper() or s == "sacrum":
                    kinds[s] = _site_kind(v, t, index)
        if sacroplasty and not sites:
            sites = ["sacrum"]
        levels = sorted((s for s in sites if s[:1] in "CTLS" and s[1:].isdecimal()), key=level_sort_key)
        others = [s for s in sites if s not in levels]
        value = {"performed": True, "sites": levels + others}
        el = Element.of(value=value, evidence=_unique(evidence),
                     status=Status.FOUND if value["sites"] else Status.MISSING)
        if kinds:
            el.detail["site_kinds"] = kinds
        return el
    for t in v.terms_of("BIOPSY_FIELD"):  # "Pathology: none."
        if _field_none(v, t):
            denied.append(t)
            v.record("biopsy", False, t.start_char, t.end_char, t.start, t.end, True)
    if denied:
        return Element.of(value={"performed": False, "sites": []}, status=Status.FOUND,
                       evidence=[v.term_evidence(t) for t in denied])
    # the note is silent on a biopsy: nothing was found and nothing need be asked
    return Element.of(value={"performed": None, "sites": []}, status=Status.NOT_APPLICABLE)


def _unique(evs: list[Evidence]) -> list[Evidence]:
    seen = set()
    out = []
    for e in evs:
        if (e.start, e.end) not in seen:
            seen.add((e.start, e.end))
            out.append(e)
    return out
