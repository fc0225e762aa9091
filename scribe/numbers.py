"""Spoken numbers, ordinals and dates, as dictated ("twenty twenty five", "march eleventh").

Pure functions over lists of lower-case words; used by the normaliser and by date-of-service
detection. No spaCy here.
"""

from __future__ import annotations

import re
from datetime import date

from scribe.scan import may_contain

UNITS: dict[str, int] = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}
TENS: dict[str, int] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}
ORDINALS: dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "twelveth": 12,
    "thirteenth": 13, "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17,
    "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}
FRACTIONS: dict[str, float] = {"half": 0.5, "quarter": 0.25}
MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}
_ORD_SUFFIX = re.compile(r"^(\d+)(st|nd|rd|th)$")


def word_value(word: str) -> int | None:
    """Value of a single number word or digit string ("twelve", "12", "12th", "twelfth")."""
    w = word.lower()
    if w.isdecimal():
        return int(w)
    m = _ORD_SUFFIX.match(w)
    if m:
        return int(m.group(1))
    if w in UNITS:
        return UNITS[w]
    if w in TENS:
        return TENS[w]
    if w in ORDINALS:
        return ORDINALS[w]
    return None


_DECIMAL = re.compile(r"\d+(\.\d+)?")
# the first words parse_number can read: number words, fractions and its lead-ins ("a month", "the last")
NUMBER_STARTS = frozenset(UNITS) | frozenset(TENS) | frozenset(FRACTIONS) | {"a", "an", "the", "one"}


def parse_number(words: list[str]) -> tuple[float, int] | None:
    """Parse a number at the start of ``words``; return (value, words consumed).

    Handles digits ("6", "6.5"), words ("twenty one", "twenty-one"), "a"/"an" ("a month"),
    "a half", "one and a half", "a couple of", "a few" is not a number (returns None).
    """
    if not words:
        return None
    first = words[0].lower()
    if first not in NUMBER_STARTS and not first[:1].isdecimal() and "-" not in first:
        return None  # no branch below can read a number here
    try:
        if _DECIMAL.fullmatch(first):
            value = float(first)
            used = 1
            if len(words) >= 4 and words[1] == "and" and words[2] in ("a", "one") and \
                    words[3] in FRACTIONS:
                return value + FRACTIONS[words[3]], 4
            return value, used
    except ValueError:
        return None
    if first == "the" and len(words) >= 3 and words[1] in ("last", "past"):  # "for the last (two) months"
        sub = parse_number(words[2:])
        if sub is not None and words[2] not in ("a", "an"):
            return sub[0], 2 + sub[1]
        return 1.0, 2
    if first in ("a", "an", "one") and len(words) >= 2 and words[1] in FRACTIONS:
        return FRACTIONS[words[1]], 2
    if first in FRACTIONS and len(words) >= 2 and words[1] in ("a", "an"):  # "half a year"
        return FRACTIONS[first], 2
    if first in ("a", "an"):
        if len(words) >= 2 and words[1] == "couple":
            return 2.0, 3 if len(words) > 2 and words[2] == "of" else 2
        return 1.0, 1
    if "-" in first:
        parts = first.split("-")
        if len(parts) == 2 and parts[0] in TENS and parts[1] in UNITS:
            return float(TENS[parts[0]] + UNITS[parts[1]]), 1
    if first in TENS:
        value, used = float(TENS[first]), 1
        if len(words) > 1 and words[1].lower() in UNITS and UNITS[words[1].lower()] < 10:
            value += UNITS[words[1].lower()]
            used = 2
    elif first in UNITS:
        value, used = float(UNITS[first]), 1
    else:
        return None
    rest = [w.lower() for w in words[used:]]
    if len(rest) >= 3 and rest[0] == "and" and rest[1] in ("a", "one") and rest[2] in FRACTIONS:
        return value + FRACTIONS[rest[2]], used + 3
    return float(value), used


def spoken_year(words: list[str]) -> tuple[int, int] | None:
    """Parse a spoken year: "twenty twenty five", "two thousand twenty four", "2025"."""
    if not words:
        return None
    w = [x.lower() for x in words]
    if re.fullmatch(r"(19|20)\d\d", w[0]):
        return int(w[0]), 1
    if len(w) >= 2 and w[0] in ("twenty", "nineteen"):
        century = 2000 if w[0] == "twenty" else 1900
        rest = parse_number(w[1:3])
        if rest is not None and 10 <= rest[0] <= 99:
            return century + int(rest[0]), 1 + rest[1]
    if len(w) >= 3 and w[0] == "two" and w[1] == "thousand":
        rest = parse_number(w[2:4]) if len(w) > 2 else None
        if w[2] == "and":
            rest = parse_number(w[3:5])
            if rest is not None:
                return 2000 + int(rest[0]), 3 + rest[1]
        if rest is not None and rest[0] < 100:
            return 2000 + int(rest[0]), 2 + rest[1]
    return None


