"""The coding engine, rule by rule (C1-C9, D1-D5, V1-V5), on hand-built extractions.

Extractions are built directly (no NLP) so each case isolates one rule; a few text cases at the
end go through the whole pipeline.
"""

from __future__ import annotations

from typing import Any

import pytest

from scribe.coding import propose
from scribe.coding.rules import load_rules
from scribe.models import Answer, Element, Elements, Evidence, Extraction, Status, TreatedLevel

VP, KP, SP = "vertebroplasty", "kyphoplasty", "sacroplasty"


def ev(text: str = "x", start: int = 0) -> Evidence:
    return Evidence(start=start, end=start + len(text), text=text)


def make(
    proc: str | None = KP,
    levels: list[str] | dict[str, str] | None = None,
    cavity: bool | None = None,
    biopsy: dict[str, Any] | None = None,
    site_kinds: dict[str, str] | None = None,
    laterality: str | None = None,
    indication: str | None = "osteoporosis",
    ind_detail: dict[str, Any] | None = None,
    weeks: float | None = 8.0,
    proc_detail: dict[str, Any] | None = None,
    coverage: dict[str, list[Evidence]] | None = None,
    cavity_status: Status | None = None,
    levels_detail: dict[str, Any] | None = None,
) -> Extraction:
    """An extraction with the given values. ``levels`` may map level -> family (mixed sessions)."""
    levels = ["L1"] if levels is None else levels
    fams = levels if isinstance(levels, dict) else {lv: (SP if lv.startswith("S") or lv == "sacrum" else proc or VP)
                                                    for lv in levels}
    if cavity is None and proc in (KP, "mixed"):
        cavity = True
    treated = [TreatedLevel(level=lv, family=f, cavity=cavity if f == KP else None,  # type: ignore[arg-type]
                            evidence=[ev(lv, 100 + i * 10)]) for i, (lv, f) in enumerate(fams.items())]
    st = Status.FOUND
    els = Elements(
        procedure_type=Element(value=proc, status=st if proc else Status.MISSING, evidence=[ev(proc or "")],
                               detail=proc_detail or {}),
        cavity_creation=Element(value=cavity, status=cavity_status or (st if cavity is not None else Status.MISSING),
                                evidence=[ev("balloon")] if cavity else []),
        levels=Element(value=list(fams), status=st if fams else Status.MISSING,
                       detail=levels_detail or {}),
        guidance=Element(value=["fluoroscopy"], status=st),
        biopsy=Element(value=biopsy or {"performed": None, "sites": []}, status=st,
                       detail={"site_kinds": site_kinds} if site_kinds else {}),
        laterality=Element(value=laterality, status=st if laterality else Status.MISSING),
        conservative_therapy=Element(value={"weeks": weeks, "modalities": []} if weeks is not None else None,
                                     status=st if weeks is not None else Status.MISSING),
        indication=Element(value=indication, status=st if indication else Status.MISSING,
                           evidence=[ev(indication or "")], detail=ind_detail or {}),
    )
    cov = coverage if coverage is not None else {k: [ev(k)] for k in ("mri_edema", "pain_score", "worsening",
                                                                      "bone_density")}
    return Extraction(note_id="t", elements=els, treated=treated, coverage=cov)


def cpt(ex: Extraction, payer: str = "medicare",
        answers: list[Answer] | None = None) -> list[tuple[str, int, list[str]]]:
    return [(c.code, c.units, c.modifiers) for c in propose(ex, answers or [], payer).codes]


def flag_ids(ex: Extraction, payer: str = "medicare", answers: list[Answer] | None = None) -> set[str]:
    return {f.id for f in propose(ex, answers or [], payer).flags}


# ------------------------------------------------------------------ C1 family follows cavity creation
@pytest.mark.parametrize(
    ("proc", "levels", "cavity", "cavity_status", "expected"),
    [
        (KP, ["L1"], True, None, [("22514", 1, [])]),
        (VP, ["L1"], None, Status.NOT_APPLICABLE, [("22511", 1, [])]),
        (KP, ["L1"], None, Status.MISSING, []),  # kyphoplasty named, no cavity step: withheld, never defaulted
        (KP, ["L1"], False, Status.CONFLICT, []),
    ],
)
def test_c1_family_follows_cavity(proc, levels, cavity, cavity_status, expected):
    ex = make(proc, levels)
    ex.elements.cavity_creation = Element(value=cavity, status=cavity_status or Status.FOUND)
    assert cpt(ex) == expected
    if not expected:
        flags = propose(ex).flags
        withheld = [f for f in flags if f.id == "code_withheld"]
        assert withheld and "cavity_creation" in withheld[0].message


