"""The clinician -> scribe -> coder hand-off: note identity, stale answers, the one answer parser,
answers files, provenance and the exit codes of every command (issue 16)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scribe.answers import AnswerFileError, load_answers_file, parse_rows
from scribe.cli import app
from scribe.identity import find_source_id, identity_of
from scribe.models import Answer
from scribe.notes import read_note
from scribe.prompts import AnswerError, parse_answer
from scribe.store import ReviewStore

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)

# two patients, two notes, the same file name in two folders; neither documents the treated level
PATIENT_A = (
    "Patient: Jane Doe  MRN: 000111\nDate of Service: 03/11/2026\n"
    "PROCEDURE: Kyphoplasty under fluoroscopic guidance. Balloon tamp inflated creating a cavity, PMMA injected.\n"
    "HISTORY: Pain despite 8 weeks of bracing and analgesics.\nIndication: osteoporotic compression fracture.\n"
)
PATIENT_B = (
    "Patient: John Doe  MRN: 000222\nDate of Service: 03/11/2026\n"
    "PROCEDURE: Kyphoplasty under fluoroscopic guidance. Balloon tamp inflated creating a cavity, PMMA injected.\n"
    "HISTORY: Pain despite 10 weeks of physical therapy.\nIndication: osteoporotic compression fracture.\n"
)


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def save(store: Path, note: Path, answers: list[Answer]) -> None:
    read = read_note(note)
    with ReviewStore(store) as st:
        st.save(read.note_id, answers, identity=identity_of(read))


@pytest.fixture
def two_n1(tmp_path: Path) -> tuple[Path, Path, Path]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = tmp_path / "a" / "n1.txt", tmp_path / "b" / "n1.txt"
    a.write_text(PATIENT_A)
    b.write_text(PATIENT_B)
    return a, b, tmp_path / "shared.sqlite3"


# ------------------------------------------------------------------ one identity for a note
def test_identity_is_text_hash_and_source_id_never_the_file_stem(two_n1: tuple[Path, Path, Path]) -> None:
    a, b, _ = two_n1
    ia, ib = identity_of(read_note(a)), identity_of(read_note(b))
    assert ia.note_id == ib.note_id == "n1"  # the same stem...
    assert ia.key != ib.key and ia.sha256 != ib.sha256 and ia.source_id != ib.source_id  # ...two notes
    assert ia.source_id.startswith("mrn+dos:") and "000111" not in ia.source_id  # the MRN itself is not kept
    assert find_source_id("no record number here\nDate of Service: 03/11/2026") == ""
    crlf = a.parent / "crlf.txt"
    crlf.write_bytes(PATIENT_A.replace("\n", "\r\n").encode())
    assert identity_of(read_note(crlf)).sha256 == ia.sha256  # identity is of the decoded text


def test_two_notes_named_n1_never_share_answers(two_n1: tuple[Path, Path, Path]) -> None:
    a, b, store = two_n1
    save(store, a, [Answer(element="levels", value=["T8"], user="drsmith", at=AT)])
    # patient B's note: the answer given on patient A's note is not applied, codes stay withheld
    code, out, _ = cli("check", str(b), "--store", str(store), "--format", "jsonl")
    got = json.loads(out)
    assert code == 1 and got["missing"] == ["levels"] and got["codes"] == []
    assert got["elements"]["levels"]["value"] in (None, [])
    code, out, _ = cli("codes", str(b), "--store", str(store), "--format", "json")
    got = json.loads(out)
    assert code == 1 and got["codes"] == [] and "drsmith" not in out and "levels" in got["missing"]
    # patient A's note gets it
    code, out, _ = cli("check", str(a), "--store", str(store), "--format", "jsonl")
    got = json.loads(out)
    assert got["missing"] == [] and [c["code"] for c in got["codes"]] == ["22513"]
    assert got["provenance"]["levels"]["source"] == "answer" and got["provenance"]["levels"]["user"] == "drsmith"


def test_an_answer_to_an_earlier_text_is_stale_not_applied_and_reported(two_n1: tuple[Path, Path, Path]) -> None:
    a, _, store = two_n1
    save(store, a, [Answer(element="levels", value=["T8"], user="drsmith", at=AT)])
    a.write_text(PATIENT_A.replace("8 weeks", "9 weeks"))  # the note was edited after the answer
    code, out, err = cli("check", str(a), "--store", str(store), "--format", "csv")
    assert code == 1
    assert "1 saved answer was given for an earlier version of this note (levels)" in err
    assert str(a) in err and "Jane" not in err
    row = out.splitlines()[1]
    assert ",levels," in row and "22513" not in row and "stale_answers" in row
    code, out, err = cli("codes", str(a), "--store", str(store), "--format", "json")
    got = json.loads(out)
    assert code == 1 and "earlier version" in err and got["codes"] == [] and got["flags"][0]["id"] == "stale_answers"


def test_answers_saved_before_source_ids_still_apply_to_the_same_text(two_n1: tuple[Path, Path, Path]) -> None:
    a, b, store = two_n1
    with ReviewStore(store) as st:  # an older row: the note's hash only, no source id or path
        st.save("n1", [Answer(element="levels", value=["L1"], user="drsmith", at=AT)],
                note_sha256=identity_of(read_note(a)).sha256)
        assert [x.value for x in st.lookup(identity_of(read_note(a))).current] == [["L1"]]
        assert st.lookup(identity_of(read_note(b))).current == []


# ------------------------------------------------------------------ the one answer parser
@pytest.mark.parametrize(("element", "raw", "value"), [
    ("guidance", "ct", ["ct"]),
    ("guidance", "fluoroscopic", ["fluoroscopy"]),
    ("guidance", "c-arm", ["fluoroscopy"]),
    ("guidance", "CT and fluoro", ["ct", "fluoroscopy"]),
    ("levels", "lumbar two", ["L2"]),
    ("levels", "tee twelve through lumbar one", ["T12", "L1"]),
    ("levels", "T13", ["T13"]),
    ("conservative_therapy", "six weeks", {"weeks": 6.0, "modalities": []}),
    ("conservative_therapy", "three months of bracing", {"weeks": 13.0, "modalities": ["bracing"]}),
    ("procedure_type", "kypho plasty", "kyphoplasty"),
    ("cavity_creation", "balloon", True),
    ("laterality", "left and right", "bilateral"),
])
def test_answers_accept_what_a_note_may_say(element: str, raw: str, value: object) -> None:
    assert parse_answer(element, raw) == value


def test_a_transitional_level_answer_raises_the_transitional_flag(tmp_path: Path) -> None:
    note = tmp_path / "t.txt"
    note.write_text(PATIENT_A)
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps([{"element": "levels", "value": "T13"}]))
    _, out, _ = cli("codes", str(note), "--answers", str(answers), "--format", "json")
    got = json.loads(out)
    assert got["elements"]["levels"]["value"] == ["T13"]
    assert "transitional_anatomy" in {f["id"] for f in got["flags"]}


@pytest.mark.parametrize(("rows", "problem"), [
    ({"element": "levels", "value": "L2"}, None),  # one object is one answer
    ("levels: L2", "must be a JSON list of objects"),
    ([{"element": "levels", "value": ["L2", "L9"]}], "unknown level 'L9'"),
    ([{"element": "levles", "value": "L2"}], "unknown element 'levles'; did you mean 'levels'?"),
    ([{"element": "levels"}], "no \"value\""),
    ([{"element": "levels", "value": "L2", "who": "x"}], "unknown key(s) who"),
    ([["levels", "L2"]], "expected an object"),
    ([{"element": "guidance", "value": 7}], "choose one of"),
    ([{"element": "levels", "value": [2]}], "levels are text like"),
    ([{"element": "conservative_therapy", "value": {"weeks": "x"}}], "valid number"),
    ([{"element": "levels", "value": "L2", "at": "yesterday"}], "at:"),
])
def test_answer_rows_are_validated_one_line_per_problem(rows: object, problem: str | None) -> None:
    if problem is None:
        assert parse_rows(rows)[0].value == ["L2"]
        return
    with pytest.raises(AnswerFileError) as info:
        parse_rows(rows, "ans.json")
    assert any(problem in p for p in info.value.problems), info.value.problems
    assert all("\n" not in p and p.startswith("ans.json") for p in info.value.problems)


def test_every_problem_of_a_file_is_reported_and_nothing_is_billed(tmp_path: Path) -> None:
    note = tmp_path / "n.txt"
    note.write_text(PATIENT_A)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"element": "levels", "value": ["L2", "L9"]}, {"element": "levles", "value": "L2"}]))
    code, out, err = cli("codes", str(note), "--answers", str(bad))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "answer 1 (levels)" in lines[0] and "answer 2" in lines[1]
    assert "Traceback" not in err
    for text, problem in (('"L2"', "must be a JSON list"), ("[{", "invalid JSON at line 1"), ("", "empty"),
                          ("\xff\xfe", "not UTF-8")):
        bad.write_bytes(text.encode("latin-1"))
        code, _, err = cli("codes", str(note), "--answers", str(bad))
        assert code == 2 and problem in err and len(err.strip().splitlines()) == 1, (text, err)
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"element": "levels", "value": "lumbar two"}\n{"element": "guidance", "value": "c-arm"}\n')
    assert [a.value for a in load_answers_file(jsonl)] == [["L2"], ["fluoroscopy"]]


def test_the_review_app_and_answer_files_share_the_parser() -> None:
    from scribe.tui.screens import prompt

    assert prompt.parse_answer is parse_answer
    with pytest.raises(AnswerError):
        parse_answer("levels", "L9")


# ------------------------------------------------------------------ codes and audit see the answers
def test_codes_with_answers_shows_provenance_and_exit_codes(tmp_path: Path) -> None:
    note = tmp_path / "n1.txt"
    note.write_text(PATIENT_A)
    code, out, _ = cli("codes", str(note))
    assert code == 1 and "Which vertebral levels" in out  # the open question
    save(tmp_path / ".scribe" / "reviews.sqlite3", note, [Answer(element="levels", value=["L1"], user="drsmith",
                                                                 at=AT)])
    code, out, _ = cli("codes", str(note), "--with-answers")
    assert code == 0, out
    assert "22514" in out and "Questions for the clinician" not in out
    assert "answer by drsmith, 2026-03-12T09:00:00+00:00" in out
    assert "note: “fluoroscopic guidance”" in out


def test_codes_exits_1_on_an_open_abn_question(tmp_path: Path) -> None:
    note = tmp_path / "h.txt"
    note.write_text("PROCEDURE: Vertebroplasty T8 under fluoroscopic guidance. PMMA injected.\n"
                    "HISTORY: Pain despite 8 weeks of bracing and analgesics.\n"
                    "Indication: aggressive vertebral hemangioma.\n")
    code, out, _ = cli("codes", str(note), "--format", "json")
    got = json.loads(out)
    assert got["missing"] == [] and [p["element"] for p in got["prompts"]] == ["abn_on_file"]
    assert code == 1
    answers = tmp_path / "a.json"
    answers.write_text('[{"element": "abn_on_file", "value": "yes"}]')
    code, out, _ = cli("codes", str(note), "--answers", str(answers), "--format", "json")
    assert code == 0 and json.loads(out)["prompts"] == []


def test_audit_with_answers_has_provenance_in_jsonl_and_html(tmp_path: Path) -> None:
    note = tmp_path / "n1.txt"
    note.write_text(PATIENT_A)
    store = tmp_path / "s.sqlite3"
    save(store, note, [Answer(element="levels", value=["L1"], user="drsmith", at=AT)])
    html = tmp_path / "r.html"
    code, out, _ = cli("audit", str(tmp_path), "--store", str(store), "--format", "jsonl", "--html", str(html))
    assert code == 0
    got = json.loads(out.splitlines()[0])
    assert got["missing"] == [] and [c["code"] for c in got["codes"]] == ["22514"]
    assert got["provenance"]["levels"] == {"source": "answer", "user": "drsmith", "at": "2026-03-12T09:00:00+00:00",
                                           "evidence": []}
    assert got["provenance"]["guidance"]["source"] == "note"
    page = html.read_text()
    assert "answer by drsmith" in page and "provenance" in page.lower()
    code, out, _ = cli("audit", str(tmp_path), "--format", "jsonl")  # without answers: levels still missing
    assert json.loads(out.splitlines()[0])["missing"] == ["levels"]


# ------------------------------------------------------------------ usage errors and exit codes
@pytest.mark.parametrize("args", [
    [],
    ["bogus"],
    ["check", "--bogus"],
    ["codes"],
    ["review", "--theme", "bogus", "{note}"],
    ["review", "--payer", "aetna", "{note}"],
    ["review", "/nonexistent/note.txt"],
    ["review", "{empty}"],
    ["review", "{note}"],  # no terminal under the test runner
    ["extract", "{empty}"],
    ["check", "{empty}"],
    ["codes", "{note}", "--payer", "aetna"],
    ["codes", "{empty}"],
    ["audit", "{note}", "--format", "xml"],
    ["check", "{note}", "--store", "{empty}/missing.sqlite3"],
    ["codes", "{note}", "--store", "{empty}/missing.sqlite3"],
    ["audit", "{note}", "--store", "{empty}/missing.sqlite3"],
])
def test_usage_errors_exit_64_in_one_line_before_any_ui(args: list[str], tmp_path: Path) -> None:
    note = tmp_path / "n.txt"
    note.write_text(PATIENT_A)
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = [a.format(note=note, empty=empty) for a in args]
    proc = subprocess.run([sys.executable, "-m", "scribe.cli", *argv], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120, cwd=ROOT)
    assert proc.returncode == 64, (argv, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "\x1b[?1049h" not in proc.stdout  # no app started
    if args:  # bare `scribe` prints the help
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert proc.stderr.startswith("scribe")


def test_version_and_short_help() -> None:
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith("scribe ")
    code, out, _ = cli("-h")
    assert code == 0 and "Usage" in out
    code, out, _ = cli("check", "-h")
    assert code == 0 and "Exit codes" in out


def test_an_internal_error_is_one_line_without_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import scribe.api

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("note text that must not leak")

    monkeypatch.setattr(scribe.api, "extract_note", boom)
    note = tmp_path / "n.txt"
    note.write_text(PATIENT_A)
    code, out, err = cli("codes", str(note))
    assert code == 70 and err.strip() == "scribe: internal error (RuntimeError)" and "leak" not in out + err


# ------------------------------------------------------------------ coding
VP_BIOPSY = ("Date of Service: 03/11/2026\nPROCEDURE: Vertebroplasty L3 under fluoroscopic guidance, PMMA injected "
             "without a balloon. Separate needle biopsy of L5.\nHISTORY: 6 weeks of bracing failed. Pain 7/10.\n"
             "Indication: {cause} with a pathologic fracture of L3.\n")


@pytest.mark.parametrize("cue", ["suspected", "possible", "probable", "rule out"])
def test_an_uncertain_diagnosis_codes_the_fracture_and_flags_it(cue: str) -> None:
    from scribe.api import extract

    ex = extract(VP_BIOPSY.format(cause=f"{cue} multiple myeloma"), note_id="u")
    # the extractor keeps the stated reason ("suspected") or sets it aside ("rule out": the clinician is asked);
    # either way the coding is the same
    ind = ex.elements.indication
    assert ind.value == "neoplasm" or ("indication" in ex.missing and ind.detail["uncertain"]["value"] == "neoplasm")
    dx = [d.code for d in ex.diagnoses]
    assert "C90.00" not in dx and "M84.58XA" not in dx and dx == ["M48.56XA"]
    flag = next(f for f in ex.flags if f.id == "uncertain_diagnosis")
    assert flag.rule == "IV.H" and cue.split()[0] in flag.message.lower()
    confirmed = extract(VP_BIOPSY.format(cause="known multiple myeloma"), note_id="c")
    assert [d.code for d in confirmed.diagnoses] == ["M84.58XA", "C90.00"]
    assert not any(f.id == "uncertain_diagnosis" for f in confirmed.flags)


def test_a_clinician_answer_confirms_an_uncertain_cause() -> None:
    from scribe.api import extract
    from scribe.prompts import complete

    ex = extract(VP_BIOPSY.format(cause="suspected multiple myeloma"), note_id="u")
    done, _ = complete(ex, [Answer(element="indication", value="neoplasm", user="dr")])
    assert "M84.58XA" in [d.code for d in done.diagnoses]


def test_sample_21_suspected_myeloma_is_not_coded_and_its_gold_agrees() -> None:
    from scribe.api import extract_file
    from scribe.evaluate import load_gold

    ex = extract_file(ROOT / "sample_notes" / "sample_21_vp_biopsy_other_asr.txt")
    gold = load_gold(ROOT / "sample_notes" / "sample_21_vp_biopsy_other_asr.gold.json")
    assert [d.code for d in ex.diagnoses] == ["M48.56XA"] and "uncertain_diagnosis" in {f.id for f in ex.flags}
    assert [(c.code, c.units, c.modifiers) for c in ex.codes] == [tuple(x) for x in gold.cpt]
    assert ex.codes[0].code == "22511"  # the primary procedure line comes first
    assert "C90.00" not in gold.notes or "not C90.00" in gold.notes


def test_sacroplasty_has_coverage_criteria_of_its_own() -> None:
    from scribe.api import extract

    base = ("Date of Service: 03/11/2026\nPROCEDURE: Sacroplasty, bilateral sacral ala, under CT guidance; PMMA "
            "injected on both sides.\nHISTORY: Osteoporotic sacral insufficiency fracture. 6 weeks of analgesics "
            "failed.\n")
    bare = extract(base, note_id="s")
    messages = " ".join(f.message for f in bare.flags if f.id == "coverage_documentation")
    assert "Sacroplasty documentation" in messages
    for vertebral in ("kyphosis", "Roland-Morris", "height loss"):
        assert vertebral not in messages
    documented = extract(base + "MRI shows bilateral sacral alar fractures. She is unable to walk.\n", note_id="d")
    assert not any(f.id == "coverage_documentation" for f in documented.flags)


def test_flag_messages_are_for_coders_and_the_rule_is_a_field() -> None:
    from scribe.api import extract

    ex = extract("PROCEDURE: Kyphoplasty T12 and L1 under fluoroscopy, balloon tamps inflated, cement injected.\n"
                 "Indication: osteoporotic fracture. 6 weeks of bracing failed.\n", note_id="k")
    policy = next(f for f in ex.flags if f.id == "primary_region_policy")
    assert policy.rule == "C4" and policy.verified is False and policy.source
    assert "unverified" not in policy.message and "coding-rules" not in policy.message and "C4" not in policy.message
    for f in ex.flags:
        assert not any(f"({r})" in f.message for r in ("V1", "V2", "C1", "C2", "D1", "D5")), f.message
    dumped = ex.flags[0].model_dump()
    assert {"id", "severity", "message", "rule"} <= set(dumped)
