"""The `scribe` command line: a thin typer app over pure functions.

Each sub-command lives in its own module under ``scribe.commands`` and exposes
``register(app)``; modules are discovered, so adding a command touches no shared file.
Command modules import heavy libraries (spaCy, Textual) lazily, inside the command.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

import scribe.commands

app = typer.Typer(
    name="scribe",
    help="Documentation prompter for vertebroplasty, kyphoplasty and sacroplasty notes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_ORDER = ["extract", "codes", "check", "review", "audit", "evaluate"]


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
    app()


if __name__ == "__main__":
    main()
