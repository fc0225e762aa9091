"""Term matching: every lexicon phrase (procedures, devices, guidance, biopsy, indications,
therapies…) matched on ``token.norm_`` with one PhraseMatcher. Sets ``doc.user_data["terms"]``.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.util import filter_spans

from scribe.lexicon import Lexicon, TermPattern, default_lexicon
from scribe.nlp.types import Term


def _plural(word: str) -> str:
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


class TermMatcher:
    """Pipeline component ``scribe_terms``."""

    def __init__(self, nlp: Language, lexicon: Lexicon) -> None:
        self.matcher = PhraseMatcher(nlp.vocab, attr="NORM")
        self.entries: dict[str, TermPattern] = {}
        normalizer = nlp.get_pipe("scribe_normalize") if "scribe_normalize" in nlp.pipe_names else None
        by_key: dict[str, list[Doc]] = {}
        for term in lexicon.terms:
            key = f"{term.label}|{term.value or ''}|{term.pattern}"
            self.entries[key] = term
            variants = [term.pattern]
            if term.plural and term.pattern[-1:].isalpha():
                words = term.pattern.split()
                variants.append(" ".join([*words[:-1], _plural(words[-1])]))
            for v in variants:
                d = nlp.make_doc(v)
                if normalizer is not None:
                    d = normalizer(d)
                by_key.setdefault(key, []).append(d)
        for key, docs in by_key.items():
            self.matcher.add(key, docs)

    def __call__(self, doc: Doc) -> Doc:
        spans_by_label: dict[str, list] = {}
        for match_id, start, end in self.matcher(doc):
            key = doc.vocab.strings[match_id]
            span = doc[start:end]
            span.label_ = key
            spans_by_label.setdefault(key.split("|", 1)[0], []).append(span)
        terms: list[Term] = []
        fuzzy_idx: set[int] = doc.user_data.get("fuzzy", set())
        for label, spans in spans_by_label.items():
            for span in filter_spans(spans):
                entry = self.entries[span.label_]
                terms.append(Term(
                    label=label, value=entry.value, start=span.start, end=span.end,
                    start_char=span.start_char, end_char=span.end_char, text=span.text,
                    fuzzy=any(i in fuzzy_idx for i in range(span.start, span.end)),
                    rule=f"{label}:{entry.pattern}",
                ))
        terms.sort(key=lambda t: (t.start, -t.end))
        doc.user_data["terms"] = terms
        return doc


@Language.factory("scribe_terms", assigns=["doc.user_data"], requires=["token.norm"])
def make_terms(nlp: Language, name: str) -> TermMatcher:
    return TermMatcher(nlp, default_lexicon())