# ------------------------------------------------------------------ C2/C3/C4 regions, one primary, add-ons
@pytest.mark.parametrize(
    ("proc", "levels", "expected"),
    [
        (VP, ["T12", "L1"], [("22510", 1, []), ("22512", 1, [])]),
        (KP, ["T12", "L1", "L2"], [("22513", 1, []), ("22515", 2, [])]),
        (VP, ["L1", "L2", "L4"], [("22511", 1, []), ("22512", 2, [])]),  # non-contiguous
        (KP, ["T10", "L2"], [("22513", 1, []), ("22515", 1, [])]),  # non-contiguous, cross-region
        (KP, ["T11", "T12", "L1", "L2"], [("22513", 1, []), ("22515", 3, [])]),  # 4 levels
        (VP, ["C2"], [("22510", 1, [])]),  # cervical vertebroplasty is 22510
        (KP, ["L3", "L4", "L5"], [("22514", 1, []), ("22515", 2, [])]),
        (VP, ["T5"], [("22510", 1, [])]),
    ],
)
def test_c2_c3_primary_and_addons(proc, levels, expected):
    assert cpt(make(proc, levels)) == expected


def test_c3_never_two_primaries_of_one_family():
    for proc in (VP, KP):
        codes = [c for c, _, _ in cpt(make(proc, ["T11", "T12", "L1", "L2"]))]
        primaries = [c for c in codes if c in ("22510", "22511", "22513", "22514")]
        assert len(primaries) == 1


def test_c4_primary_region_policy_flag_and_unverified():
    flags = propose(make(KP, ["T12", "L1"])).flags
    f = next(f for f in flags if f.id == "primary_region_policy")
    assert f.severity == "info" and f.verified is False and f.source
    assert "primary_region_policy" not in flag_ids(make(KP, ["L1", "L2"]))


def test_c4_policy_is_payer_data(tmp_path):
    import json
    import shutil

    from scribe.lexicon import lexicon_dir

    shutil.copytree(lexicon_dir(), tmp_path / "lex")
    path = tmp_path / "lex" / "coding" / "payers.json"
    data = json.loads(path.read_text())
    data["payers"]["lumbar_first"] = {"primary_region": "first_treated"}
    path.write_text(json.dumps(data))
    rules = load_rules(tmp_path / "lex")
    ex = make(KP, ["T12", "L1"])
    ex.treated[0].evidence = [ev("T12", 500)]  # L1 dictated first
    codes = [(c.code, c.units) for c in propose(ex, [], "lumbar_first", rules=rules).codes]
    assert codes == [("22514", 1), ("22515", 1)]


# ------------------------------------------------------------------ C2 cervical augmentation, sacrum, transitional
def test_c2_cervical_augmentation_is_unlisted_with_review():
    ex = make(KP, ["C5"])
    assert cpt(ex) == [("22899", 1, [])]
    assert "cervical_augmentation_review" in flag_ids(ex)


@pytest.mark.parametrize(("laterality", "code"), [("unilateral", "0200T"), ("bilateral", "0201T")])
def test_c2_sacroplasty_by_side_one_unit(laterality, code):
    ex = make(SP, ["S1", "S2", "S3"], laterality=laterality)
    assert cpt(ex) == [(code, 1, [])]


def test_c2_sacroplasty_without_side_is_withheld():
    ex = make(SP, ["sacrum"])
    assert cpt(ex) == []
    assert any(f.id == "code_withheld" and "laterality" in f.message for f in propose(ex).flags)


def test_c2_transitional_anatomy_flag():
    ex = make(VP, ["L5"], levels_detail={"transitional_or_invalid": ["L6"]})
    assert "transitional_anatomy" in flag_ids(ex)


def test_units_withheld_without_levels():
    ex = make(KP, [])
    assert cpt(ex) == []
    assert any(f.id == "code_withheld" and "levels" in f.message for f in propose(ex).flags)


# ------------------------------------------------------------------ C5/C9 modifiers
def test_c5_c9_no_forbidden_modifiers_ever():
    for proc, levels in ((VP, ["T12", "L1", "L2"]), (KP, ["T4", "T5"]), (SP, ["S1"])):
        ex = make(proc, levels, laterality="bilateral")
        for code, _, mods in cpt(ex):
            assert not {"50", "RT", "LT", "51"} & set(mods)
            if code in ("22512", "22515"):
                assert mods == []


