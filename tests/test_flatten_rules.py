"""Rules for notes flattened into one unpunctuated, lower-case paragraph (a speech-recognition dump;
``scribe.metamorphic.flatten``): headings found anywhere in the stream, narrative run into another field, and
their limits. Examples are written for these tests."""

from __future__ import annotations

from scribe.api import extract
from scribe.evaluate import predicted_values
from scribe.forms import ticks
from scribe.metamorphic import flatten
from scribe.nlp import analyse
from scribe.nlp.sections import is_flat


def names(text: str) -> list[tuple[str, str]]:
    doc = analyse(text)
    return [(s.name, text[s.body_start : s.end].strip()) for s in doc.user_data["sections"]]


# --- which notes are flat -------------------------------------------------------------------------------------


def test_a_note_on_one_line_with_no_punctuation_is_flat() -> None:
    assert is_flat("indication painful fracture at t9 procedure kyphoplasty t9 under fluoroscopy cement injected")


def test_a_punctuated_or_spoken_punctuated_note_is_not_flat() -> None:
    assert not is_flat("Indication: painful fracture at T9. Procedure: kyphoplasty T9. Cement was injected.")
    assert not is_flat("indication painful fracture at t nine period procedure kyphoplasty period new paragraph "
                       "technique under fluoroscopy cement injected period")
    assert not is_flat("indication painful fracture\nprocedure kyphoplasty t9 under fluoroscopy cement injected x")


# --- headings anywhere in a flat note --------------------------------------------------------------------------


def test_flat_headings_start_sections_mid_stream() -> None:
    text = ("preoperative diagnosis painful t9 fracture procedure performed vertebroplasty t9 anesthesia local "
            "history she slipped on ice six weeks ago technique under fluoroscopy cement was injected into t9 "
            "complications none")
    assert [n for n, _ in names(text)] == ["DIAGNOSIS", "PROCEDURE", "DESCRIPTION", "HISTORY", "DESCRIPTION",
                                           "DESCRIPTION"]
    assert ("HISTORY", "she slipped on ice six weeks ago") in names(text)


def test_a_heading_word_after_a_determiner_or_modifier_is_no_flat_heading() -> None:
    text = ("procedure kyphoplasty t9 history she has a cancer history and a family history of myeloma the "
            "procedure was explained and under local anesthesia with no complications she went home")
    assert [n for n, _ in names(text)] == ["PROCEDURE", "HISTORY"]


def test_a_heading_word_in_a_compound_noun_is_no_flat_heading() -> None:
    text = "spine procedure note patient seen today procedure kyphoplasty t9 under fluoroscopy cement was injected"
    secs = names(text)
    assert [n for n, _ in secs] == ["TITLE", "PROCEDURE"]
    assert secs[1][1].startswith("kyphoplasty t9")


def test_a_heading_word_as_a_subject_or_before_of_is_no_flat_heading() -> None:
    text = ("procedure vertebroplasty l4 she has a diagnosis of myeloma and her history of steroid use is long "
            "technique cement injected into l4")
    assert [n for n, _ in names(text)] == ["PROCEDURE", "DESCRIPTION"]


def test_an_addendum_is_a_session_section_of_a_flat_note() -> None:
    text = ("procedure vertebroplasty l2 plan follow up in two weeks addendum the level treated was l3 cement "
            "was injected into l3")
    assert [n for n, _ in names(text)][-1] == "DESCRIPTION"


# --- narrative run into a field of another section ------------------------------------------------------------


def test_a_past_tense_act_in_a_flat_history_field_starts_the_narrative() -> None:
    text = ("procedure vertebroplasty l2 history painful l2 fracture with no relief from a brace under "
            "fluoroscopy a needle was placed into l2 and cement was injected")
    secs = names(text)
    assert [n for n, _ in secs] == ["PROCEDURE", "HISTORY", "DESCRIPTION"]
    assert secs[2][1].startswith("under fluoroscopy")


def test_a_recalled_act_in_a_flat_history_field_stays_history() -> None:
    text = ("procedure vertebroplasty l2 history she underwent kyphoplasty at t8 elsewhere when cement was "
            "injected into t8 technique cement was injected into l2")
    secs = names(text)
    assert [n for n, _ in secs] == ["PROCEDURE", "HISTORY", "DESCRIPTION"]
    assert "t8" in secs[1][1]


def test_flat_note_levels_come_from_the_session_sections_only() -> None:
    text = ("procedure kyphoplasty l1 history prior vertebroplasty at t10 in 2019 technique under fluoroscopy "
            "balloons were inflated in l1 and cement was injected into l1 complications none")
    got = predicted_values(extract(text, mentions=False))
    assert got["procedure_type"] == "kyphoplasty"
    assert got["levels"] == ["L1"]


# --- a long history line over a dictation with spoken headings ------------------------------------------------


def test_a_spoken_heading_under_a_long_field_line_ending_a_sentence_starts_a_section() -> None:
    text = ("Date: 01/02/2026\nPast history: lumbar fusion in 2015 at another hospital and a knee replacement long "
            "ago.\nprocedure vertebroplasty el two period technique cement was injected into el two period\n")
    assert [n for n, _ in names(text)] == ["DEMOGRAPHICS", "HISTORY", "PROCEDURE", "DESCRIPTION"]


