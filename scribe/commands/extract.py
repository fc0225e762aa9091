"""`scribe extract NOTE_OR_DIR... --format jsonl|json|table`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from scribe.commands import UsageCommand
from scribe.notes import DEFAULT_MAX_BYTES, NoteError, iter_note_paths


def extract_command(
    inputs: Annotated[list[Path], typer.Argument(help="Note files or directories of notes.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl, json or table.")] = "jsonl",
    payer: Annotated[str, typer.Option(help="Payer profile for codes and flags.")] = "medicare",
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders.")] = False,
    max_bytes: Annotated[int, typer.Option(help="Reject notes larger than this.")] = DEFAULT_MAX_BYTES,
    mentions: Annotated[bool, typer.Option(help="Include every candidate mention.")] = False,
) -> None:
    """Extract the coding elements of each note and print them (one JSON object per note)."""
    if fmt not in ("jsonl", "json", "table"):
        typer.echo(f"scribe extract: unknown --format {fmt!r} (jsonl, json or table)", err=True)
        raise typer.Exit(64)
    from scribe.api import extract_file
    from scribe.display import visible

    results: list[dict] = []
    failed = 0
    for path in iter_note_paths(inputs, recursive=recursive):
        try:
            ex = extract_file(path, max_bytes=max_bytes, payer=payer, mentions=mentions)
        except NoteError as err:
            typer.echo(f"scribe extract: {visible(str(err))}", err=True)
            failed += 1
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
    from rich.console import Console
    from rich.table import Table

    from scribe.display import markup_safe

    table = Table(title="scribe extract")
    for col in ("note", "procedure", "cavity", "levels", "guidance", "biopsy", "weeks",
                "indication", "missing", "codes"):
        table.add_column(col)
    for r in results:
        el = r["elements"]
        bx = el["biopsy"]["value"] or {}
        ct = el["conservative_therapy"]["value"] or {}
        table.add_row(*(markup_safe(c) for c in (  # a note id is text, never markup
            r["note_id"], str(el["procedure_type"]["value"] or "-"),
            str(el["cavity_creation"]["value"]), ",".join(el["levels"]["value"] or []) or "-",
            ",".join(el["guidance"]["value"] or []) or "-",
            ",".join(bx.get("sites") or []) if bx.get("performed") else str(bx.get("performed")),
            str(ct.get("weeks", "-")), str(el["indication"]["value"] or "-"),
            ",".join(r["missing"]) or "-",
            " ".join(f"{c['code']}x{c['units']}" for c in r["codes"]) or "-",
        )))
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("extract", cls=UsageCommand)(extract_command)
