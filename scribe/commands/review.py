"""`scribe review NOTE_OR_DIR... [--user U] [--store PATH] [--payer NAME] [--audit]`: the review TUI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scribe.commands import UsageCommand


def review_command(
    inputs: Annotated[list[Path], typer.Argument(help="Note files or directories of notes.")],
    user: Annotated[str | None, typer.Option(help="Who answers (default: your login name).")] = None,
    store: Annotated[
        Path | None,
        typer.Option(help="Answer database (default: <note folder>/.scribe/reviews.sqlite3)."),
    ] = None,
    payer: Annotated[str, typer.Option(help="Payer profile for codes and flags.")] = "medicare",
    audit: Annotated[bool, typer.Option("--audit", help="Coder audit: read-only review, record corrections.")] = False,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders.")] = False,
    theme: Annotated[str, typer.Option(help="Start-up theme (t cycles themes).")] = "textual-dark",
) -> None:
    """Review notes in a terminal UI: answer the prompts, watch codes update, export an addendum.

    One note opens directly; several make a queue (incomplete notes first; n / p to move).
    Answers are saved the moment they are submitted. Press ? in the app for every key.
    """
    from scribe.sources import iter_items, iter_sources
    from scribe.store import ADDENDUM_SUFFIX, current_user

    # addenda written by this command end in .txt too: never review them as notes; a FHIR or HL7 file
    # gives its notes (and an error for each bad entry)
    files = [p for p in iter_sources(inputs, recursive=recursive) if not p.name.endswith(ADDENDUM_SUFFIX)]
    paths = [Path(i) if isinstance(i, str) else i for i in iter_items(files)]
    if not paths:
        typer.echo("scribe review: no notes found", err=True)
        raise typer.Exit(66)
    from scribe.tui.app import ReviewApp  # Textual is imported only here

    ReviewApp(paths, user=current_user(user), store_path=store, payer=payer, audit=audit, theme=theme).run()


def register(app: typer.Typer) -> None:
    app.command("review", cls=UsageCommand)(review_command)
