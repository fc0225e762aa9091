"""FHIR R4 inputs: a ``DocumentReference``, a ``Bundle`` of them, or Bulk Data NDJSON (one per line).

Each ``DocumentReference`` is validated with the ``fhir.resources`` R4B classes (they read R4 JSON).
The note text comes from ``content[].attachment``: ``data`` (base64) or ``url``, which must name a
file relative to the resource's own file (never fetched from the network). A text/plain attachment
is preferred to an HTML one; HTML becomes text; RTF and other types are reported as unsupported.

The note id is ``DocumentReference.id`` (else its first identifier); the date of service is the
note's own labelled date, else ``context.period.start``, else ``date``. Errors name the file and the
entry (``entry N`` of a Bundle, ``line N`` of NDJSON) and never quote the note.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.parse
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scribe.identity import input_source_id
from scribe.notes import DEFAULT_MAX_BYTES, Note, NoteError, find_date_of_service, read_bytes
from scribe.sources import STRUCTURED_FACTOR, EntryError, safe_note_id
from scribe.sources.text import HTML, PLAIN, AttachmentError, media_type, to_text

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_JSON_SLACK = 65_536  # bytes of JSON around the base64 text on one NDJSON line


class _Bad(Exception):
    """An entry's problem (the message names it, never the text)."""


