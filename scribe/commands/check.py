"""`scribe check NOTE_OR_DIR...`: a worklist of what each note lacks, with exit codes for scripts.

The work is done by ``scribe.batch``; this module only parses options, renders the results
(table, JSON lines or CSV) and picks the exit code.
"""

from __future__ import annotations

import contextlib
import io
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from scribe.commands import UsageCommand
from scribe.models import Extraction, ReadError
from scribe.notes import DEFAULT_MAX_BYTES, NOTE_SUFFIXES

FORMATS = ("table", "jsonl", "csv")
FAIL_ON = ("missing", "flags", "never")
EXIT_OK, EXIT_NEEDS_PROMPTS, EXIT_UNREADABLE, EXIT_USAGE = 0, 1, 2, 64
EXIT_TERMINATED = 143  # 128 + SIGTERM (Ctrl-C exits 130)

CSV_FIELDS = (
    "note_id", "source", "procedure_type", "levels", "guidance", "biopsy_performed", "biopsy_sites",
    "conservative_weeks", "indication", "missing", "cpt", "worst_flag", "provenance", "document_kind",
    "document_reason", "error",
)
TABLE_COLUMNS = (
    "note", "procedure", "levels", "guidance", "biopsy", "weeks", "indication", "missing", "proposed CPT",
    "worst flag",
)

HELP = (
    "Check notes and list what each one still needs (a worklist for scribes).\n\n"
    "One row (table), object (jsonl) or line (csv) per note. Unreadable files are reported on stderr, "
    "one line each, never with any of the note's text. Default format: table when stdout is a terminal, "
    "else jsonl. See docs/batch.md.\n\n"
    "\b\n"
    "Exit codes:\n"
    "  0   every note was read and is complete\n"
    "  1   some note needs prompts (see --fail-on)\n"
    "  2   some file could not be read, or --output could not be written (takes precedence over 1)\n"
    "  64  bad usage (unknown option or value, no notes found, --jobs < 1, --output not a regular file of yours)\n"
    "  78  a lexicon file is invalid (one line names file:line and the field; no note was read)\n"
    "  130 / 143  stopped by Ctrl-C / SIGTERM (workers stopped, no output file written)\n"
)


def _usage_error(message: str) -> typer.Exit:
    from scribe.display import visible

    typer.echo(f"scribe check: {visible(message)}", err=True)
    return typer.Exit(EXIT_USAGE)


def known_payers() -> list[str]:
    """Payer profile names (``lexicons/coding/payers.json``, validated by the coding rules)."""
    from scribe.coding import payer_names

    return payer_names()


# --- rendering ------------------------------------------------------------------------------


def _cpt(extraction: Extraction, sep: str) -> str:
    """Proposed CPT lines as ``code xunits -MOD``."""
    parts = []
    for line in extraction.codes:
        mods = "".join(f" -{m}" for m in line.modifiers)
        parts.append(f"{line.code} x{line.units}{mods}")
    return sep.join(parts)


def _worst(extraction: Extraction) -> str:
    from scribe.batch import worst_flag

    flag = worst_flag(extraction)
    return f"{flag.severity}: {flag.id}" if flag else ""


def _table_flag(extraction: Extraction) -> str:
    from scribe.batch import worst_flag

    flag = worst_flag(extraction)
    return f"{flag.id} ({flag.severity})" if flag else ""


def _weeks(value: Any) -> str:
    if not isinstance(value, dict) or value.get("weeks") is None:
        return ""
    try:
        weeks = float(value["weeks"])
    except (TypeError, ValueError):
        return ""
    return str(int(weeks)) if weeks.is_integer() else f"{weeks:g}"


def _biopsy(value: Any) -> tuple[str, str]:
    if not isinstance(value, dict) or value.get("performed") is None:
        return "", ""
    performed = "yes" if value["performed"] else "no"
    return performed, ";".join(str(s) for s in value.get("sites") or [])


