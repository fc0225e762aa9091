"""Procedure-note section detection: formal headings ("PROCEDURE:", "Pre-op Dx:"), capitalised
heading lines, and spoken headings at the start of a dictated paragraph ("indications she is…").

Sets ``doc.user_data["sections"]`` (list of Section) and ``doc.user_data["tok_section"]`` (the
index of the section of each token). Text before the first heading is the TITLE section.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from itertools import accumulate

from spacy.language import Language
from spacy.tokens import Doc

from scribe.lexicon import Sections, default_lexicon
from scribe.nlp.table import table
from scribe.nlp.types import Section
from scribe.scan import may_contain

# a heading line: a field label ending in ":" (numbered or not), or a line in capitals. Each pattern is
# written twice, at the text's start and after a line break: the line-break form has a literal first
# character, which Python's re scans for fast (a MULTILINE "^" is tried at every character)
# (the label is taken possessively: it holds no ":", so trailing spaces are all it could give back, and
# .strip() removes them; a lazy label tried one character at a time was the slow part)
_FORMAL_LINE = r"[ \t]*(?:\d{1,2}[.)]\s*)?([A-Za-z][A-Za-z0-9 /&()'\-,.]{0,60}+)[ \t]*:"
_FORMAL = (re.compile(_FORMAL_LINE), re.compile("\n" + _FORMAL_LINE))
_CAPS = r"[ \t]*(?:\d{1,2}[.)][ \t]*)?([A-Z][A-Z0-9 /&()'\-,.]{2,80})[ \t]*$"  # "2. LEVEL(S) TREATED" too
_CAPS_LINE = (re.compile(_CAPS, re.MULTILINE), re.compile("\n" + _CAPS, re.MULTILINE))
_LEVEL_LABEL = re.compile(r"^(?:[ctls]\d{1,2}(?:\s*(?:-|and|&|,|/)\s*[ctls]?\d{1,2})*|[ctls]-?\d{1,2}.*)$",
                          re.IGNORECASE)
_INLINE = re.compile(r"([A-Z][A-Z][A-Z /&()'\-]{0,60}+)[ \t]*:")  # possessive: see _FORMAL_LINE
_LABEL_END = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ/&()'-")  # the characters an _INLINE label can end with
_NEWLINE_CAP = re.compile(r"[.!]\s*\n[ \t]*([A-Z])")  # a line opening with a capital after a sentence end
_BREAK_CAP = re.compile(r"\n[ \t]*[A-Z]")  # its last part, led by a literal (fast to scan for)
_ACT = re.compile(r"\b(?:needles?|trocars?|cannulas?|cannulae|cement|PMMA|balloons?|tamps?)\b[^.\n]{0,80}?"
                  r"\b(?:was|were) (?:then )?(?:placed|advanced|inserted|injected|inflated|introduced|deployed)\b"
                  r"|\bunder (?:\w+ ){0,3}(?:guidance|fluoro\w*|c-?arm)\b"
                  r"|\b(?:cement|pmma)\b[^.\n]{0,40}?\binjected\b", re.IGNORECASE)
# a word every match of _ACT or _BIOPSY_ACT holds (a literal precheck: most field sentences hold none)
_ACT_WORDS = ("placed", "advanced", "inserted", "injected", "inflated", "introduced", "deployed", "under",
              "taken", "obtained", "performed", "collected", "sent")
# a biopsy taken as an act ("A core biopsy was taken from the T twelve vertebral body")
_BIOPSY_ACT = re.compile(r"\b(?:biops(?:y|ies)|core|specimens?|samples?)\b[^.\n]{0,60}?\b(?:was|were) (?:then )?"
                         r"(?:taken|obtained|performed|collected|sent)\b", re.IGNORECASE)
# a sentence recalling another encounter's act, beside _PAST_WORDS ("underwent", "at an outside hospital")
# or its result ("a biopsy was obtained in March showing myeloma": today's specimen has no result yet)
_RECALL_WORDS = re.compile(r"\b(?:underwent|had|has had|s/p|status post|outside|elsewhere|another|earlier|before|"
                           r"yesterday|last|again|already|show(?:ed|ing|s)|reveal\w*|demonstrat\w*|"
                           r"january|february|march|april|may|june|july|august|september|october|november|december|"
                           r"jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b|\d/\d", re.IGNORECASE)
_RUN_IN_START = re.compile(r"[.!?][ \t]+(?=[A-Z])")  # a sentence that opens after another on the same line
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
# the same in a dictation with spoken headings, where sentences open in lower case and may end in "period"
_SPOKEN_RUN_IN_START = re.compile(r"(?:[.!?]|\bperiod\b)[ \t]+(?=\w)", re.IGNORECASE)
_SPOKEN_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\bperiod\b", re.IGNORECASE)
# the two, case-sensitive, for the lower-cased text of an ASCII note: the same matches, found faster
_SPOKEN_RUN_IN_START_LOWER = re.compile(_SPOKEN_RUN_IN_START.pattern)
_SPOKEN_SENTENCE_END_LOWER = re.compile(_SPOKEN_SENTENCE_END.pattern)
_PAST_WORDS = re.compile(r"\b(?:prior|previous(?:ly)?|history|ago|in (?:19|20)\d\d|last (?:year|month)|"
                         r"recommend\w*|will|plan(?:s|ned|ning)?|consider\w*)\b", re.IGNORECASE)
# the act, history and recall patterns (case-insensitive: tried at every position, slowly), case-sensitive for
# the lower-cased text of an ASCII note, where they find the same matches about twice as fast
_ACT_LOWER, _BIOPSY_ACT_LOWER, _PAST_WORDS_LOWER, _RECALL_WORDS_LOWER = (
    re.compile(rx.pattern.replace("PMMA", "pmma")) for rx in (_ACT, _BIOPSY_ACT, _PAST_WORDS, _RECALL_WORDS))
_PARA_START = re.compile(r"(?:\A|\n[ \t]*\n\s*|new paragraph[ \t]*\n?)[ \t]*", re.IGNORECASE)
# the two branches of _PARA_START, each with a literal first character: Python's re scans for those fast
_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")  # more blank lines are one paragraph break
_NEW_PARAGRAPH = re.compile(r"new paragraph[ \t]*\n?[ \t]*")
_LEAD = re.compile(r"[ \t]*")
_SPOKEN_STOP = re.compile(r"(?:[.?!]|\bperiod\b)[ \t]+", re.IGNORECASE)  # a sentence end a spoken heading may follow
# its two branches, each led by literals (scanned for fast; the pattern above is tried at every position)
_MARK_STOP = re.compile(r"[.?!][ \t]+")
_PERIOD_STOP = re.compile(r"period\b[ \t]+")  # on the lower-cased text; the \b before it checked apart
_SPACES = re.compile(r"\s+")
_UNDECIDED = object()
_DIGIT = re.compile(r"\d")
_COMPOUND = re.compile(r"\s*/\s*|\s+and\s+|\s*&\s*")  # a label joining two headings
_NUMBERING = re.compile(r"^\s*(?:\d{1,2}[.)]|[ivx]+[.)])\s*")
_NEWLINE = re.compile("\n")
_SEPARATOR = re.compile(r"[.;] ")  # ". " or "; ": where a run-in title-case label may start after


class _Lines:
    """Where the line around a position starts and ends, from the positions of the newlines (bisect): a note
    of thousands of headings on one line must not search back or forward over the whole line for each."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines: list[int] = [m.start() for m in _NEWLINE.finditer(text)]  # every find reads them
        self._separators: list[int] | None = None

    def start(self, pos: int) -> int:
        """``text.rfind("\n", 0, pos) + 1``."""
        newlines = self.newlines
        i = bisect_left(newlines, pos) - 1
        return newlines[i] + 1 if i >= 0 else 0

    def end(self, pos: int, stop: int | None = None) -> int:
        """``text.find("\n", pos, stop)``."""
        newlines = self.newlines
        i = bisect_left(newlines, pos)
        if i < len(newlines) and (stop is None or newlines[i] < stop):
            return newlines[i]
        return -1

    def last_separator(self, lo: int, hi: int) -> int:
        """``max(text.rfind(". ", lo, hi), text.rfind("; ", lo, hi))``."""
        if self._separators is None:
            self._separators = [m.start() for m in _SEPARATOR.finditer(self.text)]
        i = bisect_right(self._separators, hi - 2) - 1
        return self._separators[i] if i >= 0 and self._separators[i] >= lo else -1