# --- sentences of a flat note ---------------------------------------------------------------------------------


def sentences(text: str) -> list[str]:
    return [s.text.strip() for s in analyse(text).sents]


def test_a_passive_clause_ends_a_flat_sentence_before_a_new_subject() -> None:
    text = ("technique under fluoroscopy a cannula entered t7 and bone cement was delivered specimen collection "
            "was postponed")
    assert sentences(text)[-1] == "specimen collection was postponed"
    assert sentences(text)[-2].endswith("bone cement was delivered")


def test_a_passive_clause_goes_on_into_a_preposition_an_adverb_or_a_gerund() -> None:
    text = ("technique under fluoroscopy the trocar was advanced through the pedicle and balloons were inflated "
            "slowly restoring height")
    assert sentences(text)[-1] == ("the trocar was advanced through the pedicle and balloons were inflated slowly "
                                   "restoring height")


def test_a_subject_pronoun_opens_a_flat_sentence_unless_a_joining_word_leads_it() -> None:
    text = ("history painful t7 fracture for a month he wore a brace because he could not sit technique under "
            "fluoroscopy cement was delivered into t7")
    got = sentences(text)
    assert "he wore a brace because he could not sit" in got


def test_there_opens_a_flat_sentence_before_its_verb() -> None:
    text = ("technique under fluoroscopy a cannula entered t7 and cement filled t7 there was no leak "
            "complications none")
    assert "there was no leak" in sentences(text)


def test_a_deferred_biopsy_after_the_cement_does_not_stop_a_flat_procedure() -> None:
    text = ("procedure vertebroplasty t7 history fragility fracture of t7 with eight weeks of failed bracing "
            "technique under fluoroscopy a needle entered t7 and cement was instilled biopsy was postponed to a later "
            "date")
    got = predicted_values(extract(text, mentions=False))
    assert got["procedure_type"] == "vertebroplasty"
    assert got["levels"] == ["T7"]


# --- flattened forms: only a tick ("x") chooses ---------------------------------------------------------------


def test_flat_ticks_skip_numbers() -> None:
    assert ticks("needle 13 g x 2 tlso x 6 weeks side x left".split()) == [10]


def test_in_a_flattened_form_only_the_ticked_option_of_a_pick_list_is_chosen() -> None:
    text = ("augmentation form date 03/04/2026 procedure sacroplasty kyphoplasty x vertebroplasty level t8 "
            "imaging x fluoroscopy ct side x right left cement pmma 3 ml narrative a needle entered t8 under "
            "fluoroscopy and pmma was instilled into t8")
    got = predicted_values(extract(text, mentions=False))
    assert got["procedure_type"] == "vertebroplasty"
    assert got["levels"] == ["T8"]
    assert got["guidance"] == ["fluoroscopy"]


def test_in_a_flattened_form_a_pick_list_with_no_tick_states_nothing() -> None:
    text = ("augmentation form procedure x kyphoplasty level t8 cause fragility fracture tumour angioma injury "
            "imaging x fluoroscopy balloon x yes narrative balloons were inflated in t8 and pmma was instilled "
            "into t8")
    got = predicted_values(extract(text, mentions=False))
    assert got["procedure_type"] == "kyphoplasty"
    assert got["indication"] is None


def test_in_a_flattened_form_a_field_answered_with_no_tick_is_blank() -> None:
    text = ("augmentation form procedure x vertebroplasty level t8 imaging x fluoroscopy balloon yes narrative "
            "a needle entered t8 and pmma was instilled into t8")
    got = predicted_values(extract(text, mentions=False))
    assert got["cavity_creation"] is None
    assert got["cpt"] == [["22510", 1, []]]


def test_words_side_by_side_in_a_note_without_ticks_are_not_a_pick_list() -> None:
    text = ("procedure kyphoplasty t8 technique under fluoroscopy and ct guidance balloons were inflated in t8 "
            "and pmma was instilled into t8")
    got = predicted_values(extract(text, mentions=False))
    assert got["guidance"] == ["ct", "fluoroscopy"]


# --- flattened templates: a field left empty ------------------------------------------------------------------


def test_a_flat_field_label_followed_by_another_heading_is_blank() -> None:
    text = ("procedure vertebroplasty t8 technique under fluoroscopy pmma was instilled into t8 leak none bx "
            "past medical history copd complications none")
    got = predicted_values(extract(text, mentions=False))
    assert got["biopsy"] == {"performed": None, "sites": []}


def test_a_flat_field_word_led_by_a_modifier_or_a_term_is_not_blank() -> None:
    text = ("procedure vertebroplasty t8 technique under fluoroscopy pmma was instilled into t8 with no biopsy "
            "complications none")
    got = predicted_values(extract(text, mentions=False))
    assert got["biopsy"] == {"performed": False, "sites": []}
    text = ("procedure vertebroplasty t8 history ten weeks of failed conservative therapy technique under "
            "fluoroscopy pmma was instilled into t8")
    assert predicted_values(extract(text, mentions=False))["conservative_therapy_weeks"] == 10.0


