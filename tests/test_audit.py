"""`scribe audit`: sampling, metrics (hand-computed), gold export round trip, claims, CLI output, HTML escaping."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scribe.api import extract, extract_file
from scribe.audit import AuditedNote, apply_claims, run_audit, snippet
from scribe.audit.gold import export_gold, write_gold
from scribe.audit.metrics import PRF, compute_metrics, confusion_labels
from scribe.audit.report import CSP, highlight, render_html
from scribe.audit.sample import allocate, sample_notes
from scribe.cli import app
from scribe.evaluate import Gold, evaluate_dir, evaluate_pairs, load_gold
from scribe.models import (
    Answer,
    BiopsyValue,
    CodeLine,
    Element,
    Elements,
    Extraction,
    Status,
)
from scribe.prompts import complete

runner = CliRunner()

VP_BILLED_AS_KP = """Date of Service: 03/11/2025
PROCEDURE: Vertebroplasty L1.
INDICATION: Painful osteoporotic compression fracture of L1. Eight weeks of bracing and analgesics failed.
TECHNIQUE: Under biplane fluoroscopy, transpedicular access to L1 was obtained and PMMA cement was injected.
No balloon was used. No biopsy was performed.
BILLING: CPT 22514
"""
KP_COMPLETE = """Date of Service: 03/11/2025
PROCEDURE: Kyphoplasty L1.
INDICATION: Painful osteoporotic compression fracture of L1. Eight weeks of bracing and analgesics failed.
TECHNIQUE: Under biplane fluoroscopy, bilateral transpedicular access to L1 was obtained. A balloon tamp
was inflated to create a cavity, and PMMA cement was injected. No biopsy was performed.
"""
HOSTILE = KP_COMPLETE + "ADDENDUM: <script>alert(1)</script> <img src=x onerror=alert(2)> & \"quotes\"\n"


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["audit", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# --- sampling -----------------------------------------------------------------------------------

ITEMS = [(f"n{i:02d}", proc) for i, proc in enumerate(
    ["kyphoplasty"] * 20 + ["vertebroplasty"] * 12 + ["sacroplasty"] * 3 + [None] * 5)]


def test_sample_is_reproducible_with_a_seed() -> None:
    a = sample_notes(ITEMS, 10, seed=7)
    b = sample_notes(list(ITEMS), 10, seed=7)
    assert a == b
    assert len(a.note_ids) == 10 and len(set(a.note_ids)) == 10
    others = {tuple(sample_notes(ITEMS, 10, seed=s).note_ids) for s in range(8)}
    assert len(others) > 1  # the seed matters
    order = [nid for nid, _ in ITEMS]
    assert a.note_ids == sorted(a.note_ids, key=order.index)  # input order kept


def test_stratified_allocation_is_proportional_with_one_per_stratum() -> None:
    plan = sample_notes(ITEMS, 10, seed=1)
    assert plan.population == {"kyphoplasty": 20, "none": 5, "sacroplasty": 3, "vertebroplasty": 12}
    # shares 5, 1.25, 0.75, 3 -> 5, 1, 1, 3
    assert plan.allocation == {"kyphoplasty": 5, "none": 1, "sacroplasty": 1, "vertebroplasty": 3}
    procs = dict(ITEMS)
    drawn: dict[str, int] = {}
    for nid in plan.note_ids:
        key = procs[nid] or "none"
        drawn[key] = drawn.get(key, 0) + 1
    assert drawn == plan.allocation


def test_allocate_edge_cases() -> None:
    assert allocate({"a": 1, "b": 1, "c": 50}, 3) == {"a": 1, "b": 1, "c": 1}  # one each when n allows
    assert allocate({"a": 1, "b": 1, "c": 50}, 2) == {"a": 0, "b": 0, "c": 2}  # n < strata: largest first
    assert allocate({"a": 2, "b": 10}, 11) == {"a": 2, "b": 9}
    assert allocate({"a": 2, "b": 10}, 50) == {"a": 2, "b": 10}  # capped by stratum size
    assert allocate({"a": 3}, 0) == {"a": 0}


def test_sample_all_none_and_unstratified() -> None:
    assert sample_notes(ITEMS, None).note_ids == [nid for nid, _ in ITEMS]
    assert sample_notes(ITEMS, 100).note_ids == [nid for nid, _ in ITEMS]
    assert sample_notes(ITEMS, 0).note_ids == []
    plain = sample_notes(ITEMS, 6, seed=3, stratify=False)
    assert len(plain.note_ids) == 6 and sum(plain.allocation.values()) == 6 and not plain.stratified
    assert plain == sample_notes(ITEMS, 6, seed=3, stratify=False)
    with pytest.raises(ValueError):
        sample_notes(ITEMS, -1)


# --- metrics (hand-computed) ----------------------------------------------------------------------


def _ex(note_id: str, proc: str | None, levels: list[str], sites: list[str], cpt: list[str]) -> Extraction:
    els = Elements(
        procedure_type=Element(value=proc, status=Status.FOUND),
        levels=Element(value=levels, status=Status.FOUND),
        biopsy=Element(value=BiopsyValue(performed=bool(sites) or None, sites=sites).model_dump(),
                       status=Status.FOUND),
    )
    return Extraction(note_id=note_id, elements=els, codes=[CodeLine(code=c) for c in cpt])


def _gold(proc: str | None, levels: list[str], sites: list[str], cpt: list[str]) -> Gold:
    return Gold.model_validate({"procedure_type": proc, "levels": levels,
                                "biopsy": {"performed": bool(sites) or None, "sites": sites},
                                "cpt": [[c, 1, []] for c in cpt]})


def test_metrics_small_case_by_hand() -> None:
    pairs = [
        # levels: tp 1 (L1), fp 1 (T12), fn 1 (L2); sites: tp 1, fp 0, fn 1 (T12); cpt differs
        (_ex("a", "vertebroplasty", ["T12", "L1"], ["L1"], ["22513"]),
         _gold("kyphoplasty", ["L1", "L2"], ["L1", "T12"], ["22513", "22515"])),
        # levels: tp 1; sites: fp 1 (S1); cpt equal
        (_ex("b", "kyphoplasty", ["T8"], ["S1"], ["22513"]), _gold("kyphoplasty", ["T8"], [], ["22513"])),
        # nothing anywhere: perfect on every set
        (_ex("c", None, [], [], []), _gold(None, [], [], [])),
    ]
    m = compute_metrics(pairs)
    assert m.notes == 3
    assert (m.levels.tp, m.levels.fp, m.levels.fn) == (2, 1, 1)
    assert m.levels.precision == pytest.approx(2 / 3) and m.levels.recall == pytest.approx(2 / 3)
    assert m.levels.f1 == pytest.approx(2 / 3)
    assert (m.biopsy_sites.tp, m.biopsy_sites.fp, m.biopsy_sites.fn) == (1, 1, 1)
    assert m.biopsy_sites.f1 == pytest.approx(0.5)
    assert m.cpt_exact == pytest.approx(2 / 3)
    assert m.procedure_confusion == {"kyphoplasty": {"vertebroplasty": 1, "kyphoplasty": 1}, "none": {"none": 1}}
    assert confusion_labels(m.procedure_confusion) == ["kyphoplasty", "vertebroplasty", "none"]
    assert m.accuracy["procedure_type"] == pytest.approx(2 / 3)
    assert m.accuracy["levels"] == pytest.approx(2 / 3)
    assert m.accuracy["cpt"] == m.cpt_exact
    assert m.accuracy == evaluate_pairs(pairs).accuracy
    fields = {(d.note_id, d.field) for d in m.disagreements}
    assert {("a", "procedure_type"), ("a", "levels"), ("a", "biopsy"), ("a", "cpt"), ("b", "biopsy")} <= fields
    assert not any(nid == "c" for nid, _ in fields)


def test_prf_zero_denominators() -> None:
    assert (PRF().precision, PRF().recall, PRF().f1) == (1.0, 1.0, 1.0)
    only_missed = PRF(fn=2)
    assert (only_missed.precision, only_missed.recall, only_missed.f1) == (0.0, 0.0, 0.0)


def test_metrics_equal_scribe_eval_on_dev_gold(dev_gold_dir: Path) -> None:
    run = run_audit([dev_gold_dir], gold_dir=dev_gold_dir)
    assert run.metrics is not None
    expected = evaluate_dir(dev_gold_dir)
    assert run.metrics.notes == expected.notes
    assert run.metrics.accuracy == expected.accuracy
    assert run.metrics.cpt_exact == expected.accuracy["cpt"]
    assert [d.model_dump() for d in run.metrics.disagreements] == [d.model_dump() for d in expected.disagreements]


# --- gold export ---------------------------------------------------------------------------------


def test_export_gold_round_trips_on_dev_gold(dev_gold_dir: Path) -> None:
    for gold_path in sorted(dev_gold_dir.glob("*.gold.json"))[:12]:
        ex = extract_file(gold_path.with_name(gold_path.name.replace(".gold.json", ".txt")))
        exported = export_gold(ex, notes="why")
        assert list(exported) == list(json.loads(gold_path.read_text()))  # same keys, same order
        assert exported["notes"] == "why"
        report = evaluate_pairs([(ex, Gold.model_validate(exported))])
        assert set(report.accuracy.values()) == {1.0}, report.disagreements
        assert json.loads(json.dumps(exported)) == exported


def test_export_gold_uses_answers_and_write_gold_is_owner_only(tmp_path: Path) -> None:
    ex = extract("PROCEDURE: Kyphoplasty L1. A balloon tamp was inflated to create a cavity and cement injected.\n"
                 "No biopsy was performed. Osteoporotic fracture.\n", note_id="k1")
    assert "guidance" in ex.missing
    done, _ = complete(ex, [Answer(element="guidance", value=["fluoroscopy"]),
                            Answer(element="conservative_therapy", value={"weeks": 6.0, "modalities": []})])
    gold = export_gold(done)
    assert gold["guidance"] == ["fluoroscopy"] and gold["conservative_therapy_weeks"] == 6.0
    assert gold["cpt"] == [[c.code, c.units, c.modifiers] for c in done.codes]
    assert gold["levels"] == ["L1"] and gold["biopsy"] == {"performed": False, "sites": []}
    path = write_gold(tmp_path / "k1.gold.json", done)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert evaluate_pairs([(done, load_gold(path))]).accuracy["guidance"] == 1.0


# --- per-note audit, claims -------------------------------------------------------------------------


def test_element_view_shows_rule_and_discarded_cues(dev_gold_dir: Path) -> None:
    run = run_audit([dev_gold_dir / "d_001.txt"])
    note = run.notes[0]
    views = {v.name: v for v in note.elements()}
    assert views["procedure_type"].rules == ["PROC:balloon kyphoplasty"]
    q = views["procedure_type"].evidence[0]
    assert note.text[q.start:q.end] == q.text and q.text in q.context
    t8 = [d for d in views["levels"].discarded if d.text == "T8"]
    assert t8 and {c.category for c in t8[0].cues} >= {"historical"}
    data = note.to_json()
    assert data["note_id"] == "d_001" and "elements" in data and "mentions" not in data
    assert data["audit"]["elements"]["levels"]["rules"] == ["level"]


def test_snippet() -> None:
    assert snippet("abc  def\nghi", 5, 8, width=2) == "… def g…"
    assert snippet("L1", 0, 2) == "L1"


def test_claims_and_billing_lines_flag_both_sides(tmp_path: Path) -> None:
    (tmp_path / "vp1.txt").write_text(VP_BILLED_AS_KP)
    claims = tmp_path / "claims.csv"
    claims.write_text("note_id,code,units,modifiers\nvp1,22515,1,51\n")
    run = run_audit([tmp_path / "vp1.txt"], claims=claims)
    note = run.notes[0]
    ids = [f.id for f in note.billing_flags]
    assert "wrong_family" in ids and "addon_modifier" in ids
    # the note's billing line and the claims row are compared separately: each side has its flag
    rules = [e.rule or "" for f in note.billing_flags if f.id == "wrong_family" for e in f.evidence]
    assert "billing line" in rules  # the note's billing line
    assert any(r.startswith("claims file claims.csv") for r in rules)  # the claims row
    assert any(r == "level" or r.startswith("CAVITY") for r in rules)  # the documentation side
    # the flags extract() raised for the note's own billing line are replaced, not repeated:
    # one wrong_family for the note's line, one for the claims row
    assert [f.id for f in note.extraction.flags].count("wrong_family") == 2


def test_apply_claims_without_claims_keeps_note_flags_once() -> None:
    ex = extract(VP_BILLED_AS_KP, note_id="vp1")
    done, billing = apply_claims(ex)
    assert [f.id for f in done.flags] == [f.id for f in ex.flags]
    assert {f.id for f in billing} >= {"wrong_family"}


@pytest.mark.parametrize("content", ["note_id,code\nvp1,ABCDE\n", "vp1,22514,two\n", "vp1\n"])
def test_bad_claims_file_is_one_line_exit_64(tmp_path: Path, content: str) -> None:
    (tmp_path / "vp1.txt").write_text(VP_BILLED_AS_KP)
    claims = tmp_path / "bad claims.csv"
    claims.write_text(content)
    code, out, err = cli(str(tmp_path / "vp1.txt"), "--claims", str(claims))
    assert code == 64 and out == ""
    assert err.count("\n") == 1 and str(claims) in err and err.startswith("scribe audit: ")


def test_missing_claims_file_exit_64(tmp_path: Path) -> None:
    (tmp_path / "vp1.txt").write_text(VP_BILLED_AS_KP)
    code, _, err = cli(str(tmp_path / "vp1.txt"), "--claims", str(tmp_path / "nope.csv"))
    assert code == 64 and "nope.csv" in err and err.count("\n") == 1


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_jsonl_sample_is_reproducible_and_scored(dev_gold_dir: Path) -> None:
    args = [str(dev_gold_dir), "--sample", "5", "--seed", "3", "--gold", str(dev_gold_dir), "--format", "jsonl"]
    code, out, err = cli(*args)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 5
    assert cli(*args)[1] == out
    for row in rows:
        assert {"note_id", "elements", "missing", "codes", "flags", "audit"} <= set(row)
        assert row["audit"]["gold"]["disagreements"] == []
        assert set(row["audit"]["elements"]) == set(row["elements"])
    assert "gold: 5 notes" in err and "CPT exact match 1.000" in err


def test_cli_table_and_html(tmp_path: Path, dev_gold_dir: Path) -> None:
    out_html = tmp_path / "r" / "audit.html"
    code, out, err = cli(str(dev_gold_dir / "d_001.txt"), str(dev_gold_dir / "d_005.txt"), "--gold",
                         str(dev_gold_dir), "--html", str(out_html))
    assert code == 0, err
    assert "d_001" in out and "d_005" in out and "CPT exact match" in out and "22514" in out
    assert stat.S_IMODE(out_html.stat().st_mode) == 0o600
    page = out_html.read_text()
    assert CSP in page and "<script" not in page.lower()
    assert 'class="ev el-levels"' in page


@pytest.mark.parametrize("args", [
    ["--format", "xml"], ["--sample", "-2"], ["--payer", "nobody"], ["--gold", "/nonexistent/gold"], ["--bogus"],
])
def test_cli_usage_errors_exit_64(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "a.txt").write_text(KP_COMPLETE)
    code, out, err = cli(str(tmp_path / "a.txt"), *args)
    assert code == 64 and out == "" and err


def test_cli_bad_gold_file_exit_64(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(KP_COMPLETE)
    (tmp_path / "a.gold.json").write_text('{"procedure_type": "kyphoplasty", "levels": "L1", "surprise": 1}')
    code, _, err = cli(str(tmp_path / "a.txt"), "--gold", str(tmp_path))
    assert code == 64 and "a.gold.json" in err and err.count("\n") == 1


def test_cli_unreadable_note_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(KP_COMPLETE)
    (tmp_path / "b.txt").write_text("")
    code, out, err = cli(str(tmp_path), "--format", "jsonl")
    assert code == 2 and len(out.splitlines()) == 1 and "b.txt: empty file" in err


# --- HTML (string level; the browser test is in test_audit_html.py) ---------------------------------


def test_html_escapes_note_text_and_names(tmp_path: Path) -> None:
    note_path = tmp_path / "x<script>.txt"
    note_path.write_text(HOSTILE)
    run = run_audit([note_path])
    page = render_html(run)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "x&lt;script&gt;" in page
    assert page.count('http-equiv="Content-Security-Policy"') == 1


def test_highlight_covers_evidence_and_keeps_text() -> None:
    ex = extract(KP_COMPLETE, note_id="k")
    note = AuditedNote(note_id="k", source="", stratum="kyphoplasty", text=KP_COMPLETE, extraction=ex)
    marked = highlight(note)
    import html as _html
    import re

    assert _html.unescape(re.sub(r"<[^>]+>", "", marked)) == KP_COMPLETE
    assert 'class="ev el-procedure_type"' in marked and 'class="ev el-cavity_creation"' in marked


def test_readme_in_a_folder_is_not_audited(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(KP_COMPLETE)
    (tmp_path / "README.md").write_text("# notes\nKyphoplasty and sacroplasty notes for tests.\n")
    assert [n.note_id for n in run_audit([tmp_path]).notes] == ["a"]
    assert [n.note_id for n in run_audit([tmp_path / "README.md"]).notes] == ["README"]  # named: audited
