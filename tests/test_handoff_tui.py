"""The hand-off seen by its three users, and the layouts it is read in: the README walkthrough end to end
(clinician answers in review -> the scribe's worklist drops the note -> the coder sees the answered codes
with provenance), snapshots at 80x24 and 120x40, and the worklist at 80 columns."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scribe.cli import app as cli_app
from scribe.identity import identity_of
from scribe.models import Answer
from scribe.notes import read_note
from scribe.store import ReviewStore

textual = pytest.importorskip("textual")

from textual.pilot import Pilot  # noqa: E402
from tui_support import ready  # noqa: E402

from scribe.tui.app import ReviewApp  # noqa: E402
from scribe.tui.screens.confirm import ConfirmScreen  # noqa: E402
from scribe.tui.screens.prompt import PromptScreen  # noqa: E402
from scribe.tui.widgets.checklist import Checklist  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)
DAY = (
    "Patient: Jane Doe  MRN: 000111\nDate of Service: 03/11/2026\n"
    "PROCEDURE: Kyphoplasty L1. Balloon tamp inflated creating a cavity, PMMA injected.\n"
    "HISTORY: Pain 7/10 despite 8 weeks of bracing and analgesics. MRI shows marrow edema at L1.\n"
    "Indication: osteoporotic compression fracture; worsening pain; DEXA ordered.\n"
)
COMPLETE = DAY.replace("PROCEDURE: Kyphoplasty L1.", "PROCEDURE: Kyphoplasty L2 under fluoroscopic guidance.")


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli_app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr




def test_three_users_walkthrough_end_to_end(tmp_path: Path) -> None:
    """README: a scribe checks the day, a clinician answers in review, the worklist drops the note, and a
    coder sees the codes the answer completed, with where each value came from."""
    day = tmp_path / "dictations"
    day.mkdir()
    (day / "n1.txt").write_text(DAY)
    (day / "n2.txt").write_text(COMPLETE)

    # 1. the scribe: n1 lacks its guidance, n2 is complete
    code, out, _ = cli("check", str(day), "--format", "csv", "--with-answers", "--jobs", "1")
    rows = {r["note_id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert code == 1 and rows["n1"]["missing"] == "guidance" and rows["n2"]["missing"] == ""

    # 2. the clinician answers in review (default store, beside the notes)
    async def review() -> None:
        app = ReviewApp([day / "n1.txt"], user="dr_smith")
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            await pilot.press("a")
            assert isinstance(app.screen, PromptScreen) and app.screen.prompt.element == "guidance"
            await pilot.press(*"c-arm", "enter")
            await pilot.pause()
            status = str(app.screen.query_one("#status").render())
            assert "complete" in status

    asyncio.run(review())

    # 3. the scribe's worklist drops the note
    code, out, err = cli("check", str(day), "--format", "csv", "--with-answers", "--jobs", "1")
    rows = {r["note_id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert code == 0, err
    assert rows["n1"]["missing"] == "" and rows["n1"]["cpt"] == "22514 x1"
    assert rows["n1"]["provenance"].startswith("guidance=answer (dr_smith ")

    # 4. the coder sees the answered codes with provenance
    code, out, _ = cli("codes", str(day / "n1.txt"), "--with-answers", "--format", "json")
    got = json.loads(out)
    assert code == 0 and [c["code"] for c in got["codes"]] == ["22514"] and got["prompts"] == []
    assert got["provenance"]["guidance"]["source"] == "answer" and got["provenance"]["guidance"]["user"] == "dr_smith"
    assert got["provenance"]["levels"]["source"] == "note"
    assert got["provenance"]["levels"]["evidence"][0]["text"] == "L1"
    code, out, _ = cli("audit", str(day), "--with-answers", "--format", "jsonl")
    audited = {json.loads(line)["note_id"]: json.loads(line) for line in out.splitlines()}
    assert audited["n1"]["provenance"]["guidance"]["user"] == "dr_smith"


# ------------------------------------------------------------------ the worklist at 80 columns
def test_check_at_80_columns_is_one_line_per_note_plus_its_codes(snapshot: Any) -> None:
    code, out, _ = cli("check", str(ROOT / "sample_notes"), "--format", "table", "--jobs", "1",
                       env={"COLUMNS": "80"})
    lines = out.splitlines()
    assert code == 1 and max(len(line) for line in lines) <= 80
    # 21 text notes and the four notes of the FHIR (22, 23: two) and HL7 v2 (24) samples
    assert lines[-1].startswith("25 notes: 25 read, 21 complete, 4 needing prompts, 0 unreadable in ")
    body = lines[:-1]
    assert len(body) == 2 * 25  # two lines per note
    assert body[0].startswith("sample_01_vp_formal") and "vertebroplasty" in body[0] and "L2" in body[0]
    assert body[1].startswith("  22511 x1")
    missing = next(line for line in body if line.startswith("sample_12_missing_guidance"))
    assert missing.endswith("missing guidance")
    biopsy = body[body.index(next(line for line in body if line.startswith("sample_11"))) + 1]
    assert "20225 x1 -XS" in biopsy and biopsy.index("22514") < biopsy.index("20225")  # primary first
    assert "\n".join(body) == snapshot


def test_piped_output_uses_120_columns_without_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    _, out, _ = cli("check", str(ROOT / "sample_notes" / "sample_12_missing_guidance.txt"), "--format", "table",
                       "--jobs", "1")
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 120 and any(len(line) > 80 for line in lines)
    assert "guidance" in out and "22511 x1" in out


def test_extract_table_shares_the_check_renderer() -> None:
    code, out, _ = cli("extract", str(ROOT / "sample_notes" / "sample_11_biopsy_other_level.txt"), "--format",
                       "table", env={"COLUMNS": "80"})
    assert code == 0
    assert "20225 x1 -XS" in out and "22514 x1" in out  # modifiers kept, check's units
    for word in ("False", "None", "x1x"):
        assert word not in out


# ------------------------------------------------------------------ snapshots at 80x24 and 120x40
@pytest.fixture
def answered(tmp_path: Path) -> tuple[Path, Path]:
    note = tmp_path / "n1.txt"
    note.write_text(DAY)
    store = tmp_path / "s.sqlite3"
    with ReviewStore(store) as st:
        st.save("n1", [Answer(element="guidance", value=["fluoroscopy"], user="dr_snap", at=AT)],
                identity=identity_of(read_note(note)))
    return note, store


def test_snapshot_stale_answer_80x24(snap_compare: Any, answered: tuple[Path, Path]) -> None:
    note, store = answered
    note.write_text(DAY.replace("8 weeks", "9 weeks"))  # edited after the answer: the answer is stale

    async def before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        rows = {r[0]: r for r in pilot.app.screen.query_one(Checklist).rows}
        assert rows["guidance"][1] == "stale"

    assert snap_compare(ReviewApp([note], user="dr_snap", store_path=store), terminal_size=(80, 24),
                        run_before=before)


def test_snapshot_addendum_confirmation_120x40(snap_compare: Any, answered: tuple[Path, Path]) -> None:
    note, store = answered

    async def before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(pilot.app.screen, ConfirmScreen)

    assert snap_compare(ReviewApp([note], user="dr_snap", store_path=store), terminal_size=(120, 40),
                        run_before=before)


def test_snapshot_main_screen_80x24_and_120x40(snap_compare: Any, answered: tuple[Path, Path]) -> None:
    note, store = answered
    assert snap_compare(ReviewApp([note], user="dr_snap", store_path=store), terminal_size=(80, 24),
                        run_before=ready)
    assert snap_compare(ReviewApp([note], user="dr_snap", store_path=store), terminal_size=(120, 40),
                        run_before=ready)


def test_reopened_note_shows_attested_only_while_the_attested_text_stands(answered: tuple[Path, Path]) -> None:
    from scribe.store import attest_addendum, write_addendum
    from scribe.tui.state import load_note

    note, store = answered
    with ReviewStore(store) as st:
        state = load_note(note, st, "medicare")
        assert state.attested is None
        _, signed = attest_addendum(note, state.addendum(), "dr_snap", AT)
        st.attest("n1", "dr_snap", signed, identity=state.identity, at=AT)
        again = load_note(note, st, "medicare")
        assert again.attested is not None and again.attested["user"] == "dr_snap"
        write_addendum(note, again.addendum().replace("fluoroscopy", "CT"))  # a later version
        assert load_note(note, st, "medicare").attested is None
    assert (note.parent / "n1.v1.addendum.txt").read_text() == signed


def test_a_crash_in_the_review_app_is_one_line_without_locals(tmp_path: Path) -> None:
    import subprocess
    import sys

    note = tmp_path / "n1.txt"
    note.write_text(DAY)
    code = (
        "from scribe.tui.app import ReviewApp\n"
        "class Boom(ReviewApp):\n"
        "    def on_mount(self):\n"
        "        note_text = 'Jane Doe'\n"
        "        raise RuntimeError(note_text)\n"
        f"app = Boom([{str(note)!r}], user='x')\n"
        "app.run(headless=True)\n"
        "raise SystemExit(app.return_code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "scribe review: internal error (RuntimeError)"
    assert "Jane" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
