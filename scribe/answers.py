"""Answers from outside the review app (``scribe codes --answers FILE``, scripts, a future API).

Every row goes through the same parser as the review app's prompts (``scribe.prompts.parse_answer``,
built on the note normaliser and checked through the models), so a file can say what a clinician may
type ("lumbar two", "six weeks", "c-arm"). Each problem is reported in one line naming the file and the
row; nothing of a row's value is echoed beyond the element name. Nothing here imports Textual.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scribe.models import Answer
from scribe.prompts import ANSWERABLE, AnswerError, parse_answer

MAX_ANSWER_FILE_BYTES = 1_000_000
_ROW_KEYS = ("element", "value", "user", "at", "comment")


class AnswerFileError(ValueError):
    """An answers file that cannot be used: ``problems`` holds one line per problem."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(self.problems[0] if self.problems else f"{source}: invalid answers")


def parse_rows(rows: Any, source: str = "<answers>") -> list[Answer]:
    """Validate a list of ``{element, value[, user, at, comment]}`` rows into answers.

    Raises ``AnswerFileError`` listing every problem (one line each); no answer is returned unless all
    rows are good, so a half-valid file never bills half its answers.
    """
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list):
        raise AnswerFileError(source, [f"{source}: answers must be a JSON list of objects "
                                       f"{{\"element\": ..., \"value\": ...}}, not {_kind(rows)}"])
    answers: list[Answer] = []
    problems: list[str] = []
    for i, row in enumerate(rows, 1):
        where = f"{source}: answer {i}"
        if not isinstance(row, dict):
            problems.append(f"{where}: expected an object with \"element\" and \"value\", not {_kind(row)}")
            continue
        unknown = sorted(str(k) for k in row if k not in _ROW_KEYS)
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(unknown)[:80]} (allowed: {', '.join(_ROW_KEYS)})")
            continue
        element = row.get("element")
        if not isinstance(element, str) or not element:
            problems.append(f"{where}: \"element\" must name an element ({', '.join(ANSWERABLE)})")
            continue
        if element not in ANSWERABLE:
            near = difflib.get_close_matches(element, ANSWERABLE, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f" ({', '.join(ANSWERABLE)})"
            problems.append(f"{where}: unknown element {element[:40]!r}{hint}")
            continue
        if "value" not in row:
            problems.append(f"{where} ({element}): no \"value\"")
            continue
        try:
            value = parse_answer(element, row["value"])
            answers.append(Answer.model_validate({**row, "value": value}))
        except AnswerError as err:
            problems.append(f"{where} ({element}): {err}")
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(x) for x in first["loc"])
            problems.append(f"{where} ({element}): {loc}: {first['msg']}")
    if problems:
        raise AnswerFileError(source, problems)
    return answers


def load_answers_file(path: str | os.PathLike[str]) -> list[Answer]:
    """A JSON list (or JSON lines) of answers, validated row by row (``AnswerFileError`` on any problem)."""
    p = Path(path)
    source = str(path)
    try:
        if p.stat().st_size > MAX_ANSWER_FILE_BYTES:
            raise AnswerFileError(source, [f"{source}: answers file too large (limit {MAX_ANSWER_FILE_BYTES} bytes)"])
        text = p.read_text(encoding="utf-8-sig")
    except AnswerFileError:
        raise
    except UnicodeDecodeError:
        raise AnswerFileError(source, [f"{source}: answers file is not UTF-8 text"]) from None
    except OSError as exc:
        raise AnswerFileError(source, [f"{source}: cannot read answers ({exc.strerror or type(exc).__name__})"]) \
            from None
    stripped = text.strip()
    if not stripped:
        raise AnswerFileError(source, [f"{source}: answers file is empty"])
    try:
        if stripped[0] in "[{\"" and not _looks_like_lines(stripped):
            rows: Any = json.loads(stripped)
        else:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise AnswerFileError(source, [f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}"]) from None
    except RecursionError:
        raise AnswerFileError(source, [f"{source}: JSON nested too deeply"]) from None
    return parse_rows(rows, source)


def _looks_like_lines(text: str) -> bool:
    """JSON lines: several lines, each one object."""
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) > 1 and all(line.lstrip().startswith("{") and line.rstrip().endswith("}") for line in lines)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)
