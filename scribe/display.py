"""Names and note text shown on a terminal: text, never markup or terminal control.

A file name is whatever the file system allows: ``kp [copy].txt`` is Rich markup, ``[link=javascript:…]`` a
clickable link, and ``\\x1b]…`` an escape sequence the terminal would obey. ``visible`` shows every control
character as its Python escape (``\\x1b``, ``\\r``, ``\\u202e``); ``markup_safe`` also escapes Rich markup, for
strings interpolated into markup. Both leave ordinary text (accents, CJK, emoji) as it is.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

# C0 and C1 controls and DEL, Unicode's line and paragraph separators, and the invisible bidirectional
# controls that reorder what follows them
_CONTROL = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069]")
_CONTROL_KEEP_LINES = re.compile("[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069]")


_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    code = ord(ch)
    return _SHORT.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str, *, lines: bool = False) -> str:
    """``text`` with each control character shown as its escape; ``lines=True`` keeps line breaks and tabs
    (a block of note text), else they are escaped too (a name, one line)."""
    return (_CONTROL_KEEP_LINES if lines else _CONTROL).sub(_escape, text)


def markup_safe(text: str, *, lines: bool = False) -> str:
    """``visible(text)`` with Rich markup escaped: safe to interpolate into a markup string."""
    from rich.markup import escape

    return escape(visible(text, lines=lines))


def plain_text(value: str, *args: Any, **kwargs: Any) -> Text:
    """A Rich ``Text`` (never markup) of ``visible(value, lines=True)``: Rich passes ESC and most other control
    characters of a ``Text`` straight to the terminal."""
    from rich.text import Text

    return Text(visible(value, lines=True), *args, **kwargs)


# one visible character for each control character (U+2400 "Control Pictures": ␛ for ESC, ␇ for BEL, ␡ for DEL;
# "�" for the rest), so that text shown with styles at character offsets keeps every offset
_PICTURES = {**{c: chr(0x2400 + c) for c in range(0x20) if c not in (9, 10)}, 0x7F: "\u2421",
             **{c: "\ufffd" for c in (*range(0x80, 0xA0), 0x200E, 0x200F, *range(0x2028, 0x202F),
                                       *range(0x2066, 0x206A))}}


def same_length_visible(text: str) -> str:
    """``text`` with each control character but tab and line feed replaced by one visible character (a note
    shown in the review app, whose evidence highlights are at character offsets)."""
    return text.translate(_PICTURES)
