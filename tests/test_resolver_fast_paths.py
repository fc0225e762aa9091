"""The resolvers' fast paths give what the plain code they replace gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scribe.acts import act_patterns
from scribe.resolvers.procedure import substring_finder

_PIECES = st.sampled_from(["not", " ", "treated", "was", "aborted", "stop", "ped", "called", "off", "x", ".", "(",
                           "*", "+", "?", "a.b", "[", "\\"])
_WORDS = st.lists(st.sampled_from(["not treated", "aborted", "stopped", "called off", "a.b", "(", "*+", "x",
                                   "\\d", "[x]"]), min_size=1, max_size=5).map(tuple)


@settings(max_examples=300, deadline=None)
@given(_WORDS, st.lists(_PIECES, max_size=12).map("".join))
def test_substring_finder_is_any_substring(words: tuple[str, ...], text: str) -> None:
    assert (substring_finder(words).search(text) is not None) == any(w in text for w in words)


def test_substring_finder_on_the_lexicon_cues() -> None:
    cues = act_patterns().abort_cues
    for w in cues:
        assert substring_finder(cues).search(f"the case was {w} early")
    assert substring_finder(cues).search("the balloon was inflated") is None


def test_flags_of_a_category_subset_are_the_larger_sets_filtered() -> None:
    """``_Resolver._flags_nhh`` filters the flags of a larger category set: the same flags, in the same order."""
    from pathlib import Path

    from scribe.nlp import analyse
    from scribe.resolvers.procedure import _NHH, _NHHD
    from scribe.resolvers.view import EXCLUDING, View

    notes = sorted((Path(__file__).resolve().parent.parent / "sample_notes").glob("*.txt"))[:25]
    checked = 0
    for path in notes:
        v = View(analyse(path.read_text()), keep_mentions=False)
        spans = [(t.start, t.end) for t in v.terms] + [(m.start, m.end) for m in v.levels]
        for start, end in spans:
            for small, large in ((_NHH, _NHHD), (_NHH, EXCLUDING), (frozenset({"negated"}), _NHH)):
                big = v.flags(start, end, large)
                assert v.flags(start, end, small) == [f for f in big if f.category in small]
                checked += bool(big)
    assert checked  # some spans carry flags


_TYPE_PIECES = st.sampled_from(["burst", "BURST", "Burst", "un", "stable", " ", ",", "fracture", "fx", "which is ",
                                "wedge", "Wedge", "compression", "type ", "deformity", "é", "x", "\n"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_TYPE_PIECES, max_size=14).map("".join))
def test_fracture_type_prechecks_change_nothing(text: str) -> None:
    from scribe.resolvers.indication import _BURST, _WEDGE, _fracture_type

    m = _BURST.search(text)
    if m:
        said = m.group(0).lower()
        expected = "burst_unstable" if said.startswith("unstable") or said.endswith("unstable") else \
            "burst_stable" if said.startswith("stable") or said.endswith("stable") else "burst"
    else:
        expected = "wedge" if _WEDGE.search(text) else None
    assert _fracture_type(text) == expected


def _heading_pieces() -> st.SearchStrategy[str]:
    from scribe.resolvers.procedure import _heading_words

    words = _heading_words()
    return st.sampled_from([*words, *(w[: len(w) // 2] for w in words), " ", "\n", ",", ".", "s", "x", "the", "of"])


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_trie_pattern_starts_where_the_alternation_starts(data: st.DataObject) -> None:
    import re

    from scribe.resolvers.procedure import _heading_words, _spoken_headings, trie_pattern

    text = "".join(data.draw(st.lists(_heading_pieces(), max_size=14)))
    pos = data.draw(st.integers(0, len(text)))
    endpos = data.draw(st.integers(pos, len(text)))
    plain = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in _heading_words()) + r")\b")
    fast = _spoken_headings()[0]
    a, b = plain.search(text, pos, endpos), fast.search(text, pos, endpos)
    assert (a.start() if a else None) == (b.start() if b else None)
    words = {"ab", "abc", "b", "a", ""}
    assert re.fullmatch(trie_pattern(words), "abc") and re.fullmatch(trie_pattern(words), "")
    assert not re.fullmatch(trie_pattern(words), "ac")