def read_fhir_json(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Note | NoteError]:
    """The notes of a FHIR JSON file: one ``DocumentReference``, or each one in a ``Bundle``.

    A Bundle's other resources (Patient, Encounter, ...) are skipped; a bad DocumentReference entry is
    one ``EntryError`` and the other entries go on.
    """
    data = _read_file(path, max_bytes * STRUCTURED_FACTOR)
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise NoteError(str(path), "not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and exc.lineno > 1:  # one resource per line: NDJSON under another name
            yield from read_ndjson(path, max_bytes)
            return
        raise NoteError(str(path), f"not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise NoteError(str(path), "JSON nested too deeply") from None
    if not isinstance(obj, dict):
        raise NoteError(str(path), "not a FHIR resource (the JSON is not an object)")
    kind = obj.get("resourceType")
    if kind == "DocumentReference":
        try:
            yield note_from_resource(obj, path, str(path), max_bytes)
        except _Bad as bad:
            yield NoteError(str(path), str(bad))
        return
    if kind != "Bundle":
        raise NoteError(str(path), f"resourceType {_shown(kind)}: expected DocumentReference or Bundle")
    entries = obj.get("entry") or []
    if not isinstance(entries, list):
        raise NoteError(str(path), "Bundle.entry is not a list")
    for n, entry in enumerate(entries, 1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            yield EntryError(path, "entry", n, "no resource")
            continue
        if resource.get("resourceType") != "DocumentReference":
            continue
        try:
            yield note_from_resource(resource, path, f"{path}#entry={n}", max_bytes, number=n)
        except _Bad as bad:
            yield EntryError(path, "entry", n, str(bad))


def read_ndjson(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Note | NoteError]:
    """The notes of a FHIR Bulk Data NDJSON file, streamed line by line (never loaded whole).

    Lines holding other resource types are skipped (a Bulk export writes one file per type); a line
    longer than an attachment of ``max_bytes`` can be is reported and skipped without being held.
    """
    limit = max_bytes * 2 + _JSON_SLACK  # base64 is 4/3 of the bytes it encodes
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise NoteError(str(path), "file not found") from None
    except PermissionError:
        raise NoteError(str(path), "permission denied") from None
    except IsADirectoryError:
        raise NoteError(str(path), "is a directory") from None
    except OSError as exc:
        raise NoteError(str(path), f"cannot read ({exc.strerror or type(exc).__name__})") from None
    with fh:
        n = 0
        while True:
            try:
                line = fh.readline(limit + 1)
            except OSError as exc:
                yield NoteError(str(path), f"cannot read after line {n} ({exc.strerror or type(exc).__name__})")
                return
            if not line:
                return
            n += 1
            if len(line) > limit:
                while line and not line.endswith(b"\n"):  # skip the rest of the line, a bounded piece at a time
                    line = fh.readline(limit)
                yield EntryError(path, "line", n, f"line too long (over {limit} bytes)")
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line.decode("utf-8-sig" if n == 1 else "utf-8"))
            except UnicodeDecodeError:
                yield EntryError(path, "line", n, "not UTF-8")
                continue
            except json.JSONDecodeError:
                yield EntryError(path, "line", n, "not valid JSON (truncated or malformed line)")
                continue
            except RecursionError:
                yield EntryError(path, "line", n, "JSON nested too deeply")
                continue
            if not isinstance(obj, dict) or "resourceType" not in obj:
                yield EntryError(path, "line", n, "not a FHIR resource (no resourceType)")
                continue
            if obj["resourceType"] != "DocumentReference":
                continue
            try:
                yield note_from_resource(obj, path, f"{path}#line={n}", max_bytes, number=n)
            except _Bad as bad:
                yield EntryError(path, "line", n, str(bad))


def note_from_resource(raw: dict[str, Any], path: Path, source: str, max_bytes: int = DEFAULT_MAX_BYTES,
                       number: int | None = None) -> Note:
    """A ``Note`` from one DocumentReference (JSON object). Raises ``_Bad`` naming the problem."""
    from fhir.resources.R4B.documentreference import DocumentReference

    _check_sizes(raw, max_bytes)
    try:
        doc = DocumentReference.model_validate(raw)
    except ValidationError as exc:
        raise _Bad(_validation_problem(exc)) from None
    except (ValueError, TypeError) as exc:
        raise _Bad(f"not a valid DocumentReference ({type(exc).__name__})") from None
    text = _text_of(doc, path, source, max_bytes)
    note_id = (safe_note_id(doc.id) or _first_identifier(doc)
               or (f"{path.stem}-{number}" if number is not None else path.stem))
    return Note(note_id=note_id, source=source, text=text,
                date_of_service=find_date_of_service(text) or _source_date(doc), source_id=_source_id(doc))


def _check_sizes(raw: dict[str, Any], max_bytes: int) -> None:
    """Refuse an attachment over ``max_bytes`` before decoding it (its base64 length tells its size), and
    one whose ``data`` is not strict base64."""
    content = raw.get("content")
    if not isinstance(content, list):
        return
    for i, item in enumerate(content):
        att = item.get("attachment") if isinstance(item, dict) else None
        data = att.get("data") if isinstance(att, dict) else None
        if not isinstance(data, str):
            continue
        if len(data) * 3 // 4 > max_bytes + 2:
            raise _Bad(f"content[{i}].attachment too large (about {len(data) * 3 // 4} bytes; limit {max_bytes})")
        try:  # strictly: a lenient decoder turns "%%%" into no bytes at all
            base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise _Bad(f"content[{i}].attachment.data is not valid base64") from None


def _validation_problem(exc: ValidationError) -> str:
    first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
    loc = ".".join(str(p) for p in first["loc"]) or "top level"
    if first["type"] == "base64_decode":
        return f"{loc} is not valid base64"
    if first["type"] == "missing" and loc == "content":
        return "no content (missing attachment)"
    return f"not a valid DocumentReference ({loc}: {first['type']})"


def _rank(att: Any) -> int:
    kind, _ = media_type(att.contentType)
    if kind in PLAIN[:1]:
        return 0
    if kind in HTML:
        return 1
    return 2 if not kind else 3


def _text_of(doc: Any, path: Path, source: str, max_bytes: int) -> str:
    atts = [c.attachment for c in doc.content or [] if c.attachment is not None]
    usable = [a for a in atts if a.data is not None or a.url]
    if not usable:
        raise _Bad("no attachment data or url (missing attachment)")
    att = min(usable, key=_rank)
    try:
        data = att.data if att.data is not None else read_url(att.url, path, max_bytes)
        if len(data) > max_bytes:
            raise _Bad(f"attachment too large ({len(data)} bytes; limit {max_bytes})")
        return to_text(data, att.contentType, source)
    except AttachmentError as err:
        raise _Bad(str(err)) from None
    except NoteError as err:
        raise _Bad(f"attachment: {err.problem}") from None


def read_url(url: str, path: Path, max_bytes: int) -> bytes:
    """The bytes of an attachment ``url`` that names a file relative to the resource's file.

    Anything with a scheme (``http:``, ``https:``, ``file:``, ``urn:``, ...), an absolute path or a path
    leading out of the resource's folder is refused: scribe never fetches anything from the network.
    """
    scheme = _SCHEME.match(url)
    if scheme:
        raise AttachmentError(f"attachment url with scheme {scheme.group(0)!r} not read (only a relative file; "
                              "scribe fetches nothing from the network)")
    rel = urllib.parse.unquote(url.split("#", 1)[0].split("?", 1)[0])
    if not rel or rel.startswith(("/", "\\")):
        raise AttachmentError("attachment url is not a relative file path")
    base = path.parent.resolve()
    target = (base / rel).resolve()
    if not target.is_relative_to(base):
        raise AttachmentError("attachment url leads out of the resource's folder")
    return _read_file(target, max_bytes, shown=rel)


def _read_file(path: Path, limit: int, shown: str | None = None) -> bytes:
    data = read_bytes(path, limit, shown or str(path))
    if not data.strip():
        raise NoteError(shown or str(path), "empty file")
    return data


def _first_identifier(doc: Any) -> str | None:
    for ident in [*((doc.masterIdentifier and [doc.masterIdentifier]) or []), *(doc.identifier or [])]:
        found = safe_note_id(ident.value)
        if found:
            return found
    return None


def _source_id(doc: Any) -> str:
    """The note identity's source id (``scribe.identity``): the resource id, else its first identifier
    (system and value), hashed; "" when the resource has neither."""
    if doc.id and str(doc.id).strip():
        return input_source_id("fhir", f"DocumentReference/{str(doc.id).strip()}")
    for ident in [*((doc.masterIdentifier and [doc.masterIdentifier]) or []), *(doc.identifier or [])]:
        if ident.value and str(ident.value).strip():
            return input_source_id("fhir", f"{ident.system or ''}|{str(ident.value).strip()}")
    return ""


def _source_date(doc: Any) -> date | None:
    period = doc.context.period if doc.context is not None else None
    for value in (period.start if period is not None else None, doc.date):
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
    return None


def _shown(value: Any) -> str:
    return repr(value)[:40] if isinstance(value, str) else type(value).__name__
