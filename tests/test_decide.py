"""The family decision table (scribe/resolvers/decide.py): one test per row, as facts and as a note."""

from __future__ import annotations

import pytest

from scribe.api import extract
from scribe.resolvers.decide import FAMILY_TABLE, LevelFacts, decide_family

# (row, facts that reach it first, a note whose level is decided by it, the level, the family)
ROWS = [
    ("cavity_at_level", LevelFacts(cavity_here=True, vp_in_note=True),
     "Procedure: vertebroplasty T12.\nTechnique: a balloon was inflated in T12 and PMMA injected into T12.",
     "T12", "kyphoplasty"),
    ("no_cavity_at_level", LevelFacts(no_cavity_here=True, kp_in_note=True),
     "Procedure: kyphoplasty L2.\nTechnique: no balloon was used at L2; PMMA was injected into L2.",
     "L2", "vertebroplasty"),
    ("vertebroplasty_named_in_mixed_session",
     LevelFacts(cavity_untied=True, mixed_named=True, vp_named=True, kp_in_note=True, vp_in_note=True),
     "Vertebroplasty at T7 and kyphoplasty at T9.\n\nA balloon was inflated and cement was injected.",
     "T7", "vertebroplasty"),
    ("cavity_in_session", LevelFacts(cavity_untied=True, vp_named=True, vp_in_note=True),
     "Procedure: vertebroplasty L1.\nTechnique: the balloon tamp was inflated creating a cavity, then cement "
     "was injected.", "L1", "kyphoplasty"),
    ("kyphoplasty_named_at_level", LevelFacts(kp_named=True, vp_in_note=True),
     "Procedure: kyphoplasty L2 and vertebroplasty T8.\nTechnique: PMMA was injected into L2 and T8.",
     "L2", "kyphoplasty"),
    ("vertebroplasty_named_at_level", LevelFacts(vp_named=True, kp_in_note=True),
     "Procedure: kyphoplasty L2 and vertebroplasty T8.\nTechnique: PMMA was injected into L2 and T8.",
     "T8", "vertebroplasty"),
    ("kyphoplasty_named", LevelFacts(kp_in_note=True),
     "Kyphoplasty was performed.\n\nPMMA 4 mL was injected into T11.", "T11", "kyphoplasty"),
    ("vertebroplasty_named", LevelFacts(vp_in_note=True),
     "Vertebroplasty was performed.\n\nPMMA 3 mL was injected into L3.", "L3", "vertebroplasty"),
]


def test_every_row_is_tested_once() -> None:
    assert [r[0] for r in ROWS] == [row.name for row in FAMILY_TABLE]


@pytest.mark.parametrize(("name", "facts", "note", "level", "family"), ROWS, ids=[r[0] for r in ROWS])
def test_row(name: str, facts: LevelFacts, note: str, level: str, family: str) -> None:
    fam, row = decide_family(facts)
    assert row is not None and row.name == name
    ex = extract(note, note_id="t")
    treated = {t.level: t for t in ex.treated}
    assert treated[level].family == family == fam
    assert treated[level].rule == name


def test_nothing_says_no_family() -> None:
    assert decide_family(LevelFacts()) == (None, None)
