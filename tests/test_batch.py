"""`scribe check` and `scribe.batch`: formats, exit codes, hostile files, parallel order, fuzz."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import random
import re
import stat
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import scribe.api
import scribe.notes
from scribe import batch
from scribe.cli import app
from scribe.commands.check import CSV_FIELDS, known_payers
from scribe.models import Extraction, Flag, ReadError

ROOT = Path(__file__).resolve().parent.parent
SECRET = "ZANZIBARQUOKKA"  # a word that must never reach stderr or an error message

COMPLETE = """Date of Service: 03/11/2025
PROCEDURE: Kyphoplasty L1.
INDICATION: Painful osteoporotic compression fracture of L1. Eight weeks of bracing and analgesics failed.
TECHNIQUE: Under biplane fluoroscopy, bilateral transpedicular access to L1 was obtained. A balloon tamp
was inflated to create a cavity, and PMMA cement was injected. No biopsy was performed.
"""
INCOMPLETE = "PROCEDURE: Vertebroplasty.\nCement was injected. Patient tolerated the procedure.\n"

HAS_FORK = "fork" in multiprocessing.get_all_start_methods()
runner = CliRunner()


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def run_check(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["check", *args], env={"COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    d = tmp_path / "notes"
    d.mkdir()
    write(d / "a_complete.txt", COMPLETE)
    write(d / "b_incomplete.txt", INCOMPLETE)
    return d


@pytest.fixture
def no_coding_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic flags whatever the coding engine does: a warning on notes named 'flagged*'."""

    def fake(extraction: Extraction, payer: str = "medicare") -> Extraction:
        flags = [Flag(id="test_warning", severity="warning")] if extraction.note_id.startswith("flagged") else []
        return extraction.model_copy(update={"flags": flags, "codes": []})

    monkeypatch.setattr(scribe.api, "apply_coding", fake)


# --- the complete note really is complete -------------------------------------------------------


def test_reference_note_is_complete_and_incomplete_one_is_not(notes: Path) -> None:
    results = list(batch.check_paths([notes], jobs=1))
    assert [r.note_id for r in results] == ["a_complete", "b_incomplete"]
    complete, incomplete = results
    assert isinstance(complete, Extraction) and isinstance(incomplete, Extraction)
    assert complete.missing == []
    assert complete.elements.procedure_type.value == "kyphoplasty"
    assert complete.elements.levels.value == ["L1"]
    assert incomplete.missing


# --- formats ----------------------------------------------------------------------------------


def test_jsonl_is_default_off_a_terminal_one_object_per_note_and_error(notes: Path) -> None:
    write(notes / "c_empty.txt", "")
    code, out, err = run_check(str(notes), "--jobs", "1")
    rows = jsonl(out)
    assert [r["note_id"] for r in rows] == ["a_complete", "b_incomplete", "c_empty"]
    assert rows[0]["missing"] == [] and "elements" in rows[0] and "mentions" not in rows[0]
    assert set(rows[2]) == {"note_id", "source", "error"}
    assert rows[2]["error"].endswith("empty file")
    assert err == f"scribe check: {rows[2]['error']}\n"
    assert code == 2


def test_csv_worklist(notes: Path) -> None:
    write(notes / "c_binary.txt", b"\x00\x01\x02\x03" * 100)
    code, out, _ = run_check(str(notes), "--format", "csv", "--jobs", "1")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == CSV_FIELDS
    assert [r["note_id"] for r in rows] == ["a_complete", "b_incomplete", "c_binary"]
    a, b, c = rows
    assert a["procedure_type"] == "kyphoplasty" and a["levels"] == "L1" and a["guidance"] == "fluoroscopy"
    assert a["conservative_weeks"] == "8" and a["indication"] == "osteoporosis"
    assert a["biopsy_performed"] == "no" and a["missing"] == "" and a["error"] == ""
    assert b["missing"] and b["error"] == ""
    assert "binary file" in c["error"] and c["procedure_type"] == ""
    assert code == 2


