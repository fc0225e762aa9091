"""A read-only view over an analysed Doc that resolvers share: terms, levels, sections,
sentences, clauses, paragraphs and ConText flags, with evidence helpers."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

from spacy.tokens import Doc

from scribe.forms import field_state, flat_blank_fields, flat_void, form_spans
from scribe.lexicon import default_lexicon
from scribe.models import ContextFlag, Evidence, Mention, make_evidence
from scribe.nlp.context import cue_index, matches_from
from scribe.nlp.sections import merged_ends
from scribe.nlp.table import table
from scribe.nlp.types import Flag, LevelMention, Section, Term

_NEG_ELSEWHERE = frozenset({"CAVITY", "BIOPSY", "GUIDE", "SIDE", "DIAG_IMAGING", "SCREW"})
EXCLUDING = frozenset({"negated", "historical", "hypothetical", "other_level", "diagnostic", "corrected"})
# the category sets ``View.has`` is asked about, each made once (the callers name a handful)
_CATEGORY_SETS: dict[tuple[str, ...], frozenset[str]] = {}
_PARAGRAPH = re.compile(r"\n[ \t]*\n|new paragraph", re.IGNORECASE)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_NEW_PARAGRAPH = re.compile(r"new paragraph")
_INLINE_BLANK = re.compile(r"[ \t]*:[ \t]*(?:[_*]{2,}|\?+)(?=\s|$)")
_FIELD_COLON = re.compile(r"[ \t]*:")
_NEXT_LABEL = re.compile(r"\s{2,}[A-Z][\w /()-]{0,30}:")  # the next field of a template row ("   Level: L1")
_LISTED = frozenset({",", "or", "and", "nor", "/", "&", "the", "a", "an", "any"})  # words of a list of terms
# a gap with one of these keeps the later term under the negation: "no biopsy or post-procedure CT" (a list),
# "no cavity creation with a balloon tamp" (the instrument of the denied step)
_STILL_DENIED = frozenset({"or", "nor", "with", "using", "via"})
# what may follow a term that closes a denied noun phrase: "no needle repositioning under CT was needed" denies
# the CT-guided repositioning as a whole (the negation reaches CT), unlike "we did not do a biopsy under fluoro
# balloon inflated", where the run-on goes on with another act
_DENIED_PREDICATE = frozenset({"was", "were", "is", "are", "be", "been", "needed", "required", "necessary", "performed",
                               "done", "made", "attempted", "undertaken", "warranted", "indicated", "obtained",
                               "used", "utilized", "then", "again", "further", "ever", "."})
_PREDICATE_HEAD = frozenset({"needed", "required", "necessary", "performed", "done", "made", "attempted", "undertaken",
                             "warranted", "indicated", "obtained", "used", "utilized"})


@cache
def _spoken_stops() -> frozenset[str]:
    """Dictated sentence ends ("period"), from the lexicon's spoken punctuation."""
    return frozenset(k for k, p in default_lexicon().normalization.spoken_punctuation.items()
                     if p == "." and " " not in k)


_BLANK_VALUE = re.compile(r"^[\s*_\-?.]*$|^\s*(?:n/?a|unknown|tbd|not documented)\s*$", re.IGNORECASE)


_LEVEL_LABEL_LINE = re.compile(r"(?m)^[ \t]*[CTLS]\d{1,2}(?:\s*(?:and|,|&)\s*[CTLS]\d{1,2})*\s*:")
_LEVEL_LABEL_AT = re.compile(r"[ \t]*[CTLS]\d{1,2}(?:\s*(?:and|,|&)\s*[CTLS]\d{1,2})*\s*:")
_LINE_THEN_LEVEL = re.compile(r"\n[ \t]*[CTLS]\d")


def level_label_lines(text: str) -> list[int]:
    """Starts of the ``_LEVEL_LABEL_LINE`` matches: lines that open with a level label. Tried only at the
    text's start and after a line break before a level (a multi-line ``^`` pattern is tried at every
    character)."""
    starts = [0, *(hit.start() + 1 for hit in _LINE_THEN_LEVEL.finditer(text))]
    return [m.start() for m in matches_from(_LEVEL_LABEL_AT, text, starts)]


