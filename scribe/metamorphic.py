"""Metamorphic transforms of annotated notes: rewritings whose gold answer is known without a new annotator.

Invariant transforms keep the gold values (the note says the same thing in another form):
- ``flatten``: lower case, no punctuation, one paragraph (how a speech-recognition dump arrives; marks inside a
  word or number stay: "2.5", "t-score", "6/52");
- ``history``: an old-procedure history line added after the first line;
- ``boilerplate``: EHR boilerplate (demographics, allergies, medication list) added after the first line;
- ``reorder``: the note's paragraphs after the first in another order (an addendum stays last).

Negative rewritings must give no procedure and no code, whatever the original said:
- ``planned``: the note's procedure and levels, booked for next week;
- ``cancelled``: the procedure stopped after needle placement, before any cement;
- ``mri_post``: an MRI report of post-procedure changes at the note's levels.

Used by ``benchmarks/metamorphic.py`` (figures per transform and gold set) and by the tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# punctuation between two word characters stays ("2.5", "T-score", "6/52", "L4-L5", "o'clock"): it is part of a
# word or number, which a speech-recognition dump writes too; every other mark goes
_PUNCT = re.compile(r"(?<!\w)[^\w\s]+|[^\w\s]+(?!\w)")
_SPACES = re.compile(r"\s+")
_PARAS = re.compile(r"\n[ \t]*\n")
_HEADING = re.compile(r"[ \t]*(?:[A-Za-z][A-Za-z /()&-]{0,40}:|[A-Z][A-Z /()&-]{2,60}$)", re.MULTILINE)
_DEMOGRAPHICS = re.compile(r"\b(?:patient|mrn|date of service|dos)\b", re.IGNORECASE)

HISTORY_LINE = "Past surgical history: T4 vertebroplasty in 2018 at an outside hospital; appendectomy remote."
BOILERPLATE = ("Allergies: NKDA.\nMedications: alendronate 70 mg weekly, vitamin D3 2000 units daily, "
               "lisinopril 10 mg daily.\nCode status: Full code.\nPreferred language: English.")


def flatten(text: str) -> str:
    return _SPACES.sub(" ", _PUNCT.sub(" ", text.lower())).strip()


def _after_first_line(text: str, insert: str) -> str:
    cut = text.find("\n")
    if cut == -1:
        return f"{text}\n{insert}\n"
    return f"{text[:cut + 1]}{insert}\n{text[cut + 1:]}"


def add_history(text: str) -> str:
    return _after_first_line(text, HISTORY_LINE)


def add_boilerplate(text: str) -> str:
    return _after_first_line(text, BOILERPLATE)


def reorder(text: str) -> str:
    """The paragraphs after the first, rotated by one (the first moves to the end); an addendum stays last."""
    paras = [p.strip("\n") for p in _PARAS.split(text) if p.strip()]
    # the title and demographics block(s) stay first
    n_head = 1 + max((i for i, p in enumerate(paras[:3]) if _DEMOGRAPHICS.search(p)), default=0)
    if len(paras) < n_head + 2:
        return text
    head = "\n\n".join(paras[:n_head])
    # a paragraph with no heading of its own belongs to the section before it: sections move as blocks
    body: list[str] = []
    for p in paras[n_head:]:
        if body and not _HEADING.match(p):
            body[-1] += "\n\n" + p
        else:
            body.append(p)
    first_addendum = next((i for i, p in enumerate(body) if "addendum" in p.lower()), len(body))
    body, tail = body[:first_addendum], body[first_addendum:]
    if len(body) >= 2:
        body = body[1:] + body[:1]
    return "\n\n".join([head, *body, *tail]) + "\n"


def _levels_phrase(levels: list[str]) -> str:
    return " and ".join(levels) if levels else "T12"


def planned(procedure: str, levels: list[str]) -> str:
    return (f"SPINE CLINIC FOLLOW-UP\n\nAssessment: painful compression fracture at {_levels_phrase(levels)}.\n"
            f"Plan: {procedure} at {_levels_phrase(levels)} is planned for next week under fluoroscopy; "
            "consent was discussed.\n")


def cancelled(procedure: str, levels: list[str]) -> str:
    return (f"PROCEDURE NOTE\n\nProcedure: {procedure} at {_levels_phrase(levels)}.\n"
            f"Technique: An 11-gauge needle was placed into the {_levels_phrase(levels)} vertebral body under "
            "fluoroscopy. The patient became hypotensive and the procedure was cancelled before any cement was "
            "injected. The needle was removed.\n")


def mri_post(procedure: str, levels: list[str]) -> str:
    return (f"MRI LUMBAR SPINE WITHOUT CONTRAST\n\nFindings: Post-{procedure} changes at {_levels_phrase(levels)} "
            "with cement in the vertebral body. No new fracture.\nImpression: Stable post-procedure appearance.\n")


INVARIANT: dict[str, Callable[[str], str]] = {
    "flatten": flatten, "history": add_history, "boilerplate": add_boilerplate, "reorder": reorder,
}
NEGATIVE: dict[str, Callable[[str, list[str]], str]] = {
    "planned": planned, "cancelled": cancelled, "mri_post": mri_post,
}
