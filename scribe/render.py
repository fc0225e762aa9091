"""Terminal output shared by the commands: how wide to draw, and the worklist table of `check` and `extract`.

On a terminal, Rich measures it. Piped or redirected, the width is ``$COLUMNS`` when set (so
``COLUMNS=80 scribe check … | less`` is drawn for 80 columns), else 120. At 80 columns and below the
worklist switches to a compact layout: one line per note (id, procedure, levels, missing) and its codes
on a second line, instead of ten columns wrapped to a few characters each.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TextIO

PIPED_WIDTH = 120
COMPACT_WIDTH = 80
MIN_WIDTH = 40


def output_width(out: TextIO, *, to_file: bool = False) -> int | None:
    """Columns to draw for: None on a terminal (Rich measures it), else ``$COLUMNS`` or 120."""
    if not to_file and _isatty(out):
        return None
    raw = os.environ.get("COLUMNS", "")
    if raw.strip().isdecimal():
        return max(MIN_WIDTH, min(int(raw), 1000))
    return PIPED_WIDTH


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def console_for(out: TextIO, *, to_file: bool = False):  # type: ignore[no-untyped-def]
    """A Rich console for ``out`` at ``output_width`` (no colour codes unless it is a terminal)."""
    from rich.console import Console

    width = output_width(out, to_file=to_file)
    if width is None:
        return Console(file=out, highlight=False)
    return Console(file=out, width=width, no_color=True, force_terminal=False, highlight=False,
                   color_system=None)


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def compact_lines(rows: Sequence[Sequence[str]], width: int) -> list[str]:
    """The worklist at ``width`` columns: per note, ``id procedure levels missing`` then ``  codes · flag``.

    ``rows`` are the cells of ``scribe.commands.check.TABLE_COLUMNS`` (multi-line cells joined here).
    """
    if not rows:
        return []
    id_w = min(max(len(r[0]) for r in rows), max(12, width // 3))
    proc_w, lev_w = 14, 11
    rest = max(8, width - id_w - proc_w - lev_w - 3)
    lines: list[str] = []
    for r in rows:
        note, proc, levels, missing, cpt, flag = r[0], r[1], r[2], r[7], r[8], r[9]
        if proc == "unreadable":
            lines.append(_cut(f"{_cut(note, id_w):<{id_w}} unreadable (see the message on stderr)", width))
            continue
        if missing.startswith("("):  # not an augmentation record: why (the document's kind and reason)
            miss = missing
        else:
            miss = "complete" if missing in ("", "-") else "missing " + ", ".join(missing.split("\n"))
        first = f"{_cut(note, id_w):<{id_w}} {_cut(proc, proc_w):<{proc_w}} {_cut(levels, lev_w):<{lev_w}} " \
                f"{_cut(miss, rest)}"
        codes = ", ".join(c for c in cpt.split("\n") if c and c != "-") or "no code yet"
        second = codes + (f" · {flag}" if flag and flag != "-" else "")
        lines.extend([first.rstrip(), "  " + _cut(second, width - 2)])
    return lines