_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{2}|\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_MONTH_DATE = re.compile(
    r"\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s+"
    r"(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b",
    re.IGNORECASE,
)


def _mk(y: int, m: int, d: int) -> date | None:
    if y < 100:
        y += 2000
    try:
        return date(y, m, d)
    except ValueError:
        return None


_DIGIT = re.compile(r"\d")
_MONTH_STEMS = tuple(sorted({m[:3] for m in MONTHS}))  # every month name (and abbreviation) holds one


def parse_date(text: str) -> tuple[date, int, int] | None:
    """First written or spoken date in ``text``: (date, start, end) relative to ``text``."""
    best: tuple[date, int, int] | None = None
    # every written date holds a digit, a month-name one a month name too (the patterns are slow to scan); a
    # spoken date holds a month name as well. Found in this order, a later kind counts only when it starts
    # before the best date so far: not looked for when that one starts the text
    months: bool | None = None  # whether the text holds a month stem, when looked at
    digit = _DIGIT.search(text)
    if digit is not None:
        # the \b-led numeric patterns begin at a digit: searched from the first one (\b still reads the
        # character before it), not tried at every position before it
        first = digit.start()
        num = _NUMERIC_DATE.search(text, first)
        num_date = _mk(int(num.group(3)), int(num.group(1)), int(num.group(2))) if num else None
        # the first ISO date wins over a numeric one starting where it does or later: after a valid numeric date
        # at the first digit ("04/22/2025", most windows), only an ISO date starting there can win
        at_first = num is not None and num_date is not None and num.start() == first
        iso = _ISO_DATE.match(text, first) if at_first else _ISO_DATE.search(text, first)
        if iso:
            d = _mk(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
            if d is not None:
                best = (d, iso.start(), iso.end())
        if num and num_date is not None and (best is None or num.start() < best[1]):
            best = (num_date, num.start(), num.end())
        if best is None or best[1] > 0:
            months = may_contain(text, _MONTH_STEMS)
            m = _MONTH_DATE.search(text) if months else None
            if m:
                d = _mk(int(m.group(3)), MONTHS[m.group(1).lower()], int(m.group(2)))
                if d is not None and (best is None or m.start() < best[1]):
                    best = (d, m.start(), m.end())
    before = None if best is None else best[1]
    if months is not False and (before is None or before >= 3):  # (parse_spoken_date's own first test)
        spoken = parse_spoken_date(text, before=before, months=bool(months))
        if spoken is not None and (best is None or spoken[1] < best[1]):
            best = spoken
    return best


_WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)?|\d+(?:st|nd|rd|th)?")


def parse_spoken_date(text: str, default_year: int | None = None,
                      before: int | None = None, months: bool = False) -> tuple[date, int, int] | None:
    """A spoken date: "march eleventh twenty twenty five", "february second" (year optional
    when ``default_year`` is given); with ``before``, only one starting before that offset. ``months``: the
    caller already knows the text holds a month stem."""
    if before is not None and before < 3:
        return None  # a month name needs three letters before the offset
    if not months and not may_contain(text, _MONTH_STEMS):
        return None  # every date found below opens with a month name (ASCII letters: one of the stems)
    toks = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(text)]
    for i, (w, s, _) in enumerate(toks):
        if before is not None and s >= before:
            break
        month = MONTHS.get(w.lower())
        if month is None or len(w) < 3 or (w.lower() == "may" and i + 1 < len(toks) and \
                toks[i + 1][0].lower() in ("be", "have", "not")):
            continue
        words = [t[0].lower() for t in toks[i + 1 : i + 8]]
        if words and words[0] == "the":
            words = words[1:]
            skip = 1
        else:
            skip = 0
        day = _parse_day(words)
        if day is None:
            continue
        dval, used = day
        rest = words[used:]
        if rest and rest[0] == "of":
            rest = rest[1:]
            used += 1
        year = spoken_year(rest)
        if year is not None:
            end_idx = i + skip + used + year[1]
            d = _mk(year[0], month, dval)
        elif default_year is not None:
            end_idx = i + skip + used
            d = _mk(default_year, month, dval)
        else:
            continue
        if d is not None:
            return d, s, toks[min(end_idx, len(toks) - 1)][2]
    return None


def _parse_day(words: list[str]) -> tuple[int, int] | None:
    if not words:
        return None
    w0 = words[0]
    m = _ORD_SUFFIX.match(w0)
    if m:
        return int(m.group(1)), 1
    if w0.isdecimal() and 1 <= int(w0) <= 31:
        return int(w0), 1
    if w0 in ("twenty", "thirty") and len(words) > 1 and words[1] in ORDINALS and \
            ORDINALS[words[1]] < 10:
        return TENS[w0] + ORDINALS[words[1]], 2
    if w0 in ORDINALS:
        return ORDINALS[w0], 1
    return None
