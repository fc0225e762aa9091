"""Regression: the project's own corpus of hard cases (tests/corpus: short notes written for this
project in the forms real dictations take — run-on transcription exports, speech recognition, EHR
templates, mixed sessions, old fractures beside the treated one — each with a gold annotation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scribe.evaluate import evaluate_dir

CORPUS = Path(__file__).resolve().parent / "corpus"
FLOOR = 0.98
FIELDS = ("procedure_type", "cavity_creation", "levels", "guidance", "biopsy", "laterality",
          "conservative_therapy_weeks", "indication", "cpt")


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return evaluate_dir(CORPUS)


def test_every_note_is_scored(report) -> None:  # type: ignore[no-untyped-def]
    assert report.notes == len(list(CORPUS.glob("*.gold.json"))) >= 200


@pytest.mark.parametrize("field", FIELDS)
def test_accuracy_floor(report, field: str) -> None:  # type: ignore[no-untyped-def]
    assert report.accuracy[field] >= FLOOR, [d for d in report.disagreements if d.field == field]