def test_c9_assistant_surgeon_flag():
    ex = make(KP, ["L1"], proc_detail={"assistant": {"start": 5, "end": 10, "text": "Dr. A"}})
    flags = propose(ex).flags
    f = next(f for f in flags if f.id == "assistant_not_payable")
    assert f.evidence[0].text == "Dr. A"


# ------------------------------------------------------------------ C6 mixed sessions
def test_c6_mixed_both_families_with_review():
    ex = make("mixed", {"T12": VP, "L1": KP, "L2": KP})
    assert cpt(ex) == [("22510", 1, []), ("22514", 1, []), ("22515", 1, [])]
    f = next(f for f in propose(ex).flags if f.id == "ncci_modifier_review")
    assert f.verified is False


def test_c6_mixed_addons_stay_with_their_family():
    ex = make("mixed", {"T10": VP, "T11": VP, "T12": KP})
    assert cpt(ex) == [("22510", 1, []), ("22512", 1, []), ("22513", 1, [])]


# ------------------------------------------------------------------ C7 imaging never proposed
def test_c7_imaging_never_proposed():
    rules = load_rules()
    for proc, levels in ((VP, ["T12", "L1"]), (KP, ["L1"]), (SP, ["sacrum"])):
        codes = {c for c, _, _ in cpt(make(proc, levels, laterality="unilateral"))}
        assert not codes & set(rules.table.never_propose)


# ------------------------------------------------------------------ C8 biopsy
@pytest.mark.parametrize(
    ("biopsy", "kinds", "payer", "extra", "flag"),
    [
        ({"performed": True, "sites": ["L1"]}, None, "medicare", [], "biopsy_included"),
        ({"performed": True, "sites": ["L3"]}, None, "medicare", [("20225", 1, ["XS"])], None),
        ({"performed": True, "sites": ["L3"]}, None, "commercial_6wk", [("20225", 1, ["59"])], None),
        ({"performed": True, "sites": ["iliac crest"]}, {"iliac crest": "bone"}, "medicare", [("20220", 1, ["XS"])],
         None),
        ({"performed": True, "sites": ["iliac crest"]}, {"iliac crest": "marrow_biopsy"}, "medicare",
         [("38221", 1, ["XS"])], None),
        ({"performed": True, "sites": ["iliac crest"]}, {"iliac crest": "marrow_aspirate"}, "medicare",
         [("38220", 1, ["XS"])], None),
        ({"performed": True, "sites": ["L1", "iliac crest"]}, {"iliac crest": "marrow_both"}, "medicare",
         [("38222", 1, ["XS"])], "biopsy_included"),
        ({"performed": True, "sites": ["L3", "L4"]}, None, "medicare", [("20225", 1, ["XS"]), ("20225", 1, ["XS"])],
         None),
        ({"performed": True, "sites": []}, None, "medicare", [], "code_withheld"),
        ({"performed": False, "sites": []}, None, "medicare", [], None),
    ],
)
def test_c8_biopsy(biopsy, kinds, payer, extra, flag):
    ex = make(KP, ["L1"], biopsy=biopsy, site_kinds=kinds)
    codes = cpt(ex, payer)
    assert sorted(codes) == sorted([("22514", 1, []), *extra])
    if flag:
        assert flag in flag_ids(ex, payer)
    for line in propose(ex, [], payer).codes:
        if line.code.startswith(("202", "382")):
            assert "item 19" in line.rationale.lower()


def test_c8_biopsy_during_sacroplasty_included():
    ex = make(SP, ["sacrum"], laterality="bilateral", biopsy={"performed": True, "sites": ["sacrum"]})
    assert cpt(ex) == [("0201T", 1, [])]


# ------------------------------------------------------------------ D1-D5 diagnoses
@pytest.mark.parametrize(
    ("indication", "detail", "levels", "expected", "absent"),
    [
        ("osteoporosis", {}, ["L1"], ["M80.08XA"], ["M48.56XA", "S32.019A"]),
        ("osteoporosis", {"subtype": "steroid_induced"}, ["L1"], ["M80.88XA", "T38.0X5A"], ["M80.08XA"]),
        ("neoplasm", {"neoplasm_kind": "metastasis", "primary_site_stated": True}, ["T9"], ["M84.58XA", "C79.51"], []),
        ("neoplasm", {"neoplasm_kind": "myeloma"}, ["T9"], ["M84.58XA", "C90.00"], []),
        ("hemangioma", {}, ["T9"], ["D18.09"], []),
        ("trauma", {}, ["T12", "L1"], ["S22.089A", "S32.019A"], ["M80.08XA"]),
        ("trauma", {}, ["C5"], ["S12.9XXA"], []),
        (None, {}, ["L3"], ["M48.56XA"], []),
        ("other", {}, ["T12"], ["M48.55XA"], []),
    ],
)
def test_d_rules(indication, detail, levels, expected, absent):
    ex = make(VP, levels, indication=indication, ind_detail=detail)
    dx = [d.code for d in propose(ex).diagnoses]
    assert dx == expected
    assert not set(absent) & set(dx)


