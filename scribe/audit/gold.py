"""Export an extraction (with any coder corrections applied) as a gold annotation.

The format is ``../shared/contract/annotation.md``: values only, no evidence or status. Coder
corrections are applied beforehand with :func:`scribe.prompts.apply_answers`; this module only
reads the extraction's element values and its codes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scribe.evaluate import Gold, predicted_values
from scribe.fsutil import atomic_write_text
from scribe.models import Extraction


def export_gold(extraction: Extraction, notes: str = "") -> dict[str, Any]:
    """The extraction in the gold annotation format (keys in the order of annotation.md).

    Weeks are rounded to 2 decimals as the gold files are (scoring tolerates 0.01 week)."""
    p = predicted_values(extraction)
    weeks = p["conservative_therapy_weeks"]
    gold: dict[str, Any] = {
        "procedure_type": p["procedure_type"],
        "cavity_creation": p["cavity_creation"],
        "levels": list(p["levels"]),
        "guidance": list(p["guidance"]),
        "biopsy": {"performed": p["biopsy"]["performed"], "sites": list(p["biopsy"]["sites"])},
        "laterality": p["laterality"],
        "conservative_therapy_weeks": None if weeks is None else round(float(weeks), 2),
        "indication": p["indication"],
        "notes": notes,
        "cpt": [[c.code, int(c.units), list(c.modifiers)] for c in extraction.codes],
    }
    Gold.model_validate(gold)  # the exported dict must load as a gold file
    return gold


def gold_json(extraction: Extraction, notes: str = "") -> str:
    return json.dumps(export_gold(extraction, notes), indent=2, ensure_ascii=False) + "\n"


def write_gold(path: Path | str, extraction: Extraction, notes: str = "") -> Path:
    """Write ``NAME.gold.json`` atomically (mode 0600); returns the path."""
    target = Path(path)
    atomic_write_text(target, gold_json(extraction, notes))
    return target
