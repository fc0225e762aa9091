"""Plain data the pipeline components attach to a Doc (``doc.user_data``), read by resolvers."""

from __future__ import annotations

from dataclasses import dataclass, field

from scribe.models import LEVEL_INDEX, LEVEL_ORDER, TRANSITIONAL, level_sort_key

__all__ = ["LEVEL_INDEX", "LEVEL_ORDER", "TRANSITIONAL", "level_sort_key"]


@dataclass(slots=True)
class Section:
    name: str  # canonical name (PROCEDURE, DESCRIPTION, ...)
    label: str  # the header as written
    start: int  # char offset of the header
    body_start: int  # char offset where its content starts
    end: int  # char offset where the next section starts
    session: bool  # may carry facts about this session's procedure


@dataclass(slots=True)
class Term:
    label: str
    value: str | None
    start: int  # token index
    end: int  # token index (exclusive)
    start_char: int
    end_char: int
    text: str
    fuzzy: bool = False
    rule: str = ""


@dataclass(slots=True)
class LevelMention:
    levels: list[str]
    start: int
    end: int
    start_char: int
    end_char: int
    text: str
    is_range: bool = False
    invalid: list[str] = field(default_factory=list)  # transitional or impossible levels


@dataclass(slots=True)
class Cue:
    category: str
    direction: str
    start: int
    end: int
    start_char: int
    end_char: int
    text: str
    max_scope: int


@dataclass(slots=True)
class Flag:
    category: str
    cue: str
    cue_start: int
    cue_end: int
