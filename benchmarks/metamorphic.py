"""Metamorphic invariance of extraction on every gold set (issue 14): does an answer lean on surface form?

For each gold set (default: ../shared/dev_gold, ../shared/dev_wild, tests/corpus) it prints
- the element accuracy (8 elements + CPT, as ``scribe eval``) of the original notes and of each invariant
  transform (flatten, history, boilerplate, reorder; ``scribe/metamorphic.py``), with the loss;
- the invariance rate: the share of notes whose scored values are all unchanged by the transform;
- for the negative rewritings (planned, cancelled, mri_post) of every positive gold note: the share that
  get no procedure and no code.

    .venv/bin/python benchmarks/metamorphic.py [GOLD_DIR ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scribe.api import extract
from scribe.evaluate import SCORED, Gold, load_gold, predicted_values, same
from scribe.metamorphic import INVARIANT, NEGATIVE

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = [ROOT.parent / "shared" / "dev_gold", ROOT.parent / "shared" / "dev_wild", ROOT / "tests" / "corpus"]


def _pairs(d: Path) -> list[tuple[str, str, Gold]]:
    out = []
    for gp in sorted(d.glob("*.gold.json")):
        note = gp.with_name(gp.name.replace(".gold.json", ".txt"))
        if note.exists():
            out.append((note.stem, note.read_text(encoding="utf-8"), load_gold(gp)))
    return out


def _accuracy(values: list[dict[str, object]], golds: list[Gold]) -> float:
    from scribe.evaluate import gold_values

    ok = total = 0
    for p, g in zip(values, golds, strict=True):
        gv = gold_values(g)
        for f in SCORED:
            total += 1
            ok += same(f, p[f], gv[f])
    return ok / total if total else 0.0


def run(d: Path) -> None:
    pairs = _pairs(d)
    if not pairs:
        print(f"{d}: no gold notes")
        return
    golds = [g for _, _, g in pairs]
    base = [predicted_values(extract(t, note_id=n, mentions=False)) for n, t, _ in pairs]
    base_acc = _accuracy(base, golds)
    print(f"\n{d} ({len(pairs)} notes): original element accuracy {base_acc:.3f}")
    print(f"  {'transform':<12} {'accuracy':>8} {'loss':>7} {'invariant':>10}")
    for name, fn in INVARIANT.items():
        vals = [predicted_values(extract(fn(t), note_id=n, mentions=False)) for n, t, _ in pairs]
        acc = _accuracy(vals, golds)
        inv = sum(all(same(f, a[f], b[f]) for f in SCORED) for a, b in zip(vals, base, strict=True)) / len(pairs)
        print(f"  {name:<12} {acc:8.3f} {base_acc - acc:7.3f} {inv:10.3f}")
    positives = [(n, g) for n, _, g in pairs if g.procedure_type]
    for name, fn in NEGATIVE.items():
        clean = 0
        for n, g in positives:
            ex = extract(fn(g.procedure_type or "", list(g.levels)), note_id=n, mentions=False)
            clean += ex.elements.procedure_type.value is None and not ex.codes
        print(f"  {name:<12} no procedure and no code on {clean} of {len(positives)} rewritten positive notes "
              f"({clean / max(1, len(positives)):.3f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path)
    args = parser.parse_args(argv)
    for d in args.dirs or DEFAULT:
        run(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
