"""Coverage documentation items (rule V1, V4): what a Medicare LCD reviewer looks for.

Each item maps to the evidence spans that document it; an item absent from the mapping was not
found. Patterns are data in ``lexicons/coverage.json``; a cue word shortly before a match
(``no``, ``without``, ``denies``) discards it. The chronic-fracture item only counts when the
sentence names a treated level and no other level, so an old fracture beside the treated one
does not make the treated fracture chronic.
"""

from __future__ import annotations

import re
from functools import cache

from scribe.lexicon import CoverageLexicon, default_coverage
from scribe.models import Evidence, make_evidence

_BEFORE, _AFTER = 60, 60  # characters searched around a keyword
_OUT_OF_TEN = re.compile(r"(?:/|out of) ?(?:10|ten)\b")
_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}
_NUMBER = re.compile(r"\b(\d+|" + "|".join(_WORDS) + r")\b")
_LEVEL = re.compile(r"\b([CTLS])[\s-]?(1[0-2]|[1-9])\b")


_CASED_SYNTAX = re.compile(r"\\[A-Z]|[A-Z]-[A-Z]")  # an upper-case escape or range: lower-casing changes its meaning


@cache
def _lexicon() -> tuple[CoverageLexicon, dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]], re.Pattern[str]]:
    """The lexicon; per item its case-insensitive pattern for the text and, when lower-casing the pattern
    keeps its meaning, the same pattern lower-cased for the lower-cased text (case-sensitive matching is
    the faster of the two); and the negation cue pattern."""
    lex = default_coverage()
    compiled: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = {}
    for item, patterns in lex.items.items():
        source = "|".join(f"(?:{p})" for p in patterns)
        lowered = None if _CASED_SYNTAX.search(source) else re.compile(source.lower())
        compiled[item] = (re.compile(source, re.IGNORECASE), lowered)
    return lex, compiled, re.compile(rf"(?:{lex.negation})\W+(?:\w+\W+){{0,3}}$", re.IGNORECASE)


def _sentence_bounds(text: str, pos: int) -> tuple[int, int]:
    start = max(text.rfind(".", 0, pos), text.rfind("\n", 0, pos)) + 1
    ends = [i for i in (text.find(".", pos), text.find("\n", pos)) if i != -1]
    return start, min(ends) if ends else len(text)


def find_coverage(text: str, treated: list[str], lower: str | None = None) -> dict[str, list[Evidence]]:
    lex, compiled, negation = _lexicon()
    treated_set = set(treated)
    lower = text.lower() if lower is None else lower
    same_offsets = len(lower) == len(text)
    out: dict[str, list[Evidence]] = {}
    for item, (rx, rx_lower) in compiled.items():
        # the lower-cased pattern on the lower-cased text finds what the case-insensitive one finds in the text
        rx, where = (rx_lower, lower) if rx_lower is not None and same_offsets else (rx, text)
        keywords = lex.keywords.get(item)
        if not keywords:
            matches: list[re.Match[str]] = list(rx.finditer(where))
        else:
            matches = _windowed(rx, where, lower, keywords)
        for m in matches:
            if len(out.get(item, ())) >= 3:
                break
            _take(text, m.start(), m.end(), item, lex, negation, treated_set, out)
    return out


def _windowed(rx: re.Pattern[str], text: str, lower: str, keywords: list[str]) -> list[re.Match[str]]:
    """Matches of ``rx`` found only in windows around the keywords (a regex over the whole note is
    the slow part; keywords are plain substring searches)."""
    if len(lower) != len(text):  # lower-casing changed offsets (rare Unicode): scan the whole text
        return list(rx.finditer(text))
    seen: dict[int, re.Match[str]] = {}
    for kw in keywords:
        i = lower.find(kw)
        hits = 0
        while i != -1 and hits < 50:
            hits += 1
            for m in rx.finditer(text, max(0, i - _BEFORE), min(len(text), i + len(kw) + _AFTER)):
                if m.start() <= i < m.end() or m.start() <= i + len(kw) - 1 < m.end():
                    seen.setdefault(m.start(), m)
            i = lower.find(kw, i + 1)
    return [seen[k] for k in sorted(seen)]


def _take(text: str, start: int, end: int, item: str, lex: CoverageLexicon, negation: re.Pattern[str],
          treated_set: set[str], out: dict[str, list[Evidence]]) -> None:
    before = text[max(0, start - 40) : start]
    cut = max(before.rfind("."), before.rfind("\n"), before.rfind(";"))
    if negation.search(before[cut + 1 :]):  # a cue in the same sentence only
        return
    if item == "pain_score":
        scores = _OUT_OF_TEN.sub(" ", text[start:end].lower())
        nums = [int(n) if n.isdecimal() else _WORDS[n] for n in _NUMBER.findall(scores)]
        nums = [n for n in nums if n <= 10]
        if not nums or max(nums) < lex.min_pain_score:
            return
    if item in lex.level_scoped:
        s, e = _sentence_bounds(text, start)
        named = {f"{a.upper()}{b}" for a, b in _LEVEL.findall(text[s:e])}
        if not named or not named <= treated_set:
            return
    out.setdefault(item, []).append(make_evidence(
        start=start, end=end, text=text[start:end], section=None, rule=f"coverage:{item}", fuzzy=False))
