"""scribe: a documentation prompter for spine cement-augmentation procedure notes.

``scribe.extract(text, note_id=...)`` and ``scribe.extract_many(texts, n_process=...)`` (see ``scribe.api``)
are loaded on first use, so ``import scribe`` stays cheap: it imports neither spaCy nor Textual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scribe.api import extract, extract_many

__all__ = ["extract", "extract_many"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from scribe import api

        return getattr(api, name)
    raise AttributeError(f"module 'scribe' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
