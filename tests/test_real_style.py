"""Real-world dictation shapes (operative-report headings, speech-recognition slips, terse
histories) on small notes written for these tests."""

from __future__ import annotations

from typing import Any

from scribe.api import extract
from scribe.numbers import parse_number


def values(text: str) -> dict[str, Any]:
    ex = extract(text, note_id="t", with_codes=False)
    return {k: v["value"] for k, v in ex.to_contract()["elements"].items()}


def weeks(text: str) -> float | None:
    therapy = values(text)["conservative_therapy"]
    return None if therapy is None else therapy["weeks"]


# -- conservative therapy durations ------------------------------------------------------
def test_half_a_year_is_26_weeks() -> None:
    assert parse_number(["half", "a", "year"]) == (0.5, 2)
    assert weeks("PROCEDURE: Vertebroplasty L1 under fluoroscopy.\nHISTORY: She failed half a year of "
                 "conservative therapy with a brace.") == 26.0


# -- guidance ----------------------------------------------------------------------------
def test_speech_recognised_see_arm_is_c_arm() -> None:
    v = values("procedure vertebroplasty el two. we used the see arm to find el two and cement was injected.")
    assert v["guidance"] == ["fluoroscopy"]


def test_months_of_pain_medication_is_therapy_not_pain_duration() -> None:
    assert weeks("OPERATION: Vertebroplasty, T12.\nBRIEF HISTORY: Despite 2 months of pain medication and a brace "
                 "he remains in severe pain.\nOPERATIVE PROCEDURE: Under fluoroscopy cement was injected "
                 "into T12.") == 8.67


def test_months_of_pain_is_still_not_therapy() -> None:
    assert weeks("PROCEDURE: Vertebroplasty T12 under fluoroscopy.\nHISTORY: 3 months of pain; she has failed "
                 "bracing and analgesics.") is None


# -- levels ------------------------------------------------------------------------------
def test_dotted_level_letter_from_speech_recognition() -> None:
    v = values("Procedure: kyphoplasty L. 1. Under fluoroscopy the balloon was inflated in L. 1 and cement "
               "was injected.")
    assert v["levels"] == ["L1"]


def test_level_aborted_in_the_body_is_not_treated_though_the_heading_names_it() -> None:
    v = values("PROCEDURE: Kyphoplasty T11 and T12.\nDESCRIPTION: Under fluoroscopy a balloon was inflated in T11 "
               "and cement was injected. The T12 pedicle could not be cannulated safely and the T12 procedure was "
               "aborted.")
    assert v["levels"] == ["T11"]


def test_heading_level_said_not_treated_in_the_body_is_dropped() -> None:
    v = values("PROCEDURE: Vertebroplasty L2 and L3.\nTECHNIQUE: Under fluoroscopy cement was injected into L2. "
               "On review L3 was not treated because its fracture had healed.")
    assert v["levels"] == ["L2"]


def test_no_cement_leak_at_a_heading_level_keeps_it() -> None:
    v = values("PROCEDURE: Vertebroplasty L2 and L3.\nTECHNIQUE: Under fluoroscopy cement was injected into L2 and "
               "L3. No cement leak at L3.")
    assert v["levels"] == ["L2", "L3"]


# -- biopsy ------------------------------------------------------------------------------
def test_dictated_specimens_none_is_no_biopsy() -> None:
    v = values("procedure vertebroplasty tee eight under fluoro. cement was injected into tee eight. specimens none. "
               "complications none.")
    assert v["biopsy"] == {"performed": False, "sites": []}


def test_specimen_sent_without_complication_is_still_a_biopsy() -> None:
    v = values("PROCEDURE: Vertebroplasty T8.\nDESCRIPTION: Under fluoroscopy a core specimen of T8 was obtained and "
               "sent to pathology. Cement was injected into T8 with no leak.")
    assert v["biopsy"] == {"performed": True, "sites": ["T8"]}


def test_terse_failed_duration_without_a_named_therapy() -> None:
    assert weeks("PROCEDURE: Vertebroplasty T9 under CT guidance.\nHISTORY: Osteoporotic T9 fracture, failed "
                 "6 weeks.") == 6.0
    assert weeks("PROCEDURE: Vertebroplasty T9 under CT guidance.\nHISTORY: Osteoporotic T9 fracture; she tried "
                 "2 weeks ago to stand up.") is None


# -- indication --------------------------------------------------------------------------
def test_sports_stairs_and_work_injuries_in_normal_bone_are_trauma() -> None:
    for history in ("a skiing accident", "a fall down a flight of stairs", "being thrown from his bicycle",
                    "being struck on the back by a falling pallet at work"):
        v = values(f"PROCEDURE: Kyphoplasty L1 under fluoroscopy; balloons inflated in L1, cement injected.\n"
                   f"HISTORY: 45-year-old with an L1 compression fracture after {history}. Normal bone density.")
        assert v["indication"] == "trauma", history


def test_stairs_fall_with_osteoporosis_stays_osteoporosis() -> None:
    v = values("PROCEDURE: Vertebroplasty T12 under fluoroscopy; cement injected into T12.\nHISTORY: 84-year-old "
               "with osteoporosis who fell down the stairs at home.")
    assert v["indication"] == "osteoporosis"


def test_run_on_dictation_negation_stops_at_under() -> None:
    v = values("date of service june thirtieth twenty twenty five kyphoplasty tee twelve osteoporosis failed six "
               "weeks we did not do a biopsy under fluoro balloon inflated in tee twelve cement injected")
    assert v["biopsy"] == {"performed": False, "sites": []}
    assert v["guidance"] == ["fluoroscopy"]
    assert v["procedure_type"] == "kyphoplasty"
    assert v["cavity_creation"] is True


def test_x_ray_guidance_is_fluoroscopy() -> None:
    v = values("PROCEDURE: Vertebroplasty L2.\nDESCRIPTION: Under x-ray guidance an 11-gauge needle was advanced "
               "into L2 and cement was injected.")
    assert v["guidance"] == ["fluoroscopy"]
    v = values("PROCEDURE: Vertebroplasty L2.\nHISTORY: X-ray of the lumbar spine showed an L2 fracture.\n"
               "DESCRIPTION: A needle was advanced into L2 and cement was injected.")
    assert v["guidance"] == []


def test_balloon_that_ruptured_before_any_cavity_is_cement_only() -> None:
    v = values("PROCEDURE: Attempted kyphoplasty T12, converted to vertebroplasty.\nTECHNIQUE: Under fluoroscopy a "
               "cannula was placed into T12. The balloon ruptured on first inflation before any cavity was made "
               "and was withdrawn. Cement was then injected directly into T12.")
    assert v["procedure_type"] == "vertebroplasty"
    assert v["cavity_creation"] is False


def test_a_cause_still_to_be_excluded_is_not_the_indication() -> None:
    v = values("PROCEDURE: Vertebroplasty L2 under fluoroscopy; cement injected into L2.\nHISTORY: Painful L2 "
               "fracture in a 70-year-old; malignancy needs to be ruled out, so a biopsy was sent.")
    assert v["indication"] is None


def test_cement_seen_stable_at_other_levels_is_not_treatment_today() -> None:
    v = values("PROCEDURE: Vertebroplasty T10.\nTECHNIQUE: Under fluoroscopy a needle was placed into T10 and 3 mL "
               "of cement was injected. The T7 and T8 cement casts were stable.")
    assert v["levels"] == ["T10"]


