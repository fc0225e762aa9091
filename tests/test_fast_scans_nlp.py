"""Fast paths of the pipeline's scans (scribe/nlp, scribe/numbers, scribe/notes) give exactly what the plain
scans give: they only skip places or texts where nothing can be found."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from scribe import numbers
from scribe.numbers import parse_date, parse_spoken_date

_DATE_ALPHABET = st.sampled_from([*" \n/-.,:x1234567890", "12", "2024", "2023-01-05", "03/04/25", "march", "Mar",
                                  "eleventh", "the", "of", "twenty", "twenty five", "may", "be", "sept", "İ", "é",
                                  "1st", "second", "two thousand", "and", "DOS", "date of service"])


def _parse_date_plain(text: str) -> tuple[date, int, int] | None:
    """``parse_date`` without its prechecks: every pattern searched from the start, the spoken parser always."""
    best: tuple[date, int, int] | None = None
    for rx, order in ((numbers._ISO_DATE, "ymd"), (numbers._NUMERIC_DATE, "mdy"), (numbers._MONTH_DATE, "Mdy")):
        m = rx.search(text)
        if not m:
            continue
        if order == "ymd":
            d = numbers._mk(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        elif order == "mdy":
            d = numbers._mk(int(m.group(3)), int(m.group(1)), int(m.group(2)))
        else:
            d = numbers._mk(int(m.group(3)), numbers.MONTHS[m.group(1).lower()], int(m.group(2)))
        if d is not None and (best is None or m.start() < best[1]):
            best = (d, m.start(), m.end())
    spoken = parse_spoken_date(text, before=None if best is None else best[1], months=True)
    if spoken is not None and (best is None or spoken[1] < best[1]):
        best = spoken
    return best


@settings(max_examples=400, deadline=None)
@given(st.lists(_DATE_ALPHABET, max_size=30).map("".join))
def test_parse_date_prechecks_change_nothing(text: str) -> None:
    assert parse_date(text) == _parse_date_plain(text)
    for year in (None, 2025):
        assert parse_spoken_date(text, default_year=year) == parse_spoken_date(text, default_year=year, months=True)


_ACT_ALPHABET = st.sampled_from([*" .,\n/-1234", "a", "A", "needle", "Needle", "PMMA", "pmma", "cement", "was", "were",
                                 "placed", "Injected", "under", "CT", "guidance", "C-arm", "fluoroscopy", "then",
                                 "biopsy", "Core", "taken", "prior", "History", "in 2019", "last year", "had",
                                 "March", "sept", "showed", "period", "Period", "PERIOD", "?", "!"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_ACT_ALPHABET, max_size=40).map("".join))
def test_lowered_section_patterns_find_what_the_case_insensitive_ones_find(text: str) -> None:
    from scribe.nlp import sections as s

    pairs = [(s._ACT, s._ACT_LOWER), (s._BIOPSY_ACT, s._BIOPSY_ACT_LOWER), (s._PAST_WORDS, s._PAST_WORDS_LOWER),
             (s._RECALL_WORDS, s._RECALL_WORDS_LOWER), (s._SPOKEN_RUN_IN_START, s._SPOKEN_RUN_IN_START_LOWER),
             (s._SPOKEN_SENTENCE_END, s._SPOKEN_SENTENCE_END_LOWER)]
    for rx, lowered in pairs:
        assert lowered.flags & 2 == 0  # case-sensitive
        assert [m.span() for m in rx.finditer(text)] == [m.span() for m in lowered.finditer(text.lower())]


def test_level_table_agrees_with_single_level() -> None:
    from scribe.nlp.levels import _LEVEL_OF, _LEVELISH, LevelFinder
    from scribe.nlp.table import TokenTable

    assert set(_LEVEL_OF) == _LEVELISH
    for w, (name, written, mri) in _LEVEL_OF.items():
        for follow, claimed in (("x", False), ("weighted", mri)):
            text = f"{w} {follow}"
            tab = TokenTable(text, [0, len(w) + 1], [len(w), len(text)], [w, follow], [w, follow], text)
            got = LevelFinder._single_level(tab, 0, w[0], int(w[1:]))
            assert got == (None if claimed else (name, []) if name is not None else (None, [written]))


_WORDS_ALPHABET = st.sampled_from([*" .\n,'-", "a", "A", "t12", "T12", "didn't", "DIDN'T", "John's", "McDonald",
                                   "VERTEBROPLASTY", "note", "Note", "NOTE", "x", "S", "n't", "ABCd"])


def _alpha_counts_plain(tab, punct):  # type: ignore[no-untyped-def]
    """``_alpha_counts`` on ASCII text as it was: every capital looked at, one by one."""
    import re

    lowers = tab.lowers
    n_words = sum(map(str.isalpha, lowers))
    if punct is not None and (n_words < 20 or punct / n_words >= 0.02):
        return n_words, n_words
    lower, last = n_words, -1
    for m in re.finditer(r"[A-Z]", tab.text):
        i = tab.token_at(m.start())
        if i != last:
            last = i
            if lowers[i].isalpha():
                lower -= 1
                if punct is not None and lower / n_words <= 0.85:
                    break
    return n_words, lower


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDS_ALPHABET, min_size=1, max_size=80).map(" ".join), st.sampled_from([None, 0, 1]))
def test_alpha_counts_by_runs_of_capitals(text: str, punct: int | None) -> None:
    from scribe.nlp import get_nlp
    from scribe.nlp.sentences import _alpha_counts
    from scribe.nlp.table import TokenTable

    tab = TokenTable.from_doc(get_nlp().tokenizer(text), text)
    assert _alpha_counts(tab, punct) == _alpha_counts_plain(tab, punct)


_STOP_ALPHABET = st.sampled_from([*" \t\n.?!_x1", "period", "Period", "PERIOD", "periods", "aperiod", "period.",
                                  "history", "end"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_STOP_ALPHABET, max_size=40).map("".join), st.integers(0, 30), st.integers(0, 400))
def test_spoken_stop_ends_as_the_alternation(text: str, start: int, end: int) -> None:
    from scribe.nlp.sections import _SPOKEN_STOP, spoken_stop_ends

    plain = [m.end() for m in _SPOKEN_STOP.finditer(text, start, end)]
    assert spoken_stop_ends(text, start, end, text.lower()) == plain
    assert spoken_stop_ends(text, start, end) == plain


_SPOKEN_ALPHABET = st.sampled_from([*" \n:,.", "procedure", "Procedure", "the ", "and ", "History", "history of",
                                    "indications", "plan", "Plan ", "was", "ſ", "K", "x", "1", "impression"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_SPOKEN_ALPHABET, max_size=20).map("".join), st.integers(0, 40))
def test_spoken_at_first_letter_precheck(text: str, pos: int) -> None:
    from scribe.nlp import get_nlp

    det = get_nlp().get_pipe("scribe_sections")
    sm = det.spoken_rx.match(text, pos)
    if sm is not None and det.not_heading_after is not None and det.not_heading_after.match(text, sm.end()):
        sm = None
    got = det._spoken_at(text, pos)
    assert (got.span(), got.groups()) == (sm.span(), sm.groups()) if sm is not None else got is None
