"""Unit tests of the pipeline components, through the pipeline (``scribe.nlp.analyse``) and what each one
leaves in ``doc.user_data``: ConText scope and its terminations, section detection, sentence splitting of
unpunctuated dictation, and level parsing."""

from __future__ import annotations

from datetime import date

import pytest
from spacy.tokens import Doc

from scribe.nlp import analyse
from scribe.nlp.context import flags_for


def token(doc: Doc, word: str, nth: int = 0) -> int:
    """The index of the nth token written ``word`` (any case) or normalised to it ("l two" -> "l2")."""
    found = [t.i for t in doc if t.lower_ == word.lower() or t.norm_ == word]
    return found[nth]


def categories(text: str, word: str, nth: int = 0, dos: date | None = None) -> list[str]:
    doc = analyse(text, dos)
    i = token(doc, word, nth)
    return sorted({f.category for f in flags_for(doc, i, i + 1)})


# --- ConText: cues, scope, terminations ---------------------------------------------------------


@pytest.mark.parametrize(("text", "word", "expected"), [
    ("No balloon was used.", "balloon", ["negated"]),  # forward cue
    ("The balloon was not used.", "balloon", ["negated"]),  # backward cue
    ("She had a prior kyphoplasty at L1.", "kyphoplasty", ["historical"]),
    ("If pain persists, kyphoplasty will be considered.", "kyphoplasty", ["hypothetical"]),
    ("The MRI showed a fracture at L2.", "L2", ["diagnostic"]),
    ("Kyphoplasty was performed at L1 under fluoroscopy.", "kyphoplasty", []),
])
def test_context_cues_and_their_direction(text: str, word: str, expected: list[str]) -> None:
    assert categories(text, word) == expected


@pytest.mark.parametrize("terminator", ["but", "however", ";"])
def test_a_terminator_ends_the_cue_scope(terminator: str) -> None:
    text = f"No balloon was used {terminator} cement was injected at L1."
    assert categories(text, "balloon") == ["negated"]
    assert categories(text, "cement") == []


def test_the_scope_ends_with_the_sentence() -> None:
    assert categories("No balloon. Cement was injected at L1.", "cement") == []
    assert categories("No balloon or cement was injected at L1.", "cement") == ["negated"]


def test_the_scope_is_a_number_of_tokens() -> None:
    near = "No fever or kyphoplasty."
    far = "No fever chills or weight loss reported in recent weeks and a kyphoplasty at L1."
    assert categories(near, "kyphoplasty") == ["negated"]
    assert categories(far, "kyphoplasty") == []  # 11 tokens after "No", its scope is 6


def test_a_pseudo_cue_blocks_the_cue_inside_it() -> None:
    assert categories("There was no cement leak and the balloon was removed.", "balloon") == []
    assert categories("There was no balloon and the cement was injected.", "balloon") == ["negated"]


def test_a_date_before_the_date_of_service_is_historical() -> None:
    dos = date(2025, 3, 1)
    assert categories("Kyphoplasty in 2019 at T12.", "kyphoplasty", dos=dos) == ["historical"]
    assert categories("Kyphoplasty in 2025 at T12.", "kyphoplasty", dos=dos) == []


def test_a_self_correction_marks_the_level_it_replaces() -> None:
    text = "cement was injected at l two sorry l three"
    assert categories(text, "l2") == ["corrected"]
    assert categories(text, "l3") == []


def test_each_flag_names_its_cue_span() -> None:
    text = "The balloon was not used."
    doc = analyse(text)
    i = token(doc, "balloon")
    (flag,) = flags_for(doc, i, i + 1)
    assert text[flag.cue_start : flag.cue_end] == flag.cue == "was not used"


# --- sections -----------------------------------------------------------------------------------


def sections(text: str) -> list[tuple[str, str, str, bool]]:
    doc = analyse(text)
    return [(s.name, s.label, text[s.body_start : s.end].strip(), s.session) for s in doc.user_data["sections"]]


def test_formal_headings_map_to_canonical_sections() -> None:
    text = "PROCEDURE PERFORMED: Kyphoplasty L1\nINDICATIONS: osteoporotic fracture\nPLAN: follow up in 2 weeks"
    assert sections(text) == [
        ("PROCEDURE", "PROCEDURE PERFORMED", "Kyphoplasty L1", True),
        ("INDICATION", "INDICATIONS", "osteoporotic fracture", False),
        ("PLAN", "PLAN", "follow up in 2 weeks", False),
    ]


def test_spoken_headings_start_a_paragraph() -> None:
    text = "history of present illness the patient fell\n\nprocedure kyphoplasty at l one\n\nplan discharge home"
    assert [s[:3] for s in sections(text)] == [
        ("HISTORY", "history of present illness", "the patient fell"),
        ("PROCEDURE", "procedure", "kyphoplasty at l one"),
        ("PLAN", "plan", "discharge home"),
    ]


def test_a_heading_word_as_the_subject_of_a_sentence_is_no_heading() -> None:
    names = [s[0] for s in sections("Consent was obtained.\nProcedure: kyphoplasty")]
    assert names == ["TITLE", "PROCEDURE"]  # the first line is the title, not a CONSENT section


