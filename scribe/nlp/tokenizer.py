"""A tokenizer for procedure notes: one simple regular expression, then ``Doc(words, spaces)``.

It replaces the general English tokenizer of ``spacy.blank("en")`` with rules that suit notes
and run about three times faster: word characters form a token ("T12", "6wks", "x6"),
decimals stay whole ("3.5"), every other non-space character is its own token (so "T11-L1",
"C-arm", "02/26/2024" and "(T12)" split into parts), and contractions split as spaCy splits
them ("did" + "n't", "patient" + "'s"). Whitespace other than one space after a token becomes a
token of its own, so ``doc.text`` is the input exactly and every character offset is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from spacy.tokens import Doc
from spacy.vocab import Vocab

_PARTS = re.compile(r"\s+|\d+(?:[.,]\d+)+|\w+|[^\w\s]")
# a token and the one space after it, or a run of whitespace that is a token of its own
_FAST = re.compile(r"(\d+(?:[.,]\d+)+|\w+|[^\w\s])( ?)|(\s+)")
_APOSTROPHES = {"'", "\u2019"}
_CLITICS = {"s", "t", "re", "ll", "ve", "d", "m", "S", "T", "RE", "LL", "VE", "D", "M"}


class NoteTokenizer:
    """Callable tokenizer: ``nlp.tokenizer = NoteTokenizer(nlp.vocab)``."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        if "'" not in text and "\u2019" not in text:  # no clitics to split: one regex pass
            words: list[str] = []
            spaces: list[bool] = []
            for tok, space, blank in _FAST.findall(text):
                if tok:
                    words.append(tok)
                    spaces.append(space == " ")
                else:
                    words.append(blank)
                    spaces.append(False)
            return Doc(self.vocab, words=words, spaces=spaces)
        return self._with_clitics(text)

    def _with_clitics(self, text: str) -> Doc:
        parts = _PARTS.findall(text)
        words: list[str] = []
        spaces: list[bool] = []
        i = 0
        n = len(parts)
        while i < n:
            w = parts[i]
            i += 1
            if w[0].isspace():
                if words and w[0] == " ":
                    spaces[-1] = True
                    w = w[1:]
                    if not w:
                        continue
                words.append(w)
                spaces.append(False)
                continue
            if w in _APOSTROPHES and i < n and parts[i] in _CLITICS and words and not spaces[-1] \
                    and not words[-1][0].isspace():
                clitic = parts[i]
                i += 1
                prev = words[-1]
                if clitic in ("t", "T") and len(prev) > 1 and prev[-1] in "nN":
                    words[-1] = prev[:-1]  # "didn" + "'" + "t" -> "did" + "n't"
                    words.append(prev[-1] + w + clitic)
                else:
                    words.append(w + clitic)
                spaces.append(False)
                continue
            words.append(w)
            spaces.append(False)
        return Doc(self.vocab, words=words, spaces=spaces)

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        for text in texts:
            yield self(text)

    # spaCy calls these when a pipeline is saved or loaded; this tokenizer has no state.
    def to_bytes(self, **kwargs: object) -> bytes:
        return b""

    def from_bytes(self, data: bytes, **kwargs: object) -> NoteTokenizer:
        return self

    def to_disk(self, path: object, **kwargs: object) -> None:
        return None

    def from_disk(self, path: object, **kwargs: object) -> NoteTokenizer:
        return self
