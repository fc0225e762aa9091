"""Metamorphic tests over the gold notes written by others (dev_gold, dev_wild): rewritings whose gold is
known must not change the answer (scribe/metamorphic.py; benchmarks/metamorphic.py prints the figures for
every gold set, the project's corpus included)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scribe.api import extract
from scribe.evaluate import SCORED, Gold, gold_values, load_gold, predicted_values, same
from scribe.metamorphic import INVARIANT, NEGATIVE, flatten, reorder

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
SETS = [SHARED / "dev_gold", SHARED / "dev_wild"]
# flattening (no case, punctuation, line breaks) still costs some accuracy (issue 14 asks for <= 0.02; measured
# 0.019 on dev_gold and on dev_wild, tests/test_flatten_rules.py has the rules): this floor catches a regression
FLATTEN_FLOOR = 0.025


def _notes(d: Path) -> list[tuple[str, str, Gold]]:
    if not d.is_dir():
        pytest.skip(f"{d} not found")
    return [(p.stem, p.read_text(encoding="utf-8"), load_gold(p.with_name(p.stem + ".gold.json")))
            for p in sorted(d.glob("*.txt")) if p.with_name(p.stem + ".gold.json").exists()]


def _accuracy(pairs: list[tuple[str, str, Gold]], transform: object) -> float:
    ok = total = 0
    for name, text, gold in pairs:
        p = predicted_values(extract(transform(text), note_id=name, mentions=False))  # type: ignore[operator]
        g = gold_values(gold)
        ok += sum(same(f, p[f], g[f]) for f in SCORED)
        total += len(SCORED)
    return ok / total


@pytest.mark.parametrize("d", SETS, ids=lambda d: d.name)
@pytest.mark.parametrize("name", ["history", "boilerplate", "reorder"])
def test_invariant_rewritings_lose_nothing(d: Path, name: str) -> None:
    pairs = _notes(d)
    assert _accuracy(pairs, INVARIANT[name]) == _accuracy(pairs, lambda t: t)


@pytest.mark.parametrize("d", SETS, ids=lambda d: d.name)
def test_flattened_notes_stay_close(d: Path) -> None:
    pairs = _notes(d)
    assert _accuracy(pairs, lambda t: t) - _accuracy(pairs, flatten) <= FLATTEN_FLOOR


@pytest.mark.parametrize("d", SETS, ids=lambda d: d.name)
@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_planned_cancelled_and_imaging_rewritings_get_no_code(d: Path, name: str) -> None:
    for note_id, _text, gold in _notes(d):
        if not gold.procedure_type:
            continue
        ex = extract(NEGATIVE[name](gold.procedure_type, list(gold.levels)), note_id=note_id, mentions=False)
        assert ex.elements.procedure_type.value is None and ex.codes == [], (note_id, name)


def test_reorder_moves_sections_not_the_heading_block() -> None:
    text = "TITLE\nPatient: X  MRN: 1\n\nHistory: a.\n\nProcedure: b.\n\nPlan: c.\n\nAddendum: d.\n"
    out = reorder(text)
    assert out.startswith("TITLE\nPatient: X  MRN: 1\n\nProcedure: b.") and out.rstrip().endswith("Addendum: d.")