def test_tabs_no_break_and_double_spaces_inside_a_phrase() -> None:
    for gap in ("  ", "\t", "\u00a0"):
        v = values(f"PROCEDURE: Kyphoplasty T11{gap}through{gap}L1.\nHISTORY: Osteoporosis; she failed 6{gap}weeks "
                   "of bracing.\nTECHNIQUE: Under fluoroscopy balloons were inflated at each level, creating "
                   "cavities, and cement was injected.")
        assert v["levels"] == ["T11", "T12", "L1"], repr(gap)
        assert v["conservative_therapy"]["weeks"] == 6.0, repr(gap)


def test_a_list_on_separate_lines_is_not_a_range() -> None:
    v = values("PROCEDURE: Vertebroplasty.\nLevels treated:\n- T11\n- L1\nUnder fluoroscopy cement was injected at "
               "each level.")
    assert v["levels"] == ["T11", "L1"]


def test_terse_vp_abbreviation_but_not_a_vp_shunt() -> None:
    v = values("VP T12 under fluoro for osteoporotic fx, cement in T12. Failed 6 wk brace. No bx.")
    assert (v["procedure_type"], v["levels"], v["guidance"]) == ("vertebroplasty", ["T12"], ["fluoroscopy"])
    assert v["biopsy"] == {"performed": False, "sites": []}
    ex = extract("Man with a VP shunt and a painful osteoporotic L1 fracture seen today.\nPLAN: consider kyphoplasty.",
                 with_codes=False)
    assert not ex.is_procedure_note


def test_blank_template_field_in_the_middle_of_a_line() -> None:
    v = values("Procedure: Vertebroplasty   Level: L2   Side: ____\nGuidance: fluoroscopy   Biopsy: ____   Cement: 3 mL"
               "\nNarrative: needle placed into L2 and cement injected.")
    assert v["biopsy"] == {"performed": None, "sites": []}
    assert v["guidance"] == ["fluoroscopy"]
    v = values("Procedure: Kyphoplasty L1   Balloon: ***   Guidance: ***\nNarrative: cannula placed into L1, cement "
               "injected.")
    assert v["guidance"] == [] and v["cavity_creation"] is None


def test_template_title_vertebral_augmentation_beside_a_named_vertebroplasty() -> None:
    v = values("VERTEBRAL AUGMENTATION PROCEDURE NOTE\nProcedure: Vertebroplasty\nLevel(s): T11\nGuidance: Fluoroscopy"
               "\nNarrative: a needle was placed into T11 and 2 mL of cement was injected.")
    assert v["procedure_type"] == "vertebroplasty"
    v = values("Procedure: Vertebral augmentation\nLevel(s): T11\nNarrative: a needle was placed into T11 and cement "
               "was injected.")
    assert (v["procedure_type"], v["cavity_creation"]) == ("kyphoplasty", None)


def test_dotted_letter_with_a_spoken_number_and_floral_scopic() -> None:
    v = values("procedure kyphoplasty at T. twelve. under floral scopic guidance the balloon was inflated in T. "
               "twelve creating a cavity and cement was injected.")
    assert (v["levels"], v["guidance"]) == (["T12"], ["fluoroscopy"])


def test_a_denial_after_the_guidance_still_reaches_the_term_before_it() -> None:
    """'under' is no clause boundary: a backward denial reaches the biopsy named before the guidance."""
    v = values("PROCEDURE: Vertebroplasty L2.\nDESCRIPTION: Under fluoroscopic guidance an 11 gauge needle was "
               "placed into L2 and 3 mL of PMMA cement was injected. A bone biopsy under fluoroscopy was not "
               "performed.")
    assert v["biopsy"] == {"performed": False, "sites": []}
    v = values("CONSULT NOTE\nOsteoporotic L1 compression fracture. Kyphoplasty under fluoroscopic guidance was not "
               "performed today because the patient declined. Will follow up.")
    assert v["procedure_type"] is None


def test_a_negation_aimed_at_an_earlier_term_spares_the_guidance_after_it() -> None:
    v = values("PROCEDURE: Kyphoplasty L1.\nDESCRIPTION: No balloon was used under fluoroscopy at first; then an "
               "inflatable bone tamp was inflated in L1 and cement injected.")
    assert v["guidance"] == ["fluoroscopy"]
    v = values("PROCEDURE: Vertebroplasty L3.\nDESCRIPTION: Cement was injected into L3 under CT guidance. "
               "No fluoroscopy or balloon was used.")
    assert v["guidance"] == ["ct"]


def test_something_else_unchanged_beside_the_treated_level_is_no_history() -> None:
    """Only stable prior cement is history ("the T7 and T8 cement casts were stable"): an unchanged
    alignment or a stable patient beside today's level is not."""
    v = values("Vertebroplasty note. Under fluoroscopy cement was injected into L2 and alignment was unchanged. "
               "Osteoporosis. Failed 6 weeks of bracing.")
    assert v["levels"] == ["L2"]
    v = values("Kyphoplasty note. Under fluoroscopy balloons were inflated at T11 and T12 and cement was injected "
               "and the patient was stable.")
    assert v["levels"] == ["T11", "T12"]


def test_months_of_pain_despite_treatment_is_how_long_the_pain_lasted() -> None:
    head = "PROCEDURE: Vertebroplasty L2 under fluoroscopy; cement injected into L2.\nHISTORY: "
    assert weeks(head + "3 months of pain despite NSAIDs and a brace.") is None
    assert weeks(head + "Despite 2 months of pain medication she remains in pain.") == 8.67


# -- long one-line dictations --------------------------------------------------------------
def test_spoken_headings_after_new_paragraph_on_one_line_each_start_a_section() -> None:
    v = values("dictation for a patient new paragraph preoperative diagnosis colon fracture of el two period "
               "new paragraph procedure colon kyphoplasty el two period new paragraph description colon under "
               "fluoroscopy a balloon was inflated in el two creating a cavity and cement was injected period")
    assert (v["procedure_type"], v["cavity_creation"], v["levels"]) == ("kyphoplasty", True, ["L2"])
    assert v["guidance"] == ["fluoroscopy"]


# -- indication: a cancer in remission or only in the history ------------------------------
def test_cancer_in_remission_beside_an_insufficiency_fracture_is_osteoporosis() -> None:
    v = values("PROCEDURE: Vertebroplasty T9 under fluoroscopy; cement injected into T9.\nHISTORY: Osteoporotic man, "
               "lymphoma that is in remission for 4 years, with a T9 insufficiency fracture.")
    assert v["indication"] == "osteoporosis"
    v = values("PROCEDURE: Vertebroplasty T9 under fluoroscopy; cement injected into T9.\nHISTORY: Myeloma, not in "
               "remission, with a lytic T9 fracture; also osteoporosis.")
    assert v["indication"] == "neoplasm"


def test_a_cancer_history_behind_the_word_is_history() -> None:
    v = values("PROCEDURE: Vertebroplasty L3 under fluoroscopy; cement injected into L3.\nHISTORY: Osteoporosis. "
               "Given her colon cancer history a biopsy of L3 was sent to exclude malignancy.")
    assert v["indication"] == "osteoporosis"