def _joined(value: Any, sep: str = ";") -> str:
    return sep.join(str(v) for v in value) if isinstance(value, list) else ""


def worklist_row(result: Extraction | ReadError) -> dict[str, str]:
    """One flat CSV row (``CSV_FIELDS``) for a result."""
    if isinstance(result, ReadError):
        row = dict.fromkeys(CSV_FIELDS, "")
        row.update(note_id=result.note_id, source=result.source, error=result.error)
        return row
    el = result.elements
    performed, sites = _biopsy(el.biopsy.value)
    return {
        "note_id": result.note_id,
        "source": result.source,
        "procedure_type": str(el.procedure_type.value or ""),
        "levels": _joined(el.levels.value),
        "guidance": _joined(el.guidance.value),
        "biopsy_performed": performed,
        "biopsy_sites": sites,
        "conservative_weeks": _weeks(el.conservative_therapy.value),
        "indication": str(el.indication.value or ""),
        "missing": ";".join(result.missing),
        "cpt": _cpt(result, "; "),
        "worst_flag": _worst(result),
        "provenance": _provenance(result),
        "document_kind": result.document.kind,
        "document_reason": result.document.reason,
        "error": "",
    }


def _provenance(result: Extraction) -> str:
    from scribe.prompts import provenance_cell

    return provenance_cell(result)


# what a spreadsheet may take as the start of a formula (OWASP, CSV injection): = + - @, tab, CR, LF and their
# fullwidth forms, which some spreadsheets fold to ASCII
_FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
# what a spreadsheet may skip before it: spaces (NBSP too), zero-width spaces, a byte-order mark
_SKIPPED = " \u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u202f\u205f\u3000\ufeff\f\v"
_QUOTED = frozenset(',;"\r\n')  # a cell holding any of these is quoted (";": the delimiter of some locales)


# a formula character after a line break or a ";" inside a cell: where a spreadsheet reading with ";" as the
# delimiter, or splitting lines before quotes, starts a new cell
_AFTER_BREAK = re.compile("([\r\n;][" + re.escape(_SKIPPED) + "]*)(?=[" + re.escape("".join(_FORMULA_START)) + "])")


def _csv_safe(cell: str) -> str:
    """Keep spreadsheets from evaluating a cell (file names like ``=cmd|...``, `` =1+2``, ``＝1+2``, ``;=1+2``,
    ``kp\r=2+5``), as OWASP advises: a cell that starts, after spaces, with a formula character is prefixed
    with ``'``, and so is each formula character right after a CR, LF or ";" inside the cell."""
    if not cell:
        return cell
    cell = _AFTER_BREAK.sub(r"\1'", cell)
    return "'" + cell if cell[0] in _FORMULA_START or cell.lstrip(_SKIPPED)[:1] in _FORMULA_START else cell


def _csv_cell(cell: str) -> str:
    """One cell of a CSV line: quoted (inner quotes doubled) when it holds a comma, semicolon, quote, CR or LF,
    so no cell can end the row or open another (Python 3.11's csv leaves a CR bare with a "\n" terminator)."""
    return '"' + cell.replace('"', '""') + '"' if not _QUOTED.isdisjoint(cell) else cell


def _csv_line(cells: list[str] | tuple[str, ...]) -> str:
    return ",".join(_csv_cell(_csv_safe(c)) for c in cells) + "\n"


def _csv_row(result: Extraction | ReadError) -> str:
    """One CSV line of the worklist."""
    row = worklist_row(result)
    return _csv_line([row[f] for f in CSV_FIELDS])


def _jsonl_line(result: Extraction | ReadError) -> str:
    """The contract object (``to_contract()``, without mentions) or the error object, one line."""
    if isinstance(result, ReadError):
        return result.model_dump_json() + "\n"
    return result.model_dump_json(exclude={"mentions"}) + "\n"


