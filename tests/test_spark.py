"""scribe on Spark (local[2]): ``scribe.spark.extract_notes`` and ``scribe spark-check``.

One Spark session serves the whole module (its start-up is most of the cost). 500 notes go through
``extract_notes`` and must give the same contract objects as ``scribe extract`` on the same files.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scribe.cli import app
from scribe.notes import read_note

pytest.importorskip("pyspark")
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
SAMPLE = ROOT / "sample_notes"
FIX = ROOT / "tests" / "fixtures"
runner = CliRunner()
N_NOTES = 500


@pytest.fixture(scope="module")
def spark():  # type: ignore[no-untyped-def]
    from scribe.spark import session

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("the Spark test needs Java 17 (apt-get install openjdk-17-jre-headless; .ci/run does it)")
    # small Arrow batches: each Python worker sees several batches and must build its pipeline once only
    s = session("local[2]", app_name="scribe-tests", conf={"spark.sql.execution.arrow.maxRecordsPerBatch": "64"})
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def notes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 note files: the project's corpus and sample notes, topped up with renamed copies."""
    out = tmp_path_factory.mktemp("spark_notes")
    files = sorted(CORPUS.glob("*.txt")) + sorted(SAMPLE.glob("*.txt"))
    files = [f for f in files if f.name.lower() != "readme.txt"]
    for i in range(N_NOTES):
        src = files[i % len(files)]
        name = src.name if i < len(files) else f"copy{i:03d}_{src.name}"
        shutil.copyfile(src, out / name)
    assert len(list(out.glob("*.txt"))) == N_NOTES
    return out


def cli_extract(folder: Path, exit_code: int = 0) -> dict[str, dict]:
    res = runner.invoke(app, ["extract", str(folder)])
    assert res.exit_code == exit_code, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    return {r["note_id"]: r for r in rows}