def test_d1_never_m48_beside_m80():
    for levels in (["T12"], ["L1", "L2"], ["T5", "L4"]):
        dx = [d.code for d in propose(make(KP, levels)).diagnoses]
        assert any(c.startswith("M80") for c in dx)
        assert not any(c.startswith(("M48.5", "S")) for c in dx)


def test_d2_unstated_primary_is_queried():
    ex = make(KP, ["T9"], indication="neoplasm", ind_detail={"neoplasm_kind": "metastasis",
                                                             "primary_site_stated": False})
    assert "neoplasm_primary_query" in flag_ids(ex)


def test_d5_cause_query():
    assert "etiology_query" in flag_ids(make(VP, ["L3"], indication=None))


def test_every_icd_code_in_the_lexicons_is_billable():
    simple_icd = pytest.importorskip("simple_icd_10_cm")
    t = load_rules().table
    codes = set(t.icd10) | set(t.trauma_by_level.values()) | set(t.collapsed_by_region.values()) | set(
        t.neoplasm_codes.values())
    for code in codes:
        assert simple_icd.is_valid_item(code), code
        assert simple_icd.is_leaf(code), f"{code} is not billable"
        assert code in t.icd10, f"{code} has no description"


def test_runtime_never_imports_the_icd_library():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "import sys, scribe.api as a; a.extract('Kyphoplasty L1 balloon.');"
                          "print('simple_icd_10_cm' in sys.modules)"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ V1-V5 coverage
def test_v1_missing_lcd_items_flagged_not_blocking():
    ex = make(KP, ["L1"], coverage={})
    p = propose(ex)
    f = next(f for f in p.flags if f.id == "coverage_documentation" and "LCD" in f.message)
    assert "MRI" in f.message and "bone-density" in f.message
    assert [c.code for c in p.codes] == ["22514"]


def test_v1_complete_documentation_no_flag():
    assert not any("LCD" in f.message for f in propose(make(KP, ["L1"])).flags)


@pytest.mark.parametrize(("payer", "weeks", "flagged"), [
    ("medicare", 2.0, False), ("commercial_6wk", 4.0, True), ("commercial_6wk", 6.0, False),
    ("evicore", 3.0, True), ("evicore", 4.0, False), ("medicare", None, True),
])
def test_v2_conservative_minimums_are_payer_data(payer, weeks, flagged):
    ex = make(KP, ["L1"], weeks=weeks)
    got = any(f.id == "coverage_documentation" and "onservative" in f.message for f in propose(ex, [], payer).flags)
    assert got is flagged


def test_v3_myeloma_exempt_from_level_count():
    ex = make(KP, ["T8", "T9", "T10", "T11"], indication="neoplasm", ind_detail={"neoplasm_kind": "myeloma"})
    assert "level_count_review" not in flag_ids(ex)
    assert "abn_required" not in flag_ids(ex)


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"indication": "hemangioma", "levels": ["T9"]}, "hemangioma"),
    ({"indication": "trauma", "levels": ["L1"]}, "trauma"),
    ({"levels": ["C5"], "proc": VP}, "cervical"),
    ({"levels": ["S1"], "proc": SP, "laterality": "unilateral"}, "sacral"),
    ({"coverage": {"chronic": [ev("chronic L1 fracture")]}}, "chronic"),
])
def test_v4_abn_required(kwargs, reason):
    proc = kwargs.pop("proc", KP)
    ex = make(proc, **kwargs)
    f = next(f for f in propose(ex).flags if f.id == "abn_required")
    assert reason in f.message and f.severity == "warning"
    assert "abn_required" not in flag_ids(ex, "commercial_6wk")


def test_v4_ga_only_on_answer():
    ex = make(VP, ["T9"], indication="hemangioma")
    assert cpt(ex) == [("22510", 1, [])]
    assert cpt(ex, answers=[Answer(element="abn_on_file", value=True)]) == [("22510", 1, ["GA"])]
    assert cpt(ex, answers=[Answer(element="abn_on_file", value=False)]) == [("22510", 1, ["GZ"])]