def test_scheduled_medication_is_regular_dosing_not_a_plan() -> None:
    assert weeks("Date of Service: 03/30/2025\nPROCEDURE: Vertebroplasty L2 under fluoroscopy; cement injected into "
                 "L2.\nHISTORY: She has used a brace and scheduled acetaminophen since 03/02/2025 without "
                 "improvement.") == 4.0
    assert weeks("PROCEDURE: Vertebroplasty L2 under fluoroscopy; cement injected into L2.\nHISTORY: Pain "
                 "refractory to scheduled tramadol for 5 weeks.") == 5.0


def test_fluoroscopy_that_confirmed_the_level_was_the_guidance() -> None:
    v = values("PROCEDURE: Vertebroplasty T5.\nDESCRIPTION: Biplanar fluoroscopy confirmed the level by counting "
               "from C7. A needle was placed into T5 and 2 mL of cement was injected.")
    assert v["guidance"] == ["fluoroscopy"]


def test_therapy_that_ended_weeks_ago_is_not_its_duration() -> None:
    assert weeks("PROCEDURE: Vertebroplasty T6 under fluoroscopy; cement injected into T6.\nHISTORY: Metastatic "
                 "fracture; pain refractory to palliative radiation completed 3 weeks ago and to oral "
                 "morphine.") is None
    assert weeks("PROCEDURE: Vertebroplasty T6 under fluoroscopy; cement injected into T6.\nHISTORY: She "
                 "completed 3 weeks of physical therapy without relief.") == 3.0


def test_the_other_sacral_ala_said_intact_is_not_a_treated_side() -> None:
    v = values("PROCEDURE: Sacroplasty.\nTECHNIQUE: Under CT guidance a needle was placed into the left sacral ala "
               "and 4 mL of cement was injected.\nFINDINGS: Left alar fracture filled with cement. The right sacral "
               "ala is intact.")
    assert v["laterality"] == "unilateral"


def test_stable_cement_at_a_level_in_an_imaging_paragraph_is_not_treatment() -> None:
    ex = extract("FOLLOW-UP\nHPI: Myeloma with painful T9 and T10 fractures; kyphoplasty at L2 in 2023.\nIMAGING: MRI "
                 "shows fractures at T9 and T10 with persistent edema, stable L2 cement.\nPLAN: vertebroplasty at T9 "
                 "and T10 next week.", with_codes=False)
    assert not ex.is_procedure_note
    v = values("PROCEDURE: Kyphoplasty L1 for a stable L1 burst fracture.\nTECHNIQUE: Under fluoroscopy a balloon "
               "was inflated in L1, creating a cavity, and cement was injected.")
    assert v["levels"] == ["L1"]


def test_weeks_of_radiation_are_not_conservative_care() -> None:
    assert weeks("PROCEDURE: Vertebroplasty T9 under fluoroscopy; cement injected into T9.\nHISTORY: Myeloma. He "
                 "completed 4 weeks of radiation to T9 and T10 and has worn a brace for 5 weeks, but pain remains "
                 "7/10.") == 5.0


# -- over-broad cues narrowed (review of today's rules) ----------------------------------------
def test_stable_is_prior_cement_only_when_cement_follows() -> None:
    """'stable <level> cement' is prior cement; a stable patient or a stable fracture is not history."""
    v = values("PROCEDURE: Kyphoplasty T12.\nDESCRIPTION: Under fluoroscopy, with the patient hemodynamically stable, "
               "a balloon was inflated in T12 and cement was injected.")
    assert v["cavity_creation"] is True
    v = values("PROCEDURE: Vertebroplasty for a stable T12 compression fracture with persistent pain.\nTECHNIQUE: "
               "Under fluoroscopy bilateral needles were placed and cement was injected.")
    assert v["levels"] == ["T12"]


def test_an_abandoned_needle_path_is_no_aborted_level() -> None:
    """'the T12 procedure was aborted' drops T12; a trajectory or approach given up and redone does not."""
    v = values("PROCEDURE: Vertebroplasty L2.\nDESCRIPTION: Under fluoroscopy the first needle trajectory into L2 was "
               "abandoned because of a medial breach. The needle was redirected laterally and 3 mL of cement was "
               "injected into L2.")
    assert (v["levels"], v["guidance"]) == (["L2"], ["fluoroscopy"])
    v = values("PROCEDURE: Kyphoplasty T11 and T12.\nDESCRIPTION: Under fluoroscopy a balloon was inflated in T11 "
               "and cement was injected. The T12 pedicle was too narrow and the procedure at T12 was abandoned.")
    assert v["levels"] == ["T11"]


def test_a_history_heading_run_into_the_procedure_line_is_no_history_cue() -> None:
    """'her colon cancer history' makes the cancer history; a 'History' heading spoken or typed right after
    the procedure and level does not make the procedure a past one."""
    v = values("procedure vertebroplasty tee twelve history eighty year old woman with osteoporosis under fluoro "
               "cement injected into tee twelve")
    assert (v["procedure_type"], v["levels"]) == ("vertebroplasty", ["T12"])
    v = values("Procedure: Vertebroplasty T12 Brief history: osteoporosis, fall from standing. Under fluoroscopy "
               "cement was injected into T12.")
    assert v["procedure_type"] == "vertebroplasty"


def test_a_rupture_or_before_any_denies_only_the_balloon_and_the_cavity() -> None:
    v = values("PROCEDURE: Kyphoplasty T11.\nDESCRIPTION: Under fluoroscopy the balloon inflated in T11 ruptured at "
               "300 psi after reduction. Cement was injected.")
    assert v["cavity_creation"] is True
    v = values("PROCEDURE: Kyphoplasty T11.\nDESCRIPTION: Under fluoroscopy the T11 balloon burst on inflation at "
               "full volume after the cavity was formed; cement was injected.")
    assert v["guidance"] == ["fluoroscopy"]
    v = values("PROCEDURE: Kyphoplasty L1.\nDESCRIPTION: A biopsy was obtained before any balloon inflation. Cement "
               "was injected under fluoroscopy.")
    assert v["cavity_creation"] is True


def test_a_vp_shunt_written_other_ways_names_no_vertebroplasty() -> None:
    for shunt in ("a ventriculoperitoneal (VP) shunt", "a VP-shunt", "hydrocephalus, VP shunted in 2015"):
        ex = extract(f"CONSULT NOTE\nPatient with {shunt} and a painful osteoporotic L1 fracture seen today.\n"
                     "PLAN: consider kyphoplasty at L1.", with_codes=False)
        assert not ex.is_procedure_note, shunt


def test_stairs_and_horses_outside_a_fall_are_no_trauma() -> None:
    for history in ("She lives on a horse farm.", "She was walking down the stairs when the pain began.",
                    "She can climb only one flight of stairs before resting."):
        v = values("PROCEDURE: Vertebroplasty T12 under fluoroscopy; cement injected into T12.\nHISTORY: Painful T12 "
                   f"compression fracture without injury. {history}")
        assert v["indication"] is None, history
    v = values("PROCEDURE: Kyphoplasty L1 under fluoroscopy; balloons inflated in L1, cement injected.\nHISTORY: "
               "40-year-old who was thrown off her horse. Normal bone density.")
    assert v["indication"] == "trauma"


