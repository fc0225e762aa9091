"""The review store: append-only SQLite log, owner-only file, atomic saves, addendum wording."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scribe.models import Answer, Extraction
from scribe.prompts import apply_answers
from scribe.store import (
    ReviewStore,
    addendum_path,
    addendum_text,
    attest_addendum,
    current_user,
    default_store_path,
    is_attested,
    note_sha256,
    value_words,
    write_addendum,
)

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2024, 3, 4, 10, 30, tzinfo=UTC)


def _answers(user: str = "dr_x") -> list[Answer]:
    return [
        Answer(element="levels", value=["T12", "L1"], user=user, at=AT),
        Answer(element="guidance", value=["fluoroscopy"], user=user, at=AT),
        Answer(element="conservative_therapy", value={"weeks": 8.0, "modalities": []}, user=user, at=AT),
    ]


def test_default_path_is_beside_the_note(tmp_path: Path) -> None:
    note = tmp_path / "notes" / "kp_01.txt"
    note.parent.mkdir()
    note.write_text("x")
    assert default_store_path(note) == tmp_path / "notes" / ".scribe" / "reviews.sqlite3"
    assert default_store_path(note.parent) == tmp_path / "notes" / ".scribe" / "reviews.sqlite3"


def test_file_is_owner_only_and_wal(tmp_path: Path) -> None:
    path = tmp_path / ".scribe" / "reviews.sqlite3"
    with ReviewStore(path) as store:
        store.save("n1", _answers())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_roundtrip_history_and_latest_wins(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    with ReviewStore(path) as store:
        store.save("n1", _answers(), note_sha256="abc")
        store.save("n1", [Answer(element="guidance", value=["ct"], user="dr_y", at=AT, comment="re-read images")])
        store.save("n2", [Answer(element="levels", value=["L2"], user="dr_x")])
        store.save("n1", [Answer(element="levels", value=["L3"], user="coder1")], role="coder")
    with ReviewStore(path) as store:  # reopened: nothing lost
        got = store.answers_for("n1")
        assert [a.element for a in got] == ["levels", "guidance", "conservative_therapy", "guidance"]
        assert got[0].value == ["T12", "L1"]
        assert got[2].value == {"weeks": 8.0, "modalities": []}
        assert got[3].comment == "re-read images" and got[3].user == "dr_y"
        assert got[0].at == AT
        assert [a.value for a in store.answers_for("n1", "coder")] == [["L3"]]
        assert len(store.answers_for("n1", None)) == 5
        hist = store.history("n1")
        assert [h["role"] for h in hist] == ["clinician"] * 4 + ["coder"]
        assert hist[0]["note_sha256"] == "abc"
        assert store.note_ids() == ["n1", "n2"]
    ex = apply_answers(Extraction(note_id="n1", missing=["levels", "guidance"]), got)
    assert ex.elements.guidance.value == ["ct"]  # the latest answer to an element wins
    assert "guidance" not in ex.missing and "levels" not in ex.missing


def test_rejects_unknown_role(tmp_path: Path) -> None:
    with ReviewStore(tmp_path / "r.sqlite3") as store, pytest.raises(ValueError):
        store.save("n1", _answers(), role="admin")  # type: ignore[arg-type]


def test_failed_save_rolls_back_the_whole_batch(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    with ReviewStore(path) as store:
        store.save("n1", _answers()[:1])

        class Boom:
            """Delegates to the real connection but fails at COMMIT (after the INSERTs ran)."""

            def __init__(self, conn: sqlite3.Connection) -> None:
                self.conn = conn

            def execute(self, sql: str, *args: object) -> object:
                if sql == "COMMIT":
                    raise sqlite3.OperationalError("disk I/O error (simulated)")
                return self.conn.execute(sql, *args)

        real = store._conn
        store._conn = Boom(real)  # type: ignore[assignment]
        with pytest.raises(sqlite3.OperationalError):
            store.save("n1", _answers()[1:])
        store._conn = real
        assert [a.element for a in store.answers_for("n1")] == ["levels"]
        store.save("n1", _answers()[1:])  # the store still works afterwards
        assert len(store.answers_for("n1")) == 3


_CRASH_CHILD = textwrap.dedent(
    """
    import os, sys
    from scribe.models import Answer
    from scribe.store import ReviewStore

    store = ReviewStore(sys.argv[1])

    class CrashAtCommit:
        def __init__(self, conn):
            self.conn = conn
        def execute(self, sql, *args):
            if sql == "COMMIT":
                os._exit(9)  # the process dies: no rollback, no close, no flush
            return self.conn.execute(sql, *args)

    store._conn = CrashAtCommit(store._conn)
    store.save("n1", [Answer(element="guidance", value=["ct"], user="dr_crash"),
                      Answer(element="levels", value=["L4"], user="dr_crash")])
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_crash_between_insert_and_commit_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    with ReviewStore(path) as store:
        store.save("n1", _answers())
    proc = subprocess.run([sys.executable, "-c", _CRASH_CHILD, str(path)], env=_env(), capture_output=True,
                          timeout=60)
    assert proc.returncode == 9, proc.stderr.decode()
    with ReviewStore(path) as store:
        got = store.answers_for("n1")
    # earlier answers intact; the interrupted batch is absent (never half-written)
    assert [(a.element, a.value) for a in got] == [(a.element, a.value) for a in _answers()]
    assert all(a.user == "dr_x" for a in got)


