"""The Python API every front end uses: ``extract(text) -> Extraction``.

Reading files (``extract_file``) and coding (``scribe.coding``) hang off this; nothing here
imports Textual.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from datetime import date

from scribe.models import Extraction
from scribe.notes import DEFAULT_MAX_BYTES, Note, NoteError, find_date_of_service, read_note


def extract(
    text: str,
    note_id: str = "note",
    source: str = "",
    date_of_service: date | None = None,
    *,
    payer: str = "medicare",
    with_codes: bool = True,
    mentions: bool = True,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> Extraction:
    """Extract every element of the contract from ``text`` (never raises on odd text).

    ``mentions=False`` skips recording every candidate mention (``Extraction.mentions``), which
    only the TUI and the audit show; batch output does not need it. ``max_bytes`` is the CLI's size
    limit (``--max-bytes``), on the text's UTF-8 length: a longer text raises ``NoteError`` (one line,
    naming the source or note id and the sizes, never the text); ``None`` lifts it.
    """
    from scribe.nlp import MAX_CHARS, analyse
    from scribe.resolvers import resolve

    if max_bytes is not None and len(text) > max_bytes // 4:  # a character is at most 4 bytes of UTF-8
        if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
            raise NoteError(source or note_id, f"text too large (over the {max_bytes}-byte limit)")
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
    text = _encodable(text)
    dos = date_of_service or find_date_of_service(text)
    with _collector_paused():
        doc = analyse(text, dos)
        extraction = resolve(doc, note_id=note_id, source=source, date_of_service=dos, keep_mentions=mentions)
    if extraction.is_procedure_note:
        from scribe.coding.billing import find_billed

        extraction.billed = find_billed(text)
    if with_codes:
        extraction = apply_coding(extraction, payer=payer)
    return extraction


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a note is analysed. The analysis allocates
    hundreds of thousands of objects that live until it ends (tokens' strings, terms, mentions, flags), and
    every collection meanwhile walks them all again: on 1 MB notes that made the time grow like n^1.2-1.4
    and nearly doubled it (measured with benchmarks/pathological.py). Nothing is lost: the collector runs
    again afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _encodable(text: str) -> str:
    """The text with any lone surrogate (which no decoded file holds, but a caller's string may, and
    spaCy cannot store) replaced by U+FFFD, one character for one, so every offset stays the same."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    return text


def apply_coding(extraction: Extraction, payer: str = "medicare") -> Extraction:
    """Fill ``codes``, ``diagnoses`` and ``flags`` from the coding engine."""
    from scribe.coding import propose

    proposal = propose(extraction, [], payer)  # flags include the note's own billing lines
    return extraction.model_copy(update={
        "codes": proposal.codes, "diagnoses": proposal.diagnoses, "flags": proposal.flags,
    })


def extract_note(note: Note, *, payer: str = "medicare", with_codes: bool = True,
                 mentions: bool = True) -> Extraction:
    # the file's size was checked when it was read (its decoded text may be longer in UTF-8)
    return extract(note.text, note_id=note.note_id, source=note.source,
                   date_of_service=note.date_of_service, payer=payer, with_codes=with_codes,
                   mentions=mentions, max_bytes=None)


def extract_file(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES,
                 payer: str = "medicare", with_codes: bool = True, mentions: bool = True) -> Extraction:
    """Read and extract one note file. Raises ``NoteError`` (one line) if unreadable."""
    return extract_note(read_note(path, max_bytes=max_bytes), payer=payer, with_codes=with_codes,
                        mentions=mentions)