def test_a_negation_over_a_list_or_an_instrument_still_reaches_the_later_term() -> None:
    """The earlier term spares a later one only across a clause-like gap ('biopsy under fluoro'), not across
    'or' ('no biopsy or post-procedure CT') or an instrument ('cavity creation with a balloon tamp')."""
    v = values("PROCEDURE: Vertebroplasty L2.\nDESCRIPTION: Cement was injected into L2 under fluoroscopy. No biopsy "
               "or post-procedure CT was performed.")
    assert v["guidance"] == ["fluoroscopy"]
    v = values("PROCEDURE: Kyphoplasty L2.\nDESCRIPTION: Under fluoroscopy, no attempt at cavity creation with a "
               "balloon tamp was made; cement was injected directly into L2.")
    assert (v["procedure_type"], v["cavity_creation"]) == ("vertebroplasty", False)


def test_an_intact_posterior_wall_denies_nothing_done() -> None:
    """'is intact' denies a sacral side ('the right sacral ala is intact'), not the guidance or biopsy beside
    an intact cortex or core."""
    v = values("PROCEDURE: Vertebroplasty T12.\nDESCRIPTION: Cement was injected into T12 under fluoroscopy and the "
               "posterior wall is intact.")
    assert v["guidance"] == ["fluoroscopy"]
    v = values("PROCEDURE: Kyphoplasty T11 under fluoroscopy. A biopsy was obtained, core was intact. Balloon inflated "
               "at T11 and cement injected.")
    assert v["biopsy"] == {"performed": True, "sites": ["T11"]}


def test_a_heading_level_the_narrative_corrects_and_never_names_again_is_not_treated() -> None:
    v = values("PROCEDURE: Vertebroplasty T11.\nDESCRIPTION: Under fluoroscopy an 11 gauge needle was placed into "
               "T11, correction, T12, and 2 mL of cement was injected.")
    assert v["levels"] == ["T12"]
    v = values("PROCEDURE: Vertebroplasty T11.\nDESCRIPTION: Under fluoroscopy a needle was placed into T11 and "
               "cement was injected. No leak at T10, sorry, at T11.")
    assert v["levels"] == ["T11"]


def test_prior_cement_described_as_intact_is_not_a_treated_level() -> None:
    v = values("PROCEDURE: T8 kyphoplasty.\nINDICATIONS: Prior L3 vertebroplasty in 2023.\nPROCEDURE IN DETAIL: "
               "Under fluoroscopy balloon tamps were inflated at T8 creating a cavity and PMMA was delivered. "
               "No extravasation. The L3 cement was intact.")
    assert v["levels"] == ["T8"]


def test_a_terse_narrative_under_a_diagnosis_field_is_the_procedure() -> None:
    """'Under fluoro, … access into T12 obtained. PMMA 5 mL injected' on lines after 'Dx: …' is the act."""
    v = values("Kyphoplasty procedure note, DOS 03/03/2025.\nDx: osteoporotic T12 fracture, failed 6 wks of TLSO "
               "and Norco.\nUnder fluoro, bilateral 11g access into T12 obtained. PMMA 5 mL injected bilaterally "
               "with good fill. No leak.\nNo bx. No complications.")
    assert v["levels"] == ["T12"]
    assert v["guidance"] == ["fluoroscopy"]
    assert v["cavity_creation"] is None


def test_a_side_or_level_said_not_done_or_spared_is_not_treated() -> None:
    v = values("procedure left sacroplasty indication sacral insufficiency fracture she has osteoporosis period new "
               "paragraph technique under ct guidance a ten gauge needle was placed into the left sacral ala and "
               "four cc of cement were injected the right side was not done period no biopsy period")
    assert v["laterality"] == "unilateral"
    v = values("PROCEDURE: Percutaneous vertebroplasty, L1 and L3 (L2 spared).\nTECHNIQUE: Under fluoroscopic "
               "guidance, needles were placed into L1 and L3 and PMMA was injected. A bone biopsy of L3 was "
               "obtained prior to cement injection.")
    assert v["levels"] == ["L1", "L3"]
    assert v["biopsy"] == {"performed": True, "sites": ["L3"]}


def test_a_balloon_that_could_not_be_advanced_leaves_that_level_a_vertebroplasty() -> None:
    text = ("PROCEDURE: Kyphoplasty T12 and L2.\nHISTORY: Osteoporosis on DXA. Fell from a chair 5 weeks ago. She "
            "has been using a lumbar brace and hydrocodone since the fall.\nDATE OF SERVICE: 06/02/2025\n"
            "DESCRIPTION: Under fluoroscopy, bilateral cannulas were placed at T12 and L2. At T12, two balloons "
            "were inflated and cement was placed (4 cc). At L2, the balloon could not be advanced due to sclerotic "
            "bone, so 2 cc of cement was injected directly through the cannula without cavity creation.")
    ex = extract(text, note_id="t").to_contract()
    assert ex["elements"]["procedure_type"]["value"] == "mixed"
    assert sorted((c["code"], c["units"]) for c in ex["codes"]) == [("22511", 1), ("22513", 1)]
    assert ex["elements"]["conservative_therapy"]["value"]["weeks"] == 5.0  # "since the fall", 5 weeks ago


# -- aborted procedures --------------------------------------------------------------------
def test_a_procedure_stopped_before_the_balloon_and_cement_performed_nothing() -> None:
    """Only what was done counts: a session stopped after the trocar, with no balloon and no cement, documents
    no augmentation (like a cancelled one): no type, no level, no code. The balloon the stop came 'before' is
    not a cavity step."""
    for stop in ("the case was aborted by the operator before a balloon was placed",
                 "the procedure was halted before the balloon could be inserted",
                 "prior to balloon inflation the procedure was discontinued"):
        text = (f"PROCEDURE: Kyphoplasty T9.\nTECHNIQUE: Under fluoroscopy a trocar was seated in the T9 pedicle. "
                f"Because of new chest pain, {stop}. Cement was not given.")
        ex = extract(text, note_id="t").to_contract()
        got = {k: v["value"] for k, v in ex["elements"].items()}
        assert (got["procedure_type"], got["cavity_creation"], got["levels"]) == (None, None, []), stop
        assert ex["codes"] == []


def test_a_level_stopped_before_its_balloon_leaves_the_finished_level_coded() -> None:
    v = values("PROCEDURE: Kyphoplasty T12 and L1.\nDESCRIPTION: Under fluoroscopy a balloon was inflated in T12 and "
               "3 cc of PMMA was delivered. At L1 the procedure was stopped before the balloon could be inserted.")
    assert (v["procedure_type"], v["cavity_creation"], v["levels"]) == ("kyphoplasty", True, ["T12"])
    # "before" alone is no stop: the balloon after a biopsy was still inflated
    v = values("PROCEDURE: Kyphoplasty L3.\nDESCRIPTION: Under fluoroscopy a biopsy of L3 was obtained before the "
               "balloon was inflated; cement was then injected into L3.")
    assert (v["cavity_creation"], v["levels"]) == (True, ["L3"])


