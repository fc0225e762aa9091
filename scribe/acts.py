"""Act records: what was done to which level and when (contract: "Documents and acts").

An act comes from one clause: its object (a pipeline term: cement, a cavity device, a needle or cannula,
a biopsy) and, for cement, a delivery predicate in the same clause ("PMMA was injected", "3 mL of cement").
A word alone is not an act: "cement was identified in the L3 body" (an observation), "PMMA-augmented
screws" (another bone) and "the L2 pedicles appeared intact" state nothing done to a vertebral body.
The act's level is the level named in its own clause (the nearest one), else the level of the previous act
of the same paragraph ("the needle was advanced into L1 ... cement was injected"). ``when`` and
``polarity`` come from the ConText flags of the object term (historical → past; hypothetical/planned, or a
plan section → planned; negated → negated).

The vocabulary is data: ``lexicons/acts.json``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from scribe.lexicon import ActsLexicon, default_acts
from scribe.models import Act, make_act
from scribe.nlp.types import LevelMention, Term

if TYPE_CHECKING:
    from scribe.resolvers.view import View


@dataclass(frozen=True, slots=True)
class ActPatterns:
    delivery: re.Pattern[str]  # cement delivered ("injected", "3 mL")
    observed: re.Pattern[str]  # cement only seen ("identified", "from the prior")
    nonvertebral: re.Pattern[str]
    access: re.Pattern[str]
    other_use: re.Pattern[str]
    ablation: re.Pattern[str]
    incomplete: re.Pattern[str]
    devices: re.Pattern[str]  # one alternation, a named group per device
    untreated_cues: tuple[str, ...]  # words of a negation cue that say a level was not treated
    abort_cues: tuple[str, ...]  # words of a cue that say the procedure was stopped part-way


def _alt(patterns: list[str], *, ignorecase: bool = True) -> re.Pattern[str]:
    """One alternation of a lexicon's (validated) regular expressions. The act patterns are lower case and run
    on lower-cased windows (``ignorecase=False``: three times faster than a case-insensitive search)."""
    flags = re.MULTILINE | (re.IGNORECASE if ignorecase else 0)
    return re.compile("|".join(f"(?:{p})" for p in patterns) or "(?!)", flags)


def compile_act_patterns(lex: ActsLexicon) -> ActPatterns:
    return ActPatterns(
        delivery=_alt(lex.cement_delivery, ignorecase=False),
        observed=_alt(lex.cement_observed, ignorecase=False),
        nonvertebral=_alt(lex.nonvertebral_target, ignorecase=False),
        access=_alt(lex.access_predicate, ignorecase=False),
        other_use=_alt(lex.access_other_use, ignorecase=False),
        ablation=_alt(lex.ablation, ignorecase=False),
        incomplete=_alt(lex.incomplete, ignorecase=False),
        untreated_cues=tuple(lex.untreated_cues),
        abort_cues=tuple(lex.abort_cues),
        devices=re.compile("|".join(f"(?P<{name}>{'|'.join(f'(?:{p})' for p in ps)})"
                                    for name, ps in lex.devices.items() if ps) or "(?!)"),
    )


L = TypeVar("L")
P = TypeVar("P")


def compiled_for(lex: L, store: dict[int, P], make: Callable[[L], P]) -> P:
    """``make(lex)``, kept in ``store`` while ``lex`` (a cached lexicon model) stays the one in use: a reloaded
    lexicon (``--lexicons``, ``clear_caches``) is compiled anew."""
    got = store.get(id(lex))
    if got is None:
        store.clear()
        got = store[id(lex)] = make(lex)
    return got


_COMPILED: dict[int, ActPatterns] = {}


def act_patterns() -> ActPatterns:
    """The compiled patterns of the act lexicon in use."""
    return compiled_for(default_acts(), _COMPILED, compile_act_patterns)


_PLAN_SECTIONS = frozenset({"PLAN", "CONSENT"})
_PAST = frozenset({"historical"})
_PLANNED = frozenset({"hypothetical", "planned"})
_NEG = frozenset({"negated"})
_ALL = frozenset({"historical", "hypothetical", "planned", "negated"})
_OBJECT_LABELS = {"CEMENT": "cement", "CAVITY": "cavity", "ACCESS": "access", "BIOPSY": "biopsy"}
_WINDOW = 8
_FIELD_AFTER = re.compile(r"[ \t]*:")  # a term used as a field label ("Biopsy: ...")
_NOT_THIS = frozenset({"other_level", "historical", "corrected", "diagnostic"})
_ANCHORS = frozenset({"VB", "SACRUM", "ACCESS", "CAVITY", "PROC"})
_SIDE_OF = {"bilateral": "bilateral", "bipedicular": "bilateral", "left": "left", "right": "right"}
_SIDE_RX = re.compile(r"\b(bilateral|bipedicular|left|right)\b")  # on a lower-cased window
# words one of which every stop cue of acts.json holds (a literal precheck before its regexes)
STOP_WORDS = ("complet", "unable", "ended", "stopped", "terminat", "abort", "abandon", "discontinu", "halted",
              "cancel", "called off", "cement", "not perform", "not proceed", "refused", "postpon", "deferred",
              "reschedul", "declined", "no procedure")
_ABLATION_WORDS = ("ablat", "osteocool", "radiofrequency", "rfa", "cryo", "microwave")


def _may_stop(low: str) -> bool:
    return any(w in low for w in STOP_WORDS)


def sentence_window(v: View, t: Term, width: int = _WINDOW, lower: bool = False) -> str:
    """The words of ``t``'s sentence within ``width`` tokens of it (sentence ids rise with the tokens: two
    bisections find the sentence's bounds); ``lower``: lower-cased (a slice of the note's lower-cased text)."""
    ids = v.sent_id
    start, end = t.start, t.end
    sid = ids[start]
    lo = max(start - width, bisect_left(ids, sid, max(0, start - width), start))
    hi = min(end + width, bisect_right(ids, sid, end, min(len(ids), end + width)), len(ids))
    if lo >= hi:
        return ""
    tab = v.tab
    if not lower:
        return v.text[tab.idx[lo] : tab.ends[hi - 1]]
    if len(tab.lower_text) == len(v.text):
        return tab.lower_text[tab.idx[lo] : tab.ends[hi - 1]]
    return v.text[tab.idx[lo] : tab.ends[hi - 1]].lower()


def access_state(v: View, t: Term, window: str | None = None) -> str:
    """For a needle, cannula or pedicle word: "live" when it states access to the bone ("needles were advanced
    into T12"), "other" when the needle is used for something else ("a spinal needle infiltrated local
    anaesthetic"), "none" otherwise ("the L2 pedicles appeared intact"); once per term (``View.access_state``)."""
    got = v.access_state.get(t.start)
    if got is None:
        pats = act_patterns()
        text = sentence_window(v, t, lower=True) if window is None else window
        if pats.other_use.search(text):
            got = "other"
        elif pats.access.search(text) and not pats.nonvertebral.search(text):
            got = "live"
        else:
            got = "none"
        v.access_state[t.start] = got
    return got


class _Clauses:
    """The level mentions of each clause, and sentence windows around a term (both linear in the note)."""

    def __init__(self, v: View) -> None:
        self.v = v
        self._levels: dict[int, list[LevelMention]] = {}
        for m in v.levels:
            self._levels.setdefault(v.clause_id[m.start], []).append(m)
        self._starts: dict[int, list[int]] = {}
        self._sent_ends: dict[int, list[int]] = {}
        self._anchored: dict[int, bool] = {}
        self._usable: dict[int, bool] = {}
        self._usable_in: dict[int, tuple[list[LevelMention], list[int], list[int]]] = {}
        self._group_levels: dict[int, list[str]] = {}

    def usable(self, m: LevelMention) -> bool:
        """Whether a level mention can be an act's level: not another level's ("the old L2 fracture"), not a
        correction's or a diagnostic study's (once per mention)."""
        got = self._usable.get(id(m))
        if got is None:
            got = self._usable[id(m)] = not self.v.flags(m.start, m.end, _NOT_THIS)
        return got

    def usable_in(self, cid: int) -> tuple[list[LevelMention], list[int], list[int]]:
        """The usable level mentions of a clause, their start tokens and their indices among all the clause's
        mentions (once per clause)."""
        got = self._usable_in.get(cid)
        if got is None:
            keep = [(k, m) for k, m in enumerate(self._levels.get(cid, ())) if self.usable(m)]
            got = self._usable_in[cid] = ([m for _, m in keep], [m.start for _, m in keep], [k for k, _ in keep])
        return got

    def group_levels(self, m: LevelMention) -> list[str]:
        """The levels of ``m``'s group ("T10 and L2"), once per mention (shared: never changed)."""
        got = self._group_levels.get(id(m))
        if got is None:
            got = self._group_levels[id(m)] = self.v.group_of(m).levels
        return got

    def nearest(self, t: Term, cid: int) -> list[str]:
        """``_nearest_levels`` over the clause's mentions, from its usable ones: the last usable mention before
        ``t`` and the first from it, each only if it lies within ``_NEAR`` mentions of ``t`` (as the scan of
        ``_nearest_levels`` looks no further), the nearer of the two; two bisections."""
        starts = self.starts(cid)
        if not starts:
            return []
        mentions, ustarts, uraw = self.usable_in(cid)
        i = bisect_left(starts, t.start)
        j = bisect_left(ustarts, t.start)
        left = mentions[j - 1] if j > 0 and uraw[j - 1] >= i - _NEAR else None
        right = mentions[j] if j < len(mentions) and uraw[j] < i + _NEAR else None
        best = _nearer(t, left, right)
        return self.group_levels(best) if best is not None else []

    def window(self, t: Term, width: int = _WINDOW) -> str:
        """The words of ``t``'s sentence within ``width`` tokens of it, lower-cased: a long sentence (a note with
        no punctuation) says many things; the act's predicate and target stand near its object ("cement was then
        injected" is one act, though "then" starts a clause)."""
        return sentence_window(self.v, t, width, lower=True)

    def levels(self, cid: int) -> list[LevelMention]:
        return self._levels.get(cid, [])

    def starts(self, cid: int) -> list[int]:
        got = self._starts.get(cid)
        if got is None:
            got = self._starts[cid] = [m.start for m in self._levels.get(cid, [])]
        return got

    def last_in_sentence_before(self, t: Term) -> LevelMention | None:
        """The last level mention of ``t``'s sentence that ends before it (a bisection)."""
        sid = self.v.sent(t.start)
        mentions = self.v.sent_levels(sid)
        if not mentions:
            return None
        ends = self._sent_ends.get(sid)
        if ends is None:
            ends = self._sent_ends[sid] = [m.end for m in mentions]
        i = bisect_right(ends, t.start) - 1
        return mentions[i] if i >= 0 else None

    def anchored(self, sid: int) -> bool:
        """Whether the sentence names a body, the sacrum, a needle, a cavity device or the procedure."""
        got = self._anchored.get(sid)
        if got is None:
            got = self._anchored[sid] = any(x.label in _ANCHORS for x in self.v.sent_terms(sid))
        return got


def _when(v: View, t: Term) -> tuple[str, str, list[str]]:
    """(when, polarity, cue texts) of an act object term."""
    flags = v.flags(t.start, t.end, _ALL)
    sec = v.section(t.start)
    if not flags:  # the common case
        return ("planned" if sec.name in _PLAN_SECTIONS else "today" if sec.session else "past"), "affirmed", []
    cats = {f.category for f in flags}
    cues = [f.cue for f in flags]
    polarity = "negated" if cats & _NEG else "affirmed"
    if cats & _PAST:
        return "past", polarity, cues
    if cats & _PLANNED or sec.name in _PLAN_SECTIONS:
        return "planned", polarity, cues
    if not sec.session:
        return "past", polarity, cues
    return "today", polarity, cues


_NEAR = 6  # level mentions looked at on each side of a term (an index by position, not a scan of the clause)


def _nearest_levels(v: View, t: Term, mentions: list[LevelMention], starts: list[int],
                    usable: Callable[[LevelMention], bool]) -> list[str]:
    """The levels of the group nearest to ``t`` among ``mentions`` (in text order, ``starts`` their start
    tokens), without those excluded as another level's mention ("the old L2 fracture"): the first usable
    mention on each side of ``t`` (at most ``_NEAR`` looked at per side), so a clause of thousands of levels
    costs no more."""
    i = bisect_left(starts, t.start)
    left = right = None
    for k in range(i - 1, max(0, i - _NEAR) - 1, -1):
        if usable(mentions[k]):
            left = mentions[k]
            break
    for k in range(i, min(len(mentions), i + _NEAR)):
        if usable(mentions[k]):
            right = mentions[k]
            break
    best = _nearer(t, left, right)
    return v.group_of(best).levels if best is not None else []  # a new list


def _nearer(t: Term, left: LevelMention | None, right: LevelMention | None) -> LevelMention | None:
    """Of the mention before ``t`` and the one after it, the nearer (the one before on a tie)."""
    if left is None:
        return right
    if right is not None and right.start - t.end < t.start - left.end:
        return right
    return left


def build_acts(v: View) -> list[Act]:
    """Every act the note states, in text order. (The hot path of the resolvers: the per-note tables are bound
    to locals once; the window is ``sentence_window(v, t, lower=True)`` written out.)"""
    pats = act_patterns()
    clauses = _Clauses(v)
    acts: list[Act] = []
    last_level: dict[int, list[str]] = {}  # paragraph -> levels of the latest today act with a level
    reached: set[int] = set()  # paragraphs where a needle or cavity device reached the bone today
    sent_id, clause_id = v.sent_id, v.clause_id
    screw_sents = {sent_id[t.start] for t in v.terms_of("SCREW")
                   if "screw" in (low := t.text.lower()) or low in {"fenestrated", "rod", "rods"}}
    terms = sorted((t for t in v.terms if t.label in _OBJECT_LABELS), key=lambda t: t.start)
    proc_spans = [(p.start, p.end) for p in v.terms_of("PROC")]
    proc_starts = [s for s, _ in proc_spans]
    text = v.text
    tab = v.tab
    idx, tok_ends = tab.idx, tab.ends
    n_tok = len(sent_id)
    lower_text = tab.lower_text if len(tab.lower_text) == len(text) else None
    boxes = bool(v.form.boxes)
    usable = clauses.usable
    delivery, observed, nonvertebral = pats.delivery.search, pats.observed.search, pats.nonvertebral.search
    side_rx = _SIDE_RX.search
    for t in terms:
        kind = _OBJECT_LABELS[t.label]
        start, end = t.start, t.end
        if kind == "cavity":
            i = bisect_right(proc_starts, start) - 1
            if i >= 0 and proc_spans[i][0] <= start and end <= proc_spans[i][1]:
                continue  # "balloon kyphoplasty" names the procedure
        cid = clause_id[start]
        sid = sent_id[start]
        # the words of the object's sentence within _WINDOW tokens of it, lower case as the act patterns are; a
        # biopsy needs none
        if kind == "biopsy":
            ctext = ""
        else:
            lo = max(start - _WINDOW, bisect_left(sent_id, sid, max(0, start - _WINDOW), start))
            hi = min(end + _WINDOW, bisect_right(sent_id, sid, end, min(n_tok, end + _WINDOW)), n_tok)
            if lo >= hi:
                ctext = ""
            elif lower_text is not None:
                ctext = lower_text[idx[lo] : tok_ends[hi - 1]]
            else:
                ctext = text[idx[lo] : tok_ends[hi - 1]].lower()
        if kind == "cement":
            # delivered: a delivery word, and no word of an observation or of another bone, in the window
            if sid in screw_sents or not delivery(ctext) or observed(ctext) or nonvertebral(ctext):
                continue
            # cement goes into a vertebral body or the sacrum: its clause names a level, or its sentence a
            # body, the sacrum, a needle or a cavity device, or an earlier act of its paragraph reached the bone
            if not clauses.levels(cid) and v.paragraph(start) not in reached and not clauses.anchored(sid):
                continue
        elif kind == "access":
            if access_state(v, t, ctext) != "live" or sid in screw_sents:
                continue
        elif kind == "cavity" and pats.ablation.search(ctext):
            continue  # a heat-ablation probe carves no cavity (annotation rules)
        field = v.in_header_label(t) or _FIELD_AFTER.match(text, t.end_char) is not None
        if field and v.blank_field(t):
            continue  # "Cavity creation: {Balloon tamp/SpineJack/None}", "Biopsy: ☐ Yes ☐ No": nothing stated
        when, polarity, _ = _when(v, t)
        if field and boxes and v.form_state(t) == "denied":
            polarity = "negated"  # "Biopsy: [ ] Yes [x] No"
        if kind == "cement" and _may_stop(ctext) and pats.incomplete.search(ctext):
            polarity = "negated"  # "cancelled before any cement was injected", "no cement was given"
        levels = clauses.nearest(t, cid)
        if not levels:
            # "T12: bipedicular cannulas, balloons inflated; PMMA 4 mL": the level that opens the sentence
            before = clauses.last_in_sentence_before(t)
            levels = _nearest_levels(v, t, [before], [before.start], usable) if before is not None else []
        para = v.paragraph(start)
        live = when == "today" and polarity == "affirmed"
        if live:
            if not levels and kind in ("cement", "cavity"):
                levels = last_level.get(para, [])
            if levels:
                last_level[para] = levels
            if kind in ("access", "cavity"):
                reached.add(para)
        device = None
        if kind == "cavity":
            hit_device = pats.devices.search(t.text.lower())
            device = hit_device.lastgroup or "other" if hit_device else "other"
        side = None
        if kind != "biopsy" and ("left" in ctext or "right" in ctext or "bilateral" in ctext or
                                 "bipedicular" in ctext):
            hit = side_rx(ctext)
            side = _SIDE_OF[hit.group(1)] if hit else None  # the window is lower case
        ev = v.term_evidence(t)
        if levels:
            for lv in levels:
                acts.append(make_act(kind, lv, side, device, when, polarity, [ev]))
        else:
            acts.append(make_act(kind, None, side, device, when, polarity, [ev]))
    acts.extend(_ablation_acts(v, clauses, pats))
    acts.sort(key=lambda a: a.evidence[0].start if a.evidence else 0)
    return acts


def _ablation_acts(v: View, clauses: _Clauses, pats: ActPatterns) -> list[Act]:
    out: list[Act] = []
    seen: set[int] = set()
    text = v.text
    lower = v.tab.lower_text if len(v.tab.lower_text) == len(text) else text.lower()
    if not any(w in lower for w in _ABLATION_WORDS):
        return out
    for hit in pats.ablation.finditer(lower):
        tok = v.tab.token_at(hit.start())
        cid = v.clause(tok)
        if cid in seen:
            continue
        seen.add(cid)
        term = Term("ABLATION", None, tok, tok + 1, hit.start(), hit.end(), text[hit.start() : hit.end()])
        when, polarity, _ = _when(v, term)
        levels = _nearest_levels(v, term, clauses.levels(cid), clauses.starts(cid), clauses.usable)
        ev = v.evidence(hit.start(), hit.end(), "ablation", False, tok)
        for lv in levels or [None]:  # type: ignore[list-item]
            out.append(make_act("ablation", lv, None, None, when, polarity, [ev]))
    return out


def today(acts: list[Act], kind: str) -> list[Act]:
    return [a for a in acts if a.act == kind and a.when == "today" and a.polarity == "affirmed"]
