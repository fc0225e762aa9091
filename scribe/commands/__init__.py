"""Sub-commands of `scribe`; each module exposes ``register(app: typer.Typer)``.

``UsageCommand`` is the command class every sub-command uses: click reports usage errors
(unknown option, bad value) with exit code 2, which scribe reserves for "a file could not be
read"; usage errors exit 64 (EX_USAGE) instead. Once its options are parsed, and before it reads any
note, a command loads and validates the lexicons: a broken one stops it with one line on stderr and
exit 78 (EX_CONFIG).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

EXIT_USAGE = 64
EXIT_CONFIG = 78  # EX_CONFIG: a lexicon file is invalid
CONFIG_EPILOG = (f"Exit code {EXIT_CONFIG}: a lexicon file is invalid (one line on stderr names file:line and the "
                 "field; nothing was read). `scribe lexicon check` lists every problem.")
EXIT_SOFTWARE = 70  # an internal error (reported by its class only: its message could quote a note)
EXIT_INTERRUPTED = 130

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
class ScribeGroup(TyperGroup):
    """The ``scribe`` group: every usage error is one line on stderr and exit 64; no traceback ever
    reaches a user (an unexpected error prints its class only, exit 70)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        from typer import _click as click  # typer vendors click: its exception classes, not click's

        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError:
            code = EXIT_USAGE  # the help was printed already (typer's rich help prints, it does not return)
        except click.exceptions.UsageError as err:
            where = err.ctx.command_path if err.ctx is not None else "scribe"
            message = " ".join(err.format_message().split())
            hint = f" (try '{where} --help')" if err.ctx is not None else ""
            click.echo(f"{where}: {message}{hint}", err=True)
            code = EXIT_USAGE
        except click.exceptions.ClickException as err:
            click.echo(f"scribe: {' '.join(err.format_message().split())}", err=True)
            code = err.exit_code if err.exit_code not in (0, 1, 2) else EXIT_USAGE
        except (typer.Abort, KeyboardInterrupt):
            click.echo("scribe: interrupted", err=True)
            code = EXIT_INTERRUPTED
        except BrokenPipeError:  # output piped into `head`: stop quietly
            code = 0
        except Exception as exc:  # never a traceback (its locals could hold note text)
            click.echo(f"scribe: internal error ({type(exc).__name__})", err=True)
            code = EXIT_SOFTWARE
        else:
            code = rv if isinstance(rv, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)
