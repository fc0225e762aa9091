"""Hostile input and hostile environments (issue 17): a batch no note can stall, signals that stop the
whole run, the API's size limit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tui_support import record_notifications, wait_loaded

from scribe import batch
from scribe.api import extract
from scribe.models import Extraction, ReadError
from scribe.notes import DEFAULT_MAX_BYTES, NoteError

ROOT = Path(__file__).resolve().parent.parent
POSIX = os.name == "posix"

NOTE = """Date of Service: 03/11/2025
PROCEDURE: Kyphoplasty L1.
INDICATION: Painful osteoporotic compression fracture of L1. Eight weeks of bracing and analgesics failed.
TECHNIQUE: Under biplane fluoroscopy, bilateral transpedicular access to L1 was obtained. A balloon tamp
was inflated to create a cavity, and PMMA cement was injected. No biopsy was performed.
"""
# a 1 MB note dense with procedure words, levels and biopsies: seconds of honest work for the linear pipeline,
# far over a half-second budget (no hook: the note really is slow)
_DENSE = "Kyphoplasty at T12 and L1 with balloon, cement injected under fluoroscopy for 6 weeks, biopsy of T12 "
ADVERSARIAL = (_DENSE * (DEFAULT_MAX_BYTES // len(_DENSE) + 1))[:DEFAULT_MAX_BYTES]
SLOW = (3, 99, 171)


def _batch(folder: Path, n: int = 200) -> list[str]:
    names = []
    for i in range(n):
        (folder / f"n{i:03d}.txt").write_text(ADVERSARIAL if i in SLOW else NOTE.replace("L1", f"L{i % 5 + 1}"))
        names.append(f"n{i:03d}")
    return names


@pytest.mark.skipif(not POSIX, reason="CPU timers and process groups")
def test_no_note_stalls_the_batch_200_notes_3_over_budget(tmp_path: Path) -> None:
    names = _batch(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "scribe.cli", "check", str(tmp_path), "--jobs", "2", "--format", "jsonl",
         "--note-timeout", "0.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["note_id"] for r in rows] == names  # every note, in input order
    errors = [r for r in rows if "error" in r]
    assert [r["note_id"] for r in errors] == [f"n{i:03d}" for i in SLOW]
    assert [r["error"] for r in errors] == [f"{tmp_path / f'n{i:03d}.txt'}: took longer than 0.5 s; not checked"
                                            for i in SLOW]
    assert sum("elements" in r for r in rows) == 197
    assert proc.stderr.splitlines() == [f"scribe check: {r['error']}" for r in errors]  # one line each, in order
    assert proc.returncode == 2


def test_budget_in_this_process_too(tmp_path: Path) -> None:
    for i, text in enumerate([NOTE, ADVERSARIAL, NOTE]):
        (tmp_path / f"m{i}.txt").write_text(text)
    results = list(batch.check_paths([tmp_path], jobs=1, timeout=0.5))
    assert [type(r) for r in results] == [Extraction, ReadError, Extraction]
    assert results[1].error == f"{tmp_path / 'm1.txt'}: took longer than 0.5 s; not checked"  # type: ignore[union-attr]


def test_budget_default_and_usage() -> None:
    assert batch.DEFAULT_NOTE_TIMEOUT == 10.0
    from typer.testing import CliRunner

    from scribe.cli import app

    result = CliRunner().invoke(app, ["check", str(ROOT / "sample_notes"), "--note-timeout", "-1"])
    assert result.exit_code == 64 and "--note-timeout" in result.stderr


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_to_the_parent_mid_run_leaves_no_process_and_no_output(tmp_path: Path, sig: int, code: int) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    _batch(notes)  # three 1 MB notes with no budget: seconds of work for each worker
    out = tmp_path / "worklist.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scribe.cli", "check", str(notes), "--jobs", "2", "--format", "csv",
         "--output", str(out), "--note-timeout", "0"],  # no budget: a worker is deep in a 1 MB note
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        preexec_fn=_default_signals,  # a test run started in the background (`&`) passes SIGINT on ignored
    )
    try:
        deadline = time.monotonic() + 120
        while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert len(workers) == 2
        time.sleep(1.5)  # into the batch: the first chunk holds a 1 MB note
        assert proc.poll() is None  # still running
        os.kill(proc.pid, sig)  # the parent alone, as a service manager or `kill PID` does
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == code, err.decode()[-2000:]
    if sig == signal.SIGTERM:
        assert err.decode().strip() == "scribe check: stopped by SIGTERM; no output written"
    for _ in range(100):  # poll: workers are reaped, not left running under PID 1
        alive = [w for w in workers if Path(f"/proc/{w}").exists() and "Z" not in _state(w)]
        if not alive:
            break
        time.sleep(0.05)
    assert not alive
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]  # no output file, no temp file


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def test_api_has_the_cli_size_limit() -> None:
    with pytest.raises(NoteError) as err:
        extract("L1 " * (DEFAULT_MAX_BYTES // 3 + 1), note_id="big")
    assert str(err.value) == f"big: text too large (over the {DEFAULT_MAX_BYTES}-byte limit)"
    with pytest.raises(NoteError):  # counted in UTF-8 bytes, as the file is: 600,000 characters of 2 bytes
        extract("\u00e9" * 600_000, source="dictation.txt")
    assert extract("L1 " * 1000, max_bytes=None).note_id == "note"
    with pytest.raises(NoteError):
        extract("Kyphoplasty L1", max_bytes=10)
    assert extract("Kyphoplasty L1", max_bytes=14).elements.levels.value == ["L1"]


# --- safe outputs: CSV cells and --output targets ---------------------------------------------------


def _run(*args: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from scribe.cli import app

    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _csv_rows(text: str) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("name", [
    "kp\r=2+5", "kp\n=2+5", 'kp",=2+5', "kp,=2+5", "kp;=2+5",
])
def test_csv_quotes_cells_holding_cr_lf_quote_or_delimiters(tmp_path: Path, name: str) -> None:
    note = tmp_path / f"{name}.txt"
    note.write_text(NOTE)
    _, out, _ = _run("check", str(note), "--format", "csv", "--jobs", "1")
    rows = _csv_rows(out)
    assert len(rows) == 2 and len(rows[1]) == len(rows[0])  # the header and one row: no cell split it
    assert rows[1][0].replace("'", "") == name and _inert(rows[1][0])
    # read with ";" as the delimiter (some locales), no field starts a formula either
    import csv
    import io

    for row in csv.reader(io.StringIO(out, newline=""), delimiter=";"):
        assert all(field.lstrip(" \u00a0")[:1] not in ("=", "+", "-", "@") for field in row)


_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_SPACES = " \u00a0\u200b\ufeff"


def _inert(cell: str) -> bool:
    """No part of the cell a spreadsheet may read as a cell of its own (the whole cell; what follows a CR, LF
    or ";") starts, after spaces, with a formula character."""
    import re

    return all(not part.lstrip(_SPACES).startswith(_FORMULA) for part in re.split(r"[\r\n;]", cell)) and \
        not cell.startswith(_FORMULA)


@pytest.mark.parametrize("name", [
    "=HYPERLINK(1)", "+1", "-1+2", "@SUM(1)", "\t=1", " =1+2", "\u00a0=1+2", "\u00a0 @x", "\uff1d1+2",
    "\uff0b1", "\uff0d1", "\uff20x", ";=1+2", " ;=1+2", "\u200b=1", "kp\r=2+5", "kp\n@x", "a;-1",
])
def test_csv_cells_that_could_start_a_formula_are_neutralised(tmp_path: Path, name: str) -> None:
    from scribe.commands.check import _csv_line

    (tmp_path / f"{name}.txt").write_text(NOTE)
    _, out, _ = _run("check", str(tmp_path / f"{name}.txt"), "--format", "csv", "--jobs", "1")
    row = _csv_rows(out)[1]
    assert _inert(row[0]) and row[0].replace("'", "") == name  # OWASP: an apostrophe, the rest as written
    assert _inert(row[1]) and name in row[1].replace("'", "")  # the source path holds the name too
    assert _csv_line(["L1", "22513 x1", "", "a b"]) == "L1,22513 x1,,a b\n"  # ordinary cells untouched


def test_output_refuses_special_files_with_exit_64(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    real = tmp_path / "real.csv"
    real.write_text("kept\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    targets = {fifo: "is a FIFO", folder: "is a directory", link: "is a symbolic link"}
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | __import__("stat").S_IFCHR, os.makedev(1, 3))
        targets[device] = "is a device"
    except (PermissionError, OSError):
        pass  # no CAP_MKNOD here: devices are covered by the same check as FIFOs
    for target, problem in targets.items():
        code, _, err = _run("check", str(ROOT / "sample_notes"), "--format", "csv", "--output", str(target))
        assert code == 64, target
        assert err == f"scribe check: --output {target}: {problem}, not a regular file\n"
    assert real.read_text() == "kept\n" and link.is_symlink() and fifo.is_fifo() and folder.is_dir()
    if device in targets:
        assert device.is_char_device()


def test_output_refuses_read_only_files_and_files_of_other_users(tmp_path: Path) -> None:
    from scribe.fsutil import UnsafeOutput, atomic_write_text

    ro = tmp_path / "ro.csv"
    ro.write_text("kept\n")
    ro.chmod(0o444)
    code, _, err = _run("check", str(ROOT / "sample_notes"), "--format", "csv", "--output", str(ro))
    assert code == 64 and err == f"scribe check: --output {ro}: is read-only; not replaced\n"
    with pytest.raises(UnsafeOutput):  # the writer itself refuses too (a target swapped after the check)
        atomic_write_text(ro, "new")
    assert ro.read_text() == "kept\n"
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root can give a file away
        theirs = tmp_path / "theirs.csv"
        theirs.write_text("kept\n")
        os.chown(theirs, 4242, 4242)
        code, _, err = _run("check", str(ROOT / "sample_notes"), "--format", "csv", "--output", str(theirs))
        assert code == 64 and err == f"scribe check: --output {theirs}: belongs to another user; not replaced\n"
        assert theirs.read_text() == "kept\n"
    mine = tmp_path / "mine.csv"
    mine.write_text("old\n")
    code, _, _ = _run("check", str(ROOT / "sample_notes"), "--format", "csv", "--output", str(mine))
    assert code in (0, 1) and mine.read_text().startswith("note_id,")


# --- names are text, never markup ----------------------------------------------------------------


def test_visible_shows_control_characters_and_keeps_text() -> None:
    from scribe.display import markup_safe, visible

    assert visible("kp\x1b[31m\x07\r\n\t\u202e.txt") == "kp\\x1b[31m\\x07\\r\\n\\t\\u202e.txt"
    assert visible("a\nb\tc\x1b", lines=True) == "a\nb\tc\\x1b"
    assert visible("Kyphoplastie à L1, 腰椎 🙂") == "Kyphoplastie à L1, 腰椎 🙂"
    assert markup_safe("kp [copy].txt") == "kp \\[copy].txt"


_HOSTILE_NAMES = ["kp [copy]", "kp [time=10:32]", "[link=javascript:alert(1)]x", "kp [bold]b", "kp\x1b[2Jx"]


@pytest.mark.parametrize("name", _HOSTILE_NAMES)
def test_codes_prints_names_as_text(tmp_path: Path, name: str) -> None:
    note = tmp_path / f"{name}.txt"
    note.write_text(NOTE)
    proc = subprocess.run([sys.executable, "-m", "scribe.cli", "codes", str(note)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "FORCE_COLOR": "1", "COLUMNS": "200",
                                                       "TTY_COMPATIBLE": "1"})
    assert proc.returncode in (0, 1), proc.stderr
    first = proc.stdout.splitlines()[0]
    from scribe.display import visible

    assert visible(name) in first  # the whole name, brackets and all
    assert "\x1b]8;" not in proc.stdout  # no OSC 8 hyperlink
    assert "\x1b[2J" not in proc.stdout  # the name's own escape sequence never reaches the terminal


@pytest.mark.parametrize("name", _HOSTILE_NAMES)
def test_check_and_extract_tables_and_errors_show_names_as_text(tmp_path: Path, name: str) -> None:
    from scribe.display import visible

    (tmp_path / f"{name}.txt").write_text(NOTE)
    (tmp_path / f"{name}-empty.txt").write_text("")
    _, out, err = _run("check", str(tmp_path), "--format", "table", "--jobs", "1")
    assert visible(name) in out.replace("\n", "").replace("│", "").replace(" ", "") or \
        visible(name).replace(" ", "") in out.replace("\n", "").replace("│", "").replace(" ", "")
    assert err == f"scribe check: {visible(str(tmp_path / f'{name}-empty.txt'))}: empty file\n"
    assert "\x1b" not in err and "\x1b" not in out
    _, out, err = _run("extract", str(tmp_path), "--format", "table")
    assert "\x1b" not in err and "\x1b" not in out and visible(str(tmp_path / f"{name}-empty.txt")) in err


def test_review_addendum_of_a_note_named_like_markup(tmp_path: Path) -> None:
    pytest.importorskip("textual")
    import asyncio

    from scribe.tui.app import ReviewApp

    note = tmp_path / "kp [time=10:32].txt"
    note.write_text("PROCEDURE: Kyphoplasty L1. Balloon tamp inflated creating a cavity, PMMA injected. "
                    "Indication: osteoporotic compression fracture.\n")
    shown: list[str] = []

    async def go() -> None:
        app = ReviewApp([note], user="dr_test", store_path=tmp_path / "s.sqlite3")
        record_notifications(app, shown)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("a", "1", "enter")
            await pilot.pause()
            await pilot.press(*"3 months", "enter")
            await pilot.pause(0.4)  # keys within 300 ms of a closed prompt are not commands
            await pilot.press("e")  # the notice names "kp [time=10:32].addendum.txt": a MarkupError before
            await pilot.pause()
            await pilot.press("y")  # writing asks first
            await pilot.pause()
            await pilot.pause()

    asyncio.run(go())
    assert any("kp [time=10:32].addendum.txt" in s for s in shown), shown
    assert (tmp_path / "kp [time=10:32].addendum.txt").exists()


# --- encodings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec, bom", [
    ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-32-le", b"\xff\xfe\x00\x00"),
    ("utf-32-be", b"\x00\x00\xfe\xff"),
])
def test_utf16_and_utf32_with_a_bom_read_like_utf8(tmp_path: Path, codec: str, bom: bytes) -> None:
    from scribe.api import extract_file
    from scribe.notes import read_note

    text = NOTE.replace("Painful", "Patient\u2019s painful").replace("\n", "\r\n")
    (tmp_path / "wide.txt").write_bytes(bom + text.encode(codec))
    (tmp_path / "plain.txt").write_text(text.replace("\r\n", "\n"))
    wide = read_note(tmp_path / "wide.txt")
    assert wide.text == text.replace("\r\n", "\n") and wide.encoding == codec
    a, b = extract_file(tmp_path / "wide.txt"), extract_file(tmp_path / "plain.txt")
    assert a.elements == b.elements and a.missing == b.missing == []


def test_nul_anywhere_means_binary(tmp_path: Path) -> None:
    from scribe.notes import read_note

    for at in (0, 5_000, 9_000, 200_000):
        data = bytearray((NOTE * 1000).encode()[:250_000])
        data[at] = 0
        (tmp_path / "n.txt").write_bytes(bytes(data))
        with pytest.raises(NoteError, match="binary file"):
            read_note(tmp_path / "n.txt")
    (tmp_path / "odd.txt").write_bytes(b"\xff\xfe" + NOTE.encode("utf-16-le") + b"\x00\x00")  # a UTF-16 NUL
    with pytest.raises(NoteError, match="binary file"):
        read_note(tmp_path / "odd.txt")


def test_mixed_utf8_and_cp1252_lines_are_decoded_line_by_line(tmp_path: Path) -> None:
    from scribe.api import extract_file
    from scribe.notes import read_note

    utf8_part = "Date of Service: 03/11/2025\nPROCEDURE: Kyphoplasty L1 \u2014 patient\u2019s caf\u00e9 na\u00efve.\n"
    cp1252_part = ("INDICATION: \u201cPainful\u201d osteoporotic compression fracture of L1; 8 weeks of bracing "
                   "failed.\nTECHNIQUE: Under fluoroscopy a balloon was inflated at L1 and cement injected.\n")
    (tmp_path / "mixed.txt").write_bytes(utf8_part.encode("utf-8") + cp1252_part.encode("cp1252"))
    note = read_note(tmp_path / "mixed.txt")
    assert note.text == utf8_part + cp1252_part  # no mojibake in either part
    assert note.encoding == "utf-8+cp1252"
    ex = extract_file(tmp_path / "mixed.txt", mentions=True)
    evidence = [e for el in ex.elements.model_dump().values() for e in el["evidence"]]
    evidence += [{"start": m.start, "end": m.end, "text": m.text} for m in ex.mentions]
    assert evidence and all(note.text[e["start"]:e["end"]] == e["text"] for e in evidence)  # offsets are true
    assert ex.elements.procedure_type.value == "kyphoplasty" and ex.elements.levels.value == ["L1"]
    assert ex.elements.guidance.value == ["fluoroscopy"]
    assert ex.elements.conservative_therapy.value["weeks"] == 8  # type: ignore[index]
    words = [e for e in evidence if e["text"].lower() == "fluoroscopy"]
    assert words and words[0]["start"] == note.text.index("fluoroscopy")


def test_audit_tables_show_control_characters_of_names(tmp_path: Path) -> None:
    (tmp_path / "kp\x1b[2Jx.txt").write_text(NOTE)
    code, out, err = _run("audit", str(tmp_path))
    assert code == 0, err
    assert "\x1b[2J" not in out and "kp\\x1b[2Jx" in out


def test_review_note_view_shows_a_notes_escape_sequences_without_moving_highlights(tmp_path: Path) -> None:
    pytest.importorskip("textual")
    import asyncio

    from scribe.display import same_length_visible
    from scribe.tui.app import ReviewApp
    from scribe.tui.widgets.note_view import NoteView

    assert same_length_visible("a\x1b[2Jb\x07\tc\x7f\u202ed") == "a\u241b[2Jb\u2407\tc\u2421\ufffdd"
    note = tmp_path / "kp.txt"
    note.write_text("PROCEDURE: \x1b[2J\x1b]8;;http://x\x07Kyphoplasty L1 under fluoroscopy.\n")
    lines: list[str] = []

    async def go() -> None:
        app = ReviewApp([note], user="dr_test", store_path=tmp_path / "s.sqlite3")
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_loaded(pilot)
            await pilot.pause()
            view = app.screen.query_one(NoteView)
            lines.extend(view._render_line(i).plain for i in range(len(view._lines)))

    asyncio.run(go())
    assert lines and "\x1b" not in "".join(lines) and "\x07" not in "".join(lines)
    assert lines[0].index("Kyphoplasty") == note.read_text().index("Kyphoplasty")  # offsets kept
