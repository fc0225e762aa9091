"""Flags as coders read them: the message says what to do; the rule id behind it is a field (``Flag.rule``)."""

from __future__ import annotations

import re

from scribe.models import Flag

_TAIL = re.compile(r"\s*\(([^()]*)\)\s*$")
_RULE_REF = re.compile(r"\b(?:rules?\s+)?([CDV]\d+)\b")


def for_coders(flag: Flag) -> Flag:
    """The flag with its rule reference moved out of the message into ``rule``: "... (rule C1, waiting on
    cavity_creation)" reads "... (waiting on cavity_creation)" with ``rule="C1"``."""
    m = _TAIL.search(flag.message)
    if m is None:
        return flag
    ids = _RULE_REF.findall(m.group(1))
    if not ids:
        return flag
    rest = ", ".join(p.strip() for p in _RULE_REF.sub("", m.group(1)).split(",") if p.strip())
    message = flag.message[: m.start()] + (f" ({rest})" if rest else "")
    return flag.model_copy(update={"message": message, "rule": flag.rule or ids[0]})
