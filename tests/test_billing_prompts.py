"""Billed vs documented (audit mismatches), prompts and answers, and `scribe codes`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scribe.api import extract
from scribe.coding.billing import ClaimsError, compare, find_billed, parse_claims
from scribe.models import Answer, BilledLine
from scribe.prompts import AnswerError, apply_answers, build_prompts, complete, parse_answer

VP_NOTE = ("PROCEDURE: Vertebroplasty T12 and L1.\nINDICATION: osteoporotic compression fractures; 8 weeks of "
           "bracing and analgesics failed.\nTECHNIQUE: Under biplane fluoroscopy, 11-gauge needles were placed into "
           "T12 and L1 and PMMA cement was injected. No balloon was used. A core biopsy of L1 was obtained.\n")
KP_NO_CAVITY = ("PROCEDURE: Kyphoplasty L1.\nINDICATION: osteoporotic fracture, 6 weeks of bracing failed.\n"
                "TECHNIQUE: Under fluoroscopy a cannula was placed into L1 and cement was injected.\n")


def ids(flags):  # type: ignore[no-untyped-def]
    return {f.id for f in flags}


def billed(*codes: str) -> list[BilledLine]:
    out = []
    for c in codes:
        code, *mods = c.split("-")
        units = 1
        if "x" in code:
            code, u = code.split("x")
            units = int(u)
        out.append(BilledLine(code=code, units=units, modifiers=mods, origin="claims"))
    return out


# ------------------------------------------------------------------ recognising billing lines
def test_find_billed_lines_in_note():
    text = "Narrative mentions 22514 in passing.\nCPT: 22513, 22515 x2, 22523-53\nCharges: 72291\n"
    got = [(b.code, b.units, b.modifiers) for b in find_billed(text)]
    assert got == [("22513", 1, []), ("22515", 2, []), ("22523", 1, ["53"]), ("72291", 1, [])]
    for b in find_billed(text):
        e = b.evidence[0]
        assert text[e.start:e.end] == e.text


def test_find_billed_modifier_form_outside_billing_line():
    assert [(b.code, b.modifiers) for b in find_billed("Billed as 22513-59 by the office.")] == [("22513", ["59"])]
    assert find_billed("Zip code area 22514 is not a billing line?") != []  # 'code' makes it a billing line
    assert find_billed("Patient lives at 22514 Main Street.") == []


def test_parse_claims_and_errors():
    claims = parse_claims("note_id,code,units,modifiers\nn1,22513,1,\nn1,22515,2,51\nn2,0201T,1,GA\n")
    assert [(b.code, b.units, b.modifiers) for b in claims["n1"]] == [("22513", 1, []), ("22515", 2, ["51"])]
    with pytest.raises(ClaimsError, match=r"claims.csv:2"):
        parse_claims("note_id,code\nn1,notacode\n", "claims.csv")
    with pytest.raises(ClaimsError, match="units"):
        parse_claims("n1,22513,two,\n", "c.csv")


# ------------------------------------------------------------------ each audit mismatch
@pytest.fixture(scope="module")
def vp():  # type: ignore[no-untyped-def]
    ex = extract(VP_NOTE, note_id="vp")
    assert [(c.code, c.units) for c in ex.codes] == [("22510", 1), ("22512", 1)]
    return ex


@pytest.mark.parametrize(("lines", "flag", "severity"), [
    (["22513", "22515"], "wrong_family", "hard-stop"),
    (["22510", "22511"], "two_primaries", "hard-stop"),
    (["22512"], "addon_without_primary", "hard-stop"),
    (["22513", "22512"], "addon_without_primary", "hard-stop"),
    (["22510", "22512-51"], "addon_modifier", "hard-stop"),
    (["22510-50", "22512"], "forbidden_modifier", "hard-stop"),
    (["22510", "22512", "72291"], "unbundled_imaging", "hard-stop"),
    (["22510", "22512", "77003"], "unbundled_imaging", "hard-stop"),
    (["22510", "22512", "20225"], "biopsy_included", "hard-stop"),
    (["22520", "22512"], "deleted_code", "hard-stop"),
    (["22510", "22512x2"], "units_mismatch", "warning"),
    (["22510"], "documented_not_billed", "info"),
])
def test_each_billing_mismatch(vp, lines, flag, severity):  # type: ignore[no-untyped-def]
    flags = compare(vp, billed(*lines))
    f = next(f for f in flags if f.id == flag)
    assert f.severity == severity


def test_matching_claim_raises_nothing(vp):  # type: ignore[no-untyped-def]
    assert compare(vp, billed("22510", "22512")) == []


def test_billing_line_in_note_flags_with_evidence_on_both_sides():
    ex = extract(KP_NO_CAVITY + "CPT: 22514\n", note_id="kp")
    f = next(f for f in ex.flags if f.id == "wrong_family")
    texts = [e.text for e in f.evidence]
    assert "22514" in texts
    assert ex.flags[0].severity == "hard-stop"  # flags sorted, worst first


def test_deleted_code_in_note():
    ex = extract(VP_NOTE + "Billing: 22520, 22522\n")
    assert "deleted_code" in ids(ex.flags)


# ------------------------------------------------------------------ prompts and answers
def test_prompts_are_compliant_and_complete():
    ex = extract(KP_NO_CAVITY.replace("6 weeks of bracing failed", "bracing failed"), note_id="kp")
    prompts = build_prompts(ex)
    assert [p.element for p in prompts] == ex.missing == ["cavity_creation", "conservative_therapy"]
    for p in prompts:
        assert any(o.value == "undetermined" for o in p.options)
        assert not any(w in p.question.lower() for w in ("pay", "reimburse", "bill", "money"))
    cav = prompts[0]
    assert cav.waiting_codes == ["22513", "22514", "22515"]
    assert "kyphoplasty" in cav.question.lower()  # cites the note's own words
    assert cav.cites and all(KP_NO_CAVITY[c.start:c.end] == c.text for c in cav.cites)


def test_answers_release_withheld_codes():
    ex = extract(KP_NO_CAVITY, note_id="kp")
    assert ex.codes == [] and "code_withheld" in ids(ex.flags)
    done, prompts = complete(ex, [Answer(element="cavity_creation", value=True, user="dr")])
    assert [(c.code, c.units) for c in done.codes] == [("22514", 1)]
    assert done.elements.cavity_creation.status == "answered"
    assert done.missing == [] and not prompts
    assert ex.codes == []  # the original extraction is untouched


def test_answer_cement_only_recodes_as_vertebroplasty_when_procedure_answered():
    ex = extract(KP_NO_CAVITY, note_id="kp")
    done, _ = complete(ex, [Answer(element="cavity_creation", value=False),
                            Answer(element="procedure_type", value="vertebroplasty")])
    assert [c.code for c in done.codes] == ["22511"]


def test_latest_answer_wins_and_levels_answer_sets_units():
    ex = extract("PROCEDURE: Kyphoplasty. Balloon tamps inflated, cement injected under fluoroscopy. "
                 "Osteoporotic fracture, 6 weeks of bracing.", note_id="k")
    assert "levels" in ex.missing
    answers = [Answer(element="levels", value=parse_answer("levels", "L1")),
               Answer(element="levels", value=parse_answer("levels", "T11-L1"))]
    done, _ = complete(ex, answers)
    assert [(c.code, c.units) for c in done.codes] == [("22513", 1), ("22515", 2)]


def test_abn_question_and_ga():
    note = ("PROCEDURE: Vertebroplasty T9 for an aggressive vertebral hemangioma under fluoroscopy. Cement was "
            "injected. Conservative care for 8 weeks failed.")
    ex = extract(note, note_id="h")
    done, prompts = complete(ex)
    assert "abn_on_file" in [p.element for p in prompts]
    done, prompts = complete(ex, [Answer(element="abn_on_file", value=parse_answer("abn_on_file", "yes"))])
    assert done.codes[0].modifiers == ["GA"] and "abn_on_file" not in [p.element for p in prompts]


@pytest.mark.parametrize(("element", "raw", "value"), [
    ("levels", "T12, L1", ["T12", "L1"]),
    ("levels", "t11-l1", ["T11", "T12", "L1"]),
    ("levels", "L1 and T12", ["T12", "L1"]),
    ("levels", "sacrum", ["sacrum"]),
    ("conservative_therapy", "6 weeks", {"weeks": 6.0, "modalities": []}),
    ("conservative_therapy", "3 months", {"weeks": 13.0, "modalities": []}),
    ("conservative_therapy", "14 days", {"weeks": 2.0, "modalities": []}),
    ("guidance", "CT (including cone-beam / O-arm)", ["ct"]),
    ("procedure_type", "kyphoplasty", "kyphoplasty"),
    ("cavity_creation", "no", False),
    ("laterality", "2", "bilateral"),
    ("biopsy", "L3 and iliac crest", {"performed": True, "sites": ["L3", "iliac crest"]}),
    ("indication", "undetermined", "undetermined"),
])
def test_parse_answer(element, raw, value):  # type: ignore[no-untyped-def]
    assert parse_answer(element, raw) == value


@pytest.mark.parametrize(("element", "raw"), [
    ("levels", "L9"), ("levels", "banana"), ("levels", ""), ("conservative_therapy", "a while"),
    ("procedure_type", "laminectomy"), ("guidance", "ultrasound"),
])
def test_parse_answer_rejects(element, raw):  # type: ignore[no-untyped-def]
    with pytest.raises(AnswerError):
        parse_answer(element, raw)


def test_undetermined_answer_closes_the_prompt_but_codes_stay_withheld():
    ex = extract(KP_NO_CAVITY, note_id="kp")
    done = apply_answers(ex, [Answer(element="cavity_creation", value="undetermined")])
    assert "cavity_creation" not in done.missing
    done, _ = complete(ex, [Answer(element="cavity_creation", value="undetermined")])
    assert done.codes == []


# ------------------------------------------------------------------ the CLI
def test_codes_command(tmp_path):
    note = tmp_path / "kp.txt"
    note.write_text(KP_NO_CAVITY)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([{"element": "cavity_creation", "value": True}]))
    cmd = [sys.executable, "-m", "scribe.cli", "codes", str(note), "--format", "json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 1 and json.loads(r.stdout)["codes"] == []
    r = subprocess.run([*cmd, "--answers", str(answers)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert [c["code"] for c in json.loads(r.stdout)["codes"]] == ["22514"]
    r = subprocess.run([*cmd, "--payer", "nosuch"], capture_output=True, text=True)
    assert r.returncode == 64 and "unknown payer" in r.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("[{]")
    r = subprocess.run([*cmd, "--answers", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and str(bad) in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(("raw", "value"), [
    ("8 weeks of bracing and analgesics", {"weeks": 8.0, "modalities": ["analgesics", "bracing"]}),
    ("6 weeks PT and tylenol", {"weeks": 6.0, "modalities": ["analgesics", "physical_therapy"]}),
    ("2 weeks of acupuncture", {"weeks": 2.0, "modalities": ["other"]}),
])
def test_therapy_answer_with_treatments(raw, value):  # type: ignore[no-untyped-def]
    assert parse_answer("conservative_therapy", raw) == value


def test_choice_error_names_the_choices_in_words():
    with pytest.raises(AnswerError, match="Fluoroscopy"):
        parse_answer("guidance", "ultrasound")


def test_complete_keeps_billing_flags():
    ex = extract(KP_NO_CAVITY + "CPT: 22514\n", note_id="kp")
    done, _ = complete(ex)
    assert "wrong_family" in ids(done.flags)
    done, _ = complete(ex, [Answer(element="cavity_creation", value=True)])
    assert "wrong_family" not in ids(done.flags)
