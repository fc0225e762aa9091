"""ConText: negated / historical / hypothetical / other-level / diagnostic modifiers with cues.

Cues come from ``lexicons/context.jsonl`` (medspaCy-style records). A cue modifies targets in
its own clause (clauses stop at terminators, ";", a new sentence or a section heading), within
``max_scope`` tokens, forward, backward or both. Pseudo-cues ("no cement leak") block the
cues they overlap. Dates and years before the date of service are historical cues.
Self-corrections ("at L2, correction, L3") are found here too.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from datetime import date
from operator import attrgetter, sub

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from scribe.lexicon import ContextRule, Lexicon, default_lexicon
from scribe.nlp.levels import LEVEL_NORM
from scribe.nlp.normalize import pattern_docs
from scribe.nlp.table import TokenTable, table
from scribe.nlp.types import Cue, Flag, Section

_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})\b|\b(\d{1,2})/(\d{4})\b|\b((?:19|20)\d\d)\b")
DEFAULT_SCOPE = 6


def date_matches(text: str) -> list[re.Match[str]]:
    """The matches ``_DATE.finditer(text)`` gives, tried only where one can start: at the digits right
    before a "/" and at a "19xx"/"20xx" (scanning the whole note with ``_DATE`` is slow)."""
    starts: set[int] = set()
    for lead in ("19", "20"):  # "19xx", "20xx" (a start inside a longer run of digits cannot match: no \b)
        i = text.find(lead)
        while i != -1:
            if text[i + 2 : i + 4].isdecimal() and i + 4 <= len(text):
                starts.add(i)
            i = text.find(lead, i + 1)
    i = text.find("/")
    while i != -1:
        j = i
        while j > 0 and text[j - 1].isdecimal():
            j -= 1
        if j < i:
            starts.add(j)
        i = text.find("/", i + 1)
    return matches_from(_DATE, text, starts)


def matches_from(pattern: re.Pattern[str], text: str, starts: Iterable[int]) -> list[re.Match[str]]:
    """What ``pattern.finditer(text)`` gives when every match can only start at one of ``starts``: the
    pattern tried there alone, left to right, skipping starts inside an earlier match (patterns with no
    literal first character are slow to scan)."""
    out: list[re.Match[str]] = []
    end = 0
    for s in sorted(set(starts)):
        if s < end:
            continue
        m = pattern.match(text, s)
        if m is not None:
            out.append(m)
            end = m.end()
    return out


def context_rules(lexicon: Lexicon) -> dict[str, ContextRule]:
    """The ConText rules matched as cues, by matcher key (clause terminators are the sentence splitter's)."""
    return {f"ctx{n}": rule for n, rule in enumerate(lexicon.context) if rule.direction != "terminate"}


def cue_patterns(nlp: Language, rules: dict[str, ContextRule],
                 normalizer: Callable[[Doc], Doc] | None) -> dict[str, list[Doc]]:
    """Each cue literal as a Doc normalised like the notes, to be matched on NORM."""
    docs = pattern_docs(nlp, normalizer, [rule.literal for rule in rules.values()])
    return {key: [d] for key, d in zip(rules, docs, strict=True)}


class ContextTagger:
    """Pipeline component ``scribe_context``: finds cues; ``flags_for`` applies them."""

    def __init__(self, nlp: Language, lexicon: Lexicon) -> None:
        self.nlp = nlp
        self.rules = context_rules(lexicon)
        self.by_id: dict[int, ContextRule] = {nlp.vocab.strings.add(k): r for k, r in self.rules.items()}
        self._matcher: PhraseMatcher | None = None
        # by match hash: the words one of which a rule with ``requires`` needs within its scope
        self.required: dict[int, frozenset[str]] = {
            h: frozenset(w.lower() for w in r.requires) for h, r in self.by_id.items() if r.requires}
        self.forward_after: dict[int, frozenset[str]] = {
            h: frozenset(w.lower() for w in r.forward_after) for h, r in self.by_id.items() if r.forward_after}
        # by match hash, what a match needs of its rule: (rule, category, direction, scope, required words or
        # None, forward_after words or None), read once instead of attribute by attribute for every match
        self.cue_info: dict[int, tuple[ContextRule, str, str, int, frozenset[str] | None, frozenset[str] | None]] = {
            h: (r, r.category, r.direction, DEFAULT_SCOPE if r.max_scope is None else r.max_scope,
                self.required.get(h), self.forward_after.get(h))
            for h, r in self.by_id.items()}
        self.correction_cues = [tuple(c.split()) for c in lexicon.normalization.correction_cues]
        self.corrections_by_first: dict[str, list[tuple[str, ...]]] = {}
        for c in self.correction_cues:
            self.corrections_by_first.setdefault(c[0], []).append(c)
        self.correction_words = [(c, frozenset(c)) for c in self.correction_cues]

    def matches(self, doc: Doc) -> list[tuple[int, int, int]]:
        """The cue matches: found by scribe_terms' matcher in the same pass as the terms when it ran
        (``doc.user_data["cue_matches"]``), else by a matcher of this component's own."""
        got = doc.user_data.get("cue_matches")
        if got is not None:
            return got  # type: ignore[no-any-return]
        if self._matcher is None:
            self._matcher = PhraseMatcher(self.nlp.vocab, attr="NORM")
            normalizer = self.nlp.get_pipe("scribe_normalize") if "scribe_normalize" in self.nlp.pipe_names else None
            for key, docs in cue_patterns(self.nlp, self.rules, normalizer).items():
                self._matcher.add(key, docs)
        return list(self._matcher(doc))

    def __call__(self, doc: Doc) -> Doc:
        tab = table(doc)
        # each cue as (start - end, start, match number, end, category, direction, scope): sorted as they are,
        # longest first, then leftmost, then in the matcher's order; a Cue object is made only for those kept
        found: list[tuple[int, int, int, int, str, str, int]] = []
        pseudo: list[tuple[int, int]] = []
        cue_info = self.cue_info
        lowers, idx, ends, text = tab.lowers, tab.idx, tab.ends, tab.text
        for k, (match_id, start, end) in enumerate(self.matches(doc)):
            rule, category, direction, scope, required, forward_after = cue_info[match_id]
            if required is not None and not self._required_near(doc, rule, required, start, end):
                continue
            if direction == "pseudo":
                pseudo.append((start, end))
                continue
            if forward_after is not None and start > 0 and lowers[start - 1] in forward_after:
                direction = "forward"
            found.append((start - end, start, k, end, category, direction, scope))
        if pseudo:
            inside = {k for ps, pe in pseudo for k in range(ps, pe)}  # the tokens of pseudo-cues
            found = [c for c in found if c[1] not in inside]
        headings = _heading_spans(doc.user_data.get("sections", []))
        if headings and found:
            # a heading's own words are no cue: "ASSESSMENT AND PLAN:" puts its section's content under no
            # plan (the section's name already says what it is)
            # (by bisect: only the last heading starting at or before a cue can hold it)
            heading_starts = [h[0] for h in headings]
            inside_none = found
            found = []
            for c in inside_none:
                s_char, e_char = idx[c[1]], ends[c[3] - 1]
                h = bisect_right(heading_starts, s_char) - 1
                if h < 0 or e_char > headings[h][1]:
                    found.append(c)
        # prefer the longest cue where cues of one category overlap ("not" / "was not performed",
        # ": No" / "no evidence of"): longest first, each kept only if it overlaps no kept cue
        found.sort()
        kept: list[Cue] = []
        taken: dict[str, list[tuple[int, int]]] = {}  # per category, kept (start, end), sorted
        for _, start, _, end, category, direction, scope in found:
            spans = taken.get(category)
            if spans is None:
                spans = taken[category] = []
            i = bisect_left(spans, (start, end))
            if (i > 0 and spans[i - 1][1] > start) or (i < len(spans) and spans[i][0] < end):
                continue
            spans.insert(i, (start, end))
            s_char, e_char = idx[start], ends[end - 1]
            kept.append(Cue(category, direction, start, end, s_char, e_char, text[s_char:e_char], scope))
        kept.extend(self._date_cues(doc))
        corrections = self._correction_cues(doc)
        if corrections:
            # the "no" of "T11, no, I mean T12" opens the correction: it negates nothing
            inside = {k for c in corrections for k in range(c.start, c.end)}
            kept = [c for c in kept if c.category != "negated" or c.start not in inside]
            kept.extend(corrections)
        kept.sort(key=_START)
        doc.user_data["cues"] = kept
        doc.user_data["cue_index"] = CueIndex(kept, doc.user_data.get("sent_id", []),
                                              doc.user_data.get("clause_id", []))
        return doc

    @staticmethod
    def _required_near(doc: Doc, rule: ContextRule, required: frozenset[str], start: int, end: int) -> bool:
        """One of the rule's required words within its scope on the side it modifies, same sentence."""
        lowers = table(doc).lowers
        sent: list[int] = doc.user_data.get("sent_id", [])
        scope = DEFAULT_SCOPE if rule.max_scope is None else rule.max_scope
        window: list[int] = []
        if rule.direction in ("backward", "bidirectional", "pseudo"):  # a pseudo-cue's words come before it
            window.extend(range(max(0, start - scope - 1), start))
        if rule.direction in ("forward", "bidirectional"):
            window.extend(range(end, min(len(lowers), end + scope + 1)))
        return any(lowers[k] in required and (not sent or sent[k] == sent[start]) for k in window)

    def _date_cues(self, doc: Doc) -> list[Cue]:
        dos: date | None = doc.user_data.get("dos")
        years_only = dos is None
        if dos is None:
            # no date of service: only a bare year before this year ("the T9 vertebroplasty done in
            # 2024") is surely past; full dates might be the undocumented date of service itself
            dos = date(date.today().year, 1, 1)
        out: list[Cue] = []
        tab = table(doc)
        for m in date_matches(tab.text):
            if years_only and not m.group(6):
                continue
            year: int
            when: date | None = None
            if m.group(1):
                y = int(m.group(3))
                year = y + 2000 if y < 100 else y
                try:
                    when = date(year, int(m.group(1)), int(m.group(2)))
                except ValueError:
                    continue
            elif m.group(4):
                year = int(m.group(5))
            else:
                year = int(m.group(6))
            past = when < dos if when is not None else year < dos.year
            if not past:
                continue
            first = tab.token_at(m.start())
            last = tab.token_at(m.end() - 1)
            out.append(Cue("historical", "bidirectional", first, last + 1, m.start(), m.end(),
                           m.group(0), 10))
        return out

    def _correction_cues(self, doc: Doc) -> list[Cue]:
        """Self-corrections ("at L2, correction, L3"). A "no" that opens one belongs to it ("T11, no, I
        mean T12"), and "no, just <level>" is one ("T11 and T12? no, just T12"): the cue starts there."""
        tab = table(doc)
        lowers = tab.lowers
        sent: list[int] = doc.user_data.get("sent_id", [])
        out: list[Cue] = []
        by_first = self.corrections_by_first
        # a cue can only stand where the note holds all its words: look for the first words of those
        words = tab.unique_lowers
        first = {cue[0] for cue, cue_words in self.correction_words if cue_words <= words}
        for i in tab.positions(first) if first else ():
            for cue in by_first[lowers[i]]:
                k = len(cue)
                if tuple(lowers[i : i + k]) == cue:
                    out.append(_correction_at(tab, sent, _opening_no(lowers, i), i + k))
        for i in tab.positions(_NO) if "just" in words else ():  # "no, just T12"
            j = i + 2 if lowers[i + 1 : i + 2] == [","] else i + 1
            if lowers[j : j + 1] == ["just"] and j + 1 < len(lowers) and LEVEL_NORM.match(tab.norms[j + 1]):
                out.append(_correction_at(tab, sent, i, j + 1))
        return out


_NO = frozenset({"no"})
_START, _END, _MAX_SCOPE = attrgetter("start"), attrgetter("end"), attrgetter("max_scope")


def _heading_spans(sections: list[Section]) -> list[tuple[int, int]]:
    """The character spans of the section headings (header start to body start), in text order."""
    return sorted((s.start, s.body_start) for s in sections if s.body_start > s.start)


def _opening_no(lowers: list[str], i: int) -> int:
    """Where a correction cue at token i starts: at a "no" just before it ("no, I mean"), else at i."""
    j = i - 2 if i >= 2 and lowers[i - 1] == "," else i - 1
    return j if j >= 0 and lowers[j] == "no" else i


BACK_ACROSS = "backward_across"  # the direction of a correction that opens its sentence ("L2. Correction, L3.")


def _correction_at(tab: TokenTable, sent: list[int], start: int, end: int) -> Cue:
    """A correction cue; one that opens its sentence ("T11 and T12? No, just T12") may reach back into
    the sentence before it (still only 4 tokens)."""
    s, e = tab.idx[start], tab.ends[end - 1]
    opens = bool(sent) and 0 < start < len(sent) and sent[start] != sent[start - 1] and \
        any(LEVEL_NORM.match(w) for w in tab.norms[end : end + 3])  # "Sorry, L3", not "Sorry for the delay"
    return Cue("corrected", BACK_ACROSS if opens else "backward", start, end, s, e, tab.text[s:e], 4)


class CueIndex:
    """The cues of one Doc, ready for ``flags``: sorted starts, the scope window that can reach a
    target, and each cue's Flag made once."""

    __slots__ = ("clause", "cues", "flag_of", "reach_after", "reach_before", "sent", "starts")

    def __init__(self, cues: list[Cue], sent: list[int], clause: list[int]) -> None:
        self.cues = cues
        self.starts = starts = list(map(_START, cues))
        self.sent, self.clause = sent, clause
        # each cue's Flag, made when a target first reports it (most cues reach no target that asks)
        self.flag_of: list[Flag | None] = [None] * len(cues)
        # a cue reaches a target only within its scope (or by overlapping it); never beyond 40 tokens
        scope = max(map(_MAX_SCOPE, cues), default=0)
        length = max(map(sub, map(_END, cues), starts), default=0)
        self.reach_before = min(40, scope + length)
        self.reach_after = min(40, scope)

    def flags(self, start: int, end: int, categories: frozenset[str] | None = None,
              same_sentence: bool = False) -> list[Flag]:
        starts = self.starts
        lo = bisect_left(starts, start - self.reach_before)
        last = end + self.reach_after
        if lo == len(starts) or starts[lo] > last:
            return []  # no cue starts in reach (most calls): one bisect
        hi = bisect_right(starts, last, lo)
        unit = self.sent if same_sentence else self.clause
        cues, flag_of = self.cues, self.flag_of
        out: list[Flag] = []
        target_unit = unit[start]
        for k in range(lo, hi):
            cue = cues[k]
            if categories is not None and cue.category not in categories:
                continue
            if cue.start < end and cue.end > start:
                if start <= cue.start and cue.end <= end:
                    continue  # the cue is part of the target itself
                out.append(flag_of[k] or self._flag(k))
                continue  # a cue that contains the target ("on CT") applies to it
            if cue.end <= start:
                if cue.direction not in ("forward", "bidirectional"):
                    continue
                if unit[cue.start] != target_unit and unit[cue.end - 1] != target_unit:
                    continue
                if start - cue.end > cue.max_scope:
                    continue
            else:
                if cue.direction == BACK_ACROSS:  # a correction opening its sentence reaches the one before
                    if self.sent[cue.start] - self.sent[start] > 1:
                        continue
                elif cue.direction not in ("backward", "bidirectional") or unit[cue.start] != target_unit:
                    continue
                if cue.start - end > cue.max_scope:
                    continue
            out.append(flag_of[k] or self._flag(k))
        return out

    def _flag(self, k: int) -> Flag:
        c = self.cues[k]
        flag = self.flag_of[k] = Flag(c.category, c.text, c.start_char, c.end_char)
        return flag


def cue_index(doc: Doc) -> CueIndex:
    got = doc.user_data.get("cue_index")
    if got is None:
        got = doc.user_data["cue_index"] = CueIndex(doc.user_data.get("cues", []), doc.user_data.get("sent_id", []),
                                                    doc.user_data.get("clause_id", []))
    return got


def flags_for(doc: Doc, start: int, end: int, categories: frozenset[str] | None = None,
              same_sentence: bool = False) -> list[Flag]:
    """ConText flags for the target tokens [start, end): cue in the same clause, within scope. Flags
    are shared between calls: read them, do not change them."""
    return cue_index(doc).flags(start, end, categories, same_sentence)


@Language.factory("scribe_context", assigns=["doc.user_data"],
                  requires=["doc.user_data", "token.is_sent_start"])
def make_context(nlp: Language, name: str) -> ContextTagger:
    return ContextTagger(nlp, default_lexicon())
