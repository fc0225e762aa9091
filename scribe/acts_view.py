"""What was done, level by level, in words a clinician or coder reads: shared by `scribe codes`, the audit
report and the review app (pure: no Rich, no Textual).

One row per level named by an act (and one for acts with no level): the acts done there today, the acts
set aside (negated, past or planned), and, for a treated level, its family and the decision-table row
that chose it (``scribe/resolvers/decide.py``).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from scribe.models import Act, Extraction, level_sort_key
from scribe.resolvers.decide import FAMILY_TABLE

_RULE_WORDS = {row.name: row.says for row in FAMILY_TABLE}
_ACT_WORDS = {"access": "needle access", "cavity": "cavity", "cement": "cement", "biopsy": "biopsy",
              "ablation": "ablation"}


class LevelActs(BaseModel):
    level: str  # a level name, or "(no level)"
    done: list[str] = Field(default_factory=list)  # "cement @412", "cavity (balloon) @380"
    set_aside: list[str] = Field(default_factory=list)  # "cement (negated) @977"
    billed: str = ""  # "kyphoplasty", or "" when the level is not treated
    why: str = ""  # the decision row's words


def _act_words(a: Act) -> str:
    words = _ACT_WORDS[a.act]
    if a.device and a.device != "other":
        words += f" ({a.device})"
    if a.side:
        words += f", {a.side}"
    at = f" @{a.evidence[0].start}" if a.evidence else ""
    return words + at


def acts_by_level(ex: Extraction) -> list[LevelActs]:
    """The acts of the note grouped by level, treated levels first in spinal order."""
    rows: dict[str, LevelActs] = {}
    for t in ex.treated:
        rows[t.level] = LevelActs(level=t.level, billed=t.family, why=_RULE_WORDS.get(t.rule, ""))
    for a in ex.acts:
        key = a.level or "(no level)"
        row = rows.setdefault(key, LevelActs(level=key))
        if a.when == "today" and a.polarity == "affirmed":
            row.done.append(_act_words(a))
        else:
            qualifier = "negated" if a.polarity == "negated" else a.when
            row.set_aside.append(f"{_act_words(a)} [{qualifier}]")
    return sorted(rows.values(), key=lambda r: (r.billed == "", level_sort_key(r.level)))


def document_line(ex: Extraction) -> str:
    """"augmentation procedure: cement delivered into T12 today"."""
    return f"{ex.document.kind.replace('_', ' ')}: {ex.document.reason}" if ex.document.reason else \
        ex.document.kind.replace("_", " ")
