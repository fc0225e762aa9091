"""Resolvers: from the analysed Doc to one Element per contract field."""

from __future__ import annotations

from datetime import date

from spacy.tokens import Doc

from scribe.models import Extraction


def resolve(doc: Doc, note_id: str, source: str = "", date_of_service: date | None = None) -> Extraction:
    return Extraction(note_id=note_id, source=source, date_of_service=date_of_service,
                      text_length=len(doc.text))