# -- guidance negations aimed at another noun ------------------------------------------------
def test_a_denied_repositioning_under_ct_is_no_ct_guidance() -> None:
    """'No needle repositioning under CT was needed' denies one act, the CT-guided repositioning; the guidance
    named inside that denied phrase is not documented as used (the annotation counts guidance used for the
    procedure, and what did not happen documents nothing). Read literally it might presuppose a CT on the
    table, but the note does not say the needle was placed under CT: in a fluoroscopy note CT is not added,
    in a CT note CT comes from the sentences that say so, and a note whose only CT is the denied phrase is
    asked about rather than guessed."""
    body = "An 11 gauge needle was seated in L1 by the right pedicle. No needle repositioning under CT was needed."
    v = values(f"PROCEDURE: Vertebroplasty L1.\nTECHNIQUE: Under fluoroscopy the target was marked. {body} "
               "3 cc of PMMA was injected.")
    assert v["guidance"] == ["fluoroscopy"]
    v = values(f"PROCEDURE: CT-guided vertebroplasty L1.\nTECHNIQUE: {body} 3 cc of PMMA was injected.")
    assert v["guidance"] == ["ct"]
    v = values(f"PROCEDURE: Vertebroplasty L1.\nTECHNIQUE: {body} 3 cc of PMMA was injected.")
    assert v["guidance"] == []


def test_a_denial_of_a_later_subject_spares_the_guidance_before_it() -> None:
    """'X was not needed' denies its subject: the fluoroscopy in a CT case, but not the fluoroscopy a needle
    was placed under before 'repositioning was not needed'."""
    v = values("PROCEDURE: Kyphoplasty L2.\nTECHNIQUE: Under CT guidance cannulas were placed into L2. Fluoroscopy "
               "was not needed. Balloons were inflated and cement was injected into L2.")
    assert v["guidance"] == ["ct"]
    v = values("PROCEDURE: Vertebroplasty L4.\nTECHNIQUE: Under fluoroscopy the needle was placed and repositioning "
               "was not needed. Cement was injected into L4.")
    assert v["guidance"] == ["fluoroscopy"]


# -- imaging sections ----------------------------------------------------------------------
def test_levels_under_an_imaging_heading_are_not_treated_but_its_guidance_counts() -> None:
    """'Imaging:' heads both the study findings ('MRI shows acute fractures at T11 and L1') and the guidance
    field ('Imaging: biplane fluoroscopy'): its levels are only seen on imaging, its guidance is this session's."""
    v = values("PROCEDURE: Vertebroplasty L1.\nIMAGING: MRI shows acute fractures at T11 and L1 with edema; the T11 "
               "fracture could also be cemented.\nTECHNIQUE: Under fluoroscopy a needle was placed into L1 and cement "
               "was injected.")
    assert v["levels"] == ["L1"]
    v = values("Procedure: kyphoplasty L1\nRadiology findings: acute L1 and L3 fractures; L3 cement augmentation "
               "would be reasonable too.\nDetails: balloons were inflated at L1 and 5 cc PMMA injected.")
    assert v["levels"] == ["L1"]
    v = values("PROCEDURE: Vertebroplasty L1.\nIMAGING: Biplane fluoroscopy.\nTECHNIQUE: A needle was placed into L1 "
               "and cement was injected.")
    assert v["guidance"] == ["fluoroscopy"]


# -- self-corrections ----------------------------------------------------------------------
def test_a_correction_in_a_one_line_dictation_is_not_part_of_the_heading() -> None:
    """With no paragraph breaks the spoken headings ('indications', 'technique') start no section, so the
    procedure heading line used to run to the end and the narrative's 'tee eleven I'm sorry tee twelve'
    counted as a heading level; the heading ends at the first spoken heading of another section."""
    v = values("procedure vertebroplasty tee eleven indications painful osteoporotic fracture technique under "
               "fluoroscopy a needle went into tee eleven excuse me tee twelve and cement was injected into tee twelve")
    assert v["levels"] == ["T12"]


def test_self_corrections_in_the_forms_dictation_takes() -> None:
    # the "no" that opens a correction negates nothing
    assert values("PROCEDURE: Vertebroplasty at T11, no, I mean T12. Under fluoroscopy cement was injected.")[
        "levels"] == ["T12"]
    assert values("PROCEDURE: Vertebroplasty at L2 or rather L3. Under fluoroscopy cement was injected.")[
        "levels"] == ["L3"]
    # a correction opening its own sentence reaches the level just before it, and the level said instead is
    # the treated one (its sentence names no procedure)
    for fix in ("Correction: L3.", "Sorry, L3."):
        assert values(f"PROCEDURE: Vertebroplasty at L2. {fix} Under fluoroscopy cement was injected.")[
            "levels"] == ["L3"], fix
    assert values("procedure kyphoplasty at tee eleven and tee twelve? no, just tee twelve. the balloon was "
                  "inflated under fluoroscopy and cement injected.")["levels"] == ["T12"]
    # an apology that corrects no level changes nothing
    assert values("PROCEDURE: Kyphoplasty L2. Sorry for the delay, the balloon was inflated under fluoroscopy "
                  "and cement injected.")["levels"] == ["L2"]
    assert values("PROCEDURE: Vertebroplasty at L2 and L3 under fluoroscopy, cement injected. No, just a small "
                  "leak.")["levels"] == ["L2", "L3"]


def test_speech_recognised_floor_oh_scopic_is_fluoroscopy() -> None:
    v = values("procedure vertebroplasty el three. under floor oh scopic guidance a needle was placed into el three "
               "and cement was injected.")
    assert v["guidance"] == ["fluoroscopy"]


def test_an_earlier_levels_cement_mantle_seen_intact_is_not_treated_today() -> None:
    v = values("PROCEDURE: Vertebroplasty L2.\nHISTORY: Status post vertebroplasty at L1 last month.\nTECHNIQUE: "
               "Under fluoroscopy a needle was placed into L2 and cement was injected. The L1 cement mantle "
               "remained intact.")
    assert v["levels"] == ["L2"]


def test_two_anchored_therapy_trials_give_the_longer_one() -> None:
    assert weeks("PROCEDURE: Vertebroplasty T11 under fluoroscopy.\nHISTORY: She finished a 4-week course of "
                 "physical therapy and a 2-month trial of a thoracic brace, with no relief.") == 8.67


def test_fracture_on_long_term_steroids_is_osteoporotic_without_the_word() -> None:
    v = values("PROCEDURE: Vertebroplasty L1 under fluoroscopy; cement injected into L1.\nHISTORY: 70-year-old "
               "man with sarcoidosis on chronic prednisone, L1 compression fracture after bending over.")
    assert v["indication"] == "osteoporosis"
    v = values("PROCEDURE: Vertebroplasty L1 under fluoroscopy; cement injected into L1.\nHISTORY: Myeloma on "
               "dexamethasone with an L1 pathologic fracture.")
    assert v["indication"] == "neoplasm"


def test_a_fortnight_and_a_glued_x_duration_are_counted() -> None:
    assert weeks("PROCEDURE: Vertebroplasty L4 under fluoroscopy.\nHISTORY: Osteoporosis; she has used a walker and "
                 "Tylenol for a fortnight.") == 2.0
    assert weeks("PROCEDURE: Vertebroplasty L4 under fluoroscopy.\nHX: osteoporotic L4 fx, bedrest x10d, no "
                 "relief.") == 1.43


def test_a_biopsy_considered_but_not_performed_is_no_biopsy() -> None:
    v = values("PROCEDURE: Vertebroplasty L3.\nTECHNIQUE: Under fluoroscopy cement was injected into L3. Biopsy was "
               "considered but not performed.")
    assert v["biopsy"] == {"performed": False, "sites": []}


