"""Acts, the document gate, forms and the rule families of issue 14, each with its own small examples."""

from __future__ import annotations

import pytest

from scribe.api import extract
from scribe.forms import field_state, form_spans


def _kind(text: str) -> str:
    return extract(text, note_id="t").document.kind


def _acts(text: str, kind: str) -> list[tuple[str | None, str, str]]:
    return [(a.level, a.when, a.polarity) for a in extract(text, note_id="t").acts if a.act == kind]


# -- acts -----------------------------------------------------------------------------------------------
def test_cement_delivered_is_an_act_at_its_level() -> None:
    acts = _acts("Procedure: vertebroplasty L2.\nTechnique: A needle was advanced into L2. PMMA 3 mL was injected "
                 "into L2 under fluoroscopy.", "cement")
    assert ("L2", "today", "affirmed") in acts


def test_cement_seen_on_imaging_is_no_act() -> None:
    assert _acts("Technique: Under fluoroscopy, cement was identified in the L3 and L4 vertebral bodies. "
                 "A spinal needle was advanced at L5-S1.", "cement") == []


def test_cement_for_screws_is_no_act() -> None:
    assert _acts("Technique: PMMA was injected through the fenestrated pedicle screws at L4 and L5.", "cement") == []


def test_cement_in_a_stop_clause_is_negated() -> None:
    acts = _acts("Technique: a needle was placed into T12; the procedure was cancelled before any cement was "
                 "injected.", "cement")
    assert acts and all(p == "negated" for _, _, p in acts)


def test_act_without_level_takes_the_level_of_the_previous_act_in_its_paragraph() -> None:
    acts = _acts("Technique: An 11-gauge needle was advanced into the L1 body. Cement was then injected slowly.",
                 "cement")
    assert acts == [("L1", "today", "affirmed")]


def test_historical_procedure_act_is_past() -> None:
    acts = _acts("History: she had cement injected at T8 in 2019 for a fracture.", "cement")
    assert all(w == "past" for _, w, _ in acts)


def test_ablation_is_its_own_act_and_no_cavity() -> None:
    ex = extract("Technique: radiofrequency ablation of the T10 lesion was performed with the OsteoCool probe. "
                 "PMMA 3 mL was then injected into T10.", note_id="t")
    kinds = {a.act for a in ex.acts}
    assert "ablation" in kinds and "cavity" not in kinds
    assert ex.elements.procedure_type.value in (None, "vertebroplasty")


# -- the document gate ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "kind"), [
    ("MRI THORACIC SPINE\n\nFindings: post-kyphoplasty changes at T12 with cement in the vertebral body.\n",
     "imaging_report"),
    ("HOSPITAL MEDICINE PROGRESS NOTE\n\nSubjective: post-op day 1 after T12 kyphoplasty yesterday.\n",
     "clinical_note"),
    ("Spine Center\nUtilization Management Correspondence\n\nRe: request for kyphoplasty T12, CPT 22513.\n",
     "correspondence"),
    ("CT-GUIDED BONE BIOPSY - T10\n\nProcedure: core biopsy of T10. Vertebroplasty was deferred. "
     "No cement was injected.\n", "other_procedure"),
    ("OPERATIVE REPORT\n\nProcedure: L4-L5 fusion.\nTechnique: PMMA was injected through fenestrated pedicle "
     "screws at L4 and L5.\n", "other_procedure"),
    ("KYPHOPLASTY PROCEDURE NOTE\n\nTechnique: balloon inflated in T12, PMMA 4 mL injected into T12.\n",
     "augmentation_procedure"),
    ("Vertebroplasty T12 under fluoroscopy.", "augmentation_procedure"),
])
def test_document_kinds(text: str, kind: str) -> None:
    assert _kind(text) == kind


def test_non_augmentation_documents_get_no_elements_and_no_codes() -> None:
    ex = extract("MRI LUMBAR SPINE\n\nFindings: post-vertebroplasty changes at L2.\n", note_id="t")
    assert ex.document.kind == "imaging_report" and ex.document.reason and ex.document.evidence
    assert ex.codes == [] and ex.missing == [] and ex.elements.procedure_type.value is None
    assert ex.elements.levels.status == "not_applicable"


def test_run_in_title_before_demographics() -> None:
    text = ("ct myelogram thoracic and lumbar spine patient john doe mrn 000000 prior t12 kyphoplasty "
            "cement fills t12 contrast was injected at l2 l3")
    assert _kind(text) == "imaging_report"


