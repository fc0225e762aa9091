"""The decision table from what was done at a level to the family it is coded in (rule C1 of
``../shared/domain/coding-rules.md``: the family follows cavity creation level by level, not the word
"kyphoplasty").

Each row is a named rule; the first row whose condition holds decides. The row's name travels with the treated
level (``TreatedLevel.rule``) so a coder can see why a level is coded as it is. One test per row:
``tests/test_decide.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

KP, VP = "kyphoplasty", "vertebroplasty"


@dataclass(frozen=True, slots=True)
class LevelFacts:
    """What the note's acts and statements say about one treated level."""

    cavity_here: bool = False  # a cavity step affirmed at this level ("balloon inflated at T12")
    no_cavity_here: bool = False  # cavity creation denied at this level ("no balloon at L2")
    cavity_untied: bool = False  # a cavity step affirmed in the session without a level
    mixed_named: bool = False  # the note names a vertebroplasty at some level and augmentation at another
    kp_named: bool = False  # kyphoplasty / augmentation named with this level
    vp_named: bool = False  # vertebroplasty named with this level
    kp_in_note: bool = False  # kyphoplasty named in the note (not only as the umbrella word of a template)
    vp_in_note: bool = False  # vertebroplasty named in the note


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    says: str  # the reason, in words a coder reads
    when: Callable[[LevelFacts], bool]
    family: str


FAMILY_TABLE: tuple[Row, ...] = (
    Row("cavity_at_level", "a cavity was created at this level before cement", lambda f: f.cavity_here, KP),
    Row("no_cavity_at_level", "cavity creation is documented as not done at this level",
        lambda f: f.no_cavity_here, VP),
    Row("vertebroplasty_named_in_mixed_session",
        "the session created a cavity somewhere, but this level is named a vertebroplasty in a mixed session",
        lambda f: f.cavity_untied and f.mixed_named and f.vp_named and not f.kp_named, VP),
    Row("cavity_in_session", "a cavity step is documented for the session, with no other level named",
        lambda f: f.cavity_untied, KP),
    Row("kyphoplasty_named_at_level", "kyphoplasty is named for this level", lambda f: f.kp_named, KP),
    Row("vertebroplasty_named_at_level", "vertebroplasty is named for this level", lambda f: f.vp_named, VP),
    Row("kyphoplasty_named", "the note names a kyphoplasty (its cavity step is to be confirmed)",
        lambda f: f.kp_in_note, KP),
    Row("vertebroplasty_named", "the note names a vertebroplasty", lambda f: f.vp_in_note, VP),
)


def decide_family(facts: LevelFacts) -> tuple[str | None, Row | None]:
    """The family of one treated level and the row that decided it (None, None: nothing says)."""
    for row in FAMILY_TABLE:
        if row.when(facts):
            return row.family, row
    return None, None
