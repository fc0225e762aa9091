"""A tokenizer for procedure notes: spaCy's own ``Tokenizer`` (its C loop and chunk cache) with
rules that suit notes and no special cases.

The rules, applied to each whitespace-free chunk: word characters form a token ("T12", "6wks",
"x6"), decimals stay whole ("3.5", "1,000"), every other non-space character is its own token
(so "T11-L1", "C-arm", "02/26/2024" and "(T12)" split into parts), and contractions split as
spaCy splits them ("did" + "n't", "patient" + "'s"). Whitespace other than one space after a token
becomes a token of its own, so ``doc.text`` is the input exactly and every character offset is kept.

The general English tokenizer of ``spacy.blank("en")`` checks hundreds of special cases and, for
any note with a sentence ending at a line break ("None.\\nEBL"), runs a phrase matcher over the
whole Doc; without special cases spaCy's tokenizer serves every chunk it has seen from its cache,
and ``segment`` (Python) runs only for chunks it has not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.util import registry
from spacy.vocab import Vocab

PATTERN = r"\d+(?:[.,]\d+)+|\w+|[^\w\s]"
_PARTS = re.compile(PATTERN)
_APOSTROPHES = {"'", "\u2019"}
_CLITICS = {"s", "t", "re", "ll", "ve", "d", "m", "S", "T", "RE", "LL", "VE", "D", "M"}


def segment(chunk: str) -> list[int]:
    """Start offsets of the tokens of a chunk without whitespace (the first is always 0)."""
    starts: list[int] = []
    ends: list[int] = []
    matches = list(_PARTS.finditer(chunk))
    n = len(matches)
    i = 0
    while i < n:
        m = matches[i]
        i += 1
        s, e = m.span()
        # an apostrophe and a clitic right after a word: "patient" + "'s", "did" + "n't"
        if m.group() in _APOSTROPHES and i < n and starts and ends[-1] == s and matches[i].start() == e \
                and matches[i].group() in _CLITICS:
            clitic = matches[i]
            i += 1
            prev_start = starts[-1]
            if clitic.group() in ("t", "T") and s - prev_start > 1 and chunk[s - 1] in "nN":
                ends[-1] = s - 1  # "didn" + "'" + "t" -> "did" + "n't"
                starts.append(s - 1)
            else:
                starts.append(s)
            ends.append(clitic.end())
            continue
        starts.append(s)
        ends.append(e)
    if not starts or starts[0] != 0:
        starts.insert(0, 0)  # characters no rule covers stay with the next token
    return starts


class _Cut:
    """A split point inside a chunk, shaped like the ``re.Match`` spaCy's infix loop reads."""

    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def start(self) -> int:
        return self.pos

    def end(self) -> int:
        return self.pos


class _Splitter:
    """``infix_finditer`` for spaCy's Tokenizer: zero-width cuts at every token start but the first
    (spaCy keeps empty infixes as split points). ``pattern`` names the rule when spaCy serialises it."""

    pattern = PATTERN

    def finditer(self, chunk: str) -> Iterator[_Cut]:
        return (_Cut(pos) for pos in segment(chunk)[1:])


def note_tokenizer(vocab: Vocab) -> Tokenizer:
    """``nlp.tokenizer = note_tokenizer(nlp.vocab)``."""
    return Tokenizer(vocab, rules={}, infix_finditer=_Splitter().finditer)


@registry.tokenizers("scribe.note_tokenizer.v1")
def create_note_tokenizer() -> Callable[[Language], Tokenizer]:
    """The registered factory: ``spacy.blank("en", config=...)`` builds this tokenizer instead of first
    building English's default one (its thousand special cases cost a fifth of a second at start-up)."""
    def make(nlp: Language) -> Tokenizer:
        return note_tokenizer(nlp.vocab)
    return make
