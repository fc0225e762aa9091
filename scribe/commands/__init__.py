"""Sub-commands of `scribe`; each module exposes ``register(app: typer.Typer)``.

``UsageCommand`` is the command class every sub-command uses: click reports usage errors
(unknown option, bad value) with exit code 2, which scribe reserves for "a file could not be
read"; usage errors exit 64 (EX_USAGE) instead. Once its options are parsed, and before it reads any
note, a command loads and validates the lexicons: a broken one stops it with one line on stderr and
exit 78 (EX_CONFIG).
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand

EXIT_USAGE = 64
EXIT_CONFIG = 78  # EX_CONFIG: a lexicon file is invalid
CONFIG_EPILOG = (f"Exit code {EXIT_CONFIG}: a lexicon file is invalid (one line on stderr names file:line and the "
                 "field; nothing was read). `scribe lexicon check` lists every problem.")

# click's UsageError as typer vendors it (BadParameter's base): unknown options, bad values
_UsageError: type[Exception] = typer.BadParameter.__base__  # type: ignore[assignment]


class UsageCommand(TyperCommand):
    """Usage errors exit 64 (EX_USAGE), not click's 2, which here means "unreadable file"; an invalid lexicon
    exits 78 (EX_CONFIG) before the command starts."""

    needs_lexicons = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.needs_lexicons and not self.epilog:
            self.epilog = CONFIG_EPILOG

    def invoke(self, ctx: Any) -> Any:
        if self.needs_lexicons:
            require_lexicons(ctx.command_path)
        return super().invoke(ctx)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except _UsageError as err:
            err.exit_code = EXIT_USAGE  # type: ignore[attr-defined]
            raise


def require_lexicons(command: str) -> None:
    """Load and validate the lexicons in use (once: the pipeline reuses them), or stop ``command`` with one
    line on stderr and exit 78."""
    from scribe.lexicon import LexiconError
    from scribe.lexicon import require_lexicons as load

    try:
        load()
    except LexiconError as err:
        typer.echo(f"{command}: {err}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
