"""`scribe lexicon check [DIR]`: validate the word lists and rule tables a coder edits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scribe.commands import EXIT_CONFIG, UsageCommand

HELP = (
    "Check every lexicon file of DIR (default: the lexicons in use) and list each problem, one line each, as "
    "file:line: field: problem.\n\n"
    "\b\n"
    "Exit codes:\n"
    "  0   every file is valid\n"
    f"  {EXIT_CONFIG}  some file is missing or invalid\n"
    "  64  bad usage\n"
)


class LexiconCommand(UsageCommand):
    """A command about the lexicons themselves: it must run even when the lexicons in use are broken."""

    needs_lexicons = False


lexicon_app = typer.Typer(help="Work with the lexicons (word lists and rule tables in lexicons/).",
                          no_args_is_help=True, add_completion=False)


@lexicon_app.command("check", cls=LexiconCommand, help=HELP)
def check_command(
    directory: Annotated[Path | None, typer.Argument(
        metavar="DIR", show_default=False,
        help="A lexicon folder (a copy of lexicons/); default: --lexicons, SCRIBE_LEXICONS or the packaged one.")
    ] = None,
) -> None:
    from scribe.lexicon import lexicon_dir, lexicon_problems, load_lexicon

    folder = directory or lexicon_dir()
    problems = lexicon_problems(folder)
    for problem in problems:
        typer.echo(f"scribe lexicon check: {problem}", err=True)
    if problems:
        typer.echo(f"scribe lexicon check: {folder}: {len(problems)} problem{'s' * (len(problems) != 1)}", err=True)
        raise typer.Exit(EXIT_CONFIG)
    lex = load_lexicon(folder)
    typer.echo(f"{folder}: valid ({len(lex.terms)} terms, {len(lex.context)} ConText rules, "
               f"{len(lex.sections.sections)} sections, and the coverage and coding tables)")


def register(app: typer.Typer) -> None:
    app.add_typer(lexicon_app, name="lexicon")