def test_in_a_flattened_form_a_ticked_no_denies_the_field() -> None:
    text = ("augmentation form procedure x vertebroplasty level t8 imaging x fluoroscopy bx yes x no narrative "
            "a needle entered t8 and pmma was instilled into t8 under fluoroscopy leak yes x no")
    got = predicted_values(extract(text, mentions=False))
    assert got["biopsy"] == {"performed": False, "sites": []}
    assert got["guidance"] == ["fluoroscopy"]


def test_consent_is_no_heading_inside_a_flat_note() -> None:
    text = ("procedure vertebroplasty t8 technique consent signed prone position under fluoroscopy a needle "
            "entered t8 and pmma was instilled into t8")
    assert [n for n, _ in names(text)] == ["PROCEDURE", "DESCRIPTION"]


def test_a_flat_field_label_answered_no_before_the_next_heading_is_denied() -> None:
    text = ("procedure vertebroplasty t8 technique under fluoroscopy pmma was instilled into t8 leak none bx no "
            "past medical history copd complications none")
    got = predicted_values(extract(text, mentions=False))
    assert got["biopsy"] == {"performed": False, "sites": []}


def test_a_heading_word_after_an_adjective_in_ic_is_no_flat_heading() -> None:
    text = ("procedure vertebroplasty t8 technique pmma was instilled into t8 and a biopsy was skipped given the "
            "typical metabolic history complications none")
    assert [n for n, _ in names(text)] == ["PROCEDURE", "DESCRIPTION", "DESCRIPTION"]


def test_narrative_is_a_flat_heading() -> None:
    text = "procedure vertebroplasty t8 indication painful t8 fracture narrative pmma was instilled into t8"
    assert [n for n, _ in names(text)] == ["PROCEDURE", "INDICATION", "DESCRIPTION"]


def test_a_passive_clause_goes_on_into_a_complement() -> None:
    text = "technique under fluoroscopy the patient was positioned prone on the table and the t8 pedicle was marked"
    assert sentences(text)[-1].startswith("the patient was positioned prone on the table")


def test_no_before_a_noun_and_its_verb_opens_a_flat_sentence() -> None:
    text = "technique under fluoroscopy pmma was instilled into t8 with good fill no leak was seen complications none"
    assert "no leak was seen" in sentences(text)


def test_a_flattened_numbered_list_splits_into_items() -> None:
    text = ("technique pmma was instilled into t8 impression 1 uncomplicated t8 vertebroplasty 2 old t10 wedge "
            "deformity left alone 3 follow up with 2 ml of saline")
    got = sentences(text)
    assert got[-3].endswith("1 uncomplicated t8 vertebroplasty")
    assert "2 old t10 wedge deformity left alone" in got
    assert got[-1] == "3 follow up with 2 ml of saline"


def test_two_procedure_names_side_by_side_in_a_flat_note_name_neither() -> None:
    note = ("SACROPLASTY / KYPHOPLASTY RECORD\nDate: 02/03/2026\nIndication: painful T8 fracture.\n"
            "Technique: Under fluoroscopy a needle entered T8 and PMMA was instilled into T8.\n")
    flat = predicted_values(extract(flatten(note), mentions=False))
    assert flat == predicted_values(extract(note, mentions=False))
    assert flat["procedure_type"] is None and flat["levels"] == ["T8"]


def test_a_bare_biopsy_subject_opens_a_flat_sentence_unless_a_modifier_leads_it() -> None:
    got = sentences("history eight weeks of bracing and naproxen biopsy is planned for next month")
    assert got[-1] == "biopsy is planned for next month"
    got = sentences("technique pmma was instilled into t8 and a marrow biopsy was skipped there was no leak")
    assert got[-2].endswith("a marrow biopsy was skipped")


def test_a_planned_biopsy_does_not_reach_the_failed_therapy_before_it() -> None:
    text = ("procedure vertebroplasty t8 history eight weeks of bracing and naproxen failed biopsy is planned to "
            "rule out myeloma technique under fluoroscopy pmma was instilled into t8")
    assert predicted_values(extract(text, mentions=False))["conservative_therapy_weeks"] == 8.0


def test_the_title_of_a_flat_note_is_the_words_before_its_first_heading() -> None:
    text = ("ct thoracic spine without contrast findings cement from an earlier vertebroplasty fills t8 and no new "
            "fracture impression stable t8")
    ex = extract(text, mentions=False)
    assert ex.document.kind == "imaging_report"
    assert not ex.is_procedure_note


def test_an_article_led_passive_subject_opens_a_flat_sentence() -> None:
    got = sentences("technique trocars entered t7 and t8 through each pedicle a marrow sample was taken there was "
                    "no leak")
    assert "a marrow sample was taken" in got
    got = sentences("technique pmma was instilled into the t8 vertebral body with good fill complications none")
    assert got[-2].endswith("pmma was instilled into the t8 vertebral body with good fill")