def _jsonl_line_with_provenance(result: Extraction | ReadError) -> str:
    """With saved answers applied: the contract object plus ``provenance`` (an extra key the contract allows):
    per element with a value, ``{"source": "note", "evidence": [...]}`` or ``{"source": "answer", "user", "at"}``."""
    if isinstance(result, ReadError):
        return result.model_dump_json() + "\n"
    import json

    from scribe.prompts import provenance_json

    data = result.model_dump(mode="json", exclude={"mentions"})
    data["provenance"] = provenance_json(result)
    return json.dumps(data, ensure_ascii=False) + "\n"


def _table_row(result: Extraction | ReadError) -> list[str]:
    if isinstance(result, ReadError):
        return [result.note_id, "unreadable", *["-"] * (len(TABLE_COLUMNS) - 2)]
    row = worklist_row(result)
    biopsy = (row["biopsy_sites"].replace(";", ",") or "yes") if row["biopsy_performed"] == "yes" else row[
        "biopsy_performed"]
    missing = row["missing"].replace(";", "\n")
    if result.is_procedure_note:
        procedure = row["procedure_type"]
    elif result.document.discontinued:
        procedure, missing = "discontinued", f"({result.document.reason})"
    else:
        # the kind of document and why: "imaging report" / "the title names an imaging report ('MRI') …"
        procedure, missing = result.document.kind.replace("_", " "), f"({result.document.reason})"
    cells = [
        row["note_id"], procedure, row["levels"].replace(";", ","),
        row["guidance"].replace(";", "\n"), biopsy, row["conservative_weeks"], row["indication"],
        missing, _cpt(result, "\n"), _table_flag(result),
    ]
    return [c or "-" for c in cells]


def _summary_line(summary: Any) -> str:
    return (
        f"{summary.total} note{'' if summary.total == 1 else 's'}: {summary.read} read, {summary.complete} complete, "
        f"{summary.needing_prompts} needing prompts, {summary.unreadable} unreadable "
        f"in {summary.seconds:.1f} s"
    )


