"""Checkbox forms and template blanks, read as fields (annotation rules, "Further rules" 2026-12-04).

Only a checked box states a fact (``[x]``, ``[X]``, ``(x)``, ``☒``, ``☑``, ``✓``, ``✔``); an unchecked option
(``[ ]``, ``( )``, ``☐``) states nothing, not a denial. An unresolved pick-list (``{Balloon tamp/SpineJack/None}``)
is a blank. The words of an unchecked option or an unresolved list are *void*: the resolvers never see them
("[ ] Sacroplasty" on a kyphoplasty form is not a sacroplasty; "☐ L1" is not a treated level).

A field whose value is only options and none is checked ("Biopsy: ☐ Yes ☐ No", "Balloon: [ ] Yes") is blank;
one whose checked option is "No" or "None" ("Biopsy: [ ] Yes [x] No") denies the field.

Linear in the note's length: one scan for box markers, one for braces.

A form flattened into one unpunctuated paragraph (``scribe.metamorphic.flatten``, a speech-recognition dump)
keeps only the tick of a checked box, as the word "x" ("[x] Kyphoplasty [ ] Sacroplasty" becomes "x kyphoplasty
sacroplasty"): see ``flat_void``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

CHECKED = "xX✓✔☒☑■"
_BOX = re.compile(r"\[\s*([xX✓✔])?\s*\]|\(\s*([xX✓✔])?\s*\)|([☐☒☑□■])")
_BOX_START = re.compile(r"[\[(☐☒☑□■]")  # every box begins with one of these
_PICK_LIST = re.compile(r"\{[^{}\n]{1,200}/[^{}\n]{1,200}\}")
_NO_VALUE = re.compile(r"^\s*(?:no|none|n)\b", re.IGNORECASE)


@dataclass(slots=True)
class FormSpans:
    void: list[tuple[int, int]] = field(default_factory=list)  # sorted, disjoint char spans that state nothing
    checked: list[tuple[int, int]] = field(default_factory=list)  # checked options (their text)
    boxes: int = 0

    _void_starts: list[int] = field(default_factory=list)
    _checked_starts: list[int] = field(default_factory=list)

    def is_void(self, start: int) -> bool:
        """Whether the character at ``start`` lies in a void span (a bisection: spans are sorted, disjoint)."""
        return _inside(self.void, self._void_starts, start)

    def void_at(self, pos: int) -> tuple[int, int] | None:
        """The void span holding ``pos``, if any."""
        if not self.is_void(pos):
            return None
        return self.void[bisect_right(self._void_starts, pos) - 1]

    def is_checked(self, start: int) -> bool:
        """Whether the character at ``start`` lies in a checked option's words."""
        return _inside(self.checked, self._checked_starts, start)


def _inside(spans: list[tuple[int, int]], starts: list[int], pos: int) -> bool:
    if len(starts) != len(spans):
        starts[:] = [s for s, _ in spans]
    i = bisect_right(starts, pos) - 1
    return i >= 0 and spans[i][0] <= pos < spans[i][1]


def boxes_in(text: str) -> list[re.Match[str]]:
    """The matches of ``_BOX`` in ``text``, as ``finditer`` finds them: tried only where a box can begin (an
    opening bracket or parenthesis, or a box glyph), found by a one-character-class search that runs several
    times faster than the alternation scanning every position."""
    out: list[re.Match[str]] = []
    pos = 0
    search, match = _BOX_START.search, _BOX.match
    while (m := search(text, pos)) is not None:
        box = match(text, m.start())
        if box is None:
            pos = m.start() + 1
        else:
            out.append(box)
            pos = box.end()
    return out


def _checked(m: re.Match[str]) -> bool:
    glyph = m.group(1) or m.group(2) or m.group(3) or ""
    return glyph != "" and glyph not in "☐□"


def form_spans(text: str) -> FormSpans:
    """The void and checked option spans of a note (empty for a note with no boxes or pick-lists)."""
    out = FormSpans()
    if "[" in text or "(" in text or any(g in text for g in "☐☒☑□■"):
        boxes = boxes_in(text)
        # a bare "( )" or "[]" in prose is not a form: count only when the note has two boxes or more
        if len(boxes) >= 2:
            out.boxes = len(boxes)
            for i, m in enumerate(boxes):
                line_end = text.find("\n", m.end())
                line_end = len(text) if line_end == -1 else line_end
                nxt = boxes[i + 1].start() if i + 1 < len(boxes) and boxes[i + 1].start() < line_end else line_end
                # the option's words run to the next box on the line, or to a field label ("   Level: L1")
                seg = text[m.end():nxt]
                label = re.search(r"\s{2,}[A-Z][\w /()-]{0,30}:", seg)
                end = m.end() + (label.start() if label else len(seg.rstrip()))
                if _checked(m):
                    out.checked.append((m.end(), end))
                else:
                    out.void.append((m.start(), max(end, m.end())))
    for m in _PICK_LIST.finditer(text):
        out.void.append((m.start(), m.end()))
    out.void.sort()
    out.checked.sort()
    return out


