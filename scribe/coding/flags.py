"""Flags as coders read them: the message says what to do; the rule id behind it is a field (``Flag.rule``)."""

from __future__ import annotations

import re
from functools import lru_cache

from scribe.models import Flag

_TAIL = re.compile(r"\s*\(([^()]*)\)\s*$")
_RULE_REF = re.compile(r"\b(?:rules?\s+)?([CDV]\d+)\b")


@lru_cache(maxsize=1024)
def coder_wording(message: str, rule: str | None = None) -> tuple[str, str | None]:
    """``message`` with the rule reference of its last parenthesis taken out, and the flag's rule (``rule``
    if set, else the first id referenced): "... (rule C1, waiting on cavity_creation)" reads "... (waiting
    on cavity_creation)" with rule "C1". Both unchanged when the message names no rule there.

    Cached: the engine raises the same few dozen messages note after note (1.5 -> 0.1 us a flag)."""
    # ``_TAIL.search(message)``, without trying the pattern at every position: a match's "(" is the message's
    # last one (no parenthesis inside it, only spaces after it) and it starts where the spaces before that
    # "(" start (``\s`` is ``str.isspace``), so the match anchored there is the same match
    paren = message.rfind("(")
    if paren < 0:
        return message, rule
    m = _TAIL.match(message, len(message[:paren].rstrip()))
    if m is None:
        return message, rule
    ids = _RULE_REF.findall(m.group(1))
    if not ids:
        return message, rule
    rest = ", ".join(p.strip() for p in _RULE_REF.sub("", m.group(1)).split(",") if p.strip())
    return message[: m.start()] + (f" ({rest})" if rest else ""), rule or ids[0]


def for_coders(flag: Flag) -> Flag:
    """The flag with its rule reference moved out of the message into ``rule`` (``coder_wording``)."""
    message, rule = coder_wording(flag.message, flag.rule)
    if message is flag.message:
        return flag
    return flag.model_copy(update={"message": message, "rule": rule})
