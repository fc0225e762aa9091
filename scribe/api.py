"""The Python API every front end uses: ``extract(text) -> Extraction``.

Reading files (``extract_file``) and coding (``scribe.coding``) hang off this; nothing here
imports Textual. ``extract_many(texts, n_process=N)`` extracts a list of texts in N processes (for
notebooks). Both are also ``scribe.extract`` and ``scribe.extract_many``.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from typing import Any

from scribe.models import Extraction, copy_with
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
    from scribe.coding.billing import find_billed
    from scribe.coding.certainty import mark_uncertain_indication
    from scribe.nlp import MAX_CHARS, analyse
    from scribe.resolvers import resolve

    if max_bytes is not None and len(text) > max_bytes // 4:  # a character is at most 4 bytes of UTF-8
        if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
            raise NoteError(source or note_id, f"text too large (over the {max_bytes}-byte limit)")
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
    if not text.isascii():
        text = _encodable(text)
    dos = date_of_service or find_date_of_service(text)
    with _collector_paused():
        doc = analyse(text, dos)
        extraction = resolve(doc, note_id=note_id, source=source, date_of_service=dos, keep_mentions=mentions)
        del doc  # the Doc and its tables are freed here, while the collector still rests
        extraction = mark_uncertain_indication(extraction, text)  # "suspected myeloma" is not coded as confirmed
        if extraction.is_procedure_note:
            extraction.billed = find_billed(text)
        if with_codes:
            extraction = apply_coding(extraction, payer=payer)
    return extraction


def extract_many(texts: Iterable[str], n_process: int = 1, *, note_ids: Iterable[str] | None = None,
                 chunksize: int = 8, **options: Any) -> list[Extraction]:
    """``extract`` over many texts, in input order; ``n_process`` > 1 spreads them over that many worker
    processes (each loads the pipeline once). ``note_ids`` default to ``note_1``, ``note_2``…; ``options``
    are ``extract``'s keyword options (``payer``, ``with_codes``, ``mentions``, ``date_of_service``)."""
    if n_process < 1:
        raise ValueError(f"n_process must be at least 1 (got {n_process})")
    texts = list(texts)
    ids = [f"note_{i}" for i in range(1, len(texts) + 1)] if note_ids is None else list(note_ids)
    if len(ids) != len(texts):
        raise ValueError(f"{len(ids)} note_ids for {len(texts)} texts")
    if n_process == 1 or len(texts) < 2:
        return [extract(text, note_id=note_id, **options) for text, note_id in zip(texts, ids, strict=True)]
    # fork where there is one: workers start at once and share what this process has loaded
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(max_workers=min(n_process, len(texts)), mp_context=context) as pool:
        jobs = pool.map(_extract_one, texts, ids, [options] * len(texts), chunksize=max(1, chunksize))
        return list(jobs)


def _extract_one(text: str, note_id: str, options: dict[str, Any]) -> Extraction:
    return extract(text, note_id=note_id, **options)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a note is analysed, resolved and coded. The analysis
    allocates hundreds of thousands of objects that live until it ends (tokens' strings, terms, mentions, flags),
    and every collection meanwhile walks them all again: on 1 MB notes that made the time grow like n^1.2-1.4
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
    """Fill ``codes``, ``diagnoses`` and ``flags`` from the coding engine (in a copy of ``extraction``)."""
    from scribe.coding import propose

    proposal = propose(extraction, [], payer)  # flags include the note's own billing lines
    return copy_with(extraction, {"codes": proposal.codes, "diagnoses": proposal.diagnoses,
                                  "flags": proposal.flags})


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