def test_a_cancer_history_alone_is_no_neoplastic_fracture() -> None:
    # coding C79.51 asserts a bone metastasis: a history (or a lesion still to be excluded) is not one
    for history in ("History of breast cancer, bone scan negative.", "Rule out pathologic fracture. History of "
                    "breast cancer.", "No lytic lesion. History of lung cancer."):
        v = values(f"INDICATION: Painful L1 compression fracture. {history}\nPROCEDURE: Vertebroplasty L1 under "
                   "fluoroscopy, cement injected.")
        assert v["indication"] is None, history
    for said in ("Painful L1 pathologic fracture.", "L1 fracture with a lytic lesion."):
        v = values(f"INDICATION: {said} History of lung cancer.\nPROCEDURE: Vertebroplasty L1 under fluoroscopy, "
                   "cement injected.")
        assert v["indication"] == "neoplasm", said
    # myeloma or metastases are diseases of bone: a history cue reaching them does not make them a mere history
    v = values("HISTORY: 70 year old man with chronic kidney disease who has multiple myeloma on lenalidomide, "
               "painful L1 fracture.\nPROCEDURE: Vertebroplasty L1 under fluoroscopy, cement injected.")
    assert v["indication"] == "neoplasm"


def test_a_t_score_at_or_below_minus_2_5_is_osteoporosis() -> None:
    base = "\nPROCEDURE: Vertebroplasty L1 under fluoroscopy, cement injected."
    assert values("HISTORY: fall from standing, L1 fracture. DEXA T-score -3.1 at the hip." + base)[
        "indication"] == "osteoporosis"
    assert values("HISTORY: L1 fracture, T score minus 2.7." + base)["indication"] == "osteoporosis"
    assert values("HISTORY: L1 fracture. DEXA T-score of -1.8." + base)["indication"] is None  # osteopenia


def test_a_vertebroplasty_named_beside_a_sacroplasty_keeps_its_level_and_code() -> None:
    ex = extract("PROCEDURE: Bilateral sacroplasty and L5 vertebroplasty.\nHISTORY: Osteoporosis, sacral "
                 "insufficiency fractures and an L5 fracture.\nDESCRIPTION: Under fluoroscopy needles were placed "
                 "into both sacral alae and cement injected; then a needle was placed into L5 and cement injected.")
    assert ex.elements.levels.value == ["L5", "sacrum"]
    assert sorted(c.code for c in ex.codes) == ["0201T", "22511"]
    # an L5 seen only on imaging in a sacroplasty note is still no treated level
    ex = extract("PROCEDURE: Bilateral sacroplasty.\nHISTORY: Sacral insufficiency fractures; MRI also shows an "
                 "old L5 fracture.\nDESCRIPTION: Under fluoroscopy needles were placed into both sacral alae and "
                 "cement injected.")
    assert ex.elements.levels.value == ["sacrum"]


def test_a_hemangioma_of_an_untreated_level_is_not_the_indication() -> None:
    v = values("PROCEDURE: Vertebroplasty L1 under fluoroscopy, cement injected into L1.\nIMAGING: MRI shows an "
               "acute L1 compression fracture and a T8 hemangioma.")
    assert v["indication"] is None
    v = values("PROCEDURE: Vertebroplasty T8 under fluoroscopy, cement injected into T8.\nHISTORY: Painful "
               "aggressive T8 hemangioma.")
    assert v["indication"] == "hemangioma"


def test_a_reason_clause_after_because_is_not_negated() -> None:
    v = values("PROCEDURE: Kyphoplasty L4.\nHISTORY: MRI shows acute L4 and subacute L5 fractures. L5 was not "
               "treated today because the pain localises to L4.\nTECHNIQUE: Under fluoroscopy balloons were "
               "inflated in L4 creating a cavity and cement injected.")
    assert v["levels"] == ["L4"]


def test_a_high_energy_mechanism_is_trauma_even_in_osteoporotic_bone() -> None:
    base = "PROCEDURE: Kyphoplasty L1 under fluoroscopy; balloons inflated creating a cavity, cement injected.\n"
    assert values(base + "HISTORY: Osteoporosis; L1 fracture after a fall from a ladder.")["indication"] == "trauma"
    assert values(base + "HISTORY: Osteopenia; motorcycle crash at highway speed.")["indication"] == "trauma"
    assert values(base + "HISTORY: Osteoporosis; minor car accident.")["indication"] == "osteoporosis"
    assert values(base + "HISTORY: Osteoporosis; she tripped, nothing high energy.")["indication"] == "osteoporosis"
    assert values(base + "HISTORY: Osteoporosis. A fall from a roof in 1998 was fused.")["indication"] == "osteoporosis"


def test_for_the_last_two_and_a_half_months_is_read_whole() -> None:
    v = values("PROCEDURE: Vertebroplasty T9 under fluoroscopy; cement injected.\nHISTORY: She has tried a brace "
               "and pain medications for the last two and a half months without relief.")
    assert v["conservative_therapy"]["weeks"] == 10.83


def test_previously_after_a_determiner_describes_what_follows_only() -> None:
    v = values("PROCEDURE: Kyphoplasty T12.\nTECHNIQUE: Under fluoroscopy, the previously augmented T11 with "
               "cement in place was identified. Balloons were inflated in T12 creating a cavity and cement "
               "injected.")
    assert v["guidance"] == ["fluoroscopy"]
    assert v["levels"] == ["T12"]


def test_levels_of_an_epidural_or_other_spine_procedure_in_the_same_note_are_not_treated() -> None:
    v = values("PROCEDURES: 1. L3 kyphoplasty. 2. Left L4-5 transforaminal epidural steroid injection.\n"
               "TECHNIQUE: Under fluoroscopy, bilateral balloons were inflated in L3 creating a cavity and cement "
               "injected. Then a left L4-5 transforaminal epidural injection of steroid was performed.")
    assert v["levels"] == ["L3"]


def test_since_a_month_and_day_without_a_year_counts_to_the_date_of_service() -> None:
    base = ("Date of Service: 10/15/2025\nPROCEDURE: Vertebroplasty T9 under fluoroscopy; cement injected.\n"
            "HISTORY: She has been on tramadol since {} without improvement.")
    assert values(base.format("9/1"))["conservative_therapy"]["weeks"] == 6.29
    assert values(base.format("11/1"))["conservative_therapy"]["weeks"] == 49.71  # last November


def test_a_digit_ordinal_and_region_is_a_level() -> None:
    v = values("PROCEDURE: Vertebroplasty of the 12th thoracic and 1st lumbar vertebrae.\nTECHNIQUE: Under "
               "fluoroscopy cement was injected at both levels.")
    assert v["levels"] == ["T12", "L1"]


def test_a_biopsy_not_indicated_declined_or_refused_is_not_performed() -> None:
    base = ("PROCEDURE: Kyphoplasty L1.\nTECHNIQUE: Under fluoroscopy balloons were inflated in L1 creating a "
            "cavity and cement injected. {}")
    for said in ("A biopsy was not indicated.", "Biopsy: declined by the patient.", "Biopsy was refused.",
                 "The patient refused biopsy."):
        assert values(base.format(said))["biopsy"] == {"performed": False, "sites": []}, said


def test_a_needle_into_each_sacral_ala_is_bilateral() -> None:
    v = values("PROCEDURE: Sacroplasty.\nTECHNIQUE: Under fluoroscopy, a needle was placed into each sacral ala "
               "and cement injected.")
    assert v["laterality"] == "bilateral"