def test_csv_cells_cannot_become_spreadsheet_formulas(tmp_path: Path) -> None:
    write(tmp_path / "=HYPERLINK(1).txt", "")
    _, out, _ = run_check(str(tmp_path / "=HYPERLINK(1).txt"), "--format", "csv", "--jobs", "1")
    row = next(csv.DictReader(io.StringIO(out)))
    assert row["note_id"].startswith("'=")


def test_table_to_file_has_rows_and_summary(notes: Path, tmp_path: Path) -> None:
    write(notes / "c_empty.txt", " \n")
    out_file = tmp_path / "out" / "worklist.txt"
    code, out, err = run_check(str(notes), "--format", "table", "--output", str(out_file), "--jobs", "1")
    assert out == ""
    text = out_file.read_text()
    for word in ("scribe check", "a_complete", "b_incomplete", "c_empty", "unreadable", "kyphoplasty"):
        assert word in text
    assert "3 notes: 2 read, 1 complete, 1 needing prompts, 1 unreadable in" in text
    assert err.count("\n") == 1 and code == 2


def test_table_to_stdout(notes: Path) -> None:
    code, out, _ = run_check(str(notes / "a_complete.txt"), "--format", "table", "--jobs", "1")
    assert "a_complete" in out and "1 note: 1 read, 1 complete, 0 needing prompts, 0 unreadable" in out
    assert code == 0


def test_table_shows_cpt_and_worst_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scribe.models import CodeLine

    def fake(extraction: Extraction, payer: str = "medicare") -> Extraction:
        return extraction.model_copy(update={
            "codes": [CodeLine(code="22513", units=1), CodeLine(code="20225", units=1, modifiers=["XS"])],
            "flags": [Flag(id="minor", severity="info"), Flag(id="stop_here", severity="hard-stop"),
                      Flag(id="careful", severity="warning")],
        })

    monkeypatch.setattr(scribe.api, "apply_coding", fake)
    write(tmp_path / "n.txt", COMPLETE)
    _, out, _ = run_check(str(tmp_path), "--format", "csv", "--jobs", "1")
    row = next(csv.DictReader(io.StringIO(out)))
    assert row["cpt"] == "22513 x1; 20225 x1 -XS" and row["worst_flag"] == "hard-stop: stop_here"
    out_file = tmp_path / "t.txt"
    run_check(str(tmp_path / "n.txt"), "--format", "table", "-o", str(out_file), "--jobs", "1")
    text = out_file.read_text()
    assert "20225 x1 -XS" in text and "stop_here" in text


# --- exit codes and --fail-on -------------------------------------------------------------------


@pytest.mark.usefixtures("no_coding_flags")
@pytest.mark.parametrize(
    ("files", "fail_on", "expected"),
    [
        (["complete"], "missing", 0),
        (["complete"], "flags", 0),
        (["complete", "incomplete"], "missing", 1),
        (["complete", "incomplete"], "flags", 1),
        (["complete", "incomplete"], "never", 0),
        (["complete", "flagged"], "missing", 0),
        (["complete", "flagged"], "flags", 1),
        (["complete", "flagged"], "never", 0),
        (["complete", "incomplete", "empty"], "missing", 2),
        (["complete", "incomplete", "empty"], "never", 2),
        (["complete", "empty"], "flags", 2),
    ],
)
def test_exit_codes(tmp_path: Path, files: list[str], fail_on: str, expected: int) -> None:
    content = {"complete": COMPLETE, "incomplete": INCOMPLETE, "flagged": COMPLETE, "empty": ""}
    for name in files:
        write(tmp_path / f"{name}.txt", content[name])
    code, out, _ = run_check(str(tmp_path), "--fail-on", fail_on, "--jobs", "1")
    assert code == expected
    assert len(jsonl(out)) == len(files)


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "xml"],
        ["--fail-on", "sometimes"],
        ["--payer", "acme"],
        ["--jobs", "0"],
        ["--jobs", "-3"],
        ["--jobs", "two"],
        ["--max-bytes", "0"],
        ["--no-such-option"],
    ],
)
def test_bad_usage_exits_64(notes: Path, args: list[str]) -> None:
    code, out, _ = run_check(str(notes), *args)
    assert code == 64 and out == ""