def field_state(value: str) -> str | None:
    """For a field's value text: "blank" when it is only unchecked options, "denied" when its checked option
    is No/None, "affirmed" when a checked option is anything else; None when it holds no box."""
    boxes = boxes_in(value)
    if not boxes:
        return None
    checked = [m for m in boxes if _checked(m)]
    if not checked:
        return "blank"
    first = checked[0]
    if _NO_VALUE.match(value[first.end():]):
        return "denied"
    return "affirmed"


class _Term(Protocol):
    label: str
    start: int
    end: int


TICK_WORDS = frozenset({"x"})  # what is left of a checked box in a flattened form
ANSWER_WORDS = frozenset({"yes", "no"})
_NO_WORDS = frozenset({"no", "none"})
_PICK_GAP = 2  # words a flattened pick-list may hold between two options of one kind ("osteoporotic compression
# fracture neoplasm")


def ticks(lowers: Sequence[str]) -> list[int]:
    """Tokens that are a flattened checked box: "x" before a word, not a multiplication or "times" ("11 g x 2",
    "x 6 weeks")."""
    n = len(lowers)
    return [i for i, w in enumerate(lowers) if w in TICK_WORDS and i + 1 < n and lowers[i + 1].isalpha()
            and not (i > 0 and lowers[i - 1][-1:].isdecimal())]


def flat_void(lowers: Sequence[str], terms: Sequence[_Term]) -> set[int]:
    """In a flattened form (two ticks or more), the ``id`` of the terms that state nothing:

    - in a pick-list — two terms of one kind or more side by side, at most two words between them — every
      option not led by a tick ("x vertebroplasty kyphoplasty sacroplasty": only vertebroplasty);
    - a field word answered by "yes"/"no" with no tick on an answer ("balloon yes": no balloon is stated; a
      ticked "no", "biopsy yes x no", is a denial: a ConText cue of lexicons/context.jsonl).
    """
    tick_at = ticks(lowers)
    if len(tick_at) < 2:
        return set()
    ticked = {i + 1 for i in tick_at}  # the token a tick leads
    tick_set = set(tick_at)
    void: set[int] = set()
    ordered = sorted(terms, key=lambda t: (t.start, t.end))
    run: list[_Term] = []

    def close(run: list[_Term]) -> None:
        if len(run) >= 2:
            void.update(id(t) for t in run if t.start not in ticked)

    for t in ordered:
        if run and run[-1].label == t.label and 0 <= t.start - run[-1].end <= _PICK_GAP + (
                1 if t.start - 1 in tick_set else 0) and not any(
                lowers[k] in ANSWER_WORDS for k in range(run[-1].end, t.start)):
            run.append(t)
            continue
        if run and run[-1].label != t.label and t.start < run[-1].end:
            continue  # another kind of term over the same words ("bilateral" is a side and an access word)
        close(run)
        run = [t]
    close(run)
    n = len(lowers)
    for t in ordered:
        k = t.end
        answers: list[int] = []
        while k < n and (lowers[k] in ANSWER_WORDS or k in tick_set):
            if lowers[k] in ANSWER_WORDS:
                answers.append(k)
            k += 1
        if answers and not any(a in ticked for a in answers):
            void.add(id(t))
    return void


def flat_blank_fields(lowers: Sequence[str], terms: Sequence[_Term], labels: Sequence[tuple[str, ...]],
                      next_labels: Sequence[tuple[str, ...]], verbs: frozenset[str],
                      modifiers: frozenset[str] = frozenset()) -> tuple[set[int], set[int]]:
    """In a flattened note, the ``id`` of the terms that are a field label left empty, and of those answered
    "no": the term's words are a field label (one of ``labels``, as words) and the next words are a heading
    (one of ``next_labels``: a label of two words or more, or a heading word kept in flattened notes) not
    followed by a verb ("bx conservative tx 6 weeks": the template's "Bx: ***" lost its blank; the field states
    nothing), or "no"/"none" and such a heading ("biopsy no indication ...": the field is denied). Not words that
    a modifier, another term or another label leads: those are prose or a field's value ("no biopsy", "failed
    conservative therapy", "guidance fluoroscopy")."""
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for label in next_labels:
        by_first.setdefault(label[0], []).append(label)
    label_set = set(labels)
    term_ends = {t.end for t in terms}
    n = len(lowers)
    blank: set[int] = set()
    denied: set[int] = set()

    def heading_at(j: int) -> bool:
        for nxt in by_first.get(lowers[j], ()) if j < n else ():
            k = j + len(nxt)
            if tuple(lowers[j:k]) == nxt and k < n and lowers[k] not in verbs:
                return True
        return False

    for t in terms:
        if tuple(lowers[t.start : t.end]) not in label_set or t.end >= n:
            continue
        before = lowers[t.start - 1] if t.start > 0 else ""
        if before in modifiers or t.start in term_ends or (before,) in label_set:
            continue
        if heading_at(t.end):
            blank.add(id(t))
        elif lowers[t.end] in _NO_WORDS and heading_at(t.end + 1):
            denied.add(id(t))
    return blank, denied
