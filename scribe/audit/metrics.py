"""Audit figures against gold annotations.

Per-element accuracy and the disagreements come from :func:`scribe.evaluate.evaluate_pairs`, so
they equal ``scribe eval`` on the same notes. On top of that:

- precision / recall / F1 for treated levels and for biopsy sites, micro-averaged over notes
  (true positives, false positives and false negatives are summed over notes, then divided);
  a ratio 0/0 counts as 1.0 when there was nothing to find and nothing was predicted, else 0.0;
- the CPT exact-match rate: notes whose proposed CPT lines (code, units, sorted modifiers, in
  any order) equal the gold lines, over notes (the ``cpt`` accuracy of ``scribe eval``);
- a confusion table of ``procedure_type``: gold value -> predicted value -> count (``none`` is null).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from scribe.evaluate import Disagreement, Gold, evaluate_pairs, gold_values, predicted_values
from scribe.models import Extraction

NONE_LABEL = "none"


class PRF(BaseModel):
    """Micro-averaged precision, recall and F1 over a set-valued element."""

    model_config = ConfigDict(extra="forbid")

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp, self.fn == 0)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn, self.fp == 0)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, predicted: Iterable[str], expected: Iterable[str]) -> None:
        p, g = set(predicted), set(expected)
        self.tp += len(p & g)
        self.fp += len(p - g)
        self.fn += len(g - p)

    def summary(self) -> dict[str, float | int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


def _ratio(num: int, den: int, nothing_else_wrong: bool) -> float:
    if den:
        return num / den
    return 1.0 if nothing_else_wrong else 0.0


class AuditMetrics(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notes: int
    accuracy: dict[str, float]
    levels: PRF = Field(default_factory=PRF)
    biopsy_sites: PRF = Field(default_factory=PRF)
    cpt_exact: float = 0.0
    procedure_confusion: dict[str, dict[str, int]] = Field(default_factory=dict)
    disagreements: list[Disagreement] = Field(default_factory=list)

    @property
    def mean_accuracy(self) -> float:
        return sum(self.accuracy.values()) / len(self.accuracy) if self.accuracy else 0.0

    def summary(self) -> dict[str, object]:
        """JSON-ready figures (PRF with its derived ratios)."""
        return {
            "notes": self.notes,
            "accuracy": {k: round(v, 4) for k, v in self.accuracy.items()},
            "mean_accuracy": round(self.mean_accuracy, 4),
            "levels": self.levels.summary(),
            "biopsy_sites": self.biopsy_sites.summary(),
            "cpt_exact": round(self.cpt_exact, 4),
            "procedure_confusion": self.procedure_confusion,
            "disagreements": [d.model_dump(mode="json") for d in self.disagreements],
        }


def confusion_labels(confusion: dict[str, dict[str, int]]) -> list[str]:
    """Row/column labels of a confusion table: every value seen, ``none`` last."""
    labels = set(confusion) | {p for row in confusion.values() for p in row}
    return sorted(labels - {NONE_LABEL}) + ([NONE_LABEL] if NONE_LABEL in labels else [])


def compute_metrics(pairs: Sequence[tuple[Extraction, Gold]]) -> AuditMetrics:
    """All audit figures over (extraction, gold) pairs."""
    report = evaluate_pairs(list(pairs))
    levels, sites = PRF(), PRF()
    confusion: dict[str, dict[str, int]] = {}
    cpt_ok = 0
    for ex, gold in pairs:
        p, g = predicted_values(ex), gold_values(gold)
        levels.add(p["levels"], g["levels"])
        sites.add(p["biopsy"]["sites"], g["biopsy"]["sites"])
        if p["cpt"] == g["cpt"]:
            cpt_ok += 1
        row = confusion.setdefault(str(g["procedure_type"] or NONE_LABEL), {})
        key = str(p["procedure_type"] or NONE_LABEL)
        row[key] = row.get(key, 0) + 1
    n = len(pairs)
    return AuditMetrics(notes=n, accuracy=report.accuracy, levels=levels, biopsy_sites=sites,
                        cpt_exact=cpt_ok / n if n else 0.0, procedure_confusion=confusion,
                        disagreements=report.disagreements)