def test_no_inputs_exit_64(tmp_path: Path) -> None:
    assert run_check()[0] == 64
    (tmp_path / "empty_dir").mkdir()
    write(tmp_path / "empty_dir" / "readme.pdf", "not a note suffix")
    code, _, err = run_check(str(tmp_path / "empty_dir"))
    assert code == 64 and "no notes found" in err


def test_valid_payers_are_accepted(notes: Path) -> None:
    payers = known_payers()
    assert "medicare" in payers
    for payer in payers:
        assert run_check(str(notes / "a_complete.txt"), "--payer", payer, "--jobs", "1")[0] == 0


def test_help_documents_exit_codes() -> None:
    out = runner.invoke(app, ["check", "--help"], env={"COLUMNS": "120"}).stdout
    for text in ("Exit codes", "64", "--fail-on", "--jobs", "--max-bytes", "--output", "--recursive"):
        assert text in out


def test_recursive(notes: Path) -> None:
    sub = notes / "sub"
    sub.mkdir()
    write(sub / "deep.txt", COMPLETE)
    flat = [r["note_id"] for r in jsonl(run_check(str(notes), "--jobs", "1")[1])]
    deep = [r["note_id"] for r in jsonl(run_check(str(notes), "-r", "--jobs", "1")[1])]
    assert "deep" not in flat and "deep" in deep


# --- hostile files ----------------------------------------------------------------------------


def test_encodings_and_line_endings_read_the_same(tmp_path: Path) -> None:
    write(tmp_path / "a_lf.txt", COMPLETE.encode())
    write(tmp_path / "b_crlf.txt", COMPLETE.replace("\n", "\r\n").encode())
    write(tmp_path / "c_bom.txt", b"\xef\xbb\xbf" + COMPLETE.encode())
    smart = COMPLETE.replace("Painful", "\u201cPainful\u201d patient\u2019s")
    write(tmp_path / "d_cp1252.txt", smart.encode("cp1252"))
    results = list(batch.check_paths([tmp_path], jobs=1))
    assert all(isinstance(r, Extraction) for r in results)
    values = [{k: r.elements.get(k).value for k in ("procedure_type", "levels", "guidance")} for r in results]
    assert all(v == values[0] for v in values)
    assert all(r.missing == [] for r in results)  # type: ignore[union-attr]