@dataclass
class LevelGroup:
    """Consecutive level mentions joined by "and", ",", "&", "/" ("T10 and L2")."""

    mentions: list[LevelMention]

    @property
    def start(self) -> int:
        return self.mentions[0].start

    @property
    def end(self) -> int:
        return self.mentions[-1].end

    @property
    def levels(self) -> list[str]:
        return [lv for m in self.mentions for lv in m.levels]


_JOINERS = frozenset({"and", ",", "&", "/", "(", ")", "or", "plus", "levels", "level"})  # within a level group


@cache
def _field_labels() -> tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...], frozenset[str],
                             frozenset[str]]:
    """For ``flat_blank_fields``: the lexicon's section headers as words (field labels of a flattened note);
    those that end a field before them (of two words or more, or kept as headings in flattened notes: not
    "cement" nor "fluoroscopy", prose words); the words after a heading word that make it a sentence's subject;
    the words before one that make it part of a phrase."""
    sections = default_lexicon().sections
    labels = {tuple(h.lower().split()) for sec in sections.sections for h in sec.headers}
    flat = {tuple(h.lower().split()) for sec in sections.sections
            for h in (*(sec.spoken if sec.flat_spoken else ()), *sec.flat)}
    following = {h for h in labels if len(h) > 1} | flat
    joiners = default_lexicon().normalization.flat_sentences.joiners
    return (tuple(sorted(labels)), tuple(sorted(following)), frozenset(sections.not_heading_followers),
            frozenset(sections.not_heading_before) | frozenset(joiners))