def _inside(heads: list[tuple[int, int, str, str]]) -> Callable[[int], bool]:
    """``lambda pos: any(h[0] <= pos < h[1] for h in heads)``, by bisect over the heads sorted by start with
    the furthest end reached so far."""
    ordered = sorted(heads)
    starts = [h[0] for h in ordered]
    reach = list(accumulate((h[1] for h in ordered), max))

    def inside(pos: int) -> bool:
        i = bisect_right(starts, pos) - 1
        return i >= 0 and reach[i] > pos

    return inside


class SectionDetector:
    """Pipeline component ``scribe_sections``."""

    def __init__(self, sections: Sections, not_headings: Iterable[str] = ()) -> None:
        # words that open a self-correction ("Correction: L3"): a field label of theirs is no heading
        self.not_headings = frozenset(_key(w) for w in not_headings)
        self.header_map: dict[str, tuple[str, bool]] = {}
        self.session: dict[str, bool] = {}
        spoken: list[tuple[str, str]] = []
        for sec in sections.sections:
            self.session[sec.name] = sec.session
            for h in sec.headers:
                self.header_map[_key(h)] = (sec.name, sec.session)
            for s in sec.spoken:
                spoken.append((s.lower(), sec.name))
        self.default_field = sections.default_field_section
        spoken.sort(key=lambda x: -len(x[0]))
        self.spoken_rx = re.compile(
            r"(?:(?:the|and|now|for)\s+)?(" + "|".join(re.escape(s) for s, _ in spoken) + r")(?=[\s,:])",
            re.IGNORECASE
        )
        # the lower-case ASCII letters a spoken heading match can open with (its optional lead word's or its own)
        self.spoken_first = frozenset("tanf" + "".join(s[:1] for s, _ in spoken))
        self.spoken_map = {s: n for s, n in spoken}
        self.spoken_suffixes = tuple(self.spoken_map)  # for str.endswith
        self.session.setdefault("TITLE", True)
        # after a heading word, "of" opens a noun phrase and a verb a sentence ("Consent was obtained."): the
        # word is the sentence's subject, no spoken heading
        followers = sorted(sections.not_heading_followers, key=len, reverse=True)
        self.not_heading_after = re.compile(r"[ \t]+(?:" + "|".join(re.escape(w) for w in followers) + r")\b",
                                            re.IGNORECASE) if followers else None
        self._field_names: dict[str, str | None] = {}
        # a note flattened into one unpunctuated paragraph: its spoken and "flat" headers stay headings anywhere
        flat = sorted({(h.lower(), sec.name) for sec in sections.sections
                       for h in (*(sec.spoken if sec.flat_spoken else ()), *sec.flat)},
                      key=lambda x: -len(x[0]))
        self.flat_map = dict(flat)
        self.flat_rx = re.compile(r"(?<![\w'-])(" + "|".join(re.escape(h) for h, _ in flat) + r")(?![\w'-])")
        self.not_heading_before = frozenset(sections.not_heading_before)
        self.not_heading_before_suffixes = tuple(sections.not_heading_before_suffixes)
        self.not_flat_headings = frozenset(sections.not_flat_headings)
        self.not_flat_followers = frozenset(sections.not_flat_heading_followers)

    def _field_name(self, label: str) -> str | None:
        """The section a "Label:" field starts, or None when the label is no heading (a level, a long
        phrase, an unknown label with digits); decided once per distinct label."""
        got = self._field_names.get(label, _UNDECIDED)
        if got is not _UNDECIDED:
            return got  # type: ignore[return-value]
        key = _key(label)
        name: str | None = None
        if key and key not in self.not_headings and not _LEVEL_LABEL.match(label) and len(key.split()) <= 6:
            parts = [p.strip() for p in _COMPOUND.split(key) if p.strip()]
            if key in self.header_map:
                name = self.header_map[key][0]
            elif len(parts) > 1 and parts[0] in self.header_map:
                name = self.header_map[parts[0]][0]  # "History/indication", "History and indications"
            elif (last := key.split()[-1]) in self.header_map and not self.session.get(self.header_map[last][0], True):
                name = self.header_map[last][0]  # "Post-op plan", "Surgical history": a kind of plan, of history
            elif len(key.split()) <= 4 and not _DIGIT.search(key):
                name = self.default_field
        if len(self._field_names) < 20_000:
            self._field_names[label] = name
        return name

    def find(self, text: str, lower: str | None = None, flat: bool | None = None) -> list[Section]:
        heads: list[tuple[int, int, str, str]] = []  # start, body_start, name, label
        taken: set[int] = set()
        field_names = self._field_names
        for m in line_matches(_FORMAL, text):
            label = m.group(1).strip()
            # (the cache of _field_name, read here: most labels recur)
            name = field_names[label] if label in field_names else self._field_name(label)
            if name is None:
                continue
            label_start = m.start(1)
            line_start = text.rfind("\n", 0, label_start) + 1
            if line_start in taken:
                continue
            heads.append((label_start, m.end(), name, label))
            taken.add(line_start)
        # headings run into one line ("…L1.,PROCEDURE PERFORMED:, L1 kyphoplasty.,ANESTHESIA:, …"):
        # only known headings, written in capitals, after a sentence end or a comma
        starts_known = {h[0] for h in heads}
        formal_count = len(heads)
        # every inline heading ends at a colon; when each colon ends a heading found above, an inline
        # match can only lie inside one of those (and is skipped): no need to scan
        colons = text.count(":")
        inline: Iterable[re.Match[str]] = inline_matches(text) if colons > len(heads) else ()
        in_formal: Callable[[int], bool] | None = None  # made at the first inline heading known (most notes: none)
        inline_end = -1  # inline matches come in text order without overlap: of those taken, only the last one
        # can hold a later match
        lines = _Lines(text)
        for m in inline:
            before = text[max(0, m.start(1) - 2) : m.start(1)]
            if m.start(1) > 0 and not (before[-1:] in ".,;:)" or before in (". ", ", ", "; ", ": ", ") ", "  ")):
                continue
            label = m.group(1).strip()
            key = _key(label)
            if key not in self.header_map or m.start(1) in starts_known:
                continue
            if in_formal is None:
                in_formal = _inside(heads[:formal_count])
            if in_formal(m.start(1)) or m.start(1) < inline_end:
                continue
            heads.append((m.start(1), m.end(), self.header_map[key][0], label))
            starts_known.add(m.start(1))
            inline_end = m.end()
        if colons > len(heads):
            heads.extend(self._title_case_inline(text, heads, starts_known, lines))
        for m in line_matches(_CAPS_LINE, text):
            label = m.group(1).strip()
            key = _key(label)
            if key in self.header_map and m.start(1) not in starts_known:
                line_start = text.rfind("\n", 0, m.start(1)) + 1
                if line_start in taken:
                    continue
                heads.append((m.start(1), m.end(), self.header_map[key][0], label))
                starts_known.add(m.start(1))
                taken.add(line_start)
        for pos in paragraph_ends(text, lower):
            line_start = lines.start(pos)
            if pos >= len(text):
                continue
            # a spoken "new paragraph" inside a dictation on one line starts its own paragraph: it is
            # taken by position, not by the line an earlier heading already took
            k = pos - 1  # (not a slice of the line: a dictation on one line has thousands of paragraphs)
            while k >= line_start and text[k].isspace():
                k -= 1
            spot = pos if k >= line_start else line_start
            if spot in taken:
                continue
            sm = self._spoken_at(text, pos)
            if sm is None:
                continue
            # a formal heading at this position was handled above
            after = text[sm.end() : sm.end() + 2]
            if after.startswith(":"):
                continue
            name = self.spoken_map[sm.group(1).lower()]
            heads.append((pos, sm.end(), name, sm.group(0)))
            taken.add(spot)
        heads.extend(self._dictation_after_fields(text, heads, taken, lines))
        # the lower-cased text of an ASCII note (its case-insensitive scans are made case-sensitive on it)
        ascii_lower = (text.lower() if lower is None else lower) if text.isascii() else None
        heads.extend(self._spoken_after_sentences(text, heads, ascii_lower))
        heads.extend(self._narrative_starts(text, heads, lines, ascii_lower))
        if is_flat(text) if flat is None else flat:
            heads.extend(self._flat_headings(text if lower is None else lower, heads))
            heads.extend(self._flat_acts(text, heads))
        heads.sort()
        out: list[Section] = []
        first = heads[0][0] if heads else len(text)
        if first > 0:
            out.append(Section("TITLE", "", 0, 0, first, True))
        for i, (start, body, name, label) in enumerate(heads):
            end = heads[i + 1][0] if i + 1 < len(heads) else len(text)
            out.append(Section(name, label, start, body, end, self.session.get(name, True)))
        return out

    def _title_case_inline(self, text: str, heads: list[tuple[int, int, str, str]],
                           starts_known: set[int], lines: _Lines | None = None) -> list[tuple[int, int, str, str]]:
        """Known headings in title case run into a line after a sentence end ("Subjective: back pain x 8
        weeks. Objective: tender at L1. Procedure: vertebroplasty L1"): the label between the ". " and the
        colon, when it is a heading of the lexicon."""
        out: list[tuple[int, int, str, str]] = []
        ends = {h[1] for h in heads}
        lines = lines or _Lines(text)
        in_head = _inside(heads)
        c = text.find(":")
        while c != -1:
            if c + 1 not in ends:
                line_start = lines.start(c)
                k = lines.last_separator(line_start, c)
                if k != -1:
                    start = k + 2
                    while start < c and text[start] in " \t":
                        start += 1
                    label = text[start:c].rstrip(" \t")
                    key = _key(label)
                    if 0 < len(label) <= 40 and label[0].isupper() and key in self.header_map and \
                            start not in starts_known and not in_head(start):
                        out.append((start, c + 1, self.header_map[key][0], label))
                        starts_known.add(start)
            c = text.find(":", c + 1)
        return out

    def _flat_headings(self, lower: str,
                       heads: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
        """In a note flattened into one unpunctuated paragraph (a speech-recognition dump: "... procedure
        performed vertebroplasty l1 anesthesia local history she fell ..."), a spoken or "flat" header of the
        lexicon anywhere starts its section: not one led by a word that makes it part of a phrase ("the
        procedure", "no complications", "local anesthesia", "osteoporotic history") nor one followed by a verb
        or "of" (as ``_spoken_at``), nor one inside a heading already found."""
        out: list[tuple[int, int, str, str]] = []
        in_head = _inside(heads)
        before_words = self.not_heading_before
        for m in self.flat_rx.finditer(lower):
            start = m.start()
            if in_head(start) or any(h[0] == start for h in heads):
                continue
            k = start - 1
            while k >= 0 and lower[k] == " ":
                k -= 1
            j = k
            while j >= 0 and not lower[j].isspace():
                j -= 1
            before = lower[j + 1 : k + 1]
            if before in before_words or f"{before} {m.group(1)}" in self.not_flat_headings or \
                    (self.not_heading_before_suffixes and before.endswith(self.not_heading_before_suffixes)):
                continue
            if self.not_heading_after is not None and self.not_heading_after.match(lower, m.end()):
                continue
            nxt = _NEXT_WORD.match(lower, m.end())
            if nxt is None or nxt.group(1) in self.not_flat_followers:
                continue  # the note's last words, or a compound noun ("procedure note")
            out.append((start, m.end(), self.flat_map[m.group(1)], m.group(1)))
        return out

    def _flat_acts(self, text: str, heads: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
        """In a flattened note, the procedure narrative run into a field of another section ("history ... no
        relief under fluoroscopy a needle was placed into l2"): the first act described in the past tense
        (``_ACT``, ``_BIOPSY_ACT``) with no history, plan or recall word among the words before it in its
        field starts an unlabelled DESCRIPTION section there (the flattened form of ``_run_in_acts``)."""
        out: list[tuple[int, int, str, str]] = []
        ordered = sorted(heads)
        for i, (_start, body, name, _label) in enumerate(ordered):
            if self.session.get(name, True):
                continue
            end = ordered[i + 1][0] if i + 1 < len(ordered) else len(text)
            field = text[body:end]
            if not may_contain(field, _ACT_WORDS):
                continue
            acts = [m for rx in (_ACT, _BIOPSY_ACT) if (m := rx.search(field)) is not None]
            if not acts:
                continue
            m = min(acts, key=lambda a: a.start())
            before = field[max(0, m.start() - 80) : m.end()]
            if _PAST_WORDS.search(before) or _RECALL_WORDS.search(before):
                continue
            out.append((body + m.start(), body + m.start(), "DESCRIPTION", ""))
        return out

    def _spoken_at(self, text: str, pos: int) -> re.Match[str] | None:
        """A spoken heading at ``pos``; not a heading word that opens a noun phrase with "of" ("History of
        breast cancer.", "Plan of care"), unless "of" is part of the heading ("history of present illness"),
        nor the subject of a sentence ("Consent was obtained.", "Indications for the procedure include").

        At an ASCII character no spoken heading can open with (most places asked about), no match is tried (only
        non-ASCII characters, "ſ" or the Kelvin sign, match ASCII letters in another case than their own)."""
        c = text[pos : pos + 1]
        if c.isascii() and c.lower() not in self.spoken_first:
            return None
        sm = self.spoken_rx.match(text, pos)
        if sm is None or (self.not_heading_after is not None and self.not_heading_after.match(text, sm.end())):
            return None
        return sm

    def _dictation_after_fields(self, text: str, heads: list[tuple[int, int, str, str]],
                                taken: set[int], lines: _Lines | None = None) -> list[tuple[int, int, str, str]]:
        """A dictation that opens with a spoken heading on the line right under a short one-line field
        ("Date of Service: 10/15/2025\nprocedure kyphoplasty l one period technique ..."): the spoken
        heading starts its section there, as at a paragraph start. Only under a field line of at most 60
        characters, or a longer one ending a sentence ("Past history: T4 vertebroplasty in 2018."), that does not
        end in a lower-case word or a comma (wrapped prose does)."""
        out: list[tuple[int, int, str, str]] = []
        newlines = (lines or _Lines(text)).newlines
        for _start, body, _name, _label in heads:
            k = bisect_left(newlines, body)  # the field's line ends at the first newline from its body
            if k == len(newlines):
                continue
            line_end = newlines[k]
            field = text[body:line_end].rstrip()
            if not field or (line_end - body > 60 and field[-1] not in ".!?") or field[-1].islower() or \
                    field[-1] == ",":
                continue
            pos = line_end + 1
            while pos < len(text) and text[pos] in " \t":
                pos += 1
            if pos in taken or pos >= len(text):
                continue
            sm = self._spoken_at(text, pos)
            if sm is None or text[sm.end() : sm.end() + 1] == ":" or text[sm.end() : sm.end() + 2] == " :":
                continue
            out.append((pos, sm.end(), self.spoken_map[sm.group(1).lower()], sm.group(0)))
            taken.add(pos)
        return out

    def _spoken_after_sentences(self, text: str, heads: list[tuple[int, int, str, str]],
                                ascii_lower: str | None = None) -> list[tuple[int, int, str, str]]:
        """In a dictation that opens its paragraph with a spoken heading ("indication painful t twelve fracture.
        history … procedure vertebroplasty t twelve"), a spoken heading right after a sentence end (".", "?",
        "!", spoken "period") on the same paragraph starts its section too: the note speaks its headings, so
        the heading word there is one (not "history of", nor "procedure was explained", which
        ``_spoken_at`` refuses)."""
        out: list[tuple[int, int, str, str]] = []
        ordered = sorted(heads)
        for i, (_start, body, _name, label) in enumerate(ordered):
            if not label or label.isupper() or text[body - 1 : body] == ":" or \
                    not label.lower().endswith(self.spoken_suffixes):
                continue  # not a spoken heading
            end = ordered[i + 1][0] if i + 1 < len(ordered) else len(text)
            para = _BLANK_LINE.search(text, body, end)
            end = para.start() if para is not None else end
            for stop in spoken_stop_ends(text, body, end, ascii_lower):
                sm = self._spoken_at(text, stop)
                if sm is None or sm.end() >= end or text[sm.end() : sm.end() + 1] == ":":
                    continue
                out.append((stop, sm.end(), self.spoken_map[sm.group(1).lower()], sm.group(0)))
        return out

    def _narrative_starts(self, text: str, heads: list[tuple[int, int, str, str]], lines: _Lines | None = None,
                          ascii_lower: str | None = None) -> list[tuple[int, int, str, str]]:
        """A procedure narrative dictated on its own line under a one-line field of another section
        ("History: …\nUnder CT guidance an 11-gauge needle was placed …"): it starts an unlabelled
        DESCRIPTION section. Only after a line ending a sentence, for a line that opens with a capital
        and describes the act in the past tense, with no history words."""
        out: list[tuple[int, int, str, str]] = []
        ordered = sorted(heads)
        for i, (start, body, name, label) in enumerate(ordered):
            if self.session.get(name, True):
                continue
            end = ordered[i + 1][0] if i + 1 < len(ordered) else len(text)
            for cap_end in sentence_end_lines(text, start, end):
                line_end = text.find("\n", cap_end)
                line = text[cap_end - 1 : line_end if line_end != -1 else end]
                if ascii_lower is None:
                    act = _ACT.search(line) is not None and not _PAST_WORDS.search(line)
                else:
                    low = ascii_lower[cap_end - 1 : line_end if line_end != -1 else end]
                    act = _ACT_LOWER.search(low) is not None and not _PAST_WORDS_LOWER.search(low)
                if act:
                    out.append((cap_end - 1, cap_end - 1, "DESCRIPTION", ""))
                    break
            spoken = text[body - 1 : body] != ":" and not label.isupper()
            out.extend(self._run_in_acts(text, body, end, name, spoken, lines, ascii_lower))
        return out

    @staticmethod
    def _run_in_acts(text: str, body: int, end: int, name: str, spoken: bool = False,
                     lines: _Lines | None = None, ascii_lower: str | None = None) -> list[tuple[int, int, str, str]]:
        """Sentences of a field's own line, after its first sentence, that describe the act in the past tense
        ("HISTORY: painful fracture, 3 months of failed NSAIDs. A core biopsy was taken from the T twelve
        vertebral body.", a transcription that ran the narrative into the field; in lower case after a spoken
        heading, "history … period under fluoroscopy a needle was placed"): each starts an unlabelled
        DESCRIPTION section and the field resumes after it. Not a sentence with history or plan words
        ("Prior biopsy of T12 in March", "She underwent a core biopsy at L3 last month").

        ``ascii_lower``: the lower-cased text of an ASCII note: a spoken field's sentences are then found with the
        case-sensitive forms of the patterns in it (the case-insensitive ones try every position of a long
        dictated line), and so are a sentence's act, history and recall words."""
        line_end = text.find("\n", body, end) if lines is None else lines.end(body, end)
        stop = end if line_end == -1 else line_end
        out: list[tuple[int, int, str, str]] = []
        open_at = -1  # start of the act sentences being merged
        scanned = text
        if not spoken:
            starts, ends = _RUN_IN_START, _SENTENCE_END
        elif ascii_lower is None:
            starts, ends = _SPOKEN_RUN_IN_START, _SPOKEN_SENTENCE_END
        else:
            starts, ends, scanned = _SPOKEN_RUN_IN_START_LOWER, _SPOKEN_SENTENCE_END_LOWER, ascii_lower
        checked = False  # whether the rest of the line was looked at for act words
        for m in starts.finditer(scanned, body, stop):
            pos = m.end()
            if not checked:
                # every act sentence holds an act word: when the rest of the line holds none (most fields' lines),
                # none of its sentences is one and nothing is added (one check, not one per sentence)
                checked = True
                if not may_contain(text[pos:stop], _ACT_WORDS):
                    break
            close = ends.search(scanned, pos, stop)
            sent_end = close.end() if close is not None else stop
            sentence = text[pos:sent_end]
            if not may_contain(sentence, _ACT_WORDS):
                act = False
            elif ascii_lower is None:
                act = (_ACT.search(sentence) is not None or _BIOPSY_ACT.search(sentence) is not None) and \
                    not _PAST_WORDS.search(sentence) and not _RECALL_WORDS.search(sentence)
            else:
                low = ascii_lower[pos:sent_end]
                act = (_ACT_LOWER.search(low) is not None or _BIOPSY_ACT_LOWER.search(low) is not None) and \
                    not _PAST_WORDS_LOWER.search(low) and not _RECALL_WORDS_LOWER.search(low)
            if act and open_at == -1:
                open_at = pos
                out.append((pos, pos, "DESCRIPTION", ""))
            elif not act and open_at != -1:
                out.append((pos, pos, name, ""))  # the field goes on
                open_at = -1
        return out

    def __call__(self, doc: Doc) -> Doc:
        tab = table(doc)
        flat = is_flat(tab.text)
        sections = self.find(tab.text, tab.lower_text, flat)
        doc.user_data["flat"] = flat
        # token i is in the last section starting at or before it (the first section for tokens before all)
        idx, n = tab.idx, len(tab)
        tok_section: list[int] = []
        bounds = [0, *(bisect_left(idx, s.start) for s in sections[1:]), n]
        for k in range(len(sections)):
            tok_section.extend([k] * (bounds[k + 1] - bounds[k]))
        if not sections:
            tok_section = [0] * n
        doc.user_data["sections"] = sections
        doc.user_data["tok_section"] = tok_section
        doc.user_data["section_tokens"] = bounds[1:-1]  # the first token of each section after the first
        return doc


_INNER_BREAK = re.compile(r"\S[ \t\r]*\n\s*\S")
_NEXT_WORD = re.compile(r"[ \t]+([\w'-]+)")
_FLAT_MARKS = re.compile(r"[.:;!?,][ \t]|\b(?:period|new paragraph)\b", re.IGNORECASE)


def is_flat(text: str) -> bool:
    """A note flattened into one paragraph with (almost) no punctuation, as a speech-recognition dump
    arrives: no line break inside it and at most one sentence or field mark (written, or a spoken "period" or
    "new paragraph") per 400 characters."""
    if _INNER_BREAK.search(text) is not None:  # a line break with text after it (found at the first one)
        return False
    body = text.strip()
    if len(body) < 60 or "\n" in body:
        return False
    limit = len(body) // 400
    for n, _ in enumerate(_FLAT_MARKS.finditer(body), 1):
        if n > limit:
            return False
    return True


def sentence_end_lines(text: str, start: int, end: int) -> Iterator[int]:
    """The ``m.end()`` of each ``_NEWLINE_CAP.finditer(text, start, end)`` match (just after the capital),
    found from the line breaks: the whitespace before one must follow a "." or "!" at or after ``start``."""
    for m in _BREAK_CAP.finditer(text, start, end):
        k = m.start() - 1
        while k >= start and text[k].isspace():
            k -= 1
        if k >= start and text[k] in ".!":
            yield m.end()


def spoken_stop_ends(text: str, start: int, end: int, ascii_lower: str | None = None) -> list[int]:
    """The ``m.end()`` of each ``_SPOKEN_STOP.finditer(text, start, end)`` match. Given ``ascii_lower`` (the
    lower-cased text of an ASCII note), found with a scan for each branch, led by its literals: the two never
    match the same characters (a mark and its spaces; "period" and its spaces), so their matches, merged in
    order, are those of the alternation. The ``\b`` before "period" reads the character before the match,
    as the pattern's does, even at ``start``."""
    if ascii_lower is None:
        return [m.end() for m in _SPOKEN_STOP.finditer(text, start, end)]
    marks = [m.end() for m in _MARK_STOP.finditer(text, start, end)]
    periods = [m.end() for m in _PERIOD_STOP.finditer(ascii_lower, start, end)
               if not (m.start() > 0 and (ascii_lower[m.start() - 1].isalnum() or ascii_lower[m.start() - 1] == "_"))]
    if not periods:
        return marks
    return sorted(marks + periods) if marks else periods


def inline_matches(text: str) -> list[re.Match[str]]:
    """What ``_INLINE.finditer(text)`` gives, searched only in the stretch before each colon that a match
    ending there can start in: after the previous colon (a label holds none), after the previous match, and
    at most 62 label characters before the spaces and tabs that precede the colon."""
    out: list[re.Match[str]] = []
    pos, prev_colon = 0, -1
    c = text.find(":")
    while c != -1:
        t = c
        while t > 0 and text[t - 1] in " \t":
            t -= 1
        # a label's last character stands right before the spaces and tabs before the colon: where that is no
        # label character (a digit of "10:45", the "t" of "Patient:", most colons) there is nothing to search
        if t > 0 and text[t - 1] in _LABEL_END:
            m = _INLINE.search(text, max(pos, prev_colon + 1, t - 62), c + 1)
            if m is not None:
                out.append(m)
                pos = m.end()
        prev_colon = c
        c = text.find(":", c + 1)
    return out


def line_matches(pattern: tuple[re.Pattern[str], re.Pattern[str]], text: str) -> list[re.Match[str]]:
    """The matches of a pattern anchored at line starts (``^X`` with MULTILINE), from its two forms (``X``
    at the text's start, ``\\nX`` after a line break): the same groups and ends, in the same order."""
    at_start, after_break = pattern
    first = at_start.match(text)
    rest = list(after_break.finditer(text, first.end() if first is not None else 0))
    return [first, *rest] if first is not None else rest


def paragraph_ends(text: str, lower: str | None = None) -> list[int]:
    """Where each paragraph's text starts: ``m.end()`` of every ``_PARA_START.finditer(text)`` match,
    found with two literal-led searches (the combined case-insensitive pattern is slow to scan)."""
    lower = text.lower() if lower is None else lower
    if len(lower) != len(text):  # lower-casing changed offsets (rare Unicode)
        return [m.end() for m in _PARA_START.finditer(text)]
    lead = _LEAD.match(text)
    assert lead is not None  # [ \t]* always matches: the \A branch comes first
    return [lead.end(), *merged_ends(text, lower, _BLANK_LINE, _NEW_PARAGRAPH, lead.end())]


def merged_ends(text: str, lower: str, in_text: re.Pattern[str], in_lower: re.Pattern[str], pos: int = 0) -> list[int]:
    """Ends of the matches ``finditer`` of the alternation ``in_text|in_lower`` (the second one case-
    insensitive) would give from ``pos``, when the two branches never match at the same place and
    ``lower`` is ``text.lower()`` with the same offsets."""
    out: list[int] = []
    n = len(text)
    a = in_text.search(text, pos)
    b = in_lower.search(lower, pos)
    while a is not None or b is not None:
        m = a if b is None or (a is not None and a.start() < b.start()) else b
        assert m is not None
        pos = m.end()
        out.append(pos)
        if pos >= n:
            break
        if a is not None and a.start() < pos:
            a = in_text.search(text, pos)
        if b is not None and b.start() < pos:
            b = in_lower.search(lower, pos)
    return out


@lru_cache(maxsize=4096)
def _key(label: str) -> str:
    label = _NUMBERING.sub("", label)
    return _SPACES.sub(" ", label.strip().lower().rstrip(".:"))


@Language.factory("scribe_sections", assigns=["doc.user_data"], requires=["token.norm"])
def make_sections(nlp: Language, name: str) -> SectionDetector:
    lexicon = default_lexicon()
    return SectionDetector(lexicon.sections, lexicon.normalization.correction_cues)
