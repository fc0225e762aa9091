"""Reading notes: encodings, line endings, empty / binary / oversized files, dates of service."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scribe.notes import NoteError, find_date_of_service, iter_note_paths, read_note


def test_utf8_bom_cp1252_and_crlf(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfPROCEDURE: Vertebroplasty L1\r\n")
    (tmp_path / "win.txt").write_bytes("Patient\u2019s pain \u201cbad\u201d\r\nL1".encode("cp1252"))
    bom = read_note(tmp_path / "bom.txt")
    assert bom.text == "PROCEDURE: Vertebroplasty L1\n" and bom.encoding == "utf-8-sig"
    win = read_note(tmp_path / "win.txt")
    assert win.encoding == "cp1252" and "\u2019" in win.text and "\r" not in win.text
    assert win.note_id == "win"


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "empty file"), (b"  \n\n", "empty file"), (b"\x00\x01\x02binary", "binary file"),
])
def test_bad_files_raise_one_line_naming_the_file(tmp_path: Path, content: bytes, problem: str) -> None:
    p = tmp_path / "bad.txt"
    p.write_bytes(content)
    with pytest.raises(NoteError) as info:
        read_note(p)
    message = str(info.value)
    assert message.startswith(str(p)) and problem in message and "\n" not in message


def test_size_limit_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "big.txt"
    p.write_text("a" * 2000)
    with pytest.raises(NoteError, match="too large"):
        read_note(p, max_bytes=1000)
    with pytest.raises(NoteError, match="not found"):
        read_note(tmp_path / "nope.txt")
    with pytest.raises(NoteError, match="directory"):
        read_note(tmp_path)


@pytest.mark.parametrize(("text", "expected"), [
    ("Date of Service: 04/22/2025\n", date(2025, 4, 22)),
    ("DOS: 2/3/25", date(2025, 2, 3)),
    ("Date of Surgery: 09/16/2024", date(2024, 9, 16)),
    ("date of service march eleventh twenty twenty five procedure", date(2025, 3, 11)),
    ("date of service is july ninth twenty twenty five", date(2025, 7, 9)),
    ("dictating date of service april first twenty twenty five patient", date(2025, 4, 1)),
    ("no date here", None),
])
def test_date_of_service(text: str, expected: date | None) -> None:
    assert find_date_of_service(text) == expected


def test_iter_note_paths_skips_gold_and_hidden(tmp_path: Path) -> None:
    for name in ("b.txt", "a.txt", "a.gold.json", ".hidden.txt", "x.pdf"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in iter_note_paths([tmp_path])] == ["a.txt", "b.txt"]