def test_v5_level_count():
    assert "level_count_review" in flag_ids(make(KP, ["T8", "T9", "T10", "T11"]))
    assert "level_count_review" not in flag_ids(make(KP, ["T9", "T10", "T11"]))


# ------------------------------------------------------------------ seed errors never appear
def test_seed_errors_never_appear():
    rules = load_rules()
    cases = [make(p, lv) for p in (VP, KP) for lv in (["L1", "L2"], ["T12", "L1"], ["L1"], ["T4", "L5"])]
    for ex in cases:
        p = propose(ex)
        codes = [c.code for c in p.codes]
        assert not set(codes) & set(rules.table.deleted)  # no 22520-22525
        assert not set(codes) & {"72291", "72292"}
        if "22511" in codes:  # 22511 is a primary, never an add-on
            assert codes.count("22511") == 1 and next(c for c in p.codes if c.code == "22511").units == 1
        dx = [d.code for d in p.diagnoses]
        assert not (any(c.startswith("M48.5") for c in dx) and any(c.startswith("M80") for c in dx))


def test_non_procedure_note_has_no_codes():
    ex = make(None, [], indication=None)
    ex.is_procedure_note = False
    assert propose(ex).codes == [] and propose(ex).flags == []


def test_unknown_payer_is_a_clear_error():
    from scribe.coding import UnknownPayerError

    with pytest.raises(UnknownPayerError, match="unknown payer"):
        propose(make(), [], "nosuch")


# ------------------------------------------------------------------ coverage items read from the text (V1, V4)
@pytest.mark.parametrize(("sentence", "item", "found"), [
    ("MRI shows marrow edema at L1.", "mri_edema", True),
    ("MRI shows no edema at L1.", "mri_edema", False),
    ("Pain remains 8/10 despite bracing.", "pain_score", True),
    ("Her pain is rated seven out of ten.", "pain_score", True),
    ("Pain 3/10 today.", "pain_score", False),
    ("There is no edema. NRS 9 at rest.", "pain_score", True),
    ("DEXA ordered and alendronate started.", "bone_density", True),
    ("30% loss of height at L1.", "height_loss", True),
    ("Chronic L1 fracture.", "chronic", True),
    ("Old healed T8 fracture.", "chronic", False),  # an untreated level beside the treated one
    ("She is an 80 year old woman.", "chronic", False),
])
def test_coverage_items_from_text(sentence, item, found):  # type: ignore[no-untyped-def]
    from scribe.api import extract

    text = sentence + "\nPROCEDURE: Kyphoplasty at L1; balloon tamp inflated, cement injected under fluoroscopy.\n"
    ex = extract(text)
    assert (item in ex.coverage) is found
    for e in ex.coverage.get(item, []):
        assert text[e.start:e.end] == e.text


@pytest.mark.parametrize(("ftype", "levels", "expected"), [
    ("wedge", ["L1"], ["S32.010A"]),
    ("burst_stable", ["T12", "L1"], ["S22.081A", "S32.011A"]),
    ("burst_unstable", ["T12"], ["S22.082A"]),
    ("burst", ["L2"], ["S32.029A"]),
    (None, ["C5"], ["S12.9XXA"]),
])
def test_d4_fracture_type(ftype, levels, expected):  # type: ignore[no-untyped-def]
    detail = {"fracture_type": ftype} if ftype else {}
    ex = make(KP if levels != ["C5"] else VP, levels, indication="trauma", ind_detail=detail)
    assert [d.code for d in propose(ex).diagnoses] == expected
    assert ("fracture_type_query" in flag_ids(ex)) is (ftype == "burst")


def test_every_derived_trauma_code_is_billable():
    simple_icd = pytest.importorskip("simple_icd_10_cm")
    t = load_rules().table
    for level in [*(f"T{i}" for i in range(1, 13)), *(f"L{i}" for i in range(1, 6))]:
        for ftype in t.fracture_type_digit:
            code = t.trauma_code(level, ftype)
            assert code and simple_icd.is_valid_item(code) and simple_icd.is_leaf(code), (level, ftype, code)


def test_d3_hemangioma_with_fracture():
    ex = make(VP, ["T9"], indication="hemangioma", ind_detail={"with_fracture": True})
    assert [d.code for d in propose(ex).diagnoses] == ["M84.58XA", "D18.09"]
    assert [d.code for d in propose(make(VP, ["T9"], indication="hemangioma")).diagnoses] == ["D18.09"]


def test_c2_transitional_level_treated_is_flagged():
    assert "transitional_anatomy" in flag_ids(make(VP, ["L6"]))
    assert "transitional_anatomy" in flag_ids(make(KP, ["T13"]))
