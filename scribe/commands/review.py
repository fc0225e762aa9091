"""`scribe review NOTE_OR_DIR... [--user U] [--store PATH] [--payer NAME] [--audit]`: the review TUI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scribe.commands import UsageCommand


def review_command(
    inputs: Annotated[list[Path], typer.Argument(
        help="Note files (text, FHIR JSON/NDJSON, HL7 v2) or directories of notes.")],
    user: Annotated[str | None, typer.Option(help="Who answers (default: your login name).")] = None,
    store: Annotated[
        Path | None,
        typer.Option(help="Answer database (default: <note folder>/.scribe/reviews.sqlite3)."),
    ] = None,
    payer: Annotated[str, typer.Option(help="Payer profile for codes and flags.")] = "medicare",
    audit: Annotated[bool, typer.Option("--audit", help="Coder audit: read-only review, record corrections.")] = False,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders.")] = False,
    theme: Annotated[str, typer.Option(
        help="Start-up theme: textual-dark, textual-light or nord (t cycles themes).")] = "textual-dark",
) -> None:
    """Review notes in a terminal UI: answer the prompts, watch codes update, export an addendum.

    One note opens directly; several make a queue (incomplete notes first; n / p to move).
    Answers are saved the moment they are submitted. Press ? in the app for every key.
    """
    import sys

    from scribe.coding import payer_names
    from scribe.sources import iter_items, iter_sources
    from scribe.store import ADDENDUM_SUFFIX, current_user
    from scribe.tui.bindings import THEMES

    # every usage error exits 64 here, before any UI starts
    if theme not in THEMES:
        raise _usage(f"unknown --theme {theme!r} ({', '.join(THEMES)})")
    if payer not in payer_names():
        raise _usage(f"unknown --payer {payer!r} ({', '.join(payer_names())})")
    missing = [str(p) for p in inputs if not p.exists()]
    if missing:
        raise _usage(f"{missing[0]}: no such file or folder")
    # addenda written by this command end in .txt too: never review them as notes
    files = [p for p in iter_sources(inputs, recursive=recursive) if not p.name.endswith(ADDENDUM_SUFFIX)]
    if not files:
        raise _usage("no notes found in " + ", ".join(str(p) for p in inputs))
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise _usage("needs a terminal (stdin and stdout); for scripts use `scribe check` or `scribe codes`")
    # a FHIR or HL7 file gives its notes (and an error for each bad entry, shown in the queue)
    paths = [Path(i) if isinstance(i, str) else i for i in iter_items(files)]
    if not paths:
        raise _usage("no notes found in " + ", ".join(str(p) for p in inputs))
    from scribe.tui.app import ReviewApp  # Textual is imported only here

    app = ReviewApp(paths, user=current_user(user), store_path=store, payer=payer, audit=audit, theme=theme)
    app.run()
    if app.return_code:
        raise typer.Exit(70)


def _usage(message: str) -> typer.Exit:
    typer.echo(f"scribe review: {message}", err=True)
    return typer.Exit(64)


def register(app: typer.Typer) -> None:
    app.command("review", cls=UsageCommand)(review_command)