def test_a_bone_sample_sent_to_pathology_is_a_biopsy() -> None:
    v = values("PROCEDURE: Kyphoplasty L1.\nTECHNIQUE: Under fluoroscopy balloons were inflated in L1 creating a "
               "cavity and cement injected. A bone sample was obtained through the cannula for pathology.")
    assert v["biopsy"] == {"performed": True, "sites": ["L1"]}


def test_a_dictation_under_a_one_line_field_opens_with_its_spoken_heading() -> None:
    v = values("Date of Service: 10/15/2025\nprocedure kyphoplasty l one period technique under fluoro balloons "
               "inflated creating a cavity period cement injected period")
    assert (v["procedure_type"], v["levels"], v["guidance"]) == ("kyphoplasty", ["L1"], ["fluoroscopy"])
    v = values("HISTORY: She had a prior\nprocedure at L2 in 2019.\nPROCEDURE: Vertebroplasty L3 under "
               "fluoroscopy; cement injected.")
    assert v["levels"] == ["L3"]


def test_a_level_that_can_be_offered_later_is_not_treated() -> None:
    v = values("PROCEDURE: Kyphoplasty L1.\nTECHNIQUE: Under fluoroscopy balloons were inflated in L1 creating a "
               "cavity and cement injected.\nShould T12 become painful, kyphoplasty of T12 can be offered.")
    assert v["levels"] == ["L1"]


def test_a_therapy_started_on_a_date_lasts_to_the_date_of_service() -> None:
    base = ("Date of Service: 10/15/2025\nPROCEDURE: Vertebroplasty T9 under fluoroscopy; cement injected.\n"
            "HISTORY: {}")
    assert values(base.format("She was placed in a TLSO on 09/01/2025 without improvement."))[
        "conservative_therapy"]["weeks"] == 6.29
    assert values(base.format("She fell on 09/01/2025 and was placed in a brace."))["conservative_therapy"] is None


def test_a_biopsy_after_several_levels_without_its_own_level_has_no_site() -> None:
    v = values("PROCEDURE: Kyphoplasty T12 and L1 with bone biopsy.\nTECHNIQUE: Under fluoroscopy, bilateral "
               "cannulas were placed at T12 and L1. A bone biopsy specimen was obtained and sent for pathology. "
               "Balloons were inflated at both levels creating cavities and cement was injected.")
    assert v["biopsy"] == {"performed": True, "sites": []}
    v = values("PROCEDURE: Kyphoplasty T12.\nTECHNIQUE: Under fluoroscopy, bilateral cannulas were placed into T12. "
               "Through the left cannula a bone biopsy was obtained. Balloons were inflated creating a cavity and "
               "cement injected.")
    assert v["biopsy"] == {"performed": True, "sites": ["T12"]}


def test_needle_position_confirmed_with_ct_is_guidance_but_a_fracture_confirmed_on_ct_is_not() -> None:
    base = ("PROCEDURE: Vertebroplasty L1.\nTECHNIQUE: {} Cement was injected into L1.")
    assert values(base.format("Needle placement was confirmed with CT."))["guidance"] == ["ct"]
    assert values(base.format("Needle position was checked on CT."))["guidance"] == ["ct"]
    assert values(base.format("The fracture was confirmed on CT. A needle was placed."))["guidance"] == []


def test_a_level_treated_last_month_or_months_ago_is_historical() -> None:
    base = ("PROCEDURE: L1 kyphoplasty.\nTECHNIQUE: Under fluoroscopy, a balloon was inflated creating a cavity; "
            "cement injected. {}")
    assert values(base.format("The T12 kyphoplasty from last month is intact."))["levels"] == ["L1"]
    assert values(base.format("T12 was augmented two months ago."))["levels"] == ["L1"]
    v = values("PROCEDURE: Vertebroplasty T11.\nHISTORY: Osteopenia. A CT-guided biopsy last week showed metastatic "
               "prostate adenocarcinoma.\nTECHNIQUE: Under fluoroscopy cement was injected into T11.")
    assert v["indication"] == "neoplasm"  # a diagnosis made last week still stands


def test_ranges_and_lists_with_bare_or_spoken_numbers() -> None:
    base = "PROCEDURE: Vertebroplasty {}\nTECHNIQUE: Under fluoroscopy cement was injected at each level."
    assert values(base.format("L1 through 3."))["levels"] == ["L1", "L2", "L3"]
    assert values(base.format("T11 to 12."))["levels"] == ["T11", "T12"]
    assert values(base.format("lumbar one and two."))["levels"] == ["L1", "L2"]
    assert values(base.format("lumbar one through three."))["levels"] == ["L1", "L2", "L3"]
    assert values(base.format("L1 and two needles were used."))["levels"] == ["L1"]
    assert values(base.format("L3 to 2 mL each."))["levels"] == ["L3"]


def test_falls_from_a_tree_horse_balcony_or_the_ladder_are_high_energy() -> None:
    base = ("PROCEDURE: Vertebroplasty L1.\nHISTORY: Osteoporosis. {}\nTECHNIQUE: Under fluoroscopy cement "
            "injected into L1.")
    for said in ("She fell from the ladder.", "He was thrown from a horse.", "She fell from a tree.",
                 "Fell from a balcony."):
        assert values(base.format(said))["indication"] == "trauma", said
    assert values(base.format("She denies a fall from a ladder."))["indication"] == "osteoporosis"


def test_a_cancelled_postponed_or_refused_procedure_performed_nothing() -> None:
    for said in ("The procedure was cancelled before any needle was placed.",
                 "The INR was 3.1; the procedure was postponed to next week.",
                 "The patient refused the procedure after discussion. No procedure was performed."):
        v = values(f"PROCEDURE: Kyphoplasty L2.\nNARRATIVE: {said}")
        assert (v["procedure_type"], v["levels"]) == (None, []), said
    v = values("PROCEDURE: Kyphoplasty L1 and L2.\nTECHNIQUE: Under fluoroscopy the L1 balloon was inflated creating "
               "a cavity and cement injected. The L2 level was cancelled because of cement volume limits.")
    assert v["levels"] == ["L1"]


def test_a_neoplasm_only_not_excluded_or_suspected_is_no_documented_etiology() -> None:
    base = "PROCEDURE: Vertebroplasty L1 under fluoroscopy.\nINDICATION: {}"
    for said in ("L1 fracture, etiology unclear; neoplasm not excluded.",
                 "L1 compression fracture; malignancy has not been ruled out.",
                 "L1 compression fracture, suspected myeloma.",
                 "L1 compression fracture, concerning for metastasis."):
        v = values(base.format(said))
        assert (v["indication"], v["levels"]) == (None, ["L1"]), said
    # suspected, but of a fracture called pathologic or lytic: the neoplasm is its etiology
    assert values(base.format("L1 pathologic fracture, suspected myeloma."))["indication"] == "neoplasm"
    assert values(base.format("L1 fracture in known metastatic breast cancer."))["indication"] == "neoplasm"


def test_a_chance_fracture_or_seatbelt_injury_is_trauma() -> None:
    base = "PROCEDURE: Kyphoplasty L1 under fluoroscopy; a balloon was inflated creating a cavity.\nINDICATION: {}"
    for said in ("L1 Chance fracture.", "L1 fracture from a seatbelt injury.", "Flexion-distraction injury of L1."):
        assert values(base.format(said))["indication"] == "trauma", said
    # a fragility fracture stays osteoporotic; a Chance fracture named only at another level does not make it trauma
    assert values(base.format("Osteoporotic L1 fracture; no seat belt injury."))["indication"] == "osteoporosis"


