"""Pipeline components: normalisation into norm_, sections, sentences, context cues."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_element_of_equals_a_validated_element() -> None:
    from scribe.models import Element, Status, make_evidence

    ev = [make_evidence(0, 3, "T12")]
    fast = Element.of(value=["T12"], status=Status.FOUND, evidence=ev, detail={"a": 1})
    slow = Element(value=["T12"], status=Status.FOUND, evidence=ev, detail={"a": 1})
    assert fast == slow and fast.model_dump_json() == slow.model_dump_json()
    assert Element.of() == Element() and Element.of().evidence is not Element.of().evidence
    fast.detail["b"] = 2  # a resolver adds detail after building the element
    assert fast.detail == {"a": 1, "b": 2}


def _reference_tokens(text: str) -> list[tuple[str, str]]:
    """The tokenisation rules of scribe/nlp/tokenizer.py, written out plainly over the whole text."""
    import re

    parts = re.findall(r"\s+|\d+(?:[.,]\d+)+|\w+|[^\w\s]", text)
    out: list[list[str]] = []  # [text, whitespace]
    i = 0
    while i < len(parts):
        w = parts[i]
        i += 1
        if w[0].isspace():
            if out and w[0] == " " and not out[-1][1]:
                out[-1][1] = " "
                w = w[1:]
                if not w:
                    continue
            out.append([w, ""])
            continue
        if w in ("'", "\u2019") and i < len(parts) and out and not out[-1][1] and not out[-1][0][0].isspace() \
                and parts[i] in {"s", "t", "re", "ll", "ve", "d", "m", "S", "T", "RE", "LL", "VE", "D", "M"}:
            clitic = parts[i]
            i += 1
            prev = out[-1][0]
            if clitic in ("t", "T") and len(prev) > 1 and prev[-1] in "nN":
                out[-1][0] = prev[:-1]
                out.append([prev[-1] + w + clitic, ""])
            else:
                out.append([w + clitic, ""])
            continue
        out.append([w, ""])
    return [(a, b) for a, b in out]


@pytest.mark.parametrize("text", [
    "PROCEDURE:  Kyphoplasty T11-L1.\n\n  3.5 mL PMMA (T12) 02/26/2024\t\r\n", " lead", "", "a  b\n c",
    "The patient's pain didn't improve; she can't sit.\nEBL: None.\nL2,3 and 1,000 mg", "rock'n'roll 'tis n't",
    "3.5mL of cement, 1.5-2 months, T12.5", "O\u2019Brien\u2019s wasn\u2019t", "a \n b\u00a0c  \n",
])
def test_tokenizer_follows_the_note_rules(text: str) -> None:
    from scribe.nlp import get_nlp

    doc = get_nlp().tokenizer(text)
    assert [(t.text, t.whitespace_) for t in doc] == _reference_tokens(text)
    assert doc.text == text
    again = get_nlp().tokenizer(text)  # second time from spaCy's chunk cache
    assert [(t.text, t.whitespace_) for t in again] == _reference_tokens(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZ9 .,'\u2019-\n\t\r:;()/stn\u00a0\u00e9\u0663\u2009"))
               | st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_tokenizer_follows_the_note_rules_on_any_text(text: str) -> None:
    from scribe.nlp import get_nlp

    doc = get_nlp().tokenizer(text)
    assert [(t.text, t.whitespace_) for t in doc] == _reference_tokens(text)


_PARA_TEXT = st.lists(st.sampled_from([*"ab \t\nNEWPARGHnewpargh:.\u0130", "new paragraph", "New Paragraph",
                                       "\n\n", " \n \n"]),
                      max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(_PARA_TEXT)
def test_paragraph_scan_equals_the_combined_pattern(text: str) -> None:
    import re

    from scribe.nlp.sections import _PARA_START, merged_ends, paragraph_ends

    assert paragraph_ends(text) == [m.end() for m in _PARA_START.finditer(text)]
    plain = re.compile(r"\n[ \t]*\n|new paragraph", re.IGNORECASE)
    if len(text.lower()) == len(text):
        assert merged_ends(text, text.lower(), re.compile(r"\n[ \t]*\n"), re.compile("new paragraph")) == \
            [m.end() for m in plain.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([*"0129/ a-x\n\u00b2", "2024", "1999", "12/", "/2020", "3/4/25", "\u0661\u0662"]),
                max_size=25).map("".join))
def test_date_scan_equals_the_plain_pattern(text: str) -> None:
    from scribe.nlp.context import _DATE, date_matches

    assert [(m.span(), m.groups()) for m in date_matches(text)] == \
        [(m.span(), m.groups()) for m in _DATE.finditer(text)]


def test_cues_found_by_the_terms_pass_equal_the_context_components_own() -> None:
    doc = analyse("No balloon was used at L2; prior kyphoplasty at T8 in 2019. L3 was not treated, "
                  "biopsy to be considered.")
    shared = [(c.category, c.start, c.end) for c in doc.user_data["cues"]]
    doc.user_data.pop("cue_matches")
    get_nlp().get_pipe("scribe_context")(doc)
    assert [(c.category, c.start, c.end) for c in doc.user_data["cues"]] == shared
    assert {c[0] for c in shared} >= {"negated", "historical"}


@pytest.mark.parametrize("text", [
    "Kypho plasty at tee twelve and el one under c arm, M R N 123.",
    "lumbar four and lumbar five\nthoracic six  t 12 \u00c9DEMA s one",
    "t twelve",
])
def test_table_after_merges_equals_the_merged_doc_read_again(text: str) -> None:
    from scribe.nlp.table import TokenTable

    nlp = get_nlp()
    doc = nlp.make_doc(text)
    tab = TokenTable.from_doc(doc, text, fresh=True)
    merges = nlp.get_pipe("scribe_normalize")._merges(tab.lowers, tab)
    assert merges
    spliced, at = tab.merged(merges)
    with doc.retokenize() as retok:
        for start, end, norm in merges:
            retok.merge(doc[start:end], attrs={"NORM": norm})
    again = TokenTable.from_doc(doc, text)
    assert (spliced.idx, spliced.ends, spliced.lowers, spliced.norms) == \
        (again.idx, again.ends, again.lowers, again.norms)
    assert [spliced.norms[i] for i in at] == [m[2] for m in merges]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*"CTLS12 \t\n:,&a", "and", "T12", "L1:", "\nT1", " and L2", ": "]),
                max_size=30).map("".join))
def test_level_label_line_scan_equals_the_multiline_pattern(text: str) -> None:
    from scribe.resolvers.view import _LEVEL_LABEL_LINE, level_label_lines

    assert level_label_lines(text) == [m.start() for m in _LEVEL_LABEL_LINE.finditer(text)]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*"AZb1 \t\n\r:.)-", "PROCEDURE", "12.", "Findings", ":\n", "\n\n", "  "]),
                max_size=40).map("".join))
def test_heading_line_scans_equal_the_multiline_patterns(text: str) -> None:
    import re

    from scribe.nlp.sections import _CAPS, _CAPS_LINE, _FORMAL, line_matches

    lazy_label = r"^[ \t]*(?:\d{1,2}[.)]\s*)?([A-Za-z][A-Za-z0-9 /&()'\-,.]{0,60}?)[ \t]*:"  # as first written
    for pattern, source in ((_FORMAL, lazy_label), (_CAPS_LINE, "^" + _CAPS)):
        multiline = re.compile(source, re.MULTILINE)
        got = [(m.group(1).strip(), m.start(1), m.end()) for m in line_matches(pattern, text)]
        assert got == [(m.group(1).strip(), m.start(1), m.end()) for m in multiline.finditer(text)]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*"Ab.!? \t\n\r", "\n\n", ". ", "Under"]), max_size=40).map("".join),
       st.integers(0, 10), st.integers(0, 60))
def test_sentence_end_line_scan_equals_the_pattern(text: str, start: int, end: int) -> None:
    from scribe.nlp.sections import _NEWLINE_CAP, sentence_end_lines

    assert list(sentence_end_lines(text, start, end)) == [m.end() for m in _NEWLINE_CAP.finditer(text, start, end)]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*"AZb1 \t\n:.,;-/&()'", "PROCEDURE", "AB", "FINDINGS", "  ", ": ", "X" * 30]),
                max_size=40).map("".join))
def test_inline_heading_scan_equals_the_pattern(text: str) -> None:
    import re

    from scribe.nlp.sections import inline_matches

    lazy = re.compile(r"([A-Z][A-Z][A-Z /&()'\-]{0,60}?)[ \t]*:")  # the pattern as first written
    got = [(m.group(1).strip(), m.start(1), m.end()) for m in inline_matches(text)]
    assert got == [(m.group(1).strip(), m.start(1), m.end()) for m in lazy.finditer(text)]


def test_pattern_docs_carry_the_norms_of_each_phrase_normalised_alone() -> None:
    from scribe.lexicon import default_lexicon
    from scribe.nlp import get_nlp
    from scribe.nlp.normalize import pattern_docs

    nlp = get_nlp()
    normalizer = nlp.get_pipe("scribe_normalize")
    lex = default_lexicon()
    phrases = [t.pattern for t in lex.terms] + [r.literal for r in lex.context] + \
        ["t 12", "c arm", "kypho plasty", "lumbar four", "t twelve weeks", "el one", "T-12", "x", "a b c"]
    alone = [[t.norm_ for t in normalizer(nlp.make_doc(p))] for p in phrases]
    together = [[t.norm_ for t in d] for d in pattern_docs(nlp, normalizer, phrases)]
    assert together == alone


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["the", "The", "PMMA", "l1", "T12", " ", "  ", "\n", ".", ",", "x-ray", "I", "ok",
                                 "caf\u00e9", "\u00c9t\u00e9", "a1b", "'s"]), max_size=60).map(" ".join))
def test_alpha_counts_equal_counting_every_word(text: str) -> None:
    from scribe.nlp import get_nlp
    from scribe.nlp.sentences import _alpha_counts
    from scribe.nlp.table import TokenTable

    tab = TokenTable.from_doc(get_nlp().make_doc(text), text)
    words = [w for w in tab.words if w.isalpha()]
    assert _alpha_counts(tab) == (len(words), sum(map(str.islower, words)))
