"""Where notes come from: every command expands its inputs here into ``Note`` objects.

Four kinds of input, told apart by extension or, failing that, by their first bytes:

- plain text (``.txt``, ``.note``, ``.text``): one note per file, read by :func:`scribe.notes.read_note`;
- FHIR R4 JSON (``.json``): a ``DocumentReference`` or a ``Bundle`` of them (:mod:`scribe.sources.fhir`);
- FHIR Bulk Data NDJSON (``.ndjson``): one ``DocumentReference`` per line, streamed;
- HL7 v2 (``.hl7``): one or more MDM^T02/T04/T06 or ORU^R01 messages (:mod:`scribe.sources.hl7v2`).

The seam has three steps, so a batch can keep reading plain text files in its workers:

- :func:`iter_sources` expands files and folders into input files;
- :func:`iter_items` turns input files into work items: a plain text file stays a path (read where it
  is processed), a structured file is expanded lazily into ``Note`` objects and ``NoteError`` objects
  (one per bad entry: the other entries go on);
- :func:`load` turns a work item into a ``Note`` (raises ``NoteError``).

:func:`iter_notes` chains them for commands that read notes in one process. Nothing here opens a
socket: an attachment ``url`` is read only when it names a file relative to the resource's file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from scribe.notes import DEFAULT_MAX_BYTES, NOTE_SUFFIXES, SKIP_ENDINGS, Note, NoteError, iter_note_paths, read_note

Kind = Literal["text", "fhir", "ndjson", "hl7"]
WorkItem = str | Note | NoteError

FHIR_SUFFIXES = (".json",)
NDJSON_SUFFIXES = (".ndjson",)
HL7_SUFFIXES = (".hl7",)
# JSON files written beside notes that are never FHIR (gold annotations, answers, saved reviews)
_NOT_FHIR_ENDINGS = (".gold.json", ".answers.json")
STRUCTURED_FACTOR = 64  # a JSON or HL7 file may hold many notes: up to 64 x --max-bytes
_SNIFF = 512
_LOCATOR = re.compile(r"#(?:entry|line|message)=\d+$")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")


class EntryError(NoteError):
    """One bad entry of a multi-note file: ``str(err)`` is ``<file>: <entry>: <problem>``.

    ``locator`` is ``<file>#entry=N`` (or ``line=N``, ``message=N``): the batch reports it as the source.
    """

    def __init__(self, path: str | os.PathLike[str], where: str, number: int, problem: str) -> None:
        super().__init__(str(path), f"{where} {number}: {problem}")
        self.locator = f"{path}#{where}={number}"
        self.note_id = f"{Path(path).stem}-{number}"


def kind_of(path: str | os.PathLike[str]) -> Kind:
    """The kind of an input file: by extension, else by its first bytes (``MSH|``, ``{"resourceType"``)."""
    name = Path(path).name.lower()
    if name.endswith(NDJSON_SUFFIXES):
        return "ndjson"
    if name.endswith(HL7_SUFFIXES):
        return "hl7"
    if name.endswith(FHIR_SUFFIXES):
        return "fhir"
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF)
    except OSError:
        return "text"  # read_note reports the problem
    return sniff(head) or "text"


def sniff(head: bytes) -> Kind | None:
    """The kind a file's first bytes announce, or None (plain text)."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n\x0b")
    if start[:3] == b"MSH" and len(start) > 3 and not start[3:4].isalnum():
        return "hl7"
    if start[:1] == b"{" and b'"resourceType"' in start:
        first_line = start.split(b"\n", 1)
        # one resource per line (Bulk Data) when the first line is a whole object and another follows
        if len(first_line) == 2 and first_line[0].rstrip().endswith(b"}") and first_line[1].lstrip()[:1] == b"{":
            return "ndjson"
        return "fhir"
    return None


def _is_input_file(child: Path) -> bool:
    """Whether a file found in a folder is a note source (named explicitly, any file is)."""
    name = child.name.lower()
    if name.endswith(SKIP_ENDINGS) or name.endswith(_NOT_FHIR_ENDINGS):
        return False
    if child.suffix.lower() in NOTE_SUFFIXES or name.endswith(NDJSON_SUFFIXES + HL7_SUFFIXES):
        return True
    if name.endswith(FHIR_SUFFIXES):  # other JSON (claims, settings) beside the notes is not a note
        try:
            with open(child, "rb") as fh:
                return sniff(fh.read(_SNIFF)) is not None
        except OSError:
            return True  # named in the output as unreadable, like any other note file
    return False


def iter_sources(inputs: Iterable[str | os.PathLike[str]], recursive: bool = False) -> Iterator[Path]:
    """Expand files and folders into input files, in the order given (folders sorted).

    A folder contributes its plain text notes (.txt/.note/.text), FHIR JSON files (a .json that starts
    like a FHIR resource), .ndjson and .hl7 files; gold files, addenda and hidden files are skipped. A file
    named explicitly is always included, whatever its name.
    """
    return iter_note_paths(inputs, recursive, accept=_is_input_file)


def iter_items(files: Iterable[str | os.PathLike[str]], max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[WorkItem]:
    """Work items for input files, lazily: a plain text file stays a path (``str``); a FHIR or HL7 file
    becomes its notes and one ``NoteError`` per bad entry, in file order."""
    for f in files:
        path = Path(f)
        kind = kind_of(path)
        if kind == "text":
            yield str(f)
        else:
            yield from expand(path, kind, max_bytes)


def expand(path: Path, kind: Kind, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Note | NoteError]:
    """The notes of one structured file (FHIR JSON, NDJSON or HL7 v2), with an error per bad entry."""
    try:
        if kind == "fhir":
            from scribe.sources.fhir import read_fhir_json

            yield from read_fhir_json(path, max_bytes)
        elif kind == "ndjson":
            from scribe.sources.fhir import read_ndjson

            yield from read_ndjson(path, max_bytes)
        elif kind == "hl7":
            from scribe.sources.hl7v2 import read_hl7

            yield from read_hl7(path, max_bytes)
        else:
            raise ValueError(f"not a structured kind: {kind}")
    except NoteError as err:  # the whole file is unreadable
        yield err
    except MemoryError:
        yield NoteError(str(path), "out of memory while reading the file")


def load(item: WorkItem | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> Note:
    """The note a work item stands for. Raises ``NoteError`` (one line, names the file and the entry)."""
    if isinstance(item, Note):
        return item
    if isinstance(item, NoteError):
        raise item
    return read_note(item, max_bytes=max_bytes)


def iter_notes(inputs: Iterable[str | os.PathLike[str]], *, recursive: bool = False,
               max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Note | NoteError]:
    """Every note of the inputs, in order, or a ``NoteError`` for each file or entry that cannot be read."""
    for item in iter_items(iter_sources(inputs, recursive=recursive), max_bytes):
        try:
            yield load(item, max_bytes)
        except NoteError as err:
            yield err


def label(item: WorkItem | os.PathLike[str]) -> str:
    """What a work item is called in messages and in the ``source`` of its result."""
    if isinstance(item, Note):
        return item.source
    if isinstance(item, EntryError):
        return item.locator
    if isinstance(item, NoteError):
        return item.source
    return str(item)


def error_note_id(err: NoteError) -> str:
    """The ``note_id`` reported for an unreadable file or entry."""
    return err.note_id if isinstance(err, EntryError) else Path(err.source).stem


def source_file(item: Note | str) -> Path:
    """The file a note was read from (``Note.source`` without its ``#entry=N`` locator)."""
    source = item.source if isinstance(item, Note) else item
    return Path(_LOCATOR.sub("", source))


def safe_note_id(raw: str | None) -> str | None:
    """A source's own document identifier as a note id: usable as a file name stem (addenda, gold files
    are named after it), so any character outside ``A-Z a-z 0-9 . _ -`` becomes ``_``; None if blank."""
    if raw is None:
        return None
    text = raw.strip()[:128]
    if not text:
        return None
    safe = _SAFE_ID.sub("_", text).lstrip(".")
    return safe or None