def test_discontinued_procedure_has_no_codes_and_a_flag() -> None:
    ex = extract("INTERVENTIONAL RADIOLOGY PROCEDURE NOTE\n\nProcedure: vertebroplasty L2.\nTechnique: an "
                 "11-gauge cannula was advanced into L2. The patient became agitated and the procedure was aborted "
                 "before any cement was injected.\n", note_id="t")
    assert ex.document.kind == "augmentation_procedure"
    assert ex.elements.procedure_type.value is None and ex.codes == [] and ex.missing == []
    assert [f.id for f in ex.flags] == ["discontinued_procedure"]


def test_cancelled_before_access_is_a_clinical_note() -> None:
    ex = extract("IR NOTE\n\nProcedure: vertebroplasty L1 was cancelled for an INR of 2.4; no procedure was "
                 "performed.\n", note_id="t")
    assert ex.document.kind == "clinical_note" and ex.codes == []


def test_comparison_is_not_a_performed_procedure() -> None:
    ex = extract("NEUROSURGERY OPERATIVE NOTE\n\nIndication: reconstruction was recommended over vertebroplasty.\n"
                 "Technique: T9 corpectomy with a PMMA strut over Steinmann pins.\n", note_id="t")
    assert ex.elements.procedure_type.value is None and ex.codes == []


# -- forms ------------------------------------------------------------------------------------------------
def test_unchecked_options_state_nothing() -> None:
    ex = extract("PROCEDURE FORM\n\nProcedure:   [x] Vertebroplasty   [ ] Kyphoplasty   [ ] Sacroplasty\n"
                 "Level(s):    L1\nGuidance:    [x] Fluoroscopy   [ ] CT\nCement:      PMMA 4.5 mL injected\n",
                 note_id="t")
    assert ex.elements.procedure_type.value == "vertebroplasty"
    assert ex.elements.levels.value == ["L1"]
    assert ex.elements.guidance.value == ["fluoroscopy"]


def test_glyph_boxes_and_numbered_headings() -> None:
    ex = extract("AUGMENTATION RECORD\n\n1. PROCEDURE\n   ☐ Vertebroplasty    ☒ Kyphoplasty (balloon)\n\n"
                 "2. LEVEL(S) TREATED\n   ☐ T11   ☐ T12   ☒ L2   ☐ L3\n\n3. CAVITY CREATION\n"
                 "   ☒ Inflatable bone tamp   ☐ None\n\n4. CEMENT\n   PMMA. Volume: 5.5 mL.\n", note_id="t")
    assert ex.elements.procedure_type.value == "kyphoplasty"
    assert ex.elements.levels.value == ["L2"]


def test_field_states() -> None:
    assert field_state(" [ ] Yes  [x] No") == "denied"
    assert field_state(" ☐ Yes  ☐ No") == "blank"
    assert field_state(" [x] Yes  [ ] No") == "affirmed"
    assert field_state(" fluoroscopy") is None


def test_pick_list_is_void_and_its_field_blank() -> None:
    text = "Procedure: Kyphoplasty, L1\nCavity creation: {Balloon tamp/SpineJack/Osteotome/None}\nCement: PMMA " \
           "5 mL injected into the L1 body.\nBiopsy: [ ] Yes  [x] No\n"
    spans = form_spans(text)
    assert spans.is_void(text.index("{Balloon") + 1)
    ex = extract(text, note_id="t")
    assert ex.elements.cavity_creation.value is None and ex.codes == []
    assert ex.elements.biopsy.value == {"performed": False, "sites": []}


def test_alternatives_name_neither_procedure() -> None:
    ex = extract("VERTEBROPLASTY / KYPHOPLASTY PROCEDURE FORM\n\nProcedure: [x] Vertebroplasty [ ] Kyphoplasty\n"
                 "Level: L1\nBalloon: [ ] Yes\nCement: PMMA 4 mL injected into L1.\n", note_id="t")
    assert ex.elements.procedure_type.value == "vertebroplasty"
    assert [c.code for c in ex.codes] == ["22511"]


