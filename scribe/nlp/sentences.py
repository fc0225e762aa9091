"""Sentence and clause splitting that works on punctuated notes and on unpunctuated dictation.

Boundaries: sentence-final punctuation, paragraph breaks, line breaks between short lines or
template fields, section starts, and spoken punctuation ("period", "new paragraph") in notes
dictated without punctuation. Clauses further split sentences at terminators ("but", ";",
"however"…) from the ConText lexicon. Sets ``token.is_sent_start`` and
``doc.user_data["sent_id"]`` / ``doc.user_data["clause_id"]`` (one int per token).
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

from scribe.lexicon import Lexicon, default_lexicon

_FINAL = {".", "!", "?"}


def is_dictation(doc: Doc) -> bool:
    """Few punctuation marks and mostly lower case: a speech-recognition transcript."""
    words = [t for t in doc if t.is_alpha]
    if len(words) < 20:
        return False
    punct = sum(1 for t in doc if t.text in _FINAL)
    lower = sum(1 for t in words if t.is_lower)
    return punct / len(words) < 0.02 and lower / len(words) > 0.85


class Splitter:
    """Pipeline component ``scribe_sentences``."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.spoken_breaks = {k for k, v in lexicon.normalization.spoken_punctuation.items()
                              if v in (".", "\n", ";") and " " not in k}
        self.spoken_multi = [tuple(k.split()) for k, v in lexicon.normalization.spoken_punctuation.items()
                             if v in (".", "\n") and " " in k]
        self.terminators = {r.literal for r in lexicon.context if r.direction == "terminate"}
        self.multi_terms = [tuple(t.split()) for t in self.terminators if " " in t]

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if n == 0:
            doc.user_data["sent_id"] = []
            doc.user_data["clause_id"] = []
            doc.user_data["dictation"] = False
            return doc
        dictation = is_dictation(doc)
        tok_section = doc.user_data.get("tok_section", [0] * n)
        starts = [False] * n
        starts[0] = True
        lowers = [t.lower_ for t in doc]
        text = doc.text
        for i, tok in enumerate(doc):
            if i == 0:
                continue
            prev = doc[i - 1]
            if tok_section[i] != tok_section[i - 1]:
                starts[i] = True
            elif prev.text in _FINAL or (prev.text == ";" and dictation):
                starts[i] = True
            elif "\n" in prev.whitespace_ or prev.is_space:
                ws = prev.text if prev.is_space else prev.whitespace_
                if ws.count("\n") >= 2 or self._line_break_is_boundary(text, prev, tok):
                    starts[i] = True
            elif tok.is_space and "\n" in tok.text:
                starts[i] = True
            if dictation and lowers[i - 1] in self.spoken_breaks:
                starts[i] = True
        if dictation:
            for i in range(n):
                for multi in self.spoken_multi:
                    k = len(multi)
                    if tuple(lowers[i : i + k]) == multi and i + k < n:
                        starts[i + k] = True
        sent_id: list[int] = []
        clause_id: list[int] = []
        s = c = -1
        for i in range(n):
            if starts[i]:
                s += 1
                c += 1
            elif lowers[i] in self.terminators or self._multi_terminator(lowers, i):
                c += 1
            sent_id.append(s)
            clause_id.append(c)
        for i, tok in enumerate(doc):
            tok.is_sent_start = starts[i]
        doc.user_data["sent_id"] = sent_id
        doc.user_data["clause_id"] = clause_id
        doc.user_data["dictation"] = dictation
        return doc

    def _multi_terminator(self, lowers: list[str], i: int) -> bool:
        return any(tuple(lowers[i : i + len(m)]) == m for m in self.multi_terms)

    @staticmethod
    def _line_break_is_boundary(text: str, prev, tok) -> bool:  # type: ignore[no-untyped-def]
        """A single line break ends a sentence unless a long prose line wraps into lower case."""
        line_start = text.rfind("\n", 0, prev.idx) + 1
        line = text[line_start : prev.idx + len(prev.text)]
        if prev.text[-1:] in ".:;!?,":
            return prev.text[-1:] != ","
        return not (len(line) > 60 and tok.text[:1].islower())


@Language.factory("scribe_sentences", assigns=["token.is_sent_start", "doc.user_data"],
                  requires=["doc.user_data"])
def make_splitter(nlp: Language, name: str) -> Splitter:
    return Splitter(default_lexicon())