def test_ckd_mineral_bone_disease_is_other_as_renal_osteodystrophy() -> None:
    base = "PROCEDURE: Vertebroplasty L1 under fluoroscopy.\nINDICATION: L1 fracture; {}."
    for said in ("renal osteodystrophy", "CKD-mineral bone disease", "CKD-MBD on dialysis",
                 "chronic kidney disease-mineral and bone disorder"):
        assert values(base.format(said))["indication"] == "other", said


def test_a_primary_bone_tumour_of_the_spine_is_c41_2_and_a_metastatic_one_c79_51() -> None:
    def diagnoses(text: str) -> list[str]:
        return [d["code"] for d in extract(text, note_id="t").to_contract()["diagnoses"]]

    base = "PROCEDURE: Vertebroplasty L2 under fluoroscopy.\nINDICATION: L2 pathologic fracture, {}."
    for said in ("Ewing's sarcoma", "Ewing sarcoma", "chordoma", "chondrosarcoma", "osteosarcoma"):
        assert diagnoses(base.format(said)) == ["M84.58XA", "C41.2"], said
    assert diagnoses(base.format("metastatic osteosarcoma"))[1] == "C79.51"
    # C41.2 is the vertebral column: a sacral chordoma is left to the coder (query flag), not coded C41.2
    sacral = "PROCEDURE: Sacroplasty, both ala, under CT guidance.\nINDICATION: Sacral chordoma with collapse."
    assert "C41.2" not in diagnoses(sacral)


def test_ct_fluoroscopy_hyphenated_or_not_is_ct_guidance_only() -> None:
    for said in ("CT-fluoroscopy", "CT fluoroscopy", "CT-fluoroscopic guidance", "intermittent CT fluoro"):
        assert values(f"PROCEDURE: Vertebroplasty L1 under {said}; cement was injected into L1.")["guidance"] == \
            ["ct"], said
    # a separate fluoroscopic step is still fluoroscopy
    assert values("PROCEDURE: Vertebroplasty L1. Needle placed under CT-fluoroscopy; cement injected under lateral "
                  "fluoroscopy.")["guidance"] == ["ct", "fluoroscopy"]


def test_imaging_not_available_or_down_was_not_used() -> None:
    for said in ("Vertebroplasty L1 (fluoroscopy was not available, CT used).",
                 "Vertebroplasty L1 under CT guidance as fluoroscopy was unavailable.",
                 "Vertebroplasty L1. The C-arm was down, so the case was done under CT guidance."):
        assert values(f"PROCEDURE: {said}")["guidance"] == ["ct"], said
    assert values("PROCEDURE: Vertebroplasty L1 under fluoroscopy. CT was not available.")["guidance"] == \
        ["fluoroscopy"]
    # the cue needs imaging words beside it: an unavailable MRI report leaves the fluoroscopy
    assert values("PROCEDURE: Vertebroplasty L1 under fluoroscopy. The outside MRI was not available for "
                  "review.")["guidance"] == ["fluoroscopy"]


def test_a_pathology_or_tissue_field_left_none_denies_a_biopsy_as_specimens_none() -> None:
    base = "PROCEDURE: Vertebroplasty L1 under fluoroscopy.\n{}"
    for said in ("Pathology: none.", "Tissue: N/A", "Specimens: none", "PATHOLOGY:, None.,COMPLICATIONS:, None."):
        assert values(base.format(said))["biopsy"] == {"performed": False, "sites": []}, said
    assert values(base.format("Pathology: L1 core biopsy sent."))["biopsy"] == {"performed": True, "sites": ["L1"]}
    assert values(base.format("History: outside pathology none available."))["biopsy"]["performed"] is None


def test_tissue_sent_for_flow_cytometry_is_a_biopsy() -> None:
    base = "PROCEDURE: Vertebroplasty L1 under fluoroscopy.\nINDICATION: Lymphoma.\n{}"
    for said in ("TECHNIQUE: Tissue was sent for flow cytometry, then cement was injected into L1.",
                 "TECHNIQUE: Through the L1 cannula tissue was obtained for flow cytometry."):
        assert values(base.format(said))["biopsy"] == {"performed": True, "sites": ["L1"]}, said
    # flow cytometry only recalled as a result is no sampling today
    assert values(base.format("HISTORY: Flow cytometry at the outside hospital showed lymphoma."))["biopsy"][
        "performed"] is None


def test_a_heading_word_opening_a_noun_phrase_with_of_starts_no_section() -> None:
    # "History of breast cancer." opening a one-paragraph note made the whole note a HISTORY section:
    # nothing treated, no codes
    got = values("History of breast cancer. Kyphoplasty at L1 with a balloon tamp under fluoroscopy.")
    assert got["procedure_type"] == "kyphoplasty" and got["levels"] == ["L1"]
    assert values("Plan of care reviewed. Vertebroplasty at T12 under fluoroscopy.")["levels"] == ["T12"]
    # a heading that holds "of" is still a heading; its levels are history
    got = values("history of present illness she has an L1 fracture and a prior T8 kyphoplasty\n\n"
                 "procedure kyphoplasty at L1 with balloon under fluoroscopy")
    assert got["levels"] == ["L1"]


def test_pathologic_with_the_level_between_the_words_is_a_pathologic_fracture() -> None:
    base = "History of breast cancer. {} Kyphoplasty at L1 with a balloon tamp under fluoroscopy."
    for said in ("Pathologic L1 compression fracture.", "She has a pathological L1 fracture."):
        assert values(base.format(said))["indication"] == "neoplasm", said
    for said in ("No pathologic L1 fracture on MRI.", "Rule out pathologic L1 fracture.",
                 "Specimen sent for pathologic review."):
        assert values(base.format(said))["indication"] is None, said


def test_a_heading_word_as_the_subject_of_a_sentence_starts_no_section() -> None:
    for opening in ("Consent was obtained.", "Recommendations were reviewed.", "Informed consent obtained.",
                    "Exam shows tenderness at L1.", "Indications for the procedure include severe pain.",
                    "History is significant for a prior fall."):
        got = values(f"{opening} Vertebroplasty at L1 under fluoroscopy was performed.")
        assert got["procedure_type"] == "vertebroplasty" and got["levels"] == ["L1"], opening
    # a spoken heading before its content still opens its section: the indication's level is no treatment
    got = values("indications she is a 70 year old with an l one and a t eight fracture\n\n"
                 "procedure kyphoplasty at l one with a balloon under fluoroscopy")
    assert got["levels"] == ["L1"]


def test_title_case_headings_run_into_one_line_after_a_sentence_end() -> None:
    # the whole line was the first field (Subjective, a history section): no procedure at all
    got = values("Subjective: back pain for 8 weeks despite PT. Objective: tender at L1. "
                 "Procedure: vertebroplasty L1 under fluoroscopy.")
    assert got["procedure_type"] == "vertebroplasty" and got["levels"] == ["L1"]
    # a planned level in a run-in Plan field is no treatment; an unknown label starts nothing
    got = values("Procedure: T12 vertebroplasty under fluoroscopy. Plan: L2 kyphoplasty if pain recurs. "
                 "Dr. Smith: agrees.")
    assert got["levels"] == ["T12"]
