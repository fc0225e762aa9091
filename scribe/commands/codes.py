"""`scribe codes NOTE --payer NAME [--answers FILE] [--claims FILE] [--format text|json]`."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Annotated

import typer

from scribe.commands import UsageCommand
from scribe.notes import Note

_STYLE = {"hard-stop": "bold red", "warning": "yellow", "info": "cyan"}


def _one_note(path: Path) -> Note:
    """The one note of ``path`` (a text file, or a FHIR / HL7 file holding one note). Raises NoteError."""
    from scribe.notes import NoteError
    from scribe.sources import iter_notes

    found: list[Note] = []
    for note in iter_notes([path]):
        if isinstance(note, NoteError):
            raise note
        found.append(note)
        if len(found) > 1:
            raise NoteError(str(path), "holds several notes; scribe codes takes one (scribe extract reads them all)")
    if not found:
        raise NoteError(str(path), "holds no note")
    return found[0]


def codes_command(
    note: Annotated[Path, typer.Argument(
        help="One note file (text, or a FHIR / HL7 v2 file holding one note).")],
    payer: Annotated[str, typer.Option(help="Payer profile (lexicons/coding/payers.json).")] = "medicare",
    answers: Annotated[Path | None, typer.Option(help="Answers file: JSON list or JSONL of "
                                                      "{element, value}, read like typed answers.")] = None,
    with_answers: Annotated[bool, typer.Option(
        "--with-answers", help="Apply the clinician answers saved by `scribe review` for this very note "
                               "(.scribe/reviews.sqlite3 beside it).")] = False,
    store: Annotated[Path | None, typer.Option(
        help="Apply the answers saved in this review store (implies --with-answers).")] = None,
    claims: Annotated[Path | None, typer.Option(help="Claims CSV: note_id,code,units,modifiers.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """Propose CPT and ICD-10-CM codes for one note, with units, modifiers, flags and the words behind them.

    Every value shows where it comes from: the note (with its words) or an answer (who, when).

    Exit codes: 0 codes proposed and nothing open; 1 something is missing, a code is withheld, a hard-stop
    flag or an open question (e.g. ABN) remains; 2 the note (or an answers/claims file) cannot be read or
    used; 64 bad usage.
    """
    from scribe.answers import AnswerFileError, load_answers_file
    from scribe.api import extract_note
    from scribe.coding import SEVERITY_ORDER, UnknownPayerError, payer_names
    from scribe.coding.billing import ClaimsError, compare, read_claims
    from scribe.display import visible
    from scribe.identity import identity_of
    from scribe.notes import NoteError
    from scribe.prompts import complete
    from scribe.store import STALE_FLAG, StoredAnswers, default_store_path, read_answers, stale_flag

    if fmt not in ("text", "json"):
        typer.echo(f"scribe codes: unknown --format {visible(repr(fmt))} (text or json)", err=True)
        raise typer.Exit(64)
    if payer not in payer_names():
        typer.echo(f"scribe codes: unknown payer {visible(repr(payer))} (known: {', '.join(payer_names())})", err=True)
        raise typer.Exit(64)
    if store is not None and not store.is_file():
        typer.echo(f"scribe codes: {store}: no such review store (--store)", err=True)
        raise typer.Exit(64)
    if note.is_dir():
        typer.echo(f"scribe codes: {note}: is a folder (codes takes one note; use `scribe check` for a folder)",
                   err=True)
        raise typer.Exit(64)
    try:
        given = load_answers_file(answers) if answers else []
        read = _one_note(note)  # a text note, or a FHIR / HL7 file that holds one note
        ex = extract_note(read, payer=payer)
        claim_lines = read_claims(claims).get(ex.note_id, []) if claims else []
    except AnswerFileError as err:
        for problem in err.problems:
            typer.echo(f"scribe codes: {visible(problem)}", err=True)
        raise typer.Exit(2) from None
    except (NoteError, ClaimsError, ValueError) as err:
        typer.echo(f"scribe codes: {visible(str(err))}", err=True)
        raise typer.Exit(2) from None
    saved = StoredAnswers()
    if with_answers or store is not None:
        store_path = store if store is not None else default_store_path(note)
        try:
            saved = read_answers(store_path, identity_of(read))
        except sqlite3.Error as exc:
            from scribe.store import UnsafeStore

            why = str(exc) if isinstance(exc, UnsafeStore) else type(exc).__name__
            typer.echo(visible(f"scribe codes: {store_path}: cannot read the review store ({why})"), err=True)
            raise typer.Exit(2) from None
    try:
        done, prompts = complete(ex, [*saved.current, *given], payer)
    except UnknownPayerError as err:
        typer.echo(f"scribe codes: {visible(str(err))}", err=True)
        raise typer.Exit(64) from None
    if saved.stale:
        flag = stale_flag(saved.stale)
        done = done.model_copy(update={"flags": [flag, *done.flags]})
        typer.echo(f"scribe codes: {note}: {flag.message}", err=True)
    if claim_lines:  # the note's own billing lines were compared by complete()
        flags = [*done.flags, *compare(done, claim_lines)]
        done = done.model_copy(update={"billed": list(done.billed) + claim_lines, "flags": flags})
    flags = sorted(done.flags, key=lambda f: (-SEVERITY_ORDER[f.severity], f.id != STALE_FLAG))
    done = done.model_copy(update={"flags": flags})
    if fmt == "json":
        from scribe.prompts import provenance_json

        out = done.to_contract()
        out["prompts"] = [p.model_dump(mode="json") for p in prompts]
        out["provenance"] = provenance_json(done)
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        _print(done, prompts, payer)
    if (done.missing or prompts or any(f.id == "code_withheld" or f.severity == "hard-stop" for f in done.flags)):
        raise typer.Exit(1)


def _print(ex, prompts, payer: str) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    from scribe.acts_view import acts_by_level, document_line
    from scribe.display import markup_safe as m
    from scribe.render import console_for
    from scribe.store import value_words

    # every string from the note, its file name or the rules is escaped: text, never markup (a note named
    # "[link=javascript:…]" must not print a link) nor terminal control
    console = console_for(sys.stdout)
    console.print(f"[bold]{m(ex.note_id)}[/]  payer: {m(payer)}  "
                  f"procedure: {m(str(ex.elements.procedure_type.value or '-'))}  "
                  f"levels: {m(', '.join(ex.elements.levels.value or []) or '-')}")
    console.print(f"document: {m(document_line(ex))}")
    acts = Table(title="What was done, level by level", title_justify="left", expand=True)
    for col in ("level", "done today", "set aside", "coded as (why)"):
        acts.add_column(col, overflow="fold")
    for row in acts_by_level(ex):
        coded = f"{row.billed} ({row.why})" if row.billed else "not treated"
        acts.add_row(m(row.level), m("; ".join(row.done) or "-"), m("; ".join(row.set_aside) or "-"), m(coded))
    if ex.acts or ex.treated:
        console.print(acts)
    table = Table(title="CPT", title_justify="left", expand=True)
    for col in ("code", "units", "modifiers", "description", "why (and the note's words)"):
        table.add_column(col, overflow="fold")
    for c in ex.codes:
        words = "; ".join(f"“{e.text}” @{e.start}" for e in c.evidence[:3])
        table.add_row(m(c.code), str(c.units), m("-".join(c.modifiers) or "-"), m(c.description),
                      f"{m(c.rationale, lines=True)}\n[dim]{m(words, lines=True)}[/]")
    if not ex.codes:
        table.add_row("-", "", "", "no code supported by the documentation yet", "")
    console.print(table)
    dx = Table(title="ICD-10-CM (claim order)", title_justify="left", expand=True)
    for col in ("code", "description", "why"):
        dx.add_column(col, overflow="fold")
    for d in ex.diagnoses:
        dx.add_row(m(d.code), m(d.description), m(d.rationale, lines=True))
    console.print(dx)
    from scribe.prompts import provenance

    values = Table(title="Values and where they come from", title_justify="left", expand=True)
    for col in ("element", "value", "from"):
        values.add_column(col, overflow="fold")
    for p in provenance(ex):
        if p.source == "none":
            continue
        el = ex.elements.get(p.element)
        shown = value_words(p.element, el.value, short=True)
        if p.source == "answer":
            origin = f"answer by {p.user or 'unknown'}" + (f", {p.at}" if p.at else "")
        else:
            quotes = "; ".join(f"“{' '.join(e.text.split())}” @{e.start}" for e in p.evidence[:2])
            origin = f"note: {quotes}" if quotes else "note"
        values.add_row(m(p.element), m(shown), m(origin, lines=True))
    console.print(values)
    if ex.flags:
        console.print("[bold]Flags[/]")
        for f in ex.flags:
            rule = f" [dim](rule {m(f.rule)}{'' if f.verified else ', unverified'})[/]" if f.rule else ""
            console.print(f"  [{_STYLE[f.severity]}]{f.severity:<9}[/] {m(f.id)}: {m(f.message, lines=True)}{rule}")
    if prompts:
        console.print("[bold]Questions for the clinician[/]")
        for p in prompts:
            waiting = f" [dim](waiting: {m(', '.join(p.waiting_codes))})[/]" if p.waiting_codes else ""
            console.print(f"  - {m(p.element)}: {m(p.question, lines=True)}{waiting}")


def register(app: typer.Typer) -> None:
    app.command("codes", cls=UsageCommand)(codes_command)
