"""Pipeline components: normalisation into norm_, sections, sentences, context cues."""

from __future__ import annotations

import subprocess
import sys

from scribe.nlp import analyse, get_nlp
from scribe.nlp.levels import expand


def norms(text: str) -> list[tuple[str, str]]:
    return [(t.text, t.norm_) for t in analyse(text) if t.norm_ != t.lower_]


def test_spoken_levels_and_joined_words_keep_the_dictated_text() -> None:
    doc = analyse("kypho plasty at tee eleven and lumbar four then twelfth thoracic under c arm")
    assert ("kypho plasty", "kyphoplasty") in [(t.text, t.norm_) for t in doc]
    assert [m.levels for m in doc.user_data["levels"]] == [["T11"], ["L4"], ["T12"]]
    assert doc.text.startswith("kypho plasty")


def test_fuzzy_correction_is_marked() -> None:
    doc = analyse("the vertebroplsty was done")
    tok = next(t for t in doc if t.text == "vertebroplsty")
    assert tok.norm_ == "vertebroplasty" and tok._.fuzzy
    assert not [t for t in analyse("the kyphosis was noted") if t._.fuzzy]


def test_ranges_expand_across_regions() -> None:
    assert expand("T11", "L1") == ["T11", "T12", "L1"]
    assert expand("L2", "T12") == ["T12", "L1", "L2"]


def test_t1_weighted_is_not_a_level() -> None:
    doc = analyse("a T1-hypointense focus in L3 and T2 weighted images")
    assert [m.levels for m in doc.user_data["levels"]] == [["L3"]]


def test_sections_formal_and_spoken() -> None:
    doc = analyse("TITLE LINE\nPROCEDURE: x\nINDICATION: y\n\nprocedure kyphoplasty\n\nplan go home")
    names = [s.name for s in doc.user_data["sections"]]
    assert names == ["TITLE", "PROCEDURE", "INDICATION", "PROCEDURE", "PLAN"]


def test_context_cue_scope_stops_at_terminator() -> None:
    doc = analyse("No balloon was used but cement was injected.")
    from scribe.nlp.context import flags_for
    toks = [t.i for t in doc if t.text in ("balloon", "cement")]
    assert [f.category for f in flags_for(doc, toks[0], toks[0] + 1)] == ["negated"]
    assert flags_for(doc, toks[1], toks[1] + 1) == []


def test_pipeline_documents_itself() -> None:
    analysis = get_nlp().analyze_pipes()
    assert [name for name, _ in analysis["summary"].items()][:2] == ["scribe_normalize", "scribe_sections"]


def test_core_does_not_import_textual() -> None:
    code = ("import sys, scribe.api, scribe.models, scribe.nlp, scribe.notes, scribe.resolvers; "
            "scribe.api.extract('PROCEDURE: Vertebroplasty L1'); print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_make_evidence_equals_a_validated_evidence() -> None:
    from scribe.models import Evidence, make_evidence

    fast = make_evidence(3, 7, "T12 ", "PROCEDURE", "level", True)
    slow = Evidence(start=3, end=7, text="T12 ", section="PROCEDURE", rule="level", fuzzy=True)
    assert fast == slow and fast.model_dump() == slow.model_dump()
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_copy(update={"end": 6}).end == 6


def test_fast_tokenizer_path_matches_the_general_one() -> None:
    from scribe.nlp import get_nlp

    tok = get_nlp().tokenizer
    for text in ["PROCEDURE:  Kyphoplasty T11-L1.\n\n  3.5 mL PMMA (T12) 02/26/2024\t\r\n", " lead", "", "a  b\n c"]:
        fast, general = tok(text), tok._with_clitics(text)
        assert [(t.text, t.whitespace_) for t in fast] == [(t.text, t.whitespace_) for t in general]
        assert fast.text == text