# -- therapy, biopsy, sections, laterality ------------------------------------------------------------------
@pytest.mark.parametrize(("phrase", "weeks"), [("6/52", 6.0), ("3/12", 13.0), ("14/7", 2.0)])
def test_british_durations(phrase: str, weeks: float) -> None:
    ex = extract(f"Procedure: vertebroplasty T8.\nIndication: {phrase} of analgesia and a brace without benefit.",
                 note_id="t")
    assert ex.elements.conservative_therapy.value["weeks"] == pytest.approx(weeks, abs=0.01)


def test_care_that_worked_is_not_failed_care() -> None:
    ex = extract("Procedure: vertebroplasty T8.\nHistory: an L3 fracture was treated with a brace for 3 months in "
                 "2021, which healed.", note_id="t")
    assert ex.elements.conservative_therapy.value is None


def test_biopsy_site_only_within_its_clause() -> None:
    ex = extract("Procedure: kyphoplasty T12 and L1.\nTechnique: balloons inflated at T12 and L1, PMMA injected into "
                 "T12 and L1.\nImpression: Balloon kyphoplasty T12 and L1; biopsy, pathology pending.", note_id="t")
    assert ex.elements.biopsy.value == {"performed": True, "sites": []}


def test_compound_and_kind_of_headings() -> None:
    ex = extract("Procedure: Left sacroplasty.\nHistory/indication: MRI showed a left sacral fracture; right ala "
                 "normal.\nTechnique: two needles into the left sacral ala, PMMA injected.\n"
                 "Post-op plan: CT pelvis tomorrow.", note_id="t")
    assert ex.elements.laterality.value == "unilateral"
    assert ex.elements.guidance.value == []


def test_evidence_is_never_empty_for_found_elements_and_codes() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent.parent / "shared"
    for d in ("dev_gold", "dev_wild"):
        for note in sorted((root / d).glob("*.txt")):
            ex = extract(note.read_text(encoding="utf-8"), note_id=note.stem)
            for name in ("procedure_type", "cavity_creation", "levels", "guidance", "laterality", "indication"):
                el = ex.elements.get(name)
                if el.status == "found" and el.value not in (None, [], False):
                    assert el.evidence, (note.name, name)
            for line in ex.codes:
                assert line.evidence, (note.name, line.code)
            assert ex.document.reason


# -- levels come from acts, not from co-occurrence (the issue's own examples) -------------------------------
def _codes(text: str) -> list[tuple[str, int, list[str]]]:
    return [(c.code, c.units, c.modifiers) for c in extract(text, note_id="t").codes]


def test_a_needle_used_for_anaesthetic_treats_no_level() -> None:
    text = ("PROCEDURE: Vertebroplasty T12.\nTECHNIQUE: Under fluoroscopy, a 22-gauge spinal needle infiltrated "
            "local anaesthetic at L2 and L3 paraspinal soft tissues, then an 11-gauge needle was advanced into T12 "
            "and 3 mL PMMA was injected into T12.\n")
    assert extract(text, note_id="t").elements.levels.value == ["T12"]
    assert _codes(text) == [("22510", 1, [])]


def test_a_pedicle_looked_at_is_not_accessed() -> None:
    text = ("PROCEDURE: Kyphoplasty T12.\nTECHNIQUE: Under fluoroscopy the L2 pedicles appeared intact. Bipedicular "
            "access to T12, balloon inflated in T12, PMMA 4 mL injected into T12.\n")
    assert _codes(text) == [("22513", 1, [])]


def test_could_not_be_completed_is_discontinued() -> None:
    ex = extract("PROCEDURE: Vertebroplasty L1.\nTECHNIQUE: An 11-gauge needle was advanced into L1 under "
                 "fluoroscopy. The procedure could not be completed because of a posterior wall breach; no cement "
                 "was given.\n", note_id="t")
    assert ex.codes == [] and "discontinued_procedure" in [f.id for f in ex.flags]


def test_a_biopsy_level_in_the_title_is_not_treated() -> None:
    text = ("Vertebroplasty T8 and T9 with needle biopsy of a T11 lytic lesion\n\nTECHNIQUE: Under fluoroscopy, "
            "needles were advanced into T8 and T9 and PMMA was injected into T8 and T9. A needle biopsy of the T11 "
            "lesion was obtained.\n")
    ex = extract(text, note_id="t")
    assert ex.elements.levels.value == ["T8", "T9"]
    assert _codes(text) == [("22510", 1, []), ("22512", 1, []), ("20225", 1, ["XS"])]  # the primary line first
    assert "biopsy_included" not in [f.id for f in ex.flags]


