"""HL7 v2 inputs: ``.hl7`` files holding one or more MDM^T02/T04/T06 or ORU^R01 messages.

Messages are parsed by ``hl7`` (python-hl7). The note text is every OBX-5 of value type TX, FT or ST
(or no type), in order: the repeats of one OBX-5 and successive OBX segments are separate lines. Escapes
are undone by the library's ``unescape`` with line breaks mapped to ``\\n`` (its default maps ``\\.br\\``
to the segment separator, a carriage return) and highlighting dropped.

The note id is TXA-12 (unique document number), else OBR-3 / OBR-2 (ORU), else MSH-10; the date of
service is the note's own labelled date, else TXA-4 (activity date), TXA-6 (origination), OBR-7. A
file may wrap its messages in a batch (FHS/BHS ... BTS/FTS) or in MLLP framing characters.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from scribe.identity import input_source_id
from scribe.notes import DEFAULT_MAX_BYTES, Note, NoteError, decode, find_date_of_service
from scribe.sources import STRUCTURED_FACTOR, EntryError, safe_note_id

TEXT_TYPES = frozenset({"TX", "FT", "ST", ""})
ACCEPTED = {"MDM": ("T02", "T04", "T06"), "ORU": ("R01",)}
# formatted-text commands (HL7 2.10.6): a line break is a newline, not the library's segment separator
_APP_MAP = {".br": "\n", ".sp": "\n", ".ce": "\n", ".fi": "", ".nf": "", ".in": "", ".ti": "", ".sk": " ",
            "H": "", "N": ""}
# a repeat count on a formatting command ("\.sp2\") is capped: "\.sp999999999\" must not build a huge string
_REPEAT = re.compile(r"(\\\.(?:sp|sk|in|ti))(\d{3,})(?=\\)")
_BATCH = ("FHS", "BHS", "BTS", "FTS")


def _quiet_library_logger() -> None:
    """python-hl7 logs malformed escapes with the whole field, which is note text: never let it out."""
    import hl7.util

    logger = logging.getLogger(hl7.util.__file__)
    if not any(isinstance(f, _DropAll) for f in logger.filters):
        logger.addFilter(_DropAll())


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def read_hl7(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Note | NoteError]:
    """The notes of an HL7 v2 file, one per message; a bad message is one ``EntryError``."""
    from scribe.sources.fhir import _read_file

    data = _read_file(path, max_bytes * STRUCTURED_FACTOR)
    text, _ = decode(data.replace(b"\x0b", b"").replace(b"\x1c", b""), str(path))
    messages: list[list[str]] = []
    stray = 0
    for seg in text.split("\n"):
        seg = seg.strip("\x00 ")
        if not seg:
            continue
        tag = seg[:3]
        if tag == "MSH":
            messages.append([seg])
        elif tag in _BATCH:
            continue
        elif messages:
            messages[-1].append(seg)
        else:
            stray += 1
    if not messages:
        raise NoteError(str(path), "no HL7 v2 message (no MSH segment)")
    if stray:
        yield NoteError(str(path), f"{stray} segment(s) before the first MSH skipped")
    single = len(messages) == 1
    for n, segments in enumerate(messages, 1):
        source = str(path) if single else f"{path}#message={n}"
        try:
            yield _note(segments, path, source, n, max_bytes)
        except _Bad as bad:
            yield NoteError(str(path), str(bad)) if single else EntryError(path, "message", n, str(bad))


class _Bad(Exception):
    """A message's problem (the message names it, never the text)."""


def _note(segments: list[str], path: Path, source: str, n: int, max_bytes: int) -> Note:
    import hl7

    _quiet_library_logger()
    try:
        msg = hl7.parse("\r".join(segments))
    except Exception as exc:
        raise _Bad(f"not a valid HL7 v2 message ({type(exc).__name__})") from None
    msh = msg.segment("MSH")

    def f(segment: Any, index: int, component: int) -> str:
        return _field(segment, index, component, str(msg.separators))

    kind = f(msh, 9, 1).upper()
    event = f(msh, 9, 2).upper()
    if event not in ACCEPTED.get(kind, ()):
        shown = f"{kind}^{event}" if kind or event else "empty"
        raise _Bad(f"MSH-9 is {shown[:20]!r}, not MDM^T02/T04/T06 or ORU^R01")
    lines: list[str] = []
    found = False
    for obx in _segments(msg, "OBX"):
        if f(obx, 2, 1).upper() not in TEXT_TYPES:
            continue
        found = True
        raw = _REPEAT.sub(lambda m: m.group(1) + "99", str(_at(obx, 5)))
        for rep in raw.split(msg.separators[2]):
            try:
                lines.append(msg.unescape(rep, _APP_MAP))
            except (ValueError, IndexError):
                raise _Bad("OBX-5 holds a malformed escape sequence") from None
    if not found:
        raise _Bad("no OBX text (no OBX segment of type TX, FT or ST)")
    text = "\n".join(lines)
    if not text.strip():
        raise _Bad("OBX text is empty")
    if len(text.encode("utf-8")) > max_bytes:
        raise _Bad(f"note text too large (limit {max_bytes} bytes)")
    txa = _first(msg, "TXA")
    obr = _first(msg, "OBR")
    raw_id = next((v for v in (f(txa, 12, 1), f(obr, 3, 1), f(obr, 2, 1), f(msh, 10, 1)) if v),
                  None)
    note_id = safe_note_id(raw_id) or f"{path.stem}-{n}"
    when = next((d for d in (_date(f(txa, 4, 1)), _date(f(txa, 6, 1)), _date(f(obr, 7, 1))) if d),
                None)
    # the identity's source id: the document's unique number (TXA-12), else the report's filler order
    # number (OBR-3); never MSH-10, which names the message, not the document (an edit T04 has a new one)
    doc_id = f(txa, 12, 1) or f(obr, 3, 1)
    return Note(note_id=note_id, source=source, text=text, date_of_service=find_date_of_service(text) or when,
                source_id=input_source_id("hl7", doc_id) if doc_id.strip() else "")


def _segments(msg: Any, tag: str) -> list[Any]:
    return [s for s in msg if str(s[0]) == tag]


def _first(msg: Any, tag: str) -> Any:
    found = _segments(msg, tag)
    return found[0] if found else None


def _at(segment: Any, index: int) -> Any:
    try:
        return segment(index)
    except (IndexError, KeyError):
        return ""


def _field(segment: Any, index: int, component: int, seps: str = "\r|~^&") -> str:
    """Component ``component`` (1-based) of the first repeat of field ``index`` ("" if absent)."""
    if segment is None:
        return ""
    raw = str(_at(segment, index))
    parts = raw.split(seps[2], 1)[0].split(seps[3])
    return parts[component - 1].strip() if len(parts) >= component else ""


def _date(value: str) -> date | None:
    """The date of an HL7 DTM/TS value (``YYYYMMDD[HHMM[SS]]...``), or None."""
    digits = value[:8]
    if len(digits) < 8 or not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None
