"""One identity for a note, everywhere: the store, ``check``, ``codes``, ``audit`` and the review app.

A note is known by the SHA-256 of its decoded text (what scribe reads, so a re-saved file with the
same words keeps its answers) together with the source's own id when it has one: an id handed in by
the input format (an HL7 TXA-12, a FHIR ``DocumentReference.id``) or, for a plain text note, the
medical record number and the date of service found in the text. The file name is never part of the
identity: two ``n1.txt`` in different folders are two notes.

An answer is *current* when its note's text hash and source id both match. An answer whose text hash
differs but whose source id (or note file) is the same was given for an earlier version of the note:
it is *stale*, shown as such and never applied.

The source id stored is a hash (``mrn+dos:<16 hex>``; ``fhir:<16 hex>`` and ``hl7:<16 hex>`` for the id a
FHIR or HL7 v2 input gives, see ``scribe.sources``), so the store never holds the MRN or document id itself.
Nothing here imports spaCy or Textual.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from scribe.notes import Note, find_date_of_service

# "MRN: 000123", "MRN# A-77", "Medical Record Number: 12345", "MR#: 4411"
_MRN = re.compile(r"\b(?:mrn|mr\s*#|medical\s+record\s+(?:number|no\.?|#))\s*[:#]?\s*"
                  r"([A-Za-z0-9][A-Za-z0-9\-]{2,19})\b", re.IGNORECASE)


class NoteIdentity(BaseModel):
    """Who a note is: text hash + source id; ``note_id`` and ``path`` are labels, not identity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str
    source_id: str = ""
    note_id: str = ""  # the file stem, for display only
    path: str = ""  # the resolved path of the file read, for telling a changed note from another note

    @property
    def key(self) -> str:
        return f"{self.sha256}|{self.source_id}" if self.source_id else self.sha256


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def find_source_id(text: str, dos: date | None = None) -> str:
    """``mrn+dos:<hash>`` when the text names both an MRN and a date of service, else ``""``."""
    m = _MRN.search(text[:20_000])
    if m is None:
        return ""
    dos = dos or find_date_of_service(text)
    if dos is None:
        return ""
    digest = hashlib.sha256(f"{m.group(1).upper()}|{dos.isoformat()}".encode()).hexdigest()[:16]
    return f"mrn+dos:{digest}"


def input_source_id(scheme: str, raw: str) -> str:
    """``<scheme>:<16 hex>`` for a document id handed in by the input format (``fhir``: a DocumentReference's
    id or identifier; ``hl7``: TXA-12, else OBR-3), hashed like the MRN so the store holds no identifier."""
    digest = hashlib.sha256(f"{scheme}|{raw.strip()}".encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{scheme}:{digest}"


def identity_of(note: Note, source_id: str | None = None) -> NoteIdentity:
    """The identity of a note as read. ``source_id``: the input format's own id (TXA-12, FHIR id); by
    default the one its reader put on the note (``Note.source_id``), else MRN + date of service found in
    the text."""
    sid = source_id or note.source_id or find_source_id(note.text, note.date_of_service)
    return NoteIdentity(sha256=text_sha256(note.text), source_id=sid, note_id=note.note_id,
                        path=resolved(note.source))


def resolved(path: str | os.PathLike[str]) -> str:
    if not str(path):
        return ""
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):
        return str(Path(path).absolute())
