"""`scribe spark-check INPUT --output OUT [--master URL]`: extract a data lake's notes with Spark, write Parquet.

The work is done by :mod:`scribe.spark` (needs the ``scribe[spark]`` extra: pyspark). See docs/spark.md.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Annotated

import typer

from scribe.commands import EXIT_USAGE, UsageCommand

EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: pyspark (or Java) is not installed

HELP = (
    "Extract notes with Spark: Parquet, JSON lines, FHIR Bulk NDJSON or a folder of .txt files in, Parquet out.\n\n"
    "One output row per note: the contract's fields as typed columns, the error of an unreadable note, and the "
    "whole contract object as JSON. Runs in local mode by default (all cores), or on a cluster with --master. "
    "Output files are owner-only. See docs/spark.md.\n\n"
    "\b\n"
    "Exit codes:\n"
    "  0   every note was read\n"
    "  2   some note could not be read (its row has an error), or OUTPUT could not be written\n"
    "  64  bad usage (unknown input kind, OUTPUT exists without --overwrite)\n"
    "  69  pyspark is not installed (pip install 'scribe[spark]')\n"
)


def spark_check_command(
    input_path: Annotated[str, typer.Argument(metavar="INPUT", help="Parquet, .json/.jsonl, .ndjson, or a folder.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Parquet folder to write.")],
    master: Annotated[str, typer.Option(help="Spark master URL (local mode by default).")] = "local[*]",
    text_col: Annotated[str, typer.Option(help="Text column of Parquet / JSON inputs.")] = "text",
    id_col: Annotated[str, typer.Option(help="Note id column of Parquet / JSON inputs.")] = "note_id",
    payer: Annotated[str, typer.Option(help="Payer profile for codes and flags.")] = "medicare",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT if it exists.")] = False,
) -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        typer.echo("scribe spark-check: pyspark is not installed (pip install 'scribe[spark]')", err=True)
        raise typer.Exit(EXIT_UNAVAILABLE) from None
    from scribe.coding import payer_names
    from scribe.spark import SparkInputError, input_kind, session, spark_check

    if payer not in payer_names():
        typer.echo(f"scribe spark-check: unknown --payer {payer!r} ({', '.join(payer_names())})", err=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        input_kind(input_path)
    except SparkInputError as err:
        typer.echo(f"scribe spark-check: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if "://" not in output and os.path.exists(output) and not overwrite:
        typer.echo(f"scribe spark-check: {output}: exists (give --overwrite to replace it)", err=True)
        raise typer.Exit(EXIT_USAGE)
    from pyspark.sql import SparkSession

    owned = SparkSession.getActiveSession() is None  # a session made here is stopped here
    old_umask = os.umask(0o077)  # what the driver writes is owner-only too
    start = time.perf_counter()
    try:
        spark = session(master, app_name="scribe spark-check")
        try:
            counts = spark_check(spark, input_path, output, overwrite=overwrite, text_col=text_col, id_col=id_col,
                                 payer=payer)
        finally:
            if owned:
                spark.stop()
    except Exception as exc:  # a Spark failure: say which, never any data
        typer.echo(f"scribe spark-check: {input_path}: Spark job failed ({type(exc).__name__})", err=True)
        raise typer.Exit(2) from None
    finally:
        os.umask(old_umask)
    seconds = time.perf_counter() - start
    sys.stderr.write(f"{counts['notes']} notes: {counts['notes'] - counts['unreadable']} read, "
                     f"{counts['needing_prompts']} needing prompts, {counts['unreadable']} unreadable "
                     f"in {seconds:.1f} s -> {output}\n")
    raise typer.Exit(2 if counts["unreadable"] else 0)


def register(app: typer.Typer) -> None:
    app.command("spark-check", cls=UsageCommand, help=HELP)(spark_check_command)
