"""The spaCy pipeline: ``build()`` assembles it on ``spacy.blank("en")``; ``get_nlp()`` caches it.

The tokenizer is spaCy's ``Tokenizer`` with the note rules of scribe/nlp/tokenizer.py. Components (each a class plus a
registered factory):
scribe_normalize → scribe_sections → scribe_sentences → scribe_terms → scribe_levels →
scribe_context. Resolvers (``scribe.resolvers``) read what they leave in ``doc.user_data``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc

# importing the modules registers the factories (and the tokenizer, scribe.note_tokenizer.v1)
from scribe.nlp import context, levels, normalize, sections, sentences, terms, tokenizer  # noqa: F401

PIPELINE: tuple[str, ...] = (
    "scribe_normalize",
    "scribe_sections",
    "scribe_sentences",
    "scribe_terms",
    "scribe_levels",
    "scribe_context",
)


MAX_CHARS = 2_000_000  # the longest text analysed (spaCy's own default limit is 1,000,000)


def build() -> Language:
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "scribe.note_tokenizer.v1"}}})
    nlp.max_length = MAX_CHARS
    for name in PIPELINE:
        nlp.add_pipe(name)
    return nlp


@cache
def _components() -> tuple[Callable[[Doc], Doc], ...]:
    """The pipeline's components in order (``Language.pipeline`` builds a new list on every read)."""
    return tuple(proc for _, proc in get_nlp().pipeline)


@cache
def get_nlp() -> Language:
    return build()


def analyse(text: str, date_of_service: date | None = None) -> Doc:
    """Run the pipeline on ``text``; the date of service feeds the historical-date cues."""
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
    doc = get_nlp().tokenizer(text)
    doc.user_data["dos"] = date_of_service
    doc.user_data["text"] = text
    for proc in _components():
        doc = proc(doc)
    return doc
