"""The vocabulary a lexicon row may use: the one place to extend when a component learns a new label.

``lexicons/terms.jsonl`` rows name a ``label`` (the term's role in the pipeline, read by the resolvers) and
may carry a ``value`` (what the term means). ``TERM_VALUES`` maps every label the code reads to the values
it accepts; a label with no values takes none. Values that end up in the output come from the contract's
own vocabulary (``scribe.models``: procedure family, guidance, indication, modalities), so a lexicon cannot
put a word into the contract that the contract does not know. ``lexicons/sections.json`` names sections
from ``SECTION_NAMES``; the resolvers look sections up by these names.

Adding a label, a value or a section: add it here (and the code that reads it), then the lexicon row.
"""

from __future__ import annotations

from typing import Literal, get_args

from scribe.models import Family, Guidance, Indication, Modality

# label -> the values a row of that label may carry (empty: the row carries no value)
TERM_VALUES: dict[str, frozenset[str]] = {
    "PROC": frozenset(get_args(Family)),  # a procedure name; no value: a look-alike that is not one ("vp shunt")
    "CAVITY": frozenset({"balloon", "cavity", "implant"}),  # the device or act that makes the cavity
    "CEMENT": frozenset(),
    "ACCESS": frozenset(),
    "INJECT": frozenset(),
    "GUIDE": frozenset(get_args(Guidance)),
    "DIAG_IMAGING": frozenset(),
    "BIOPSY": frozenset({"bone", "marrow_aspirate", "marrow_biopsy"}),  # what was sampled
    "BIOPSY_FIELD": frozenset(),
    "BIOPSY_SITE": frozenset({"iliac crest"}),  # a biopsy site that is not a level (the contract's short name)
    "SIDE": frozenset({"left", "right", "unilateral", "bilateral"}),
    "SACRUM": frozenset(),
    "IND": frozenset(get_args(Indication)),
    "IND_LOWENERGY": frozenset(),
    "IND_HIGHENERGY": frozenset(),
    "THERAPY": frozenset(get_args(Modality)),
    "FAILED": frozenset(),
    "PAIN": frozenset(),
    "FOLLOWUP": frozenset(),
    "SCREW": frozenset(),
    "VB": frozenset(),
    "SEDATION": frozenset(),
    "ASSISTANT": frozenset(),
    "BILLING": frozenset(),
    "PATHOLOGIC": frozenset(),
}

# the canonical section names of lexicons/sections.json (TITLE is the note's first line, made by the pipeline)
SECTION_NAMES: frozenset[str] = frozenset({
    "PROCEDURE", "DESCRIPTION", "IMPRESSION", "INDICATION", "HISTORY", "DIAGNOSIS", "IMAGING", "IMAGING_FINDINGS",
    "EXAM", "ASSESSMENT", "PLAN", "CONSENT", "DEMOGRAPHICS",
})

# lexicons/normalization.json: the spine region a spoken letter or region word stands for
RegionLetter = Literal["c", "t", "l", "s"]
# what a spoken punctuation word may stand for ("period" -> ".", "new paragraph" -> a line break)
SpokenMark = Literal[".", ",", ";", ":", "\n"]


def known(values: frozenset[str] | dict[str, frozenset[str]]) -> str:
    """The vocabulary as one short sorted list for an error message."""
    return ", ".join(sorted(repr(v) if v.isspace() else v for v in values)) or "none"
