"""The spaCy pipeline: ``build()`` assembles it on ``spacy.blank("en")``; ``get_nlp()`` caches it.

The tokenizer is spaCy's ``Tokenizer`` with the note rules of scribe/nlp/tokenizer.py. Components (each a class plus a
registered factory):
scribe_normalize → scribe_sections → scribe_sentences → scribe_terms → scribe_levels →
scribe_context. Resolvers (``scribe.resolvers``) read what they leave in ``doc.user_data``.
"""

from __future__ import annotations

from datetime import date
from functools import cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc

# importing the modules registers the factories
from scribe.nlp import context, levels, normalize, sections, sentences, terms  # noqa: F401
from scribe.nlp.tokenizer import note_tokenizer

PIPELINE: tuple[str, ...] = (
    "scribe_normalize",
    "scribe_sections",
    "scribe_sentences",
    "scribe_terms",
    "scribe_levels",
    "scribe_context",
)


def build() -> Language:
    nlp = spacy.blank("en")
    nlp.tokenizer = note_tokenizer(nlp.vocab)
    for name in PIPELINE:
        nlp.add_pipe(name)
    return nlp


@cache
def get_nlp() -> Language:
    return build()


def analyse(text: str, date_of_service: date | None = None) -> Doc:
    """Run the pipeline on ``text``; the date of service feeds the historical-date cues."""
    nlp = get_nlp()
    doc = nlp.make_doc(text)
    doc.user_data["dos"] = date_of_service
    doc.user_data["text"] = text
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    return doc
