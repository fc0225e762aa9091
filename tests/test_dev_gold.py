"""Regression: `scribe eval ../shared/dev_gold` keeps every element at or above the floor."""

from __future__ import annotations

from pathlib import Path

import pytest

from scribe.evaluate import evaluate_dir

FLOOR = 0.98
ELEMENTS = ("procedure_type", "cavity_creation", "levels", "guidance", "biopsy", "laterality",
            "conservative_therapy_weeks", "indication")


@pytest.fixture(scope="module")
def report(dev_gold_dir: Path):  # type: ignore[no-untyped-def]
    return evaluate_dir(dev_gold_dir)


def test_every_note_scored(report) -> None:  # type: ignore[no-untyped-def]
    assert report.notes == 40


@pytest.mark.parametrize("element", ELEMENTS)
def test_element_accuracy_floor(report, element: str) -> None:  # type: ignore[no-untyped-def]
    errors = [d for d in report.disagreements if d.field == element]
    assert report.accuracy[element] >= FLOOR, errors


def test_cpt_reproduced_exactly(report) -> None:  # type: ignore[no-untyped-def]
    errors = [d for d in report.disagreements if d.field == "cpt"]
    assert report.accuracy["cpt"] == 1.0, errors


def test_bundled_sample_notes_match_their_gold() -> None:
    """The project's own annotated sample notes (always present, even without ../shared)."""
    sample = Path(__file__).resolve().parent.parent / "sample_notes"
    rep = evaluate_dir(sample)
    assert rep.notes >= 12
    for element in (*ELEMENTS, "cpt"):
        assert rep.accuracy[element] >= FLOOR, [d for d in rep.disagreements if d.field == element]
