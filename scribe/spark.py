"""scribe on Spark: extract notes held in a DataFrame (a data lake) with one pipeline per Python worker.

``extract_notes(df)`` maps every partition through :func:`scribe.api.extract` with ``mapInPandas``.
The spaCy pipeline is cached per Python process (``scribe.nlp.get_nlp``) and Spark reuses its Python
workers (``spark.python.worker.reuse``, on by default), so each worker builds it once, not per batch.
The result has the contract's fields as typed columns plus the whole contract object as JSON
(``Extraction.model_dump(mode="json")``, so keys added to the model travel without a change here).

``spark_check`` is the body of ``scribe spark-check``: Parquet, JSON lines, FHIR Bulk NDJSON or a
folder of text files in, Parquet out. Only APIs present in Spark 3.5 and 4.x are used. Nothing here
is imported by the rest of scribe: pyspark is the optional ``scribe[spark]`` extra.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.parse
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

# the typed columns (Spark DDL), then the full contract object
FIELDS: list[tuple[str, str]] = [
    ("note_id", "string"), ("source", "string"), ("error", "string"), ("date_of_service", "date"),
    ("procedure_type", "string"), ("cavity_creation", "boolean"), ("levels", "array<string>"),
    ("guidance", "array<string>"), ("biopsy_performed", "boolean"), ("biopsy_sites", "array<string>"),
    ("laterality", "string"), ("conservative_weeks", "double"), ("conservative_modalities", "array<string>"),
    ("indication", "string"), ("missing", "array<string>"), ("document_kind", "string"), ("document_reason", "string"),
    ("codes", "array<struct<code:string,units:int,modifiers:array<string>>>"), ("diagnoses", "array<string>"),
    ("flags", "array<struct<id:string,severity:string>>"), ("json", "string"),
]
SCHEMA = ", ".join(f"{name} {ddl}" for name, ddl in FIELDS)
COLUMNS = [name for name, _ in FIELDS]
# measured on this machine kind: local-mode start-up ~40 s -> ~15 s with a quick JIT, the serial GC and no UI
FAST_START = {
    "spark.ui.enabled": "false",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.python.worker.reuse": "true",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    # a folder of small note files: Spark counts 4 MB of cost per file opened and so made one task per ~32
    # notes; each task costs its Python worker ~75 ms (measured: 157 tasks for 5,000 notes took 27.5 s of
    # worker CPU, 2 tasks 16 s). At 64 KB per file, 10,000 notes make a few large tasks.
    "spark.sql.files.openCostInBytes": str(64 * 1024),
    # patient data: files Spark writes are owner-only (Hadoop's local file system applies this umask)
    "spark.hadoop.fs.permissions.umask-mode": "077",
}


def session(master: str = "local[*]", app_name: str = "scribe", conf: dict[str, str] | None = None) -> SparkSession:
    """A SparkSession for scribe. Local mode binds to 127.0.0.1; the Python workers run this interpreter and
    read the lexicons this process reads (``SCRIBE_LEXICONS``, set by ``scribe --lexicons DIR``)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(master).appName(app_name)
    lexicons = os.environ.get("SCRIBE_LEXICONS")  # `scribe --lexicons DIR`: the executors read the same copy
    settings = {**FAST_START, **({"spark.executorEnv.SCRIBE_LEXICONS": os.path.abspath(lexicons)} if lexicons else {}),
                **(conf or {})}
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


# --- one note -> one row --------------------------------------------------------------------


def _row(contract: dict[str, Any]) -> dict[str, Any]:
    el = contract["elements"]

    def value(name: str) -> Any:
        return el[name]["value"]

    biopsy = value("biopsy") or {}
    therapy = value("conservative_therapy") or {}
    dos = contract.get("date_of_service")
    document = contract.get("document") or {}
    return {
        "note_id": contract["note_id"], "source": contract.get("source", ""), "error": None,
        "date_of_service": _date(dos),
        "procedure_type": value("procedure_type"), "cavity_creation": value("cavity_creation"),
        "levels": list(value("levels") or []), "guidance": list(value("guidance") or []),
        "biopsy_performed": biopsy.get("performed"), "biopsy_sites": list(biopsy.get("sites") or []),
        "laterality": value("laterality"),
        "conservative_weeks": float(therapy["weeks"]) if therapy.get("weeks") is not None else None,
        "conservative_modalities": list(therapy.get("modalities") or []),
        "indication": value("indication"), "missing": list(contract.get("missing") or []),
        # the document gate, as in the worklist CSV: only an augmentation record gets elements and codes
        "document_kind": document.get("kind"), "document_reason": document.get("reason"),
        "codes": [{"code": c["code"], "units": int(c["units"]), "modifiers": list(c.get("modifiers") or [])}
                  for c in contract.get("codes") or []],
        "diagnoses": [d["code"] for d in contract.get("diagnoses") or []],
        "flags": [{"id": f["id"], "severity": f["severity"]} for f in contract.get("flags") or []],
        "json": json.dumps(contract, ensure_ascii=False),
    }