def test_each_token_knows_its_section() -> None:
    doc = analyse("Procedure: vertebroplasty T12\n\nHistory: prior kyphoplasty at L1")
    secs, tok_section = doc.user_data["sections"], doc.user_data["tok_section"]
    assert [secs[tok_section[token(doc, w)]].name for w in ("vertebroplasty", "kyphoplasty")] == ["PROCEDURE",
                                                                                                   "HISTORY"]
    assert [s.session for s in secs] == [True, False]  # history never describes this session's procedure


# --- sentences ----------------------------------------------------------------------------------


def sentences(text: str) -> tuple[bool, list[str]]:
    doc = analyse(text)
    sent_id = doc.user_data["sent_id"]
    out = []
    for k in sorted(set(sent_id)):
        toks = [i for i, s in enumerate(sent_id) if s == k]
        out.append(doc[toks[0] : toks[-1] + 1].text.strip())
    return doc.user_data["dictation"], out


def test_unpunctuated_dictation_splits_at_spoken_punctuation() -> None:
    text = ("the patient was brought to the procedure room and placed prone period the skin over l one was prepped "
            "and draped in sterile fashion period under fluoroscopy a needle was advanced into the l one vertebral "
            "body period cement was injected without complication")
    dictation, sents = sentences(text)
    assert dictation
    assert sents == [
        "the patient was brought to the procedure room and placed prone period",
        "the skin over l one was prepped and draped in sterile fashion period",
        "under fluoroscopy a needle was advanced into the l one vertebral body period",
        "cement was injected without complication",
    ]


def test_spoken_new_paragraph_ends_a_sentence() -> None:
    text = ("the patient was placed prone new paragraph the skin was prepped and draped and local anesthetic was "
            "given and the needle was advanced under fluoroscopy into the vertebral body and cement was injected")
    dictation, sents = sentences(text)
    assert dictation and len(sents) == 2 and sents[1].startswith("the skin was prepped")


def test_spoken_words_do_not_split_a_punctuated_note() -> None:
    text = "The patient was placed prone, and the period of observation was uneventful. Cement was injected at L1."
    dictation, sents = sentences(text)
    assert not dictation
    assert sents == ["The patient was placed prone, and the period of observation was uneventful.",
                     "Cement was injected at L1."]


def test_abbreviations_do_not_end_a_sentence() -> None:
    assert sentences("Dr. Smith performed the procedure. Cement was injected at L1.")[1] == [
        "Dr. Smith performed the procedure.", "Cement was injected at L1."]


def test_terminators_split_clauses_not_sentences() -> None:
    text = ("the balloon was inflated at l one but the cement was not injected at l two however the patient "
            "tolerated the procedure well and was taken to recovery in good condition today")
    doc = analyse(text)
    assert len(set(doc.user_data["sent_id"])) == 1
    assert len(set(doc.user_data["clause_id"])) == 3


# --- levels -------------------------------------------------------------------------------------


def levels(text: str) -> list[tuple[list[str], str, bool]]:
    return [(m.levels, m.text, m.is_range) for m in analyse(text).user_data["levels"]]


@pytest.mark.parametrize(("text", "expected"), [
    ("Kyphoplasty at T12.", [(["T12"], "T12", False)]),
    ("T11-L1 treated", [(["T11", "T12", "L1"], "T11-L1", True)]),
    ("L4-5 augmented", [(["L4", "L5"], "L4-5", True)]),
    ("T5 to T7 were treated", [(["T5", "T6", "T7"], "T5 to T7", True)]),
    ("L1 through 3", [(["L1", "L2", "L3"], "L1 through 3", True)]),
    ("t twelve through l two", [(["T12", "L1", "L2"], "t twelve through l two", True)]),
    ("twelfth thoracic", [(["T12"], "twelfth thoracic", False)]),
    ("el won and el too", [(["L1"], "el won", False), (["L2"], "el too", False)]),
    ("L2, 3 and 4 were treated", [(["L2"], "L2", False), (["L3"], "3", False), (["L4"], "4", False)]),
    ("T10/L2", [(["T10"], "T10", False), (["L2"], "L2", False)]),
])
def test_levels_and_ranges(text: str, expected: list[tuple[list[str], str, bool]]) -> None:
    assert levels(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("6 weeks of bracing", []),
    ("T1 weighted images and T2 signal", []),  # MRI sequences
    ("L2, 5 cc of cement", [["L2"]]),  # a list goes on with bare numbers, not with a quantity
])
def test_numbers_that_are_no_level(text: str, expected: list[list[str]]) -> None:
    assert [m[0] for m in levels(text)] == expected


def test_impossible_levels_are_kept_apart() -> None:
    mentions = analyse("T14 and L9 at C8").user_data["levels"]
    assert [(m.levels, m.invalid) for m in mentions] == [([], ["T14"]), ([], ["L9"]), ([], ["C8"])]
    mentions = analyse("a transitional L6 and T13").user_data["levels"]
    assert [(m.levels, m.invalid) for m in mentions] == [(["L6"], []), (["T13"], [])]


def test_level_offsets_point_into_the_text() -> None:
    text = "Balloon kyphoplasty at t twelve and L1."
    for m in analyse(text).user_data["levels"]:
        assert text[m.start_char : m.end_char] == m.text