def _fit_widths(headers: list[str], body: list[list[str]], room: int) -> list[int]:
    """Column widths that fit ``room``: each column's widest line, then the widest columns narrowed first."""
    widths = [max([len(w) for w in h.split()] + [len(line) for r in body for line in r[i].split("\n")])
              for i, h in enumerate(headers)]
    floors = [_FLOORS.get(h, 6) for h in headers]  # the note id and the codes keep their width longest
    while sum(widths) > room:
        over = [i for i, w in enumerate(widths) if w > floors[i]] or [i for i, w in enumerate(widths) if w > 4]
        if not over:
            break
        widest = max(over, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


_FLOORS = {"note": 22, "procedure": 14, "levels": 8, "guidance": 11, "proposed CPT": 13}


def _render_table(rows: list[list[str]], summary: Any, out: TextIO, *, to_file: bool, title: str = "scribe check",
                  summary_text: str | None = None) -> None:
    """The worklist table (also ``extract --format table``): full columns when wide, compact at <= 80 columns."""
    from rich.markup import escape
    from rich.table import Table

    from scribe.display import visible
    from scribe.render import COMPACT_WIDTH, compact_lines, console_for

    rows = [[visible(c, lines=True) for c in row] for row in rows]  # control characters shown, never sent

    console = console_for(out, to_file=to_file)
    text = summary_text if summary_text is not None else (_summary_line(summary) if summary is not None else None)
    if console.width <= COMPACT_WIDTH:
        for line in compact_lines(rows, console.width):
            console.print(line, markup=False, highlight=False, crop=True, overflow="ellipsis", soft_wrap=False)
        if text:
            console.print(text, markup=False)
        return
    from rich import box

    # wide: every column; medium (81-139): the columns a scribe acts on, so none folds to a few characters
    shown = list(range(len(TABLE_COLUMNS))) if console.width >= 140 else [0, 1, 2, 3, 7, 8, 9]
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    body = [[row[i] if TABLE_COLUMNS[i] != "worst flag" or len(shown) == len(TABLE_COLUMNS)
             else row[i].split(" (")[0] for i in shown] for row in rows]  # medium: the flag id alone
    widths = _fit_widths([TABLE_COLUMNS[i] for i in shown], body, console.width - 3 * (len(shown) - 1) - 1)
    for i, width in zip(shown, widths, strict=True):
        table.add_column(TABLE_COLUMNS[i], overflow="fold", width=width)
    for row, cells in zip(rows, body, strict=True):
        style = "red" if row[1] == "unreadable" and row[2] == "-" else None
        table.add_row(*[escape(c) for c in cells], style=style)
    console.print(table)
    if text:
        console.print(text, markup=False)


# --- the command ----------------------------------------------------------------------------


def _progress(total: int | None) -> tuple[Callable[[], None], Callable[[], None]]:
    """(advance, stop) for a progress bar on stderr, or no-ops when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return (lambda: None), (lambda: None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    # auto_refresh=False: no refresh thread alive while the worker processes are forked
    progress = Progress(
        TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True, auto_refresh=False,
    )
    task = progress.add_task("check", total=total)
    progress.start()
    last = [0.0]

    def advance() -> None:
        progress.advance(task)
        now = time.monotonic()
        if now - last[0] > 0.1:
            last[0] = now
            progress.refresh()

    return advance, progress.stop


def check_command(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(help="Note files (text, FHIR JSON/NDJSON, HL7 v2) or folders of notes.", show_default=False,
                       metavar="NOTE_OR_DIR"),
    ] = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into sub-folders.")] = False,
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="table, jsonl or csv \\[default: table on a terminal, else jsonl]"),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (atomically, owner-only) instead of stdout.")
    ] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes \\[default: CPU count].")] = None,
    payer: Annotated[str, typer.Option(help="Payer profile for codes and flags.")] = "medicare",
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            help="When to exit 1: missing (a note lacks an element), flags (also any warning or "
            "hard-stop flag), never.",
        ),
    ] = "missing",
    max_bytes: Annotated[int, typer.Option(help="Reject notes larger than this many bytes.")] = DEFAULT_MAX_BYTES,
    with_answers: Annotated[bool, typer.Option(
        "--with-answers", help="Apply the answers saved by `scribe review` (in .scribe/reviews.sqlite3 beside "
                               "each note), so answered notes leave the worklist.")] = False,
    store: Annotated[Path | None, typer.Option(
        help="Apply the answers saved in this review store (implies --with-answers).")] = None,
    note_timeout: Annotated[float, typer.Option(
        "--note-timeout", help="CPU seconds one note may take; a note over it is reported as not checked "
                               "and the batch goes on (0: no limit).")] = 10.0,
) -> None:
    from scribe import batch

    answers = str(store) if store is not None else ("auto" if with_answers else None)

    fmt = fmt or ("table" if output is None and sys.stdout.isatty() else "jsonl")
    if fmt not in FORMATS:
        raise _usage_error(f"unknown --format {fmt!r} (table, jsonl or csv)")
    if fail_on not in FAIL_ON:
        raise _usage_error(f"unknown --fail-on {fail_on!r} (missing, flags or never)")
    payers = known_payers()
    if payer not in payers:
        raise _usage_error(f"unknown --payer {payer!r} ({', '.join(payers)})")
    if jobs is not None and jobs < 1:
        raise _usage_error("--jobs must be at least 1")
    if max_bytes < 1:
        raise _usage_error("--max-bytes must be at least 1")
    if store is not None and not store.is_file():
        raise _usage_error(f"{store}: no such review store (--store)")
    if not note_timeout >= 0:
        raise _usage_error("--note-timeout must be 0 (no limit) or more")
    if output is not None:
        from scribe.fsutil import output_problem

        problem = output_problem(output)
        if problem is not None:
            raise _usage_error(f"--output {output}: {problem}")
    if not inputs:
        raise _usage_error("no notes given (NOTE_OR_DIR...)")
    paths = batch.list_note_paths(inputs, recursive=recursive)
    if not paths:
        raise _usage_error(f"no notes found in the inputs given ({', '.join(NOTE_SUFFIXES)}, FHIR .json/.ndjson "
                           "or HL7 .hl7 files)")

    with _stop_on_sigterm():
        _run(paths, fmt, output, jobs, payer, fail_on, max_bytes, answers, note_timeout or None)


class _Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C (workers stopped, no output written)."""


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM stops the run as Ctrl-C does (exit 143), rather than killing this process and leaving its
    workers behind."""
    def terminated(signum: int, frame: object) -> None:
        raise _Terminated

    try:
        previous = signal.signal(signal.SIGTERM, terminated)
    except ValueError:  # not the main thread: signals stay as they are
        previous = None
    try:
        yield
    except _Terminated:
        typer.echo("scribe check: stopped by SIGTERM; no output written", err=True)
        raise typer.Exit(EXIT_TERMINATED) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(paths: list[Path], fmt: str, output: Path | None, jobs: int | None, payer: str, fail_on: str,
         max_bytes: int, answers: str | None, timeout: float | None) -> None:
    from scribe import batch
    from scribe.display import visible

    stream = output is None and fmt != "table"
    collected: list[str] = []  # output text, written at the end when --output is given
    rows: list[list[str]] = []  # table rows (the table is drawn once all notes are read)

    # JSON lines and CSV are UTF-8 whatever the locale (evidence quotes the note's own characters)
    out_bytes = getattr(sys.stdout, "buffer", None)

    to_terminal = stream and sys.stdout.isatty()  # a CSV cell may hold a file name's control characters

    def emit(text: str) -> None:
        if to_terminal:
            text = visible(text, lines=True)
        if not stream:
            collected.append(text)
        elif out_bytes is not None:
            out_bytes.write(text.encode("utf-8"))
        else:
            sys.stdout.write(text)

    if fmt == "csv":
        emit(_csv_line(CSV_FIELDS))

    summary = batch.BatchSummary()
    jsonl = _jsonl_line_with_provenance if answers else _jsonl_line
    render = {"jsonl": jsonl, "csv": _csv_row, "table": _table_row}[fmt]
    # a FHIR / HL7 file may hold many notes: the total is known when every input is a plain text file
    advance, stop = _progress(len(paths) if all(p.suffix.lower() in NOTE_SUFFIXES for p in paths) else None)
    start = time.perf_counter()
    try:
        results = batch.check_paths_rendered(paths, render, expand=False, jobs=jobs, payer=payer, max_bytes=max_bytes,
                                             answers=answers, timeout=timeout)
        for status, rendered in results:
            summary.add(status, fail_on)  # type: ignore[arg-type]
            if status.error is not None:
                sys.stderr.write(f"scribe check: {visible(status.error)}\n")
            elif status.stale_answers:
                sys.stderr.write(f"scribe check: {visible(status.source)}: {visible(status.stale_answers)}\n")
            if fmt == "table":
                rows.append(rendered)
            else:
                emit(rendered)
            advance()
    finally:
        stop()
    summary.seconds = time.perf_counter() - start

    if fmt == "table":
        buf = io.StringIO() if output is not None else sys.stdout
        _render_table(rows, summary, buf, to_file=output is not None)
        if isinstance(buf, io.StringIO):
            collected.append(buf.getvalue())
    elif sys.stderr.isatty():
        sys.stderr.write(_summary_line(summary) + "\n")
    if output is not None:
        from scribe.fsutil import atomic_write_text

        try:
            atomic_write_text(output, "".join(collected))
        except OSError as exc:
            typer.echo(f"scribe check: {visible(str(output))}: cannot write ({exc.strerror or type(exc).__name__})",
                       err=True)
            raise typer.Exit(EXIT_UNREADABLE) from None
    else:
        sys.stdout.flush()
    raise typer.Exit(summary.exit_code())


check_command.__doc__ = HELP


def register(app: typer.Typer) -> None:
    app.command("check", cls=UsageCommand, help=HELP)(check_command)
