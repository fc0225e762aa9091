"""`scribe eval GOLD_DIR [--show-errors]`: per-element accuracy against gold annotations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scribe.commands import UsageCommand


def eval_command(
    gold_dir: Annotated[Path, typer.Argument(help="Folder of NAME.txt notes with NAME.gold.json.")],
    show_errors: Annotated[bool, typer.Option("--show-errors", help="List each disagreement.")] = False,
    payer: Annotated[str, typer.Option(help="Payer profile for the CPT lines.")] = "medicare",
) -> None:
    """Score `scribe extract` against gold annotations, element by element."""
    from scribe.display import visible
    from scribe.evaluate import evaluate_dir

    if not gold_dir.is_dir():
        typer.echo(f"scribe eval: {visible(str(gold_dir))}: not a directory", err=True)
        raise typer.Exit(64)
    report = evaluate_dir(gold_dir, payer=payer)
    if report.notes == 0:
        typer.echo(f"scribe eval: {visible(str(gold_dir))}: no NAME.gold.json files with notes beside them", err=True)
        raise typer.Exit(2)
    if show_errors:
        for d in report.disagreements:
            typer.echo(visible(f"  {d.note_id:<12} {d.field:<28} predicted={d.predicted!r} expected={d.expected!r}"))
    typer.echo(f"{report.notes} notes")
    for field, acc in report.accuracy.items():
        typer.echo(f"  {field:<28} {acc:6.3f}")
    typer.echo(f"  {'mean':<28} {sum(report.accuracy.values()) / len(report.accuracy):6.3f}")
    if report.document_kind is not None:
        typer.echo(f"  {'document_kind':<28} {report.document_kind:6.3f}  ({report.kind_notes} notes with a kind)")
        typer.echo(f"  {'codes on non-augmentation':<28} {report.negative_with_codes} of {report.negative_documents}")


def register(app: typer.Typer) -> None:
    app.command("eval", cls=UsageCommand)(eval_command)
