"""`scribe extract NOTE_OR_DIR... --format jsonl|json|table|fhir`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from scribe.commands import UsageCommand
from scribe.notes import DEFAULT_MAX_BYTES, NoteError


def extract_command(
    inputs: Annotated[list[Path], typer.Argument(
        help="Note files (text, FHIR JSON/NDJSON, HL7 v2) or directories of notes.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl, json, table or fhir (one FHIR R4 Bundle per "
                                                            "line; docs/fhir.md).")] = "jsonl",
    payer: Annotated[str, typer.Option(help="Payer profile for codes and flags.")] = "medicare",
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders.")] = False,
    max_bytes: Annotated[int, typer.Option(help="Reject notes larger than this.")] = DEFAULT_MAX_BYTES,
    mentions: Annotated[bool, typer.Option(help="Include every candidate mention.")] = False,
) -> None:
    """Extract the coding elements of each note and print them (one JSON object per note)."""
    if fmt not in ("jsonl", "json", "table", "fhir"):
        typer.echo(f"scribe extract: unknown --format {fmt!r} (jsonl, json, table or fhir)", err=True)
        raise typer.Exit(64)
    from scribe.api import extract_note
    from scribe.display import visible
    from scribe.sources import iter_items, iter_sources, load

    missing = [str(p) for p in inputs if not p.exists() and not p.is_symlink()]
    # text notes, FHIR JSON / NDJSON and HL7 v2 files (scribe.sources); a structured file is read as it comes
    paths = list(iter_sources([p for p in inputs if str(p) not in missing], recursive=recursive))
    for m in missing:
        typer.echo(f"scribe extract: {m}: file not found", err=True)
    if not paths and not missing:
        typer.echo("scribe extract: no notes found in " + ", ".join(str(p) for p in inputs), err=True)
        raise typer.Exit(64)
    results: list[dict] = []
    failed = len(missing)
    for item in iter_items(paths, max_bytes):
        try:
            note = load(item, max_bytes)
        except NoteError as err:
            typer.echo(f"scribe extract: {visible(str(err))}", err=True)
            failed += 1
            continue
        ex = extract_note(note, payer=payer, mentions=mentions)
        if fmt == "fhir":
            from scribe.fhir_out import bundle

            sys.stdout.write(json.dumps(bundle(ex, payer=payer), ensure_ascii=False) + "\n")
            continue
        data = ex.to_contract(mentions=mentions)
        if fmt == "jsonl":
            sys.stdout.write(json.dumps(data) + "\n")
        else:
            results.append(data)
    if fmt == "json":
        sys.stdout.write(json.dumps(results, indent=2) + "\n")
    elif fmt == "table":
        _print_table(results)
    if failed:
        raise typer.Exit(2)


def _print_table(results: list[dict]) -> None:
    """The same table as ``scribe check --format table`` (one renderer, one set of units and modifiers)."""
    from scribe.commands.check import _render_table, _table_row
    from scribe.models import Extraction

    rows = [_table_row(Extraction.model_validate(r)) for r in results]
    _render_table(rows, None, sys.stdout, to_file=False, title="scribe extract",
                  summary_text=f"{len(rows)} note{'' if len(rows) == 1 else 's'} extracted")


def register(app: typer.Typer) -> None:
    app.command("extract", cls=UsageCommand)(extract_command)