def test_extract_notes_on_500_notes_equals_scribe_extract(spark, notes_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from scribe.spark import COLUMNS, extract_notes

    rows = []
    for f in sorted(notes_dir.glob("*.txt")):
        note = read_note(f)
        rows.append((note.note_id, note.text, note.source))
    df = spark.createDataFrame(rows, "id string, body string, src string").repartition(2)
    out = extract_notes(df, text_col="body", id_col="id", source_col="src")
    assert out.columns == COLUMNS
    got = out.collect()
    expected = cli_extract(notes_dir)
    assert len(got) == len(expected) == N_NOTES
    by_id = {r["note_id"]: r for r in got}
    assert set(by_id) == set(expected)
    for note_id, want in expected.items():
        row = by_id[note_id]
        assert row["error"] is None
        assert json.loads(row["json"]) == want, note_id
        # the typed columns say what the contract says
        el = want["elements"]
        assert row["procedure_type"] == el["procedure_type"]["value"]
        assert list(row["levels"]) == el["levels"]["value"]
        assert list(row["missing"]) == want["missing"]
        assert (row["document_kind"], row["document_reason"]) == (want["document"]["kind"], want["document"]["reason"])
        assert [(c["code"], c["units"], list(c["modifiers"])) for c in row["codes"]] == [
            (c["code"], c["units"], c["modifiers"]) for c in want["codes"]]
        assert (str(row["date_of_service"]) if row["date_of_service"] else None) == want["date_of_service"]


def test_spark_check_cli_on_a_folder_of_text_files(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    notes = tmp_path / "notes"
    notes.mkdir()
    for f in sorted(SAMPLE.glob("sample_1*.txt")):
        shutil.copyfile(f, notes / f.name)
    (notes / "empty.txt").write_bytes(b"")
    (notes / "bin.txt").write_bytes(b"\x00\x01binary" * 10)
    out = tmp_path / "out.parquet"
    res = runner.invoke(app, ["spark-check", str(notes), "--output", str(out), "--master", "local[2]"])
    assert res.exit_code == 2, res.output  # two unreadable files
    assert "12 notes: 10 read, 4 needing prompts, 2 unreadable" in res.stderr
    written = {r["note_id"]: r for r in spark.read.parquet(str(out)).collect()}
    assert written["empty"]["error"] == f"{notes / 'empty.txt'}: empty file"
    assert written["bin"]["error"].startswith(f"{notes / 'bin.txt'}: binary file")
    expected = cli_extract(notes, exit_code=2)  # the two bad files are reported on stderr
    for note_id, want in expected.items():
        assert json.loads(written[note_id]["json"]) == want
    # owner-only output; an existing output is never replaced without --overwrite
    for p in out.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, p
    res = runner.invoke(app, ["spark-check", str(notes), "--output", str(out)])
    assert res.exit_code == 64 and "exists" in res.stderr


def test_spark_check_reads_parquet_and_fhir_bulk_ndjson(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from scribe.sources import iter_notes
    from scribe.spark import spark_check

    texts = [(f.stem, read_note(f).text) for f in sorted(SAMPLE.glob("sample_0*.txt"))]
    src = tmp_path / "in.parquet"
    spark.createDataFrame(texts, "note_id string, text string").write.parquet(str(src))
    counts = spark_check(spark, str(src), str(tmp_path / "out1"))
    assert counts == {"notes": 9, "unreadable": 0, "needing_prompts": 0}
    # JSON lines with other column names; a date column serves a note whose text has no date of service
    lines = tmp_path / "in.jsonl"
    lines.write_text("".join(json.dumps({"id": i, "body": t, "day": "2025-01-02"}) + "\n" for i, t in texts))
    counts = spark_check(spark, str(lines), str(tmp_path / "out3"), text_col="body", id_col="id")
    assert counts == {"notes": 9, "unreadable": 0, "needing_prompts": 0}
    from scribe.spark import extract_notes

    dated = {r["note_id"]: r for r in extract_notes(spark.read.json(str(lines)), "body", "id", date_col="day")
             .select("note_id", "date_of_service").collect()}
    for note_id, _ in texts:
        own = read_note(SAMPLE / f"{note_id}.txt").date_of_service
        assert dated[note_id]["date_of_service"] == (own or date(2025, 1, 2))
    counts = spark_check(spark, str(FIX / "fhir" / "bulk.ndjson"), str(tmp_path / "out2"))
    rows = {r["note_id"]: r for r in spark.read.parquet(str(tmp_path / "out2")).collect()}
    assert counts == {"notes": 4, "unreadable": 2, "needing_prompts": 0}  # bad base64, truncated line
    from scribe.api import extract_note

    for note in iter_notes([FIX / "fhir" / "bulk.ndjson"]):
        if hasattr(note, "text"):
            want = extract_note(note, mentions=False).model_dump(mode="json", exclude={"mentions", "source"})
            got = json.loads(rows[note.note_id]["json"])
            got.pop("source")
            assert got == want


def test_spark_check_without_pyspark_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark raises ImportError
    res = runner.invoke(app, ["spark-check", str(SAMPLE), "--output", str(tmp_path / "o")])
    assert res.exit_code == 69
    assert res.stderr.strip() == "scribe spark-check: pyspark is not installed (pip install 'scribe[spark]')"


def test_the_lexicons_of_scribe_lexicons_reach_the_executors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``scribe --lexicons DIR`` sets SCRIBE_LEXICONS; the session passes it on to every executor (a cluster's
    workers do not inherit the driver's environment). No Spark is started: the builder is a stand-in."""
    import pyspark.sql

    from scribe import spark as scribe_spark

    seen: dict[str, str] = {}

    class Builder:
        def master(self, _: str) -> Builder:
            return self

        def appName(self, _: str) -> Builder:
            return self

        def config(self, key: str, value: str) -> Builder:
            seen[key] = value
            return self

        def getOrCreate(self) -> str:
            return "session"

    class FakeSession:
        builder = Builder()

    monkeypatch.setattr(pyspark.sql, "SparkSession", FakeSession)
    for var in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "SPARK_LOCAL_IP"):  # session() sets them: restore after
        monkeypatch.setenv(var, os.environ.get(var, "127.0.0.1" if var == "SPARK_LOCAL_IP" else sys.executable))
    monkeypatch.delenv("SCRIBE_LEXICONS", raising=False)
    assert scribe_spark.session("local[1]") == "session"
    assert "spark.executorEnv.SCRIBE_LEXICONS" not in seen
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCRIBE_LEXICONS", "lex")
    scribe_spark.session("local[1]")
    assert seen["spark.executorEnv.SCRIBE_LEXICONS"] == str(tmp_path / "lex")
