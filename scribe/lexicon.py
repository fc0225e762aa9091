"""Loading the word lists and rule tables in ``lexicons/`` into validated pydantic models.

Every file is data: a coder adds a synonym, a device brand or a section header by editing a
file, never Python. Unknown keys are rejected so a typo in a lexicon fails loudly at load.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class LexiconError(Exception):
    """A lexicon file that is missing or malformed (one line: file and problem)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TermPattern(_Strict):
    """A phrase matched on normalised tokens (``token.norm_``)."""

    label: str
    pattern: str
    value: str | None = None
    plural: bool = True  # also match the simple plural of the last word


class ContextRule(_Strict):
    """A ConText cue (medspaCy-style record)."""

    category: Literal["negated", "historical", "hypothetical", "uncertain", "planned", "other_level",
                      "corrected", "pseudo", "terminate", "diagnostic"]
    literal: str
    direction: Literal["forward", "backward", "bidirectional", "terminate", "pseudo"]
    max_scope: int | None = None
    applies_to: list[str] = Field(default_factory=list)  # element labels; empty = all
    # words one of which must stand within the cue's scope on the side it modifies (same sentence)
    # for the cue to count: "stable" only before cement ("stable L2 cement"), not "stable, a balloon"; a
    # pseudo-cue's words stand before it ("needle placement was confirmed with CT")
    requires: list[str] = Field(default_factory=list)
    # words that, right before the cue, make it attributive, so it reaches forward only: "the previously
    # augmented T11" describes T11, not the "fluoroscopy" before it
    forward_after: list[str] = Field(default_factory=list)


class SectionDef(_Strict):
    name: str
    headers: list[str]
    spoken: list[str] = Field(default_factory=list)  # headers recognised at paragraph start
    session: bool  # may carry facts about this session's procedure
    # a field that may name this session's guidance but not its treated levels ("Imaging: biplane fluoroscopy"
    # and "Imaging: MRI shows fractures at T11 and L1" both come under "Imaging:")
    guidance: bool = False


class Sections(_Strict):
    sections: list[SectionDef]
    default_field_section: str
    # words after a spoken heading word that make it the subject of a sentence, not a heading
    # ("Consent was obtained.", "Exam shows tenderness", "History of breast cancer.")
    not_heading_followers: list[str] = []


class Normalization(_Strict):
    misspellings: dict[str, str]
    joined: dict[str, str]  # "kypho plasty" -> "kyphoplasty"
    fuzzy_targets: list[str]
    fuzzy_min_length: int = 7
    fuzzy_cutoff: float = 88.0
    letter_words: dict[str, str]  # spoken letters: "tee" -> "t"
    # speech-recognition homophones of a level number, only after a spoken letter ("el won" -> l1)
    level_number_homophones: dict[str, int] = {}
    region_words: dict[str, str]  # "thoracic" -> "t"
    spoken_punctuation: dict[str, str]  # "period" -> "."
    correction_cues: list[str]


class Lexicon(_Strict):
    terms: list[TermPattern]
    context: list[ContextRule]
    sections: Sections
    normalization: Normalization


class CoverageLexicon(BaseModel):
    """``coverage.json``: the coverage documentation items (read by ``scribe.resolvers.coverage``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: dict[str, list[str]]  # item -> regular expressions (case-insensitive)
    negation: str  # regex of negation cues looked for just before a match
    min_pain_score: int = 5
    level_scoped: list[str] = []  # items that must concern a treated level
    keywords: dict[str, list[str]] = {}  # item -> lower-case words one of which must occur (a cheap pre-filter)


def lexicon_dir() -> Path:
    env = os.environ.get("SCRIBE_LEXICONS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "lexicons"


def _load_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LexiconError(f"{path}: lexicon file not found") from None
    except json.JSONDecodeError as exc:
        raise LexiconError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None


def _load_jsonl(path: Path) -> list[object]:
    rows: list[object] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise LexiconError(f"{path}: lexicon file not found") from None
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise LexiconError(f"{path}:{n}: invalid JSON ({exc.msg})") from None
    return rows


def load_lexicon(directory: Path | None = None) -> Lexicon:
    d = directory or lexicon_dir()
    try:
        terms = [TermPattern.model_validate(r) for r in _load_jsonl(d / "terms.jsonl")]
        context = [ContextRule.model_validate(r) for r in _load_jsonl(d / "context.jsonl")]
        sections = Sections.model_validate(_load_json(d / "sections.json"))
        norm = Normalization.model_validate(_load_json(d / "normalization.json"))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise LexiconError(f"{d}: invalid lexicon entry ({loc}: {first['msg']})") from None
    return Lexicon(terms=terms, context=context, sections=sections, normalization=norm)


@cache
def default_lexicon() -> Lexicon:
    return load_lexicon()
