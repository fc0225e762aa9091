"""The `scribe` command line: a thin typer app over pure functions.

Each sub-command lives in its own module under ``scribe.commands`` and exposes
``register(app)``; modules are discovered, so adding a command touches no shared file.
Command modules import heavy libraries (spaCy, Textual) lazily, inside the command.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Annotated

import typer

import scribe.commands
from scribe.commands import ScribeGroup

app = typer.Typer(
    name="scribe",
    cls=ScribeGroup,  # usage errors exit 64 in one line; no traceback reaches a user
    help="Documentation prompter for vertebroplasty, kyphoplasty and sacroplasty notes.\n\n"
         "Every command first loads and validates the lexicons (word lists and rule tables): an invalid one "
         "stops it with one line on stderr naming file:line and the field, and exit code 78.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"scribe {version('scribe')}")
        except PackageNotFoundError:
            typer.echo("scribe (version unknown: not installed)")
        raise typer.Exit(0)


@app.callback()
def _global_options(
    lexicons: Annotated[Path | None, typer.Option(
        "--lexicons", metavar="DIR",
        help="Read the lexicons from DIR (a copy of lexicons/) instead of the packaged ones; "
             "the environment variable SCRIBE_LEXICONS does the same.")] = None,
    show_version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                      help="Print the version and exit."),
) -> None:
    """Documentation prompter for vertebroplasty, kyphoplasty and sacroplasty notes."""
    if lexicons is not None:
        from scribe.lexicon import use_lexicon_dir

        use_lexicon_dir(lexicons)


_ORDER = ["extract", "codes", "check", "review", "audit", "evaluate", "lexicon"]


def _register_all() -> None:
    names = [m.name for m in pkgutil.iter_modules(scribe.commands.__path__)]
    names.sort(key=lambda n: (_ORDER.index(n) if n in _ORDER else len(_ORDER), n))
    for name in names:
        module = importlib.import_module(f"scribe.commands.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_all()


def main() -> None:
    app(prog_name="scribe")


if __name__ == "__main__":
    main()
