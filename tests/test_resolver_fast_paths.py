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