def test_bad_files_one_line_errors_without_note_text(tmp_path: Path) -> None:
    write(tmp_path / "a_empty.txt", "")
    write(tmp_path / "b_blank.txt", "   \r\n\t\n")
    write(tmp_path / "c_binary.txt", SECRET.encode() + b"\x00\xff\xfe" * 2000)
    write(tmp_path / "d_huge.txt", (SECRET + " kyphoplasty L1\n") * (10 * 1024 * 1024 // 30))
    assert (tmp_path / "d_huge.txt").stat().st_size >= 10_000_000
    (tmp_path / "e_dir.txt").mkdir()  # a folder that looks like a note: not listed from its parent...
    results = list(batch.check_paths([tmp_path], jobs=1))
    assert len(results) == 4
    results += list(batch.check_paths([tmp_path / "e_dir.txt"], jobs=1, expand=False))  # ...an error if given
    assert all(isinstance(r, ReadError) for r in results)
    errors = {r.note_id: r.error for r in results}  # type: ignore[union-attr]
    assert errors["a_empty"].endswith("empty file") and errors["b_blank"].endswith("empty file")
    assert "binary file" in errors["c_binary"]
    assert "file too large" in errors["d_huge"] and "limit 1000000" in errors["d_huge"]
    assert errors["e_dir"].endswith("is a directory")
    for r in results:
        assert r.error.startswith(r.source + ": ")  # type: ignore[union-attr]
        assert "\n" not in r.error and SECRET not in r.error  # type: ignore[union-attr]


def test_max_bytes_option(tmp_path: Path) -> None:
    write(tmp_path / "n.txt", COMPLETE)
    code, out, err = run_check(str(tmp_path), "--max-bytes", "100", "--jobs", "1")
    assert code == 2 and "file too large" in jsonl(out)[0]["error"] and "limit 100" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_permissions(tmp_path: Path) -> None:
    p = write(tmp_path / "locked.txt", SECRET)
    p.chmod(0)
    try:
        code, _, err = run_check(str(tmp_path), "--jobs", "1")
    finally:
        p.chmod(0o600)
    assert code == 2 and "permission denied" in err and SECRET not in err


def test_permission_denied_while_opening(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same path as above, forced even when the tests run as root."""
    write(tmp_path / "locked.txt", SECRET)
    write(tmp_path / "ok.txt", COMPLETE)

    def deny(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(scribe.notes, "open", deny, raising=False)
    results = list(batch.check_paths([tmp_path], jobs=1))
    assert [type(r) for r in results] == [ReadError, ReadError]
    assert all(r.error.endswith("permission denied") for r in results)  # type: ignore[union-attr]


@pytest.mark.parametrize("jobs", [1, 2])
def test_file_deleted_mid_run(tmp_path: Path, jobs: int) -> None:
    paths = [write(tmp_path / f"n{i}.txt", COMPLETE) for i in range(4)]

    def listing() -> Iterator[Path]:
        for i, p in enumerate(paths):
            if i == 2:
                p.unlink()  # listed, then gone before it is read
            yield p

    results = list(batch.check_paths(listing(), jobs=jobs, expand=False))
    assert [r.note_id for r in results] == ["n0", "n1", "n2", "n3"]
    assert isinstance(results[2], ReadError) and "file not found" in results[2].error
    assert results[2].error.startswith(str(paths[2]))
    assert all(isinstance(r, Extraction) for i, r in enumerate(results) if i != 2)


def test_missing_file_named_on_command_line(tmp_path: Path) -> None:
    code, _, err = run_check(str(tmp_path / "nope.txt"), "--jobs", "1")
    assert code == 2 and err.strip().endswith("nope.txt: file not found")


@pytest.mark.parametrize("jobs", [1, pytest.param(2, marks=pytest.mark.skipif(not HAS_FORK, reason="fork"))])
def test_unexpected_exception_is_one_note_error_naming_the_class_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    real = scribe.api.extract

    def explode(text: str, *args: object, **kwargs: object) -> Extraction:
        if "EXPLODE" in text:
            raise ValueError(f"bad token {SECRET} in note")
        return real(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scribe.api, "extract", explode)
    write(tmp_path / "a.txt", COMPLETE)
    write(tmp_path / "b.txt", f"EXPLODE {SECRET}")
    write(tmp_path / "c.txt", COMPLETE)
    results = list(batch.check_paths([tmp_path], jobs=jobs))
    assert [type(r) for r in results] == [Extraction, ReadError, Extraction]
    assert results[1].error == f"{tmp_path / 'b.txt'}: internal error (ValueError)"  # type: ignore[union-attr]


def test_no_note_text_in_stderr(tmp_path: Path) -> None:
    write(tmp_path / "a_empty.txt", "")
    write(tmp_path / "b_binary.txt", SECRET.encode() + b"\x00" * 50)
    write(tmp_path / "c_big.txt", (SECRET + "\n") * 200_000)
    write(tmp_path / "d_ok.txt", COMPLETE + SECRET)
    for fmt in ("jsonl", "csv", "table"):
        code, _, err = run_check(str(tmp_path), "--format", fmt, "--jobs", "1")
        assert code == 2
        assert SECRET not in err
        assert [line.startswith("scribe check: ") for line in err.splitlines()] == [True] * 3


# --- output file ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table"])
def test_output_file_is_owner_only_and_atomic(notes: Path, tmp_path: Path, fmt: str) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "worklist"
    target.write_text("old contents")
    target.chmod(0o644)
    code, out, _ = run_check(str(notes), "--format", fmt, "--output", str(target), "--jobs", "1")
    assert code == 1 and out == ""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(out_dir) == ["worklist"]  # no temp file left beside it
    text = target.read_text()
    assert "old contents" not in text and "a_complete" in text and "b_incomplete" in text


def test_output_that_cannot_be_written_exits_2(notes: Path, tmp_path: Path) -> None:
    blocker = write(tmp_path / "not_a_folder", "x")
    code, out, err = run_check(str(notes), "--jobs", "1", "--output", str(blocker / "w.jsonl"))
    assert code == 2 and out == "" and err.startswith(f"scribe check: {blocker / 'w.jsonl'}: cannot write")


def test_output_jsonl_matches_stdout(notes: Path, tmp_path: Path) -> None:
    target = tmp_path / "x.jsonl"
    _, out, _ = run_check(str(notes), "--jobs", "1")
    run_check(str(notes), "--jobs", "1", "-o", str(target))
    assert target.read_text() == out


# --- batch logic ------------------------------------------------------------------------------


def test_worst_flag_and_summary() -> None:
    ex = Extraction(note_id="x", flags=[Flag(id="i", severity="info"), Flag(id="w1", severity="warning"),
                                        Flag(id="w2", severity="warning")])
    assert batch.worst_flag(ex).id == "w1"  # type: ignore[union-attr]
    assert batch.worst_flag(Extraction(note_id="y")) is None
    ex2 = ex.model_copy(update={"flags": [*ex.flags, Flag(id="h", severity="hard-stop")]})
    assert batch.worst_flag(ex2).id == "h"  # type: ignore[union-attr]

    results: list[batch.BatchResult] = [
        Extraction(note_id="complete"),
        Extraction(note_id="missing", missing=["levels"]),
        ex,
        ReadError(note_id="bad", source="bad.txt", error="bad.txt: empty file"),
    ]
    s = batch.summarise(results, "flags")
    assert (s.read, s.complete, s.needing_prompts, s.unreadable, s.total) == (3, 2, 1, 1, 4)
    assert s.attention == 2 and s.exit_code() == 2 and s.seconds >= 0
    assert batch.summarise(results[:3], "flags").exit_code() == 1
    assert batch.summarise(results[:3], "never").exit_code() == 0
    assert batch.summarise([results[0], results[2]], "missing").exit_code() == 0


def test_defaults_and_bad_arguments() -> None:
    assert batch.default_jobs() == (os.cpu_count() or 1)
    with pytest.raises(ValueError):
        list(batch.check_paths([], jobs=0))
    assert list(batch.check_paths([], jobs=2)) == []


def test_parallel_submission_is_bounded(tmp_path: Path) -> None:
    p = write(tmp_path / "n.txt", "Kyphoplasty L1.")
    consumed = 0

    def many() -> Iterator[Path]:
        nonlocal consumed
        for _ in range(5_000):
            consumed += 1
            yield p

    results = batch.check_paths(many(), jobs=2, expand=False, chunksize=8)
    assert next(results).note_id == "n"
    assert consumed <= (2 * batch.WINDOW_PER_JOB + 1) * 8
    results.close()  # type: ignore[attr-defined]


def test_three_thousand_files_parallel_count_and_order(tmp_path: Path) -> None:
    names = []
    for i in range(3_000):
        name = f"n{i:05d}"
        level = f"{'TL'[i % 2]}{i % 5 + 1}"
        write(tmp_path / f"{name}.txt", f"Vertebroplasty {level} under fluoroscopy. Note {i}.\n")
        names.append(name)
    write(tmp_path / "n01500.txt", "")  # one bad note in the middle changes nothing else
    results = list(batch.check_paths([tmp_path], jobs=2))
    assert [r.note_id for r in results] == names
    assert isinstance(results[1500], ReadError)
    assert sum(isinstance(r, Extraction) for r in results) == 2_999
    first = results[0]
    assert isinstance(first, Extraction) and first.elements.levels.value == ["T1"]


# --- the real command line --------------------------------------------------------------------


def test_cli_subprocess_jobs_2(notes: Path, tmp_path: Path) -> None:
    write(notes / "c_binary.txt", SECRET.encode() + b"\x00" * 100)
    write(notes / "d_cp1252.txt", ("Patient\u2019s " + COMPLETE).encode("cp1252"))
    out_file = tmp_path / "w.csv"
    cmd = [sys.executable, "-m", "scribe.cli", "check", str(notes), "--jobs", "2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    rows = jsonl(proc.stdout)
    assert [r["note_id"] for r in rows] == ["a_complete", "b_incomplete", "c_binary", "d_cp1252"]
    assert rows[3]["missing"] == []
    assert proc.stderr.splitlines() == [f"scribe check: {rows[2]['error']}"]
    assert rows[2]["error"].startswith(f"{notes / 'c_binary.txt'}: binary file")
    assert SECRET not in proc.stderr
    proc = subprocess.run([*cmd, "--format", "csv", "--output", str(out_file), "--fail-on", "never"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    assert len(list(csv.DictReader(out_file.open()))) == 4
    proc = subprocess.run([sys.executable, "-m", "scribe.cli", "check", str(notes / "a_complete.txt")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and proc.stderr == ""  # no progress bar off a terminal


# --- fuzz ---------------------------------------------------------------------------------------


def _hostile(rng: random.Random, i: int) -> bytes:
    words = ["kyphoplasty", "vertebroplasty", "sacroplasty", "balloon", "cement", "biopsy", "fluoroscopy",
             "CT", "weeks", "months", "bracing", "no", "not", "denies", "history of", "L", "T", "S", "tee",
             "twelve", "sorry", "DOS", "Date of Service:", "PROCEDURE:", "\u200b", "\ufeff", "\u202e"]
    kind = i % 10
    if kind == 0:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 400)))
    if kind == 1:
        return "".join(chr(rng.randint(1, 0x2FFFF)) for _ in range(rng.randint(1, 300))).encode("utf-8", "replace")
    if kind == 2:
        return " ".join(str(rng.randint(0, 10**30)) + rng.choice(["", " weeks", " days", "%", "e308", ".5"])
                        for _ in range(rng.randint(1, 40))).encode()
    if kind == 3:
        levels = [f"{rng.choice('CTLSX')}{rng.randint(-5, 999)}-{rng.choice('CTLSX')}{rng.randint(0, 99)}"
                  for _ in range(rng.randint(1, 40))]
        return ("Kyphoplasty at " + ", ".join(levels) + " T99-L0 L5-T1 S9 C0").encode()
    if kind == 4:
        depth = rng.randint(1, 3000)
        return ("(" * depth + "[{<" * (depth // 3) + "vertebroplasty L1" + ">}]" * (depth // 3) + ")" * depth).encode()
    if kind == 5:  # a NUL early (rejected as binary) or past the sniffed head (read as text)
        head = b" \n" * rng.choice([0, 4200])
        return head + b"Kyphoplasty L1\x00" + bytes(rng.getrandbits(8) for _ in range(50))
    if kind == 6:
        return " ".join(rng.choice(words) for _ in range(rng.randint(1, 300))).encode()
    if kind == 7:
        return (("\r\n" * rng.randint(0, 50) + rng.choice(words)) * rng.randint(1, 50)).encode("cp1252", "replace")
    if kind == 8:
        return (":" * rng.randint(1, 500) + "\n" * rng.randint(1, 500) + "PROCEDURE:" * rng.randint(1, 200)).encode()
    return ("L1 " * rng.randint(1, 2000) + "for " + str(rng.randint(0, 10**9)) + " weeks").encode()


def test_fuzz_ten_thousand_hostile_notes(tmp_path: Path) -> None:
    """No crash, every note accounted for in order, every error one line and text-free.

    A pipeline exception on one note is contained as that note's ``internal error (Class)``; those are
    bugs outside the batch (one found this way is pinned below) and are reported as a warning, not a failure here.
    """
    rng = random.Random(20250311)
    n = 10_000
    for i in range(n):
        (tmp_path / f"f{i:05d}.txt").write_bytes(_hostile(rng, i))
    results = list(batch.check_paths([tmp_path], jobs=2))  # its speed: benchmarks/hostile_batch.py
    assert [r.note_id for r in results] == [f"f{i:05d}" for i in range(n)]
    assert all(isinstance(r, Extraction | ReadError) for r in results)
    errors = [r for r in results if isinstance(r, ReadError)]
    for err in errors:
        assert "\n" not in err.error and err.error.startswith(err.source + ": ")
    internal = [e.error.rsplit("(", 1)[-1].rstrip(")") for e in errors if "internal error" in e.error]
    assert all(re.fullmatch(r"[A-Za-z_]\w*", cls) for cls in internal)  # the class name, nothing else
    if internal:
        warnings.warn(f"{len(internal)} fuzz notes raised inside the pipeline: {sorted(set(internal))}", stacklevel=1)
    assert sum(isinstance(r, Extraction) for r in results) > n // 2  # most hostile notes are still read


def test_superscript_digit_after_a_level_letter() -> None:
    """Found by the fuzz test: a non-ASCII digit ('³'.isdigit() is True) after a spoken level letter."""
    scribe.api.extract("kyphoplasty tee \u00b3 and el \u00b2")


# --- workers that die, rendering in the worker ---------------------------------------------------


@pytest.mark.skipif(not HAS_FORK, reason="the patched extract reaches the workers through fork")
def test_a_worker_that_dies_loses_only_its_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = scribe.api.extract

    def die(text: str, *args: object, **kwargs: object) -> Extraction:
        if "CRASH" in text:
            os._exit(3)  # as a segfault or the OOM killer would
        return real(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scribe.api, "extract", die)
    for i in range(40):
        write(tmp_path / f"n{i:02d}.txt", f"CRASH {SECRET}" if i in (5, 31) else f"Vertebroplasty L{i % 5 + 1}.")
    results = list(batch.check_paths([tmp_path], jobs=2, chunksize=4))
    assert [r.note_id for r in results] == [f"n{i:02d}" for i in range(40)]
    failed = {r.note_id: r.error for r in results if isinstance(r, ReadError)}
    assert set(failed) == {"n05", "n31"}
    assert failed["n05"] == f"{tmp_path / 'n05.txt'}: worker failed (BrokenProcessPool)"
    rendered = list(batch.check_paths_rendered([tmp_path], _note_and_procedure, jobs=2, chunksize=4))
    assert [s.error is not None for s, _ in rendered] == [i in (5, 31) for i in range(40)]


def _note_and_procedure(result: batch.BatchResult) -> str:
    if isinstance(result, ReadError):
        return f"{result.note_id}:error"
    return f"{result.note_id}:{result.elements.procedure_type.value}"


@pytest.mark.parametrize("jobs", [1, 2])
def test_rendered_results_match_models(notes: Path, jobs: int) -> None:
    write(notes / "c_empty.txt", "")
    models = list(batch.check_paths([notes], jobs=jobs))
    rendered = list(batch.check_paths_rendered([notes], _note_and_procedure, jobs=jobs))
    assert [text for _, text in rendered] == [_note_and_procedure(r) for r in models]
    assert [s for s, _ in rendered] == [batch.NoteStatus.of(r) for r in models]
    counts = batch.summarise([s for s, _ in rendered]).model_dump(exclude={"seconds"})
    assert counts == batch.summarise(models).model_dump(exclude={"seconds"})


@pytest.mark.skipif(os.name != "posix", reason="process groups and SIGINT")
def test_ctrl_c_stops_promptly_and_leaves_no_workers(tmp_path: Path) -> None:
    import signal

    for i in range(2_000):
        write(tmp_path / f"n{i:05d}.txt", COMPLETE)
    proc = subprocess.Popen(
        [sys.executable, "-m", "scribe.cli", "check", str(tmp_path), "--jobs", "2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    assert proc.stdout is not None
    for _ in range(5):  # into the batch; reading no further soon fills the pipe, so it cannot finish first
        assert proc.stdout.readline()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    try:
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    deadline = time.monotonic() + 30  # a guard against workers left running, not a speed figure
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break  # no worker left behind
        time.sleep(0.1)
    else:
        pytest.fail("worker processes still running after Ctrl-C")


# --- answers saved by `scribe review` ---------------------------------------------------------


def test_check_with_answers_takes_answered_notes_off_the_worklist(tmp_path: Path) -> None:
    from scribe.identity import identity_of
    from scribe.models import Answer
    from scribe.notes import read_note
    from scribe.store import ReviewStore, default_store_path

    note = tmp_path / "kp.txt"
    note.write_text("PROCEDURE: Kyphoplasty L1. Balloon tamp inflated, cement injected.\n"
                    "INDICATION: osteoporotic compression fracture; 8 weeks of bracing failed.\n")
    before = next(iter(batch.check_paths([note], jobs=1)))
    assert isinstance(before, Extraction) and before.missing == ["guidance"]
    with ReviewStore(default_store_path(note)) as store:  # saved for this very note (its identity)
        store.save("kp", [Answer(element="guidance", value=["fluoroscopy"], user="dr")],
                   identity=identity_of(read_note(note)))
    after = next(iter(batch.check_paths([note], jobs=1, answers="auto")))
    assert isinstance(after, Extraction) and after.missing == []
    assert after.elements.guidance.status == "answered"
    assert [c.code for c in after.codes] == ["22514"]
    parallel = list(batch.check_paths([note, note], jobs=2, answers="auto"))
    assert all(isinstance(r, Extraction) and r.missing == [] for r in parallel)
    # without the option the note is judged on its text alone
    assert next(iter(batch.check_paths([note], jobs=1))).missing == ["guidance"]  # type: ignore[union-attr]
    # a store that cannot be read is a one-line error naming the note, not a crash
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"not a database" * 100)
    err = next(iter(batch.check_paths([note], jobs=1, answers=str(bad))))
    assert isinstance(err, ReadError) and str(note) in err.error and "saved answers" in err.error


def test_check_cli_with_answers(tmp_path: Path) -> None:
    from scribe.identity import identity_of
    from scribe.models import Answer
    from scribe.notes import read_note
    from scribe.store import ReviewStore, default_store_path

    note = tmp_path / "kp.txt"
    note.write_text("PROCEDURE: Kyphoplasty L1. Balloon tamp inflated, cement injected.\n"
                    "INDICATION: osteoporotic compression fracture; 8 weeks of bracing failed.\n")
    with ReviewStore(default_store_path(note)) as store:  # saved for this very note (its identity)
        store.save("kp", [Answer(element="guidance", value=["fluoroscopy"], user="dr")],
                   identity=identity_of(read_note(note)))
    cmd = [sys.executable, "-m", "scribe.cli", "check", str(tmp_path), "--format", "csv", "--jobs", "1"]
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 1
    proc = subprocess.run([*cmd, "--with-answers"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
