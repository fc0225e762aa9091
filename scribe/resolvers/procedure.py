"""Procedure type, cavity creation and treated levels (rule C1: the family follows cavity
creation at each level, not the word "kyphoplasty").

A level is treated when a mention of it in a session section (procedure heading, technique,
impression) sits in a sentence about the augmentation (procedure name, cavity device, cement,
needle access) and no ConText cue excludes it (negated, historical, planned, other-level,
imaging-only, self-corrected). Cavity-device mentions are tied to the level they describe
("no balloon at that level", "L2: … balloon tamps inflated") so mixed sessions come out.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate

from scribe.acts import access_state, act_patterns, sentence_window
from scribe.lexicon import default_lexicon
from scribe.models import Element, Evidence, Status, TreatedLevel
from scribe.nlp.types import Cue, Flag, LevelMention, Section, Term, level_sort_key
from scribe.resolvers.decide import LevelFacts, decide_family
from scribe.resolvers.view import EXCLUDING, View
from scribe.scan import may_contain

KP, VP, SP = "kyphoplasty", "vertebroplasty", "sacroplasty"
_ALL_LEVELS = re.compile(
    r"\b(?:each|all|every|both|either)\b(?:\s+of\s+the)?(?:\s+(?:two|three|four|five|2|3|4|5|treated))?"
    r"\s+(?:levels?|vertebral\s+bodies|bodies|vertebrae)\b", re.IGNORECASE)
_THAT_LEVEL = re.compile(r"\b(?:that|this|the same)\s+level\b", re.IGNORECASE)
_CREATE = re.compile(r"\b(?:creat\w*|make|made|making|form\w*|cavitation|carv\w*|drill\w*)\b", re.IGNORECASE)
# words every match of the patterns above holds (checked before the slower search)
_ALL_WORDS = (("each", "all", "every", "both", "either"), ("level", "bodies", "vertebrae"))
_THAT_WORDS = (("that", "this", "the same"), ("level",))
_CREATE_WORDS = (("creat", "mak", "made", "form", "cavitation", "carv", "drill"),)


def _all_levels(text: str) -> bool:
    return may_contain(text, *_ALL_WORDS) and _ALL_LEVELS.search(text) is not None
_PLAIN_CAVITY = {"cavity", "cavities"}


def _untreated_cues() -> tuple[str, ...]:
    """Words of a negation cue that say a level was not treated (lexicons/acts.json untreated_cues)."""
    return act_patterns().untreated_cues


def _abort_words() -> tuple[str, ...]:
    """The cue words of a procedure stopped part-way ("the procedure was aborted before a balloon was placed"),
    lexicons/acts.json abort_cues."""
    return act_patterns().abort_cues


@cache
def substring_finder(words: tuple[str, ...]) -> re.Pattern[str]:
    """A pattern that ``search`` finds in a text exactly when one of ``words`` is a substring of it: one
    search in C instead of a generator over the words (``any(w in text for w in words)``)."""
    return re.compile("|".join(re.escape(w) for w in words))


_STRONG = ("PROC", "CAVITY", "CEMENT")
_NHH = frozenset({"negated", "historical", "hypothetical"})
_NHHD = _NHH | {"diagnostic"}
_CORRECTED = frozenset({"corrected"})
_STRONG_SET = frozenset(_STRONG)
_BIOPSY_VERB = frozenset({"was", "were", "obtained", "taken", "performed", "done", "collected", "then", "also"})
# terms of another act a backward denial after a cavity term may be about ("a balloon tamp was inflated and
# cement injected specimens none"); guidance and sides only qualify the cavity step
_LATER_ACTS = frozenset({"CEMENT", "INJECT", "ACCESS", "BIOPSY", "BIOPSY_FIELD", "PROC", "CAVITY", "SCREW"})


def trie_pattern(words: set[str]) -> str:
    """A pattern matching exactly ``words`` (as the alternation of them does), nested by common prefix: at
    each place tried, a failing word costs one character comparison per branching, not one per word. It may
    match another word than the alternation at the same place (it is no longer longest-first): it serves where
    only the start of a match is read."""
    groups: dict[str, set[str]] = {}
    optional = False
    for w in words:
        if w:
            groups.setdefault(w[0], set()).add(w[1:])
        else:
            optional = True
    if not groups:
        return ""
    alternatives = [re.escape(c) + trie_pattern(rest) for c, rest in sorted(groups.items())]
    body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    return "(?:" + body + ")?" if optional else body


def _heading_words() -> list[str]:
    """The spoken headings of the sections other than the procedure heading, as words (lower case)."""
    return sorted({w.lower() for sec in default_lexicon().sections.sections if sec.name != "PROCEDURE"
                   for w in sec.spoken}, key=len, reverse=True)


@cache
def _spoken_headings() -> tuple[re.Pattern[str], int]:
    """A pattern of the spoken headings of the sections other than the procedure heading, as whole words (lower
    case; only where a match starts is read), and the length of the longest."""
    words = _heading_words()
    return re.compile(r"\b" + trie_pattern(set(words)) + r"\b"), max(map(len, words), default=0)


@dataclass
class _CandIndex:
    """The candidate mentions naming a treated level (in text order), by sentence and by paragraph."""

    mentions: list[LevelMention]
    by_sent: dict[int, list[LevelMention]] = field(default_factory=dict)
    by_para: dict[int, list[LevelMention]] | None = None  # made on first use (``_Resolver._by_para``)


@dataclass
class ProcedureResult:
    procedure_type: Element
    cavity_creation: Element
    levels: Element
    treated: list[TreatedLevel]
    is_procedure_note: bool
    family_names: set[str] = field(default_factory=set)


class _Resolver:
    def __init__(self, v: View) -> None:
        self.v = v
        self.doc = v.doc
        self._treats: dict[int, bool] = {}  # a sentence is about the treatment (``_sentence_treats``)
        self._sent_all: dict[int, bool] = {}  # a sentence says "all levels"
        self._sent_that: dict[int, bool] = {}  # a sentence says "that level"
        self._bounds_cache: dict[int, tuple[list[LevelMention] | list[Term], list[int], list[int]]] = {}
        self.untreated: set[str] = set()  # levels a body sentence says were not treated
        # levels the narrative names, then corrects ("tee eleven, sorry, tee twelve")
        self.corrected_away: set[str] = set()
        self.body_support: set[str] = set()  # levels supported outside the procedure heading line
        self._aborts: list[Cue] | None = None
        self._heading_ends: dict[int, int] = {}  # procedure heading start -> end of its heading line
        self._off_act: dict[int, bool] = {}  # clause -> its needle states another use, and no act
        self._term_chars: list[int] | None = None  # start characters of v.terms (in order), made on first use
        self._sent_aborts: dict[int, list[Cue]] | None = None  # abort cues by sentence
        self._sent_injected: dict[int, bool] = {}  # a sentence says cement was injected (not denied)
        self._span_flags: dict[tuple[int, int], list[Flag]] = {}  # a term's flags of _NHHD, by its span
        self._access_by_clause: dict[int, list[Term]] | None = None  # needle words by clause, made on first use
        self._strong_clauses: set[int] | None = None  # clauses with a procedure, cavity or cement word
        self._biopsy_sents: set[int] | None = None  # sentences with a biopsy term, made on first use

    # -- flags -----------------------------------------------------------------------
    def _flags_nhhd(self, start: int, end: int) -> list[Flag]:
        """``v.flags(start, end, _NHHD)``, once per span: a term's flags are asked for by several rules (the
        procedure names, the cavity terms, the sentence cues, the cement tests)."""
        key = (start, end)
        got = self._span_flags.get(key)
        if got is None:
            got = self._span_flags[key] = self.v.flags(start, end, _NHHD)
        return got

    def _flags_nhh(self, start: int, end: int) -> list[Flag]:
        """``v.flags(start, end, _NHH)``: the flags of ``_flags_nhhd`` but the diagnostic ones (the flags of a
        category set are those of a larger set of that category, in the same order)."""
        got = self._flags_nhhd(start, end)
        return [f for f in got if f.category != "diagnostic"] if got else got

    # -- procedure names -------------------------------------------------------------
    def proc_terms(self) -> list[Term]:
        out = []
        for t in self.v.terms_of("PROC"):
            # "procedure vertebroplasty el five under fluoroscopy cement injected el five biopsy none": the
            # denial is of the biopsy, past the cement
            flags = [f for f in self._flags_nhh(t.start, t.end) if not self.v.aimed_after(f, t, _LATER_ACTS)]
            ok = self.v.session(t.start) and not flags
            if self.v.keep_mentions:  # (batch output keeps none: no call per term)
                self.v.record("procedure_type", t.value, t.start_char, t.end_char, t.start, t.end, ok,
                              flags, t.fuzzy)
            if ok:
                out.append(t)
        return out

    def cavity_terms(self) -> list[tuple[Term, bool]]:
        """(term, affirmed) for cavity-creation mentions about this session."""
        out: list[tuple[Term, bool]] = []
        # the furthest end of the procedure names starting at or before each one (they are in text order)
        procs = self.v.terms_of("PROC")
        proc_starts = [p.start for p in procs]
        reach = list(accumulate((p.end for p in procs), max))
        for t in self.v.terms_of("CAVITY"):
            i = bisect_right(proc_starts, t.start) - 1
            if i >= 0 and reach[i] >= t.end:
                continue  # "balloon kyphoplasty" names the procedure; it is not the cavity step
            if not self.v.session(t.start) or self.v.blank_field(t):
                self.v.record("cavity_creation", None, t.start_char, t.end_char, t.start, t.end, False)
                continue
            if t.text.lower() in _PLAIN_CAVITY or t.rule.endswith(":cavity"):
                sent_text = sentence_window(self.v, t, 10)  # the creating verb stands near the cavity word
                if not (may_contain(sent_text, *_CREATE_WORDS) and _CREATE.search(sent_text)) and \
                        not self.v.in_header_label(t):
                    continue
            flags = [f for f in self._flags_nhh(t.start, t.end) if not self.v.aimed_before(f, t)
                     and not self.v.aimed_after(f, t, _LATER_ACTS)]
            stop = self._stopped_before(t)
            if stop is not None:
                flags.append(stop)
            if self.v.form_state(t) == "denied":  # "Balloon: [ ] Yes [x] No"
                flags.append(Flag("negated", "[x] No", t.end_char, t.end_char))
            cats = {f.category for f in flags}
            if cats & {"historical", "hypothetical"} and "negated" not in cats:
                self.v.record("cavity_creation", None, t.start_char, t.end_char, t.start, t.end, False,
                              flags)
                continue
            affirmed = "negated" not in cats
            if self.v.keep_mentions:
                self.v.record("cavity_creation", affirmed, t.start_char, t.end_char, t.start, t.end, True,
                              flags, t.fuzzy)
            out.append((t, affirmed))
        return out

    def _abort_cues(self) -> list[Cue]:
        """Negation cues of a stopped procedure ("was aborted", "stopped the") in session sections."""
        if self._aborts is None:
            found = substring_finder(_abort_words()).search
            self._aborts = [c for c in self.doc.user_data.get("cues", []) if c.category == "negated"
                            and found(c.text.lower()) and self.v.session(c.start)]
        return self._aborts

    def _stopped_before(self, t: Term) -> Flag | None:
        """The abort cue of ``t``'s sentence when ``t`` is what the procedure stopped before ("the case was
        aborted by the operator before a balloon was placed", "prior to balloon inflation it was stopped")."""
        sid = self.v.sent_id[t.start]
        if self._sent_aborts is None:
            self._sent_aborts = {}
            for c in self._abort_cues():
                self._sent_aborts.setdefault(self.v.sent_id[c.start], []).append(c)
        cues = self._sent_aborts.get(sid)
        if not cues:
            return None
        lead = self.v.lowers(max(0, t.start - 4), t.start)
        if "before" not in lead and " ".join(lead).find("prior to") == -1:
            return None
        c = cues[0]
        return Flag("negated", c.text, c.start_char, c.end_char)

    def _sent_text(self, tok: int) -> str:
        return self.v.sent_text(tok)

    # -- levels ----------------------------------------------------------------------
    def _biopsy_attached(self, m: LevelMention) -> bool:
        """The level names a biopsy site ("biopsy of L3", "L3 bone biopsy"), not a treatment."""
        sid = self.v.sent_id[m.start]
        if self._biopsy_sents is None:
            ids = self.v.sent_id
            self._biopsy_sents = {ids[t.start] for t in self.v.terms_of("BIOPSY")}
        if sid not in self._biopsy_sents:
            return False  # (most sentences: no list of the sentence's biopsy terms made)
        biopsies = self.v.sent_terms(sid, "BIOPSY")
        clause = self.v.clause_id[m.start]
        group = self.v.group_of(m)
        starts = self._bounds(biopsies)[1]
        lo, hi = bisect_left(starts, group.start - 12), bisect_right(starts, group.end + 4)
        for t in biopsies[lo:hi]:
            if self.v.clause_id[t.start] != clause:
                continue
            if t.end <= group.start and group.start - t.end <= 4:
                between = self.v.lowers(t.end, group.start)
                lead = between[:-1] if between[-1:] == ["the"] else between
                if all(w in {"of", "at", "from", "the", "a", "an", ",", "-", ":", "(", "bone", "vertebral", "body",
                             "level", "site", "y", "yes", "in"} for w in between) or \
                        (lead[-1:] == ["from"] and all(w in _BIOPSY_VERB for w in lead[:-1])):
                    # "a biopsy was obtained from (the) el four" (where it was obtained "at" may be the treated
                    # level: "a core biopsy was obtained at S1 from the right needle")
                    return True
            if t.start >= group.end and t.start - group.end <= 3:
                between = self.v.lowers(group.end, t.start)
                if all(w in {"vertebral", "body", "bone", "core", "needle", ",", "(", "lesion"} for w in between):
                    return True
        return False

    def _corrected(self, m: LevelMention, raw: list[Flag] | None = None) -> list[LevelMention] | None:
        """When a self-correction takes the mention back, the mention said in its place (or none); else
        None. ``raw``: the mention's flags of every excluding category, when already looked up."""
        flags = self.v.flags(m.start, m.end, _CORRECTED) if raw is None else \
            [f for f in raw if f.category == "corrected"]
        if not flags:
            return None
        cue_end_char = flags[0].cue_end
        after = [lm for lm in self.v.levels_between(cue_end_char, cue_end_char + 200)
                 if lm.start_char - cue_end_char < 60]
        again = {lv for lm in after for lv in lm.levels}
        if set(m.levels) <= again:
            return None
        return after[:1]

    def level_support(self) -> tuple[dict[str, list[LevelMention]], set[str], set[str],
                                     list[LevelMention]]:
        """Treated levels with their supporting mentions; levels removed by a statement that
        they were not treated; levels supported by the procedure heading; candidate mentions."""
        support: dict[str, list[LevelMention]] = {}
        removed: set[str] = set()
        heading: set[str] = set()
        candidates: list[LevelMention] = []
        replaced: list[LevelMention] = []
        v = self.v
        for m in v.levels:
            sec = v.section(m.start)
            raw = v.flags(m.start, m.end, EXCLUDING)
            used = False
            if raw:
                flags = v.level_flags_of(m, raw)
                cats = {f.category for f in flags}
                if "negated" in cats and self._negates_treatment(m, flags):
                    removed.update(m.levels)
                    if self._says_untreated(flags):
                        self.untreated.update(m.levels)
                instead = self._corrected(m, raw)
                if instead is not None:
                    if not (sec.name == "PROCEDURE" and self._in_heading_line(sec, m)):
                        self.corrected_away.update(m.levels)
                    if sec.session and self._treatment_sentence(m, sec) and not self._biopsy_attached(m):
                        # the level said in its place is what was treated, even in a sentence of its own
                        # ("Vertebroplasty at L2. Correction: L3.")
                        replaced.extend(instead)
                    v.record("levels", m.levels, m.start_char, m.end_char, m.start, m.end, False, flags)
                    continue
                cats.discard("corrected")
                live = not cats
            else:  # no cue reaches the mention (most): no flag, nothing negated or corrected
                flags, live = raw, True
            if sec.session and live:
                candidates.append(m)
                if self._treatment_sentence(m, sec) and not self._biopsy_attached(m):
                    used = True
                    for lv in m.levels:
                        support.setdefault(lv, []).append(m)
                    if sec.name == "PROCEDURE" and self._in_heading_line(sec, m):
                        heading.update(m.levels)
                    else:
                        self.body_support.update(m.levels)
            if v.keep_mentions:  # (batch output keeps none: no call per mention)
                v.record("levels", m.levels, m.start_char, m.end_char, m.start, m.end, used, flags)
        # the mentions already supporting a level (by identity: each mention of the doc is one object at one place);
        # only a self-correction replaces any
        supporting = {id(x) for ms in support.values() for x in ms} if replaced else set()
        for m in replaced:
            if self.v.section(m.start).session and id(m) not in supporting and \
                    not {f.category for f in self.v.level_flags_of(m, self.v.flags(m.start, m.end, EXCLUDING))}:
                for lv in m.levels:
                    support.setdefault(lv, []).append(m)
                supporting.add(id(m))
                self.body_support.update(m.levels)
                candidates.append(m)
        return support, removed, heading, candidates

    def _in_heading_line(self, sec: Section, m: LevelMention) -> bool:
        """On the procedure heading's own line (not in a dictated narrative under it). A dictation on one
        line ("procedure vertebroplasty tee eleven indications … technique … into tee eleven I'm sorry tee
        twelve") ends its heading at the first spoken heading of another section, though that one starts no
        section away from a paragraph start."""
        if m.start_char - sec.body_start >= 160:
            return False
        line_end = self._heading_ends.get(sec.start)
        if line_end is None:
            text = self.v.text
            line_end = text.find("\n", sec.body_start)
            line_end = sec.end if line_end == -1 else min(line_end, sec.end)
            # only a spoken heading starting within the first 160 characters can end the line before a mention
            # taken here; one char past its longest match keeps its closing word boundary in the searched text
            # (the line of a one-line dictation may be the whole note)
            pattern, longest = _spoken_headings()
            spoken = pattern.search(self.v.tab.lower_text, sec.body_start,
                                    min(line_end, sec.body_start + 160 + longest + 1))
            if spoken is not None:
                line_end = spoken.start()
            self._heading_ends[sec.start] = line_end
        return m.start_char < line_end

    @staticmethod
    def _says_untreated(flags: list) -> bool:  # type: ignore[type-arg]
        return any(f.category == "negated" and any(c in f.cue.lower() for c in _untreated_cues()) for f in flags)

    def _negates_treatment(self, m: LevelMention, flags: list) -> bool:  # type: ignore[type-arg]
        for f in flags:
            if f.category != "negated":
                continue
            if any(c in f.cue.lower() for c in _untreated_cues()):
                return True
            if f.cue_end <= m.start_char:  # forward cue: what does it negate first?
                nxt = self._first_term_within(f.cue_end, m.start_char)
                if nxt is not None and nxt.label in ("CEMENT", "PROC", "INJECT"):
                    return True
        return False

    def _live_access(self, t: Term) -> bool:
        """A needle, cannula or pedicle word that states access to the bone (``scribe.acts.access_state``)."""
        return access_state(self.v, t) == "live"

    def _clause_off_act(self, m: LevelMention) -> bool:
        """The level's clause is about a needle that states no access ("a spinal needle infiltrated local
        anaesthetic at L2 and L3, then ... PMMA was injected into T12"): the acts of other clauses do not reach
        it (decided once per clause)."""
        clause_id = self.v.clause_id
        clause = clause_id[m.start]
        if self._access_by_clause is None:
            self._access_by_clause = {}
            for t in self.v.terms_of("ACCESS"):
                self._access_by_clause.setdefault(clause_id[t.start], []).append(t)
        needles = self._access_by_clause.get(clause)
        if needles is None:
            return False  # no needle word in the clause (most): none states another use
        got = self._off_act.get(clause)
        if got is None:
            if self._strong_clauses is None:
                self._strong_clauses = {clause_id[t.start] for label in _STRONG for t in self.v.terms_of(label)}
            off = any(access_state(self.v, t) == "other" for t in needles)
            # no act of the clause: no procedure name, cavity or cement word, and no needle stating access
            got = self._off_act[clause] = off and clause not in self._strong_clauses and \
                not any(self._live_access(t) for t in needles)
        return got

    def _first_term_within(self, start_char: int, end_char: int) -> Term | None:
        """The first term (in the doc's order: by start) lying inside [start_char, end_char) of the text:
        found from the terms starting there (bisect), not by a scan of every term per negated level."""
        terms = self.v.terms
        if self._term_chars is None:
            self._term_chars = [t.start_char for t in terms]
        for i in range(bisect_left(self._term_chars, start_char), len(terms)):
            t = terms[i]
            if t.start_char >= end_char:
                break
            if t.end_char <= end_char:
                return t
        return None

    def _sentence_treats(self, sid: int) -> bool:
        """The sentence is about the treatment: it holds a live (not negated, historical or hypothetical)
        procedure name, cavity or cement term, or, when it mentions no biopsy, a live injection or needle word
        stating access. Decided once per sentence, each term looked at only until the answer is known (the
        strong terms first: one live strong term decides; the others matter only without a biopsy)."""
        got = self._treats.get(sid)
        if got is None:
            terms = self.v.sent_terms(sid)
            got = False
            for t in terms:
                if t.label in _STRONG_SET and not self._term_negated(t):
                    got = True
                    break
            if not got:
                has_biopsy = False
                for t in terms:
                    if t.label == "BIOPSY":
                        has_biopsy = True
                        break
                if not has_biopsy:
                    for t in terms:
                        label = t.label
                        if (label == "INJECT" or (label == "ACCESS" and self._live_access(t))) and \
                                not self._term_negated(t):
                            got = True
                            break
            self._treats[sid] = got
        return got

    def _term_negated(self, t: Term) -> bool:
        """Negated, historical or hypothetical; a level-only cue ("L2 was not treated") does not
        negate the procedure named beside it ("Kyphoplasty L1 and L3, L2 was not treated")."""
        for f in self._flags_nhh(t.start, t.end):
            if f.category == "negated" and f.cue_start > t.end_char and any(
                    c in f.cue.lower() for c in _untreated_cues()):
                continue
            if self.v.aimed_after(f, t, _LATER_ACTS):
                continue  # "cement injected el five biopsy none": the denial is of the biopsy
            return True
        return False

    def _treatment_sentence(self, m: LevelMention, sec: Section) -> bool:
        """``sec``: the mention's section."""
        if sec.name == "PROCEDURE":
            label = sec.label.lower()
            if "level" in label or "site" in label:
                return True
        elif self._clause_off_act(m):
            return False
        return self._sentence_treats(self.v.sent_id[m.start])

    # -- ties ------------------------------------------------------------------------
    def _sent_all_levels(self, sid: int, tok: int) -> bool:
        """The sentence says "all levels" (once per sentence, asked only when needed)."""
        got = self._sent_all.get(sid)
        if got is None:
            got = self._sent_all[sid] = _all_levels(self._sent_text(tok))
        return got

    def _sent_that_level(self, sid: int, tok: int) -> bool:
        """The sentence says "that level" (once per sentence, asked only when needed)."""
        got = self._sent_that.get(sid)
        if got is None:
            text = self._sent_text(tok)
            got = self._sent_that[sid] = may_contain(text, *_THAT_WORDS) and bool(_THAT_LEVEL.search(text))
        return got

    def _cands_index(self, cands: list[LevelMention], treated: set[str]) -> _CandIndex:
        """The candidate mentions naming a treated level, by sentence (``tie``'s ``index``)."""
        index = _CandIndex([m for m in cands if not treated.isdisjoint(m.levels)])
        ids = self.v.sent_id
        for m in index.mentions:
            index.by_sent.setdefault(ids[m.start], []).append(m)
        return index

    def _by_para(self, index: _CandIndex) -> dict[int, list[LevelMention]]:
        """``index``'s mentions by paragraph, made when a tie first falls back on the paragraph."""
        if index.by_para is None:
            index.by_para = {}
            for m in index.mentions:
                index.by_para.setdefault(self.v.paragraph(m.start), []).append(m)
        return index.by_para

    def _bounds(self, ms: list[LevelMention] | list[Term]) -> tuple[list[int], list[int]]:
        """End and start token indices of a list of mentions or terms in text order (cached per list)."""
        got = self._bounds_cache.get(id(ms))
        if got is None or got[0] is not ms:
            got = self._bounds_cache[id(ms)] = (ms, [m.end for m in ms], [m.start for m in ms])
        return got[1], got[2]

    def tie(self, t: Term, treated: set[str], index: _CandIndex,
            after_first: bool) -> list[str] | None:
        """The treated levels ``t`` is said of. ``index``: ``_cands_index`` of the candidates and ``treated``."""
        sid = self.v.sent_id[t.start]
        in_sent = index.by_sent.get(sid, [])
        window = self.v.span_text(t.start, t.end + 6)
        if _all_levels(window) or (not in_sent and self._sent_all_levels(sid, t.start)):
            return sorted(treated, key=level_sort_key)
        # in_sent is in text order: the last mention ending before the term, the first starting after it
        before = after = None
        if in_sent:
            ends, starts = self._bounds(in_sent)
            b = bisect_right(ends, t.start) - 1
            a = bisect_left(starts, t.end)
            before = in_sent[b] if b >= 0 and in_sent[b].end <= t.start else None
            after = in_sent[a] if a < len(in_sent) else None
        if after_first and after is not None and after.start - t.end <= 4:
            return [lv for lv in self.v.group_of(after).levels if lv in treated]
        if before is not None and (not after_first or t.start - before.end <= 3):
            return [lv for lv in self.v.group_of(before).levels if lv in treated]
        if after is not None and not self._sent_that_level(sid, t.start):
            return [lv for lv in self.v.group_of(after).levels if lv in treated]
        para = self.v.paragraph(t.start)
        in_para = self._by_para(index).get(para, [])
        p = bisect_right(self._bounds(in_para)[0], t.start) - 1
        if p >= 0 and in_para[p].end <= t.start:
            return [lv for lv in self.v.group_of(in_para[p]).levels if lv in treated]
        return None

    # -- everything ------------------------------------------------------------------
    def run(self) -> ProcedureResult:
        v = self.v
        procs = self.proc_terms()
        names = {t.value for t in procs if t.value}
        cavities = self.cavity_terms()
        support, removed, heading, cands = self.level_support()
        # the heading names what was planned; "L1 was not treated" / "aborted" in the body wins over it
        treated_set = {lv for lv in support if lv not in removed or (lv in heading and lv not in self.untreated)}
        # a heading level the narrative corrects to another ("at tee eleven, I'm sorry, tee twelve") and never
        # names again was misspoken in the heading too
        treated_set = {lv for lv in treated_set if lv not in self.corrected_away or lv in self.body_support}
        if self._aborted_without_cement(treated_set):
            # the session was stopped before any cement went in: nothing of this family was performed
            treated_set, names, cavities = set(), set(), []
        is_sacro = SP in names
        sacro_vertebral: set[str] = set()  # vertebral levels of a sacroplasty session, kept if a VP/KP names them
        if is_sacro:
            others = {lv for lv in treated_set if not lv.startswith("S")}
            treated_set = {lv for lv in treated_set if lv.startswith("S")}
            if others and names & {VP, KP}:
                sacro_vertebral = others
                treated_set |= others
        else:
            treated_set = {lv for lv in treated_set if not lv.startswith("S")} or treated_set
        vertebral = sorted(treated_set, key=level_sort_key)
        aff: set[str] = set()
        den: set[str] = set()
        aff_one: set[str] = set()  # affirmed / denied by a statement about that level alone
        den_one: set[str] = set()
        untied_aff = untied_den = False
        cav_evidence: list[Evidence] = []
        index = self._cands_index(cands, treated_set) if cavities or procs else _CandIndex([])  # (for the ties)
        for t, affirmed in cavities:
            tied = self.tie(t, treated_set, index, after_first=False)
            if tied is None or not tied:
                if tied is None:
                    if affirmed:
                        untied_aff = True
                    else:
                        untied_den = True
                    cav_evidence.append(v.term_evidence(t))
                continue
            (aff if affirmed else den).update(tied)
            if len(tied) == 1:
                (aff_one if affirmed else den_one).update(tied)
            cav_evidence.append(v.term_evidence(t))
        # "Balloon inflation at T12 and L1. At L1 the balloon ruptured and no cavity was created": a denial
        # said of one level alone outweighs an affirmation it only shared with a list of levels
        aff -= {lv for lv in den_one if lv not in aff_one}
        vp_named: set[str] = set()
        kp_named: set[str] = set()
        for t in procs:
            if t.value not in (KP, VP):
                continue
            tied = self.tie(t, treated_set, index, after_first=True)
            if tied:
                (kp_named if t.value == KP else vp_named).update(tied)
        if sacro_vertebral:
            # "Bilateral sacroplasty and L5 vertebroplasty": the levels a vertebroplasty or kyphoplasty names
            # are treated beside the sacrum; other vertebral levels of the note are not
            dropped = sacro_vertebral - (vp_named | kp_named)
            sacro_vertebral -= dropped
            treated_set -= dropped
            vertebral = sorted(treated_set, key=level_sort_key)
        explicit_mix = bool(vp_named) and bool(kp_named | aff)
        # "vertebral augmentation" is also the umbrella word of templates and titles: beside a named
        # vertebroplasty, with no cavity step anywhere, it does not make the levels augmentation
        umbrella_only = VP in names and all("augmentation" in t.text.lower() for t in procs if t.value == KP)

        kp_in_note = KP in names and not umbrella_only

        def facts(lv: str) -> LevelFacts:
            return LevelFacts(cavity_here=lv in aff, no_cavity_here=lv in den, cavity_untied=untied_aff,
                              mixed_named=explicit_mix, kp_named=lv in kp_named, vp_named=lv in vp_named,
                              kp_in_note=kp_in_note, vp_in_note=VP in names)

        rules: dict[str, str] = {}

        def family(lv: str) -> str | None:
            fam, row = decide_family(facts(lv))
            if row is not None:
                rules[lv] = row.name
            return fam

        level_ev: dict[str, list[Evidence]] = {}  # the evidence of each level's supporting mentions, made once

        def support_evidence(lv: str) -> list[Evidence]:
            got = level_ev.get(lv)
            if got is None:
                got = level_ev[lv] = [v.level_evidence(m) for m in support.get(lv, [])]
            return got

        treated: list[TreatedLevel] = []
        proc_value: str | None
        if is_sacro:
            proc_value = SP
            sacral_levels = [lv for lv in vertebral if lv not in sacro_vertebral] or ["sacrum"]
            levels_value = sorted([*sacro_vertebral, *sacral_levels], key=level_sort_key)
            for lv in levels_value:
                fam = family(lv) if lv in sacro_vertebral else "sacroplasty"
                if fam is None:
                    continue
                cavity = (True if aff or untied_aff else None) if fam == "sacroplasty" else \
                    (True if (lv in aff or (untied_aff and fam == KP)) else (False if lv in den else None))
                treated.append(TreatedLevel(level=lv, family=fam,  # type: ignore[arg-type]
                                            cavity=cavity, rule=rules.get(lv, "sacral_level"),
                                            evidence=list(support_evidence(lv))))
        else:
            levels_value = vertebral
            fams: set[str] = set()
            for lv in vertebral:
                fam = family(lv)
                if fam is None:
                    continue
                fams.add(fam)
                treated.append(TreatedLevel(
                    level=lv, family=fam,  # type: ignore[arg-type]
                    cavity=True if (lv in aff or (untied_aff and fam == KP)) else (False if lv in den else None),
                    rule=rules.get(lv, ""), evidence=list(support_evidence(lv))))
            if fams == {KP, VP}:
                proc_value = "mixed"
            elif fams:
                proc_value = fams.pop()
            elif KP in names or aff or untied_aff:
                proc_value = KP
            elif VP in names:
                proc_value = VP
            else:
                proc_value = None
        any_aff = bool(untied_aff or (aff & treated_set) or (aff and not treated_set))
        any_den = bool(untied_den or den)
        cavity_value: bool | None = True if any_aff else (False if any_den else None)
        if proc_value == VP and cavity_value is True:
            cavity_value = None if not any_den else False
        is_procedure_note = proc_value is not None or self._cement_described()
        # -- elements
        proc_ev = [v.term_evidence(t) for t in procs]
        proc_el = Element.of(value=proc_value, evidence=proc_ev,
                          status=Status.FOUND if proc_value else Status.MISSING)
        assistant = self._assistant()
        if assistant:
            proc_el.detail["assistant"] = assistant
        if proc_value in (KP, "mixed"):
            status = {True: Status.FOUND, None: Status.MISSING, False: Status.CONFLICT}[cavity_value]
        elif proc_value == VP:
            status = Status.FOUND if cavity_value is False else Status.NOT_APPLICABLE
        elif proc_value == SP:
            status = Status.FOUND if cavity_value is not None else Status.NOT_APPLICABLE
        else:
            status = Status.FOUND if cavity_value is not None else Status.MISSING
        cav_el = Element.of(value=cavity_value, status=status, evidence=cav_evidence)
        lev_ev: list[Evidence] = []
        for lv in levels_value:
            made = level_ev.get(lv)
            lev_ev.extend(made[:3] if made is not None else [v.level_evidence(m) for m in support.get(lv, [])[:3]])
        if is_sacro and not vertebral:
            sacral_terms = [t for t in v.terms_of("SACRUM") if v.session(t.start)
                            and not v.has(t.start, t.end, "negated", "historical", "hypothetical")]
            lev_ev.extend(v.term_evidence(t) for t in sacral_terms[:3])
        lev_el = Element.of(value=levels_value, evidence=_dedupe(lev_ev),
                         status=Status.FOUND if levels_value else Status.MISSING)
        invalid = sorted({bad for m in v.doc.user_data.get("levels", []) for bad in m.invalid})
        if invalid:
            lev_el.detail["transitional_or_invalid"] = invalid
        return ProcedureResult(proc_el, cav_el, lev_el, treated, is_procedure_note, names)

    def _aborted_without_cement(self, treated: set[str]) -> bool:
        """The procedure was stopped (a session sentence with an abort cue: "the procedure was aborted
        before a balloon was placed") and no cement was given anywhere in the session narrative. An abort
        naming a level ("the L1 procedure was aborted") stops the whole session only when it leaves no
        treated level."""
        aborts = self._abort_cues()
        if not aborts:
            return False
        for t in self.v.terms_of("CEMENT"):
            sec = self.v.section(t.start)
            if not sec.session or (sec.name == "PROCEDURE" and t.start_char - sec.body_start < 160
                                   and self.v.text.find("\n", sec.body_start, t.start_char) == -1):
                continue  # the procedure heading names the plan
            if self._flags_nhhd(t.start, t.end):  # negated, historical, hypothetical or diagnostic
                continue
            # cement given, not only named ("a cement-incompatible venous pattern"); once per sentence
            sid = self.v.sent_id[t.start]
            injected = self._sent_injected.get(sid)
            if injected is None:
                injected = self._sent_injected[sid] = any(
                    not self._flags_nhh(x.start, x.end)
                    for x in self.v.sent_terms(sid, "INJECT"))
            if injected:
                return False
        return not treated or any(not self.v.sent_levels(self.v.sent_id[c.start]) for c in aborts)

    def _cement_described(self) -> bool:
        screw = {self.v.sent_id[t.start] for t in self.v.terms_of("SCREW")}
        for t in self.v.terms_of("CEMENT"):
            if not self.v.session(t.start) or self.v.sent_id[t.start] in screw:
                continue
            if self._flags_nhhd(t.start, t.end):  # negated, historical, hypothetical or diagnostic
                continue
            sid = self.v.sent_id[t.start]
            if self.v.sent_levels(sid) or self.v.sent_terms(sid, "VB"):  # (a list made once per sentence)
                return True
        return False

    def _assistant(self) -> dict[str, object] | None:
        """The assistant-surgeon line's value, as evidence (offsets into the note)."""
        for sec in self.v.sections:
            if sec.name != "DEMOGRAPHICS" or not sec.label.lower().startswith(("assist", "co-surgeon")):
                continue
            line_end = self.v.text.find("\n", sec.body_start)
            end = line_end if line_end != -1 else sec.end
            raw = self.v.text[sec.body_start : end]
            value = raw.strip()
            if value and not re.fullmatch(r"[\s*_\-?.]*|(?:n/?a|none|no|nil)[\s.]*", value, re.IGNORECASE):
                start = sec.body_start + (len(raw) - len(raw.lstrip()))
                value = value[:80]
                return {"start": start, "end": start + len(value), "text": value, "section": sec.name,
                        "rule": "assistant"}
        return None


def _dedupe(evs: list[Evidence]) -> list[Evidence]:
    seen: set[tuple[int, int]] = set()
    out = []
    for e in sorted(evs, key=lambda e: e.start):
        if (e.start, e.end) not in seen:
            seen.add((e.start, e.end))
            out.append(e)
    return out


def resolve_procedure(v: View) -> ProcedureResult:
    return _Resolver(v).run()
