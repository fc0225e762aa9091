"""Plain data the pipeline components attach to a Doc (``doc.user_data``), read by resolvers.

Each class writes its ``__init__`` out: mypyc compiles it to a direct call, where the one ``dataclass``
generates stays interpreted (about 3,000 instructions a call; dozens of these objects are made per note)."""

from __future__ import annotations

from dataclasses import dataclass, field

from scribe.models import LEVEL_INDEX, LEVEL_ORDER, TRANSITIONAL, level_sort_key

__all__ = ["LEVEL_INDEX", "LEVEL_ORDER", "TRANSITIONAL", "level_sort_key"]


@dataclass(slots=True, init=False)
class Section:
    name: str  # canonical name (PROCEDURE, DESCRIPTION, ...)
    label: str  # the header as written
    start: int  # char offset of the header
    body_start: int  # char offset where its content starts
    end: int  # char offset where the next section starts
    session: bool  # may carry facts about this session's procedure

    def __init__(self, name: str, label: str, start: int, body_start: int, end: int, session: bool) -> None:
        self.name = name
        self.label = label
        self.start = start
        self.body_start = body_start
        self.end = end
        self.session = session


@dataclass(slots=True, init=False)
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

    def __init__(self, label: str, value: str | None, start: int, end: int, start_char: int, end_char: int,
                 text: str, fuzzy: bool = False, rule: str = "") -> None:
        self.label = label
        self.value = value
        self.start = start
        self.end = end
        self.start_char = start_char
        self.end_char = end_char
        self.text = text
        self.fuzzy = fuzzy
        self.rule = rule


@dataclass(slots=True, init=False)
class LevelMention:
    levels: list[str]
    start: int
    end: int
    start_char: int
    end_char: int
    text: str
    is_range: bool = False
    invalid: list[str] = field(default_factory=list)  # transitional or impossible levels

    def __init__(self, levels: list[str], start: int, end: int, start_char: int, end_char: int, text: str,
                 is_range: bool = False, invalid: list[str] | None = None) -> None:
        self.levels = levels
        self.start = start
        self.end = end
        self.start_char = start_char
        self.end_char = end_char
        self.text = text
        self.is_range = is_range
        self.invalid = [] if invalid is None else invalid


@dataclass(slots=True, init=False)
class Cue:
    category: str
    direction: str
    start: int
    end: int
    start_char: int
    end_char: int
    text: str
    max_scope: int

    def __init__(self, category: str, direction: str, start: int, end: int, start_char: int, end_char: int,
                 text: str, max_scope: int) -> None:
        self.category = category
        self.direction = direction
        self.start = start
        self.end = end
        self.start_char = start_char
        self.end_char = end_char
        self.text = text
        self.max_scope = max_scope


@dataclass(slots=True, init=False)
class Flag:
    category: str
    cue: str
    cue_start: int
    cue_end: int

    def __init__(self, category: str, cue: str, cue_start: int, cue_end: int) -> None:
        self.category = category
        self.cue = cue
        self.cue_start = cue_start
        self.cue_end = cue_end
