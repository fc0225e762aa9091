"""`scribe codes NOTE --payer NAME [--answers FILE] [--claims FILE] [--format text|json]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from scribe.commands import UsageCommand

_STYLE = {"hard-stop": "bold red", "warning": "yellow", "info": "cyan"}


def _load_answers(path: Path) -> list:  # type: ignore[type-arg]
    """Answers as a JSON list of {element, value[, user, at, comment]} or JSONL (one per line)."""
    from pydantic import TypeAdapter, ValidationError

    from scribe.models import Answer

    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read answers ({type(exc).__name__})") from None
    try:
        stripped = text.strip()
        rows = json.loads(stripped) if stripped.startswith("[") else [
            json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: invalid JSON at line {exc.lineno}") from None
    try:
        return TypeAdapter(list[Answer]).validate_python(rows)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise ValueError(f"{path}: invalid answer ({loc}: {first['msg']})") from None


def codes_command(
    note: Annotated[Path, typer.Argument(help="One note file.")],
    payer: Annotated[str, typer.Option(help="Payer profile (lexicons/coding/payers.json).")] = "medicare",
    answers: Annotated[Path | None, typer.Option(help="Answers file: JSON list or JSONL of "
                                                      "{element, value}.")] = None,
    claims: Annotated[Path | None, typer.Option(help="Claims CSV: note_id,code,units,modifiers.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """Propose CPT and ICD-10-CM codes for one note, with units, modifiers, flags and the words behind them.

    Exit codes: 0 codes proposed and nothing missing; 1 something is missing or a code is withheld;
    2 the note (or an answers/claims file) cannot be read; 64 bad usage.
    """
    from scribe.api import extract_file
    from scribe.coding import SEVERITY_ORDER, UnknownPayerError, payer_names
    from scribe.coding.billing import ClaimsError, compare, read_claims
    from scribe.display import visible
    from scribe.notes import NoteError
    from scribe.prompts import complete

    if fmt not in ("text", "json"):
        typer.echo(f"scribe codes: unknown --format {visible(repr(fmt))} (text or json)", err=True)
        raise typer.Exit(64)
    if payer not in payer_names():
        typer.echo(f"scribe codes: unknown payer {visible(repr(payer))} (known: {', '.join(payer_names())})", err=True)
        raise typer.Exit(64)
    try:
        given = _load_answers(answers) if answers else []
        ex = extract_file(note, payer=payer)
        claim_lines = read_claims(claims).get(ex.note_id, []) if claims else []
    except (NoteError, ClaimsError, ValueError) as err:
        typer.echo(f"scribe codes: {visible(str(err))}", err=True)
        raise typer.Exit(2) from None
    try:
        done, prompts = complete(ex, given, payer)
    except UnknownPayerError as err:
        typer.echo(f"scribe codes: {visible(str(err))}", err=True)
        raise typer.Exit(64) from None
    if claim_lines:  # the note's own billing lines were compared by complete()
        flags = sorted([*done.flags, *compare(done, claim_lines)], key=lambda f: -SEVERITY_ORDER[f.severity])
        done = done.model_copy(update={"billed": list(done.billed) + claim_lines, "flags": flags})
    if fmt == "json":
        out = done.to_contract()
        out["prompts"] = [p.model_dump(mode="json") for p in prompts]
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        _print(done, prompts, payer)
    if done.missing or any(f.id == "code_withheld" for f in done.flags):
        raise typer.Exit(1)


def _print(ex, prompts, payer: str) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table

    from scribe.display import markup_safe as m

    # every string from the note, its file name or the rules is escaped: text, never markup (a note named
    # "[link=javascript:…]" must not print a link) nor terminal control
    console = Console(highlight=False)
    console.print(f"[bold]{m(ex.note_id)}[/]  payer: {m(payer)}  "
                  f"procedure: {m(str(ex.elements.procedure_type.value or '-'))}  "
                  f"levels: {m(', '.join(ex.elements.levels.value or []) or '-')}")
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
    if ex.flags:
        console.print("[bold]Flags[/]")
        for f in ex.flags:
            unverified = "" if f.verified or "unverified" in f.message else " [dim](unverified rule)[/]"
            message = m(f.message, lines=True)
            console.print(f"  [{_STYLE[f.severity]}]{f.severity:<9}[/] {m(f.id)}: {message}{unverified}")
    if prompts:
        console.print("[bold]Questions for the clinician[/]")
        for p in prompts:
            waiting = f" [dim](waiting: {m(', '.join(p.waiting_codes))})[/]" if p.waiting_codes else ""
            console.print(f"  - {m(p.element)}: {m(p.question, lines=True)}{waiting}")


def register(app: typer.Typer) -> None:
    app.command("codes", cls=UsageCommand)(codes_command)