def _date(iso: str | None) -> Any:
    from datetime import date

    return date.fromisoformat(iso) if iso else None


def _error_row(note_id: str, source: str, error: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(note_id=note_id, source=source, error=" ".join(error.split()))
    for key in ("levels", "guidance", "biopsy_sites", "conservative_modalities", "missing", "codes", "diagnoses",
                "flags"):
        row[key] = []
    return row


def note_row(note_id: str, text: str | bytes | None, source: str = "", payer: str = "medicare",
             date_of_service: Any = None) -> dict[str, Any]:
    """One output row for one note (never raises: a problem is the row's ``error``, never the note's text).

    ``text`` may be bytes (a text file read whole): they are decoded as ``scribe extract`` decodes a file.
    """
    from scribe.api import extract
    from scribe.notes import NoteError, decode, find_date_of_service

    try:
        if text is None:
            return _error_row(note_id, source, f"{source or note_id}: no text")
        if isinstance(text, bytes | bytearray):
            text = decode(bytes(text), source or note_id)[0]
        if isinstance(date_of_service, datetime):  # a timestamp column (pandas Timestamp)
            date_of_service = date_of_service.date()
        # the source's date serves only when the note's text has none (as for FHIR and HL7 sources)
        date_of_service = find_date_of_service(text) or date_of_service
        ex = extract(text, note_id=note_id, source=source, date_of_service=date_of_service, payer=payer,
                     mentions=False)
        return _row(ex.model_dump(mode="json", exclude={"mentions"}))
    except NoteError as err:
        return _error_row(note_id, source, str(err))
    except Exception as exc:  # one bad note never stops the job
        return _error_row(note_id, source, f"{source or note_id}: internal error ({type(exc).__name__})")


def fhir_row(line: str, source: str, payer: str = "medicare", max_bytes: int = 1_000_000) -> dict[str, Any] | None:
    """One output row for one line of FHIR Bulk NDJSON; None for a blank line or another resource type."""
    from scribe.sources.fhir import _Bad, note_from_resource

    if not line or not line.strip():
        return None
    try:
        raw = json.loads(line)
    except (ValueError, RecursionError):
        return _error_row(Path(source).stem, source, f"{source}: a line is not valid JSON (truncated or malformed)")
    if not isinstance(raw, dict) or raw.get("resourceType") != "DocumentReference":
        return None if isinstance(raw, dict) and "resourceType" in raw else _error_row(
            Path(source).stem, source, f"{source}: a line is not a FHIR resource")
    try:
        note = note_from_resource(raw, Path(source), source, max_bytes)
    except _Bad as bad:
        return _error_row(str(raw.get("id") or Path(source).stem), source, f"{source}: {raw.get('id')!r}: {bad}"[:300])
    return note_row(note.note_id, note.text, source, payer, note.date_of_service)


def _frames(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=COLUMNS)


def _mapper(payer: str, kind: str) -> Any:
    """The function handed to ``mapInPandas`` (module-level state only: the pipeline cache)."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from scribe.nlp import get_nlp

        get_nlp()  # once per Python worker (cached): the first batch pays for it, the others do not
        for pdf in batches:
            rows = []
            for rec in pdf.itertuples(index=False):
                if kind == "fhir":
                    row = fhir_row(rec.text, local_path(str(rec.source)), payer)
                    if row is not None:
                        rows.append(row)
                else:
                    dos = getattr(rec, "date_of_service", None)
                    rows.append(note_row(str(rec.note_id), rec.text, str(rec.source or ""), payer,
                                         None if dos is None or dos != dos else dos))
            yield _frames(rows)

    return run


def extract_notes(df: DataFrame, text_col: str = "text", id_col: str = "note_id", *, source_col: str | None = None,
                  date_col: str | None = None, payer: str = "medicare") -> DataFrame:
    """Extract every note of ``df``: one output row per input row (``SCHEMA``), in the same partitions.

    ``text_col`` holds the note text (a string, or bytes decoded like a text file); ``id_col`` the note id.
    ``source_col`` and ``date_col`` (a date of service used when the text has none) are optional.
    """
    from pyspark.sql import functions as F

    cols = [F.col(id_col).cast("string").alias("note_id"), F.col(text_col).alias("text"),
            (F.col(source_col).cast("string") if source_col else F.lit("")).alias("source")]
    if date_col:
        cols.append(F.col(date_col).cast("date").alias("date_of_service"))
    return df.select(*cols).mapInPandas(_mapper(payer, "notes"), SCHEMA)


def extract_fhir_lines(df: DataFrame, line_col: str = "value", source_col: str = "source", *,
                       payer: str = "medicare") -> DataFrame:
    """Extract the DocumentReference of each line of FHIR Bulk NDJSON (``spark.read.text``)."""
    from pyspark.sql import functions as F

    return df.select(F.col(line_col).alias("text"), F.col(source_col).alias("source")).mapInPandas(
        _mapper(payer, "fhir"), SCHEMA)


# --- scribe spark-check ----------------------------------------------------------------------


class SparkInputError(ValueError):
    """An input spark-check cannot read (one line, names the path)."""


def local_path(uri: str) -> str:
    """``file:/a/b%20c.txt`` -> ``/a/b c.txt`` (other schemes unchanged)."""
    if uri.startswith("file:"):
        return urllib.parse.unquote(urllib.parse.urlparse(uri).path)
    return uri


def input_kind(path: str) -> str:
    """parquet, json, ndjson (FHIR Bulk) or text, from the path's name or a local folder's files."""
    name = path.rstrip("/").lower()
    for suffix, kind in ((".parquet", "parquet"), (".ndjson", "ndjson"), (".jsonl", "json"), (".json", "json"),
                         (".txt", "text")):
        if name.endswith(suffix):
            return kind
    p = Path(path)
    if p.is_dir():
        names = [c.name.lower() for c in p.iterdir() if not c.name.startswith((".", "_"))]
        # a folder of notes is read as text files even when FHIR / HL7 examples sit beside them
        for suffix, kind in ((".parquet", "parquet"), (".txt", "text"), (".ndjson", "ndjson"), (".json", "json")):
            if any(n.endswith(suffix) for n in names):
                return kind
        raise SparkInputError(f"{path}: no .parquet, .ndjson, .json or .txt files in the folder")
    if "://" in path:
        raise SparkInputError(f"{path}: give a path ending in .parquet, .json, .jsonl, .ndjson or .txt")
    raise SparkInputError(f"{path}: not found")


def read_input(spark: SparkSession, path: str, *, text_col: str = "text", id_col: str = "note_id",
               payer: str = "medicare") -> DataFrame:
    """The extraction DataFrame of an input path (see ``input_kind``)."""
    from pyspark.sql import functions as F

    kind = input_kind(path)
    if kind == "parquet":
        return extract_notes(spark.read.parquet(path), text_col, id_col, payer=payer)
    if kind == "json":
        return extract_notes(spark.read.json(path), text_col, id_col, payer=payer)
    if kind == "ndjson":
        lines = spark.read.text(path).select("value", F.col("_metadata.file_path").alias("source"))
        return extract_fhir_lines(lines, payer=payer)
    # a folder of text files, each read whole as bytes and decoded like `scribe extract` decodes it
    reader = spark.read.format("binaryFile")
    if Path(path).is_dir():
        reader = reader.option("pathGlobFilter", "*.txt")
    files = reader.load(path).select("path", "content")
    out = _text_files(files, payer)
    # Spark's file sources skip empty files: report them as `scribe check` does, one error row each
    local = Path(path)
    empties = sorted(local.glob("*.txt")) if local.is_dir() else [local] if local.is_file() else []
    rows = [_error_row(p.stem, str(p), f"{p}: empty file") for p in empties if p.stat().st_size == 0]
    if rows:
        out = out.unionByName(spark.createDataFrame([tuple(r[c] for c in COLUMNS) for r in rows], SCHEMA))
    return out


def _text_files(files: DataFrame, payer: str) -> DataFrame:
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from scribe.nlp import get_nlp

        get_nlp()
        for pdf in batches:
            rows = []
            for uri, content in zip(pdf["path"], pdf["content"], strict=True):
                path = local_path(str(uri))
                rows.append(note_row(Path(path).stem, bytes(content) if content is not None else None, path, payer))
            yield _frames(rows)

    return files.mapInPandas(run, SCHEMA)


def spark_check(spark: SparkSession, input_path: str, output: str, *, overwrite: bool = False,
                text_col: str = "text", id_col: str = "note_id", payer: str = "medicare") -> dict[str, int]:
    """Extract ``input_path`` and write Parquet to ``output``; return counts of the written rows."""
    from pyspark.sql import functions as F

    out = read_input(spark, input_path, text_col=text_col, id_col=id_col, payer=payer)
    out.write.mode("overwrite" if overwrite else "errorifexists").parquet(output)
    written = spark.read.parquet(output)
    row = written.agg(
        F.count(F.lit(1)).alias("notes"),
        F.sum(F.when(F.col("error").isNotNull(), 1).otherwise(0)).alias("unreadable"),
        F.sum(F.when(F.col("error").isNull() & (F.size("missing") > 0), 1).otherwise(0)).alias("needing_prompts"),
    ).collect()[0]
    return {k: int(row[k] or 0) for k in ("notes", "unreadable", "needing_prompts")}
