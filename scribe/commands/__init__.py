"""Sub-commands of `scribe`; each module exposes ``register(app: typer.Typer)``.

``UsageCommand`` is the command class every sub-command uses: click reports usage errors
(unknown option, bad value) with exit code 2, which scribe reserves for "a file could not be
read"; usage errors exit 64 (EX_USAGE) instead.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand

EXIT_USAGE = 64

# click's UsageError as typer vendors it (BadParameter's base): unknown options, bad values
_UsageError: type[Exception] = typer.BadParameter.__base__  # type: ignore[assignment]


class UsageCommand(TyperCommand):
    """Usage errors exit 64 (EX_USAGE), not click's 2, which here means "unreadable file"."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except _UsageError as err:
            err.exit_code = EXIT_USAGE  # type: ignore[attr-defined]
            raise