_LOOP_CHILD = textwrap.dedent(
    """
    import sys
    from scribe.models import Answer
    from scribe.store import ReviewStore

    store = ReviewStore(sys.argv[1])
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        batch = f"batch-{n}"
        store.save("loop", [Answer(element=e, value=n, user="dr_loop", comment=batch)
                            for e in ("levels", "guidance", "conservative_therapy")])
    """
)


@pytest.mark.slow
def test_killed_while_saving_in_a_loop_leaves_whole_batches(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    with ReviewStore(path) as store:
        store.save("loop", _answers())
    proc = subprocess.Popen([sys.executable, "-c", _LOOP_CHILD, str(path)], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.4)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    with ReviewStore(path) as store:
        rows = store.history("loop")
    assert [r["value"] for r in rows[:3]] == [["T12", "L1"], ["fluoroscopy"], {"weeks": 8.0, "modalities": []}]
    batches: dict[str, list[str]] = {}
    for r in rows[3:]:
        batches.setdefault(r["comment"], []).append(r["element"])
    assert batches, "the child saved nothing before it was killed"
    for name, elements in batches.items():
        assert elements == ["levels", "guidance", "conservative_therapy"], name


def test_attest_records_a_row(tmp_path: Path) -> None:
    with ReviewStore(tmp_path / "r.sqlite3") as store:
        at = store.attest("n1", "dr_x", "Addendum: treated levels L1; answered by dr_x on 2024-03-04.\n",
                          note_sha256="abc")
        rows = store.attestations("n1")
    assert len(rows) == 1 and rows[0]["user"] == "dr_x" and rows[0]["addendum"].startswith("Addendum:")
    assert datetime.fromisoformat(rows[0]["at"]) == at


def test_addendum_is_clinical_prose_named_after_the_note(tmp_path: Path) -> None:
    ex = Extraction(note_id="kp_01", date_of_service=date(2024, 3, 2))
    answers = [*_answers(), Answer(element="abn_on_file", value=True, user="dr_x", at=AT)]
    text = addendum_text(ex, answers)
    assert text.splitlines() == [
        "Addendum to the procedure note of 03/02/2024 (kp_01).",
        "The treated levels were T12 and L1. Imaging guidance was fluoroscopy. Conservative therapy was tried "
        "for 8 weeks before the procedure.",
        "Clarified by dr_x on 2024-03-04.",
    ]
    assert "ABN" not in text  # payer questions are not clinical documentation
    note = tmp_path / "kp_01.txt"
    note.write_bytes(b"PROCEDURE: Kyphoplasty L1.\n")
    before = note_sha256(note)
    target = write_addendum(note, text)
    assert target == addendum_path(note) == tmp_path / "kp_01.addendum.txt"
    assert target.read_text() == text
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert note_sha256(note) == before  # the note is never modified


def test_attested_addendum_is_locked_and_a_later_change_makes_a_new_version(tmp_path: Path) -> None:
    ex = Extraction(note_id="kp_01", date_of_service=date(2024, 3, 2))
    note = tmp_path / "kp_01.txt"
    note.write_text("PROCEDURE: Kyphoplasty.\n")
    first = addendum_text(ex, _answers())
    write_addendum(note, first)
    signed_at = datetime(2024, 3, 4, 11, 5, tzinfo=UTC)
    path, signed = attest_addendum(note, first, "Dr Smith", signed_at)
    assert path == tmp_path / "kp_01.addendum.txt"
    assert signed.splitlines()[-1] == "Attested by Dr Smith at 2024-03-04 11:05 UTC."
    assert is_attested(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o400  # locked
    write_addendum(note, first)  # same text again: the attested file stays as it is
    assert path.read_text() == signed
    corrected = addendum_text(ex, [*_answers(), Answer(element="levels", value=["L1"], user="dr_x", at=AT)])
    write_addendum(note, corrected)
    kept = tmp_path / "kp_01.v1.addendum.txt"
    assert kept.read_text() == signed  # the attested version is kept, still locked
    assert stat.S_IMODE(kept.stat().st_mode) == 0o400
    assert path.read_text() == corrected and not is_attested(corrected)
    assert "The treated level was L1." in corrected


def test_value_words() -> None:
    assert value_words("guidance", ["ct", "fluoroscopy"]) == "CT and fluoroscopy"
    assert value_words("conservative_therapy", {"weeks": 6.0, "modalities": ["physical_therapy"]}) == (
        "6 weeks (physical therapy)")
    assert value_words("conservative_therapy", {"weeks": 1.0}) == "1 week"
    assert value_words("levels", "undetermined") == "clinically undetermined"
    assert value_words("biopsy", {"performed": True, "sites": ["L1"]}) == "performed at L1"
    assert value_words("biopsy", {"performed": None, "sites": []}) == "none documented"
    assert value_words("indication", "osteoporosis", short=True) == "osteoporosis"


def test_current_user() -> None:
    assert current_user("dr_x") == "dr_x"
    assert current_user(None)