def test_a_consult_and_procedure_note_is_decided_by_its_acts() -> None:
    ex = extract("INTERVENTIONAL RADIOLOGY CONSULT AND PROCEDURE NOTE\n\nProcedure: vertebroplasty L1.\nTechnique: an "
                 "11-gauge needle was advanced into L1 and PMMA 3 mL was injected.\n", note_id="t")
    assert ex.document.kind == "augmentation_procedure" and [c.code for c in ex.codes] == ["22511"]


@pytest.mark.parametrize("text", [
    "OPERATIVE REPORT\n\nProcedure: L4-L5 laminectomy and fusion.\nDescription: pedicle screws were placed at L4 and "
    "L5; a laminectomy was performed with a drill and an osteotome.\n",
    "PROCEDURE NOTE\n\nProcedure: balloon femoroplasty, left femur.\nTechnique: a balloon tamp was inflated in the "
    "femoral neck, then 12 mL of PMMA was injected into the femoral neck.\n",
    "PSYCHIATRY CONSULTATION\n\nReason: low mood after a T12 vertebroplasty performed last month.\n",
    "TELEPHONE ENCOUNTER\n\nCalled the patient 2 days after T12 and L1 balloon kyphoplasty; pain improved.\n",
    "MRI LUMBAR SPINE\n\nImpression: acute L1 fracture. Kyphoplasty could be considered if pain persists.\n",
])
def test_look_alike_documents_get_no_procedure(text: str) -> None:
    from scribe.metamorphic import flatten

    for form in (text, flatten(text)):
        ex = extract(form, note_id="t")
        assert ex.elements.procedure_type.value is None and ex.codes == [], form


def test_a_level_accessed_but_not_cemented_is_flagged_not_billed() -> None:
    ex = extract("PROCEDURE: Kyphoplasty T11 and T12; L1 access attempted and abandoned.\nTECHNIQUE: balloons were "
                 "inflated in T11 and T12 and PMMA injected into T11 and T12. At L1 the left trocar was advanced into "
                 "the pedicle, then withdrawn; L1 augmentation was abandoned and no cement was given at L1.\n",
                 note_id="t")
    assert ex.elements.levels.value == ["T11", "T12"]
    flag = next(f for f in ex.flags if f.id == "access_without_cement")
    assert "L1" in flag.message and flag.evidence


def test_code_lines_cite_the_acts_they_bill() -> None:
    ex = extract("Procedure: kyphoplasty T12.\nTechnique: a balloon was inflated in T12 and PMMA 4 mL was injected "
                 "into T12.\n", note_id="t")
    texts = {e.text for e in ex.codes[0].evidence}
    assert "T12" in texts and ({"balloon", "PMMA"} & texts)


def test_a_discharge_summary_tells_of_a_procedure_it_does_not_record() -> None:
    ex = extract("Admission Date: 03/01/2025\nDischarge Date: 03/04/2025\n\nHospital Course: admitted with an acute "
                 "T12 fracture; on 03/02 she underwent T12 balloon kyphoplasty, a balloon was inflated and PMMA was "
                 "injected into T12.\n\nDischarge Medications: alendronate.\n", note_id="t")
    assert ex.document.kind == "clinical_note" and "discharge summary" in ex.document.reason
    assert ex.codes == [] and ex.elements.procedure_type.value is None


def test_a_clinic_note_that_records_cement_today_is_a_procedure_record() -> None:
    ex = extract("HPI: acute L1 osteoporotic fracture, failed 6 weeks of bracing.\nPhysical Exam: tenderness at L1.\n"
                 "Procedure: L1 vertebroplasty. An 11-gauge needle was advanced into L1 under fluoroscopy and PMMA "
                 "3 mL was injected into L1.\nPlan: follow up in 2 weeks.\n", note_id="t")
    assert ex.document.kind == "augmentation_procedure" and [c.code for c in ex.codes] == ["22511"]


def test_a_consult_laid_out_as_one_records_nothing() -> None:
    ex = extract("Chief Complaint: back pain.\nHPI: acute L1 fracture; kyphoplasty is planned for next week.\n"
                 "Review of Systems: negative.\nAssessment: L1 fracture.\n", note_id="t")
    assert ex.document.kind == "clinical_note" and ex.codes == []