class View:
    def __init__(self, doc: Doc, keep_mentions: bool = True) -> None:
        self.keep_mentions = keep_mentions
        self.doc = doc
        self.tab = table(doc)
        self.text = self.tab.text
        self.fuzzy_idx: set[int] = doc.user_data.get("fuzzy", set())
        self.sections: list[Section] = doc.user_data.get("sections", [])
        self.tok_section: list[int] = doc.user_data.get("tok_section", [])
        self._sectioned = bool(self.sections) and bool(self.tok_section)  # else every token is in one TITLE
        self.sent_id: list[int] = doc.user_data.get("sent_id", [])
        self.clause_id: list[int] = doc.user_data.get("clause_id", [])
        self.terms: list[Term] = doc.user_data.get("terms", [])
        self.levels: list[LevelMention] = [m for m in doc.user_data.get("levels", []) if m.levels]
        # the words of unchecked form options and unresolved pick-lists state nothing (scribe/forms.py)
        self.form = form_spans(self.text)
        if self.form.void:
            void = self.form.is_void
            self.terms = [t for t in self.terms if not void(t.start_char)]
            self.levels = [m for m in self.levels if not void(m.start_char)]
        self._flat_denied: set[int] = set()  # field label terms of a flattened note answered "no"
        if doc.user_data.get("flat"):  # a flattened form: unticked options and empty fields state nothing
            flat_blank, self._flat_denied = flat_blank_fields(self.tab.lowers, self.terms, *_field_labels())
            flat_voided = flat_void(self.tab.lowers, self.terms) | flat_blank
            if flat_voided:
                self.terms = [t for t in self.terms if id(t) not in flat_voided]
        self.dictation: bool = doc.user_data.get("dictation", False)
        self.terms = self._without_alternatives(self.terms)
        self.access_state: dict[int, str] = {}  # term start -> live / other / none (scribe.acts.access_state)
        self.mentions: list[Mention] = []
        self._cues = cue_index(doc)
        self._para_starts: list[int] | None = None  # made on first use (paragraph)
        # the terms by label and by sentence, the level mentions by sentence (in text order; read with .get)
        by_label: defaultdict[str, list[Term]] = defaultdict(list)
        sent_terms: defaultdict[int, list[Term]] = defaultdict(list)
        sent_levels: defaultdict[int, list[LevelMention]] = defaultdict(list)
        sent_id = self.sent_id
        for t in self.terms:
            by_label[t.label].append(t)
            sent_terms[sent_id[t.start]].append(t)
        for m in self.levels:
            sent_levels[sent_id[m.start]].append(m)
        self._by_label, self._sent_terms, self._sent_levels = by_label, sent_terms, sent_levels
        self.groups = self._level_groups()
        self._group_index: dict[tuple[int, int], LevelGroup] | None = None
        self._sent_label_terms: dict[tuple[int, str], list[Term]] = {}
        self._term_starts: list[int] | None = None
        self._level_starts: list[int] | None = None
        self._sorted_terms: list[Term] = []
        self._evidence: dict[tuple[int, int, str | None, bool], Evidence] = {}


    def _without_alternatives(self, terms: list[Term]) -> list[Term]:
        """Procedure names offered as alternatives ("VERTEBROPLASTY / KYPHOPLASTY PROCEDURE FORM", "vertebroplasty
        or kyphoplasty") name neither: drop them (the checked box or the narrative says which was done). In a
        flattened note the separator may be gone ("vertebroplasty kyphoplasty procedure form"): side by side is
        enough."""
        procs = [t for t in terms if t.label == "PROC"]
        drop: set[int] = set()
        side_by_side = bool(self.doc.user_data.get("flat"))
        for a, b in pairwise(procs):
            if a.value != b.value and b.start - a.end <= 2 and \
                    all(w in ("/", "or", "-", "&") for w in self.tab.lowers[a.end : b.start]) and \
                    (b.start > a.end or (side_by_side and b.start == a.end)):
                drop.update((id(a), id(b)))
        return [t for t in terms if id(t) not in drop] if drop else terms

    # -- structure ----------------------------------------------------------------------
    def _paragraph_starts(self) -> list[int]:
        starts = [0]
        lower = self.tab.lower_text
        if len(lower) == len(self.text):
            starts.extend(merged_ends(self.text, lower, _BLANK_LINE, _NEW_PARAGRAPH))
        else:
            starts.extend(m.end() for m in _PARAGRAPH.finditer(self.text))
        for s in self.sections:
            starts.append(s.start)
        # a line that opens with a level label ("T12:", "T12 and L1:") starts a paragraph too
        starts.extend(level_label_lines(self.text))
        return sorted(set(starts))

    def paragraph(self, tok: int) -> int:
        if not self.tab.idx:
            return 0
        starts = self._para_starts
        if starts is None:
            starts = self._para_starts = self._paragraph_starts()
        return bisect_right(starts, self.tab.idx[tok]) - 1

    def sent_text(self, tok: int) -> str:
        sid = self.sent_id[tok]
        lo = bisect_left(self.sent_id, sid, 0, tok + 1)
        hi = bisect_right(self.sent_id, sid, tok)
        return self.text[self.tab.idx[lo] : self.tab.ends[hi - 1]]

    def span_text(self, start: int, end: int) -> str:
        end = min(end, len(self.tab.idx))
        if start >= end:
            return ""
        return self.text[self.tab.idx[start] : self.tab.ends[end - 1]]

    def lowers(self, start: int, end: int) -> list[str]:
        return self.tab.lowers[start:end]

    def section(self, tok: int) -> Section:
        if self._sectioned:
            return self.sections[self.tok_section[tok]]
        return Section("TITLE", "", 0, 0, len(self.text), True)

    def session(self, tok: int) -> bool:
        return self.sections[self.tok_section[tok]].session if self._sectioned else True

    def section_name(self, tok: int) -> str:
        return self.sections[self.tok_section[tok]].name if self._sectioned else "TITLE"

    def sent(self, tok: int) -> int:
        return self.sent_id[tok]

    def clause(self, tok: int) -> int:
        return self.clause_id[tok]

    def in_header_label(self, term: Term) -> bool:
        sec = self.section(term.start)
        return sec.label != "" and sec.start <= term.start_char < sec.body_start

    def field_value(self, term: Term) -> str | None:
        """For a term inside a field label ("Biopsy:"), the text of the field's value."""
        if not self.in_header_label(term):
            return None
        sec = self.section(term.start)
        line_end = self.text.find("\n", sec.body_start)
        if line_end == -1:
            line_end = len(self.text)
        return self.text[sec.body_start : min(line_end, sec.end)]

    def blank_field(self, term: Term) -> bool:
        """A field left empty: "Biopsy: ***" as a heading, or mid-line in a template row
        ("Guidance: fluoroscopy   Biopsy: ____   Date: …"), or with none of its boxes checked ("Balloon: [ ] Yes")."""
        if self.form.boxes and self.form_state(term) == "blank":
            return True
        value = self.field_value(term)
        if value is not None:
            if self.form.void and value.strip():
                # "Cavity creation: {Balloon tamp/SpineJack/None}": nothing but an unresolved list
                lead = self.section(term.start).body_start + len(value) - len(value.lstrip())
                span = self.form.void_at(lead)
                if span is not None and span[0] == lead and \
                        not self.text[span[1] : lead + len(value.strip())].strip(" .,;"):
                    return True
            return bool(_BLANK_VALUE.match(value))
        return _INLINE_BLANK.match(self.text, term.end_char) is not None

    def form_state(self, term: Term) -> str | None:
        """For a field label term on a form ("Biopsy: [ ] Yes [x] No"): "blank", "denied" or "affirmed" by its
        checked box (scribe/forms.py); None when its value holds no box. In a flattened note, "denied" for a
        field label answered "no" ("biopsy no indication ...", ``flat_blank_fields``)."""
        if self._flat_denied and id(term) in self._flat_denied:
            return "denied"
        if not self.form.boxes:
            return None
        value = self.field_value(term)
        if value is None:
            colon = _FIELD_COLON.match(self.text, term.end_char)
            if colon is None:
                return None
            line_end = self.text.find("\n", colon.end())
            value = self.text[colon.end() : len(self.text) if line_end == -1 else line_end]
            label = _NEXT_LABEL.search(value)
            if label is not None:
                value = value[: label.start()]
        return field_state(value)

    # -- lookups ------------------------------------------------------------------------
    def terms_of(self, label: str) -> list[Term]:
        return self._by_label.get(label, [])

    def sent_terms(self, sent: int, label: str | None = None) -> list[Term]:
        ts = self._sent_terms.get(sent, [])
        if label is None:
            return ts
        key = (sent, label)
        got = self._sent_label_terms.get(key)
        if got is None:
            got = self._sent_label_terms[key] = [t for t in ts if t.label == label]
        return got

    def sent_levels(self, sent: int) -> list[LevelMention]:
        return self._sent_levels.get(sent, [])

    def _level_groups(self) -> list[LevelGroup]:
        groups: list[LevelGroup] = []
        joiners = _JOINERS
        lowers, sent_id = self.tab.lowers, self.sent_id
        for m in self.levels:
            if groups:
                last = groups[-1].mentions[-1]
                if m.start - last.end <= 3 and all(w in joiners for w in lowers[last.end : m.start]) and \
                        sent_id[last.start] == sent_id[m.start]:
                    groups[-1].mentions.append(m)
                    continue
            groups.append(LevelGroup([m]))
        return groups

    def group_of(self, m: LevelMention) -> LevelGroup:
        index = self._group_index
        if index is None:
            index = self._group_index = {(x.start, x.end): g for g in self.groups for x in g.mentions}
        return index.get((m.start, m.end)) or LevelGroup([m])

    # -- context ------------------------------------------------------------------------
    def flags(self, start: int, end: int, categories: frozenset[str] = EXCLUDING) -> list[Flag]:
        return self._cues.flags(start, end, categories)

    def has(self, start: int, end: int, *categories: str) -> bool:
        wanted = _CATEGORY_SETS.get(categories)
        if wanted is None:
            wanted = _CATEGORY_SETS[categories] = frozenset(categories)
        return bool(self._cues.flags(start, end, wanted))

    def level_flags(self, m: LevelMention, categories: frozenset[str] = EXCLUDING) -> list[Flag]:
        """Flags for a level mention, without negations aimed at something else: in "no balloon
        at that level at T12" the cue negates the balloon, not the level."""
        return self.level_flags_of(m, self.flags(m.start, m.end, categories))

    def level_flags_of(self, m: LevelMention, flags: list[Flag]) -> list[Flag]:
        """``level_flags`` from the mention's flags already looked up."""
        out = []
        for f in flags:
            if f.category == "negated" and f.cue_end <= m.start_char:
                first = self._first_term_from(f.cue_end)
                if first is not None and first.end_char <= m.start_char and first.label in _NEG_ELSEWHERE:
                    continue
            if f.cue_start >= m.end_char:
                if self._nearer_subject(m, f):
                    continue
                if f.category == "negated":  # "At L1 the balloon could not be inflated": the balloon's
                    last = self._last_term_before(f.cue_start)
                    if last is not None and last.start_char >= m.end_char and last.label in _NEG_ELSEWHERE:
                        continue
            out.append(f)
        return out

    def aimed_before(self, f: Flag, t: Term) -> bool:
        """A negation cue before ``t`` that reaches it only past another term not listed with it: in
        "we did not do a biopsy under fluoro balloon inflated" the cue is aimed at the biopsy, not at
        the fluoroscopy or the balloon; in "no biopsy or balloon" it denies both."""
        if f.category != "negated" or f.cue_end > t.start_char:
            return False
        starts = self._term_index()
        terms = self._sorted_terms
        i = bisect_left(starts, f.cue_end)
        between = [x for x in terms[i : bisect_left(starts, t.start_char)] if x.end_char <= t.start_char]
        if not between:
            return False
        lowers = self.tab.lowers
        prev_end = between[0].end
        for x in [*between[1:], t]:
            gap = lowers[prev_end : x.start]
            if not _STILL_DENIED.intersection(gap) and any(w not in _LISTED and not w.isspace() for w in gap):
                return not self._ends_denied_phrase(t)
            prev_end = max(prev_end, x.end)
        return False

    def aimed_after(self, f: Flag, t: Term, subjects: frozenset[str] | None = None) -> bool:
        """A backward negation cue after ``t`` that is about a later subject: in "under fluoroscopy the
        needle was placed and repositioning was not needed" the denial is of the repositioning, past the
        needle, not of the fluoroscopy; "a biopsy under fluoroscopy was not performed" still denies both.
        ``subjects``: the labels of the terms that can be that later subject (default: any term); in "a
        balloon tamp was inflated and cement injected specimens none" the cement is, while the fluoroscopy of
        "a balloon under fluoroscopy was not inflated" only qualifies the balloon."""
        if f.category != "negated" or f.cue_start < t.end_char:
            return False
        starts = self._term_index()
        terms = self._sorted_terms
        between = [x for x in terms[bisect_left(starts, t.end_char) : bisect_left(starts, f.cue_start)]
                   if x.end_char <= f.cue_start and (subjects is None or x.label in subjects)]
        lowers = self.tab.lowers
        prev_end = t.end
        for x in between:
            gap = lowers[prev_end : x.start]
            if not _STILL_DENIED.intersection(gap) and any(w not in _LISTED and not w.isspace() for w in gap):
                return True
            prev_end = max(prev_end, x.end)
        return False

    def _ends_denied_phrase(self, t: Term) -> bool:
        """``t`` closes the noun phrase a negation denies: only its passive predicate follows before the
        sentence ends ("No needle repositioning under CT was needed.")."""
        sid = self.sent_id[t.start]
        lowers = self.tab.lowers
        k, n, head = t.end, len(lowers), False
        while k < n and self.sent_id[k] == sid:
            w = lowers[k]
            if (w not in _DENIED_PREDICATE and w not in _spoken_stops()) or k - t.end > 5:
                return False
            head = head or w in _PREDICATE_HEAD
            k += 1
        return head

    def levels_between(self, start_char: int, end_char: int) -> list[LevelMention]:
        """Level mentions lying inside [start_char, end_char) of the text, in order."""
        if self._level_starts is None:
            self._level_starts = [x.start_char for x in self.levels]
        lo = bisect_left(self._level_starts, start_char)
        hi = bisect_left(self._level_starts, end_char)
        return [x for x in self.levels[lo:hi] if x.end_char <= end_char]

    def _term_index(self) -> list[int]:
        """Start characters of the terms sorted by start (built once)."""
        if self._term_starts is None:
            self._sorted_terms = sorted(self.terms, key=lambda t: t.start_char)
            self._term_starts = [t.start_char for t in self._sorted_terms]
        return self._term_starts

    def _last_term_before(self, char: int) -> Term | None:
        """The last term ending at or before character ``char``."""
        i = bisect_left(self._term_index(), char) - 1
        while i >= 0 and self._sorted_terms[i].end_char > char:
            i -= 1
        return self._sorted_terms[i] if i >= 0 else None

    def _first_term_from(self, char: int) -> Term | None:
        """The first term starting at or after character ``char``."""
        i = bisect_left(self._term_index(), char)
        return self._sorted_terms[i] if i < len(self._sorted_terms) else None

    def _nearer_subject(self, m: LevelMention, f: Flag) -> bool:
        """A cue after the level ("L2 was not treated") is about the nearest level before it: not
        about L1 in "L1 and L3, L2 was not treated". A list joined by "and"/"or" ("L2 and L3 were not
        treated") shares the cue; a singular verb ("was", "is") takes only the nearest level."""
        later = self.levels_between(m.end_char, f.cue_start)
        if not later:
            return False
        singular = f.cue.lower().split()[0] in ("was", "is", "has")
        if singular:
            return True
        group = self.group_of(m)
        if not all(x in group.mentions for x in later):
            return True
        # "L1 and L3, L2 not treated": the comma after a finished list starts a new subject
        nearest = later[-1]
        before = [x for x in group.mentions if x.end_char <= nearest.start_char]
        if len(before) >= 2:
            last_gap = self.text[before[-1].end_char : nearest.start_char].lower()
            earlier = self.text[before[0].end_char : before[-1].start_char].lower()
            if "," in last_gap and re.search(r"\b(?:and|or)\b|&", earlier):
                return True
        return False

    # -- evidence -----------------------------------------------------------------------
    def evidence(self, start_char: int, end_char: int, rule: str | None = None,
                 fuzzy: bool = False, tok: int | None = None) -> Evidence:
        """``tok``: the token the span starts at, when known (its section is that token's: no search). One
        Evidence per span and rule (evidence is never changed once made: resolvers share it)."""
        key = (start_char, end_char, rule, fuzzy)
        got = self._evidence.get(key)
        if got is not None:
            return got
        if not self.tab.idx:
            section = None
        else:
            if tok is None or self.tab.idx[tok] != start_char:
                tok = self.tab.token_at(start_char)
            section = self.section(tok).name
        got = self._evidence[key] = make_evidence(start=start_char, end=end_char, text=self.text[start_char:end_char],
                                                  section=section, rule=rule, fuzzy=fuzzy)
        return got

    def term_evidence(self, t: Term) -> Evidence:
        return self.evidence(t.start_char, t.end_char, t.rule, t.fuzzy, t.start)

    def level_evidence(self, m: LevelMention) -> Evidence:
        fuzzy_idx = self.fuzzy_idx
        fuzzy = bool(fuzzy_idx) and not fuzzy_idx.isdisjoint(range(m.start, m.end))
        return self.evidence(m.start_char, m.end_char, "level", fuzzy, m.start)

    def record(self, element: str, value: object, start_char: int, end_char: int, start: int,
               end: int, used: bool, flags: Iterable[Flag] = (), fuzzy: bool = False) -> None:
        if not self.keep_mentions:
            return
        self.mentions.append(Mention.model_construct(
            element=element, value=value, start=start_char, end=end_char,
            text=self.text[start_char:end_char], section=self.section(start).name if len(self.doc) else None,
            flags=[ContextFlag.model_construct(category=f.category, cue=f.cue, cue_start=f.cue_start,
                                               cue_end=f.cue_end) for f in flags],
            used=used, fuzzy=fuzzy,
        ))
