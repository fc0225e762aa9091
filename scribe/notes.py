"""Reading notes safely: encodings, size limits, binary files, note ids, dates of service.

Errors are `NoteError` with a one-line message naming the file and the problem, never any
of the note's text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from scribe.numbers import parse_date

DEFAULT_MAX_BYTES = 1_000_000
NOTE_SUFFIXES = (".txt", ".note", ".text")  # a README.md beside the notes is not a note
SKIP_ENDINGS = (".gold.json", ".addendum.txt")  # annotations and review addenda written beside notes


class NoteError(Exception):
    """A note that cannot be read. ``str(err)`` is one line: ``<file>: <problem>``."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


@dataclass(frozen=True)
class Note:
    note_id: str
    source: str
    text: str
    date_of_service: date | None
    encoding: str = "utf-8"
    # the input format's own id of the document (``scribe.identity.input_source_id``: a FHIR DocumentReference
    # id or identifier, an HL7 TXA-12 or OBR-3), hashed; "" for a plain text note
    source_id: str = ""


def note_id_for(path: Path) -> str:
    """The contract's note_id: the file name without its extension."""
    return path.stem


# byte-order marks of the wide Unicode encodings some dictation systems export (UTF-32 first: its
# little-endian mark begins with UTF-16's)
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
              (b"\xfe\xff", "utf-16"))


def decode(data: bytes, source: str = "<bytes>") -> tuple[str, str]:
    """Decode note bytes: UTF-16 or UTF-32 with a byte-order mark; else UTF-8 (with or without BOM); else
    line by line, UTF-8 where a line is valid UTF-8 and cp1252 (Windows dictation) where it is not, so a file
    pasted together from both keeps each part's characters.

    A NUL character anywhere (after decoding) makes the file binary. CRLF and lone CR become LF, as
    Python's text mode reads them; evidence offsets refer to this decoded text (the contract's "text as
    read, after decoding").
    """
    if not data.strip():
        raise NoteError(source, "empty file")
    for bom, wide in _WIDE_BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(wide)  # the codec reads the mark and the byte order from it
            except UnicodeDecodeError:
                raise NoteError(source, f"binary file (a {wide.upper()} byte-order mark, then invalid "
                                        f"{wide.upper()})") from None
            encoding = f"{wide}-{'le' if bom[0] == 0xFF else 'be'}"
            if not text.strip():
                raise NoteError(source, "empty file")
            return _checked(text, source), encoding
    if b"\x00" in data:
        raise NoteError(source, "binary file (contains NUL bytes), not a text note")
    encoding = "utf-8"
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        encoding = "utf-8-sig"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text, encoding = _decode_lines(data)
    return _checked(text, source), encoding


def _decode_lines(data: bytes) -> tuple[str, str]:
    """Each line UTF-8 if it is valid UTF-8, else cp1252 (latin-1 for the five bytes cp1252 leaves
    undefined). The encoding reported: "cp1252" when no line needed UTF-8's multi-byte forms, else
    "utf-8+cp1252"."""
    parts: list[str] = []
    mixed = False
    for line in data.split(b"\n"):
        try:
            part = line.decode("utf-8")
            mixed = mixed or not line.isascii()
        except UnicodeDecodeError:
            try:
                part = line.decode("cp1252")
            except UnicodeDecodeError:
                part = line.decode("latin-1")
        parts.append(part)
    return "\n".join(parts), "utf-8+cp1252" if mixed else "cp1252"


def _checked(text: str, source: str) -> str:
    if "\x00" in text:
        raise NoteError(source, "binary file (contains NUL characters), not a text note")
    if _looks_binary(text):
        raise NoteError(source, "binary file (mostly non-text characters), not a text note")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    if not sample:
        return False
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t\f\v") or 0x7F <= ord(ch) < 0xA0)
    return bad / len(sample) > 0.05


def read_bytes(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES, source: str | None = None) -> bytes:
    """A file's bytes, at most ``max_bytes``. Raises NoteError (one line naming ``source``, default the path)
    when it is missing, a folder, unreadable or too large."""
    p = Path(path)
    source = str(path) if source is None else source
    try:
        st = p.stat()
    except FileNotFoundError:
        raise NoteError(source, "file not found") from None
    except PermissionError:
        raise NoteError(source, "permission denied") from None
    except OSError as exc:
        raise NoteError(source, f"cannot read ({exc.strerror or type(exc).__name__})") from None
    if p.is_dir():
        raise NoteError(source, "is a directory")
    if st.st_size > max_bytes:
        raise NoteError(source, f"file too large ({st.st_size} bytes; limit {max_bytes})")
    try:
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise NoteError(source, "file not found (removed while reading)") from None
    except PermissionError:
        raise NoteError(source, "permission denied") from None
    except OSError as exc:
        raise NoteError(source, f"cannot read ({exc.strerror or type(exc).__name__})") from None
    if len(data) > max_bytes:
        raise NoteError(source, f"file too large (over the {max_bytes}-byte limit)")
    return data


def read_note(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> Note:
    """Read one note file. Raises NoteError (one line, names the file) on any problem."""
    p = Path(path)
    source = str(path)
    data = read_bytes(p, max_bytes, source)
    text, encoding = decode(data, source)
    return Note(
        note_id=note_id_for(p),
        source=source,
        text=text,
        date_of_service=find_date_of_service(text),
        encoding=encoding,
    )


_DOS_PATTERN = (r"(date\s+of\s+(?:service|surgery|procedure|operation|exam(?:ination)?|visit|encounter)"
                r"|service\s+date|procedure\s+date|d\.?o\.?s\.?(?=\W)|date(?=\s*:))\s*[:\-]?\s*")
_DOS_LABEL = re.compile(_DOS_PATTERN, re.IGNORECASE)
_DOS_LABEL_LOWER = re.compile(_DOS_PATTERN)


def find_date_of_service(text: str) -> date | None:
    """The date of service: a labelled date ("Date of Service: 04/22/2025", spoken "date of
    service march eleventh twenty twenty five"), else None."""
    # the labels are lower-case words: on ASCII text, scanning the lower-cased copy without IGNORECASE
    # finds the same matches several times faster
    labels = _DOS_LABEL_LOWER.finditer(text.lower()) if text.isascii() else _DOS_LABEL.finditer(text)
    for m in labels:
        window = text[m.end() : m.end() + 80]
        found = parse_date(window)
        if found is not None and found[1] <= 3:
            return found[0]
    return None


def is_note_file(child: Path) -> bool:
    """A file a folder contributes as a plain text note: .txt/.note/.text, not a gold file nor an addendum."""
    return child.suffix.lower() in NOTE_SUFFIXES and not child.name.endswith(SKIP_ENDINGS)


def iter_note_paths(inputs: Iterable[str | os.PathLike[str]], recursive: bool = False,
                    accept: Callable[[Path], bool] = is_note_file) -> Iterator[Path]:
    """Expand files and directories into note paths, in the order given (directories sorted).

    A directory contributes its files that ``accept`` takes (by default those ending in .txt/.note/.text;
    gold files, addenda and hidden files are skipped); a file named explicitly is always included, whatever
    its suffix.
    """
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            pattern = "**/*" if recursive else "*"
            for child in sorted(p.glob(pattern)):
                if child.name.startswith(".") or (not child.is_file() and not child.is_symlink()):
                    continue
                if accept(child):
                    yield child
        else:
            yield p
