"""Scoring extractions against gold annotations (``../shared/contract/annotation.md``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from scribe.models import Extraction

SCORED: tuple[str, ...] = (
    "procedure_type", "cavity_creation", "levels", "guidance", "biopsy", "laterality",
    "conservative_therapy_weeks", "indication", "cpt",
)


class GoldBiopsy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    performed: bool | None = None
    sites: list[str] = Field(default_factory=list)


class Gold(BaseModel):
    """One gold annotation file."""

    model_config = ConfigDict(extra="forbid")
    procedure_type: str | None = None
    cavity_creation: bool | None = None
    levels: list[str] = Field(default_factory=list)
    guidance: list[str] = Field(default_factory=list)
    biopsy: GoldBiopsy = Field(default_factory=GoldBiopsy)
    laterality: str | None = None
    conservative_therapy_weeks: float | None = None
    indication: str | None = None
    notes: str = ""
    cpt: list[tuple[str, int, list[str]]] = Field(default_factory=list)
    document_kind: str | None = None


def load_gold(path: Path) -> Gold:
    return Gold.model_validate(json.loads(path.read_text(encoding="utf-8")))


def predicted_values(ex: Extraction) -> dict[str, Any]:
    """The extraction in the gold's shape."""
    el = ex.elements
    bx = el.biopsy.value or {}
    if not isinstance(bx, dict):
        bx = bx.model_dump()
    ct = el.conservative_therapy.value
    weeks = None
    if isinstance(ct, dict):
        weeks = ct.get("weeks")
    elif ct is not None:
        weeks = getattr(ct, "weeks", None)
    return {
        "procedure_type": el.procedure_type.value,
        "cavity_creation": el.cavity_creation.value,
        "levels": list(el.levels.value or []),
        "guidance": sorted(el.guidance.value or []),
        "biopsy": {"performed": bx.get("performed"), "sites": list(bx.get("sites") or [])},
        "laterality": el.laterality.value,
        "conservative_therapy_weeks": weeks,
        "indication": el.indication.value,
        "cpt": sorted([c.code, c.units, sorted(c.modifiers)] for c in ex.codes),
    }


def gold_values(gold: Gold) -> dict[str, Any]:
    return {
        "procedure_type": gold.procedure_type,
        "cavity_creation": gold.cavity_creation,
        "levels": list(gold.levels),
        "guidance": sorted(gold.guidance),
        "biopsy": {"performed": gold.biopsy.performed, "sites": list(gold.biopsy.sites)},
        "laterality": gold.laterality,
        "conservative_therapy_weeks": gold.conservative_therapy_weeks,
        "indication": gold.indication,
        "cpt": sorted([c, u, sorted(m)] for c, u, m in gold.cpt),
    }


def same(field: str, predicted: Any, expected: Any) -> bool:
    if field == "conservative_therapy_weeks":
        if predicted is None or expected is None:
            return predicted is expected
        return abs(float(predicted) - float(expected)) <= 0.01
    return bool(predicted == expected)


class Disagreement(BaseModel):
    note_id: str
    field: str
    predicted: Any
    expected: Any


class EvalReport(BaseModel):
    notes: int
    accuracy: dict[str, float]
    disagreements: list[Disagreement]
    # over the notes whose gold names a document_kind (dev_wild): kind accuracy, and how many of the
    # documents that record no augmentation still got a code
    document_kind: float | None = None
    kind_notes: int = 0
    negative_documents: int = 0
    negative_with_codes: int = 0


def evaluate_pairs(pairs: list[tuple[Extraction, Gold]]) -> EvalReport:
    correct = dict.fromkeys(SCORED, 0)
    errors: list[Disagreement] = []
    kinds = kind_ok = negatives = negative_codes = 0
    for ex, gold in pairs:
        p, g = predicted_values(ex), gold_values(gold)
        if gold.document_kind is not None:
            kinds += 1
            if ex.document.kind == gold.document_kind:
                kind_ok += 1
            else:
                errors.append(Disagreement(note_id=ex.note_id, field="document_kind", predicted=ex.document.kind,
                                           expected=gold.document_kind))
            if gold.document_kind != "augmentation_procedure":
                negatives += 1
                negative_codes += bool(ex.codes)
        for f in SCORED:
            if same(f, p[f], g[f]):
                correct[f] += 1
            else:
                errors.append(Disagreement(note_id=ex.note_id, field=f, predicted=p[f], expected=g[f]))
    n = len(pairs)
    acc = {f: (correct[f] / n if n else 0.0) for f in SCORED}
    return EvalReport(notes=n, accuracy=acc, disagreements=errors,
                      document_kind=(kind_ok / kinds) if kinds else None, kind_notes=kinds,
                      negative_documents=negatives, negative_with_codes=negative_codes)


def evaluate_dir(gold_dir: Path, payer: str = "medicare") -> EvalReport:
    from scribe.api import extract_file

    pairs: list[tuple[Extraction, Gold]] = []
    for gold_path in sorted(gold_dir.glob("*.gold.json")):
        note_path = gold_path.with_name(gold_path.name.replace(".gold.json", ".txt"))
        if not note_path.exists():
            continue
        pairs.append((extract_file(note_path, payer=payer), load_gold(gold_path)))
    return evaluate_pairs(pairs)
