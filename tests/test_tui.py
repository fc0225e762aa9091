"""The review TUI, driven by Textual's Pilot (no pytest-asyncio here: each test runs asyncio.run)."""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import sys
import types
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from scribe.store import ReviewStore, note_sha256

textual = pytest.importorskip("textual")

from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input  # noqa: E402
from tui_support import ready  # noqa: E402

from scribe.tui.app import ReviewApp  # noqa: E402
from scribe.tui.bindings import KEYS, keys_for  # noqa: E402
from scribe.tui.screens.confirm import ConfirmScreen  # noqa: E402
from scribe.tui.screens.help import HelpScreen  # noqa: E402
from scribe.tui.screens.prompt import PromptScreen  # noqa: E402
from scribe.tui.screens.review import ReviewScreen  # noqa: E402
from scribe.tui.widgets.acts import ActsPanel  # noqa: E402
from scribe.tui.widgets.checklist import Checklist  # noqa: E402
from scribe.tui.widgets.codes import CodesPanel  # noqa: E402
from scribe.tui.widgets.note_view import NoteView  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTE = (
    "PROCEDURE: Kyphoplasty L1. Balloon tamp inflated creating a cavity, PMMA injected. "
    "Indication: osteoporotic compression fracture.\n"
)
COMPLETE_NOTE = (
    "PROCEDURE: Kyphoplasty L1 under fluoroscopic guidance. Balloon tamp inflated creating a cavity, "
    "PMMA injected.\nHISTORY: Pain despite 8 weeks of bracing and analgesics.\n"
    "Indication: osteoporotic compression fracture.\n"
)
V2 = "Conservative therapy: the non-surgical management tried"


GUARD = 0.35  # past the 300 ms in which keys typed after a prompt closes are ignored


def identity(path: Path) -> Any:
    from scribe.identity import identity_of
    from scribe.notes import read_note

    return identity_of(read_note(path))


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())




def make_app(paths: list[Path], **kw: Any) -> ReviewApp:
    kw.setdefault("user", "dr_test")
    return ReviewApp(paths, **kw)


@pytest.fixture
def note(tmp_path: Path) -> Path:
    path = tmp_path / "kp_missing.txt"
    path.write_text(NOTE)
    return path


def rows(app: ReviewApp) -> dict[str, tuple[str, str]]:
    return {name: (status, value) for name, status, value in app.screen_stack[1].query_one(Checklist).rows}


def codes_text(app: ReviewApp) -> str:
    return "\n".join(app.screen_stack[1].query_one(CodesPanel).plain)


def test_the_sample_note_misses_guidance_and_conservative_therapy(note: Path) -> None:
    from scribe.api import extract_file

    assert extract_file(note).missing == ["guidance", "conservative_therapy"]


def test_full_review_answers_update_codes_and_survive_reopening(note: Path, tmp_path: Path) -> None:
    store = tmp_path / "answers.sqlite3"

    async def first() -> None:
        app = make_app([note], store_path=store)
        async with app.run_test(size=(120, 40)) as pilot:
            await ready(pilot)
            assert rows(app)["guidance"][0] == "missing"
            assert rows(app)["conservative_therapy"][0] == "missing"
            assert V2 in codes_text(app)
            await pilot.press("a")
            assert isinstance(app.screen, PromptScreen) and app.screen.prompt.element == "guidance"
            assert "Kyphoplasty" in str(app.screen.query_one("#cites").render())  # the note's own words
            await pilot.press("x", "r", "a", "y", "enter")  # not a choice: error inline, text kept
            assert isinstance(app.screen, PromptScreen)
            assert "not one of the choices" in app.screen.error_text
            assert app.screen.query_one("#answer", Input).value == "xray"
            app.screen.query_one("#answer", Input).value = ""
            await pilot.press("f", "l", "u", "o", "r", "o", "enter")  # first words of a choice
            await pilot.pause()
            # chained: the next missing element is asked at once
            assert isinstance(app.screen, PromptScreen) and app.screen.prompt.element == "conservative_therapy"
            await pilot.press(*"8 weaks", "enter")
            assert "duration" in app.screen.error_text
            app.screen.query_one("#answer", Input).value = "8 weeks"
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, ReviewScreen)
            assert rows(app)["guidance"] == ("answered", "fluoroscopy")
            assert rows(app)["conservative_therapy"] == ("answered", "8 weeks")
            assert V2 not in codes_text(app)  # the coverage flag about conservative therapy is gone
            assert "22514" in codes_text(app)
            assert "complete" in str(app.screen.query_one("#status").render())
            await pilot.press("q")

    async def reopen() -> None:
        app = make_app([note], store_path=store)
        async with app.run_test(size=(120, 40)) as pilot:
            await ready(pilot)
            assert rows(app)["guidance"] == ("answered", "fluoroscopy")
            assert rows(app)["conservative_therapy"] == ("answered", "8 weeks")
            assert V2 not in codes_text(app)
            await pilot.press("a")  # nothing left to ask
            assert isinstance(app.screen, ReviewScreen)

    run(first)
    with ReviewStore(store) as st:
        saved = st.lookup(identity(note)).current
        assert [(a.element, a.value, a.user) for a in saved] == [
            ("guidance", ["fluoroscopy"], "dr_test"),
            ("conservative_therapy", {"weeks": 8.0, "modalities": []}, "dr_test"),
        ]
        assert st.history("kp_missing")[0]["note_sha256"] == note_sha256(note)  # UTF-8 text: bytes hash = text hash
    run(reopen)


def test_default_store_is_beside_the_note_and_undetermined_is_accepted(note: Path) -> None:
    async def go() -> None:
        app = make_app([note])
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            await pilot.press("a")
            await pilot.press(*"undetermined", "enter")
            await pilot.pause()
            assert rows(app)["guidance"][0] == "answered"
            assert rows(app)["guidance"][1] == "clinically undetermined"

    run(go)
    db = note.parent / ".scribe" / "reviews.sqlite3"
    assert db.exists() and stat.S_IMODE(db.stat().st_mode) == 0o600


def test_clicking_a_checklist_row_opens_its_prompt_and_choices_work(note: Path, tmp_path: Path) -> None:
    async def go() -> None:
        app = make_app([note], store_path=tmp_path / "s.sqlite3")
        async with app.run_test(size=(120, 40)) as pilot:
            await ready(pilot)
            order = [r[0] for r in app.screen.query_one(Checklist).rows]
            row = order.index("guidance")
            await pilot.click(Checklist, offset=(4, row + 1))  # +1: the border
            await pilot.pause()
            assert isinstance(app.screen, PromptScreen) and app.screen.prompt.element == "guidance"
            await pilot.press("escape")  # cancelled: nothing saved
            assert isinstance(app.screen, ReviewScreen) and rows(app)["guidance"][0] == "missing"
            await pilot.click(Checklist, offset=(4, row + 1))
            await pilot.pause()
            await pilot.press("tab", "shift+tab")  # the choices list is reachable by keyboard
            app.screen.query_one("#choices").focus()
            await pilot.press("down", "enter")  # second choice: CT
            await pilot.pause()
            assert rows(app)["guidance"] == ("answered", "CT")

    run(go)


def test_selecting_an_element_or_code_scrolls_the_note_to_its_evidence(tmp_path: Path) -> None:
    long_note = tmp_path / "long.txt"
    filler = "\n".join(f"Line {i}: patient resting comfortably, vitals stable." for i in range(80))
    long_note.write_text(filler + "\n" + NOTE)
    start = long_note.read_text().index("osteoporotic")

    async def go() -> None:
        app = make_app([long_note], store_path=tmp_path / "s.sqlite3")
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            view = app.screen.query_one(NoteView)
            checklist = app.screen.query_one(Checklist)
            checklist.highlighted = [r[0] for r in checklist.rows].index("indication")
            await pilot.pause()
            await pilot.pause()
            assert view.focused_span == (start, start + len("osteoporotic"))
            assert view.scroll_y > 50  # scrolled down to the last line
            view.scroll_home(animate=False)
            await pilot.pause()
            codes = app.screen.query_one(CodesPanel)
            codes.focus()
            codes.highlighted = next(i for i, k in enumerate(codes.evidence) if k.startswith("icd"))
            await pilot.pause()
            await pilot.pause()
            assert view.focused_span == (start, start + len("osteoporotic"))
            assert view.scroll_y > 50

    run(go)


def test_queue_puts_incomplete_notes_first_and_moves(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a_complete.txt").write_text(COMPLETE_NOTE)
    (folder / "b_missing.txt").write_text(NOTE)

    async def go() -> None:
        app = make_app([folder / "a_complete.txt", folder / "b_missing.txt"])
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            assert [s.note_id for s in app.states] == ["b_missing", "a_complete"]
            assert app.current is not None and app.current.note_id == "b_missing"
            assert "note 1/2" in str(app.screen.query_one("#status").render())
            await pilot.press("n")
            assert app.current.note_id == "a_complete"
            assert app.current.done is not None and app.current.done.missing == []
            assert app.screen.query_one(NoteView).text == COMPLETE_NOTE
            await pilot.press("p")
            assert app.current.note_id == "b_missing"

    run(go)


def test_addendum_asks_before_writing_follows_answers_and_attests_with_name_and_time(
        note: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    original = note.read_bytes()
    target = tmp_path / "kp_missing.addendum.txt"

    async def go() -> None:
        app = make_app([note], store_path=store)
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            await pilot.press("a", "1", "enter")
            await pilot.pause()
            await pilot.press(*"3 months", "enter")
            await pilot.pause(GUARD)
            await pilot.press("e")  # asks first
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen) and not target.exists()
            await pilot.press("n")  # declined: nothing written
            await pilot.pause(GUARD)
            assert isinstance(app.screen, ReviewScreen) and not target.exists()
            await pilot.press("e")
            await pilot.pause()
            await pilot.press("y")
            await pilot.pause(GUARD)
            first = target.read_text()
            assert "Conservative therapy was tried for 13 weeks before the procedure." in first
            # a corrected answer regenerates the addendum at once
            app.open_prompt("conservative_therapy")
            await pilot.pause()
            await pilot.press(*"six weeks", "enter")
            await pilot.pause(GUARD)
            assert "tried for 6 weeks" in target.read_text()
            await pilot.press("s")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await pilot.pause()
            status = str(app.screen.query_one("#status").render())
            assert "attested by dr_test" in status
            # a later change keeps the attested version and starts a new one
            app.open_prompt("guidance")
            await pilot.pause()
            await pilot.press("c", "t", "enter")
            await pilot.pause()
            assert "attested" not in str(app.screen.query_one("#status").render())

    run(go)
    signed = (tmp_path / "kp_missing.v1.addendum.txt").read_text()
    lines = signed.splitlines()
    assert lines[0] == "Addendum to the procedure note (kp_missing)."
    assert lines[1] == ("Imaging guidance was fluoroscopy. Conservative therapy was tried for 6 weeks before the "
                        "procedure.")
    assert lines[-1].startswith("Attested by dr_test at ") and lines[-1].endswith(" UTC.")
    assert stat.S_IMODE((tmp_path / "kp_missing.v1.addendum.txt").stat().st_mode) == 0o400
    latest = target.read_text()
    assert "Imaging guidance was CT." in latest and "Attested" not in latest
    assert note.read_bytes() == original
    with ReviewStore(store) as st:
        att = st.attestations("kp_missing")
    assert len(att) == 1 and att[0]["user"] == "dr_test" and att[0]["addendum"] == signed


def test_keys_typed_right_after_a_prompt_closes_are_not_commands(tmp_path: Path) -> None:
    paths = []
    for name in ("a_first", "b_second"):
        p = tmp_path / f"{name}.txt"
        p.write_text(NOTE)
        paths.append(p)

    async def go() -> None:
        app = make_app(paths, store_path=tmp_path / "s.sqlite3")
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            start = app.index
            await pilot.press("a", "1", "enter", "e", "n")  # stray typing after Enter
            await pilot.pause()
            assert app.index == start  # "n" did not move to the next note
            assert not isinstance(app.screen, ConfirmScreen)  # "e" did not start an addendum
            assert not list(tmp_path.glob("*.addendum.txt"))
            await pilot.press("escape")
            await pilot.pause(GUARD)
            await pilot.press("n")  # a deliberate key works
            await pilot.pause()
            assert app.index == start + 1

    run(go)


def test_prompts_accept_what_a_note_may_say(note: Path, tmp_path: Path) -> None:
    levels = tmp_path / "levels.txt"
    levels.write_text("PROCEDURE: Kyphoplasty under fluoroscopic guidance. Balloon tamp inflated creating a cavity, "
                      "PMMA injected.\nIndication: osteoporotic compression fracture.\n")

    async def go() -> None:
        app = make_app([levels], store_path=tmp_path / "s.sqlite3")
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            await pilot.press("a")
            assert isinstance(app.screen, PromptScreen) and app.screen.prompt.element == "levels"
            await pilot.press(*"lumbar two", "enter")
            await pilot.pause()
            assert app.screen.prompt.element == "conservative_therapy"  # type: ignore[attr-defined]
            await pilot.press(*"six weeks", "enter")
            await pilot.pause()
            assert rows(app)["levels"] == ("answered", "L2")
            assert rows(app)["conservative_therapy"] == ("answered", "6 weeks")
            app.open_prompt("guidance")
            await pilot.pause()
            await pilot.press("c", "t", "enter")
            await pilot.pause()
            assert rows(app)["guidance"] == ("answered", "CT")

    run(go)


def test_audit_mode_saves_coder_corrections_and_exports_gold(
        note: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "s.sqlite3"
    with ReviewStore(store) as st:
        from scribe.models import Answer

        st.save("kp_missing", [Answer(element="guidance", value=["fluoroscopy"], user="dr_test")],
                identity=identity(note))
    seen: list[Any] = []

    def export_gold(extraction: Any, notes: str = "") -> dict[str, Any]:
        seen.append(extraction)
        return {"note_id": extraction.note_id, "levels": extraction.elements.levels.value, "notes": notes}

    audit_pkg = types.ModuleType("scribe.audit")
    gold = types.ModuleType("scribe.audit.gold")
    gold.export_gold = export_gold  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "scribe.audit", audit_pkg)
    monkeypatch.setitem(sys.modules, "scribe.audit.gold", gold)

    async def go() -> None:
        app = make_app([note], store_path=store, audit=True, user="coder_1")
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            assert rows(app)["guidance"] == ("answered", "fluoroscopy")  # clinician answers shown
            assert app.check_action("answer_next", ()) is False  # read-only: no clinician prompts
            assert app.check_action("export_addendum", ()) is False
            checklist = app.screen.query_one(Checklist)
            checklist.highlighted = [r[0] for r in checklist.rows].index("levels")
            await pilot.press("w")
            assert isinstance(app.screen, PromptScreen) and app.screen.coder
            await pilot.press(*"T12-L1")
            app.screen.query_one("#comment", Input).value = "L1 and T12 both treated per images"
            await pilot.press("enter")
            await pilot.pause()
            assert rows(app)["levels"] == ("corrected", "T12, L1")
            await pilot.pause(GUARD)  # keys right after a prompt closes are not commands
            await pilot.press("g")
            await pilot.pause()

    run(go)
    with ReviewStore(store) as st:
        coder = st.answers_for("kp_missing", "coder")
        clinician = st.answers_for("kp_missing", "clinician")
    assert [(a.element, a.value, a.user) for a in coder] == [("levels", ["T12", "L1"], "coder_1")]
    assert coder[0].comment.startswith("L1 and T12")
    assert len(clinician) == 1
    assert seen and seen[0].elements.levels.value == ["T12", "L1"]
    out = json.loads((tmp_path / "kp_missing.gold.json").read_text())
    assert out == {"note_id": "kp_missing", "levels": ["T12", "L1"],
                   "notes": "levels: L1 and T12 both treated per images"}


def test_gold_export_without_the_module_only_warns(note: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scribe.audit.gold", None)  # import raises ImportError

    async def go() -> None:
        app = make_app([note], store_path=tmp_path / "s.sqlite3", audit=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            await pilot.press("g")
            await pilot.pause()
            assert isinstance(app.screen, ReviewScreen)

    run(go)
    assert not (tmp_path / "kp_missing.gold.json").exists()


def test_help_palette_and_footer_come_from_the_same_data(note: Path, tmp_path: Path) -> None:
    async def go() -> None:
        app = make_app([note], store_path=tmp_path / "s.sqlite3")
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            review_keys = keys_for(audit=False)
            assert {b.key for b in app.BINDINGS} == {k.key for k in KEYS}  # type: ignore[union-attr]
            titles = [c.title for c in app.get_system_commands(app.screen)]
            for k in review_keys:
                assert k.title in titles
            assert not {k.title for k in KEYS if k.mode == "audit"} & set(titles)  # audit-only
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            from rich.console import Console

            from scribe.tui.screens.help import help_table

            table = help_table(app.screen.keys)

            console = Console(width=100, record=True)
            console.print(table)
            shown = console.export_text()
            for k in review_keys:
                assert k.title in shown
            await pilot.press("question_mark")
            assert isinstance(app.screen, ReviewScreen)
            first = app.theme
            await pilot.press("t")
            assert app.theme != first
            await pilot.press("ctrl+p")
            await pilot.pause()
            assert app.screen.__class__.__name__ == "CommandPalette"
            await pilot.press(*"Focus the next panel")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, ReviewScreen)
            assert app.focused is app.screen.query_one(ActsPanel)  # palette ran the action

    run(go)


def test_keys_avoid_terminal_swallowed_combinations() -> None:
    bad = {"ctrl+enter", "ctrl+i", "ctrl+j", "ctrl+m", "ctrl+h"}
    assert not bad & {k.key for k in KEYS}
    assert len({k.key for k in KEYS}) == len(KEYS) and len({k.action for k in KEYS}) == len(KEYS)


def test_layout_fits_80x24(note: Path, tmp_path: Path) -> None:
    async def go() -> None:
        app = make_app([note], store_path=tmp_path / "s.sqlite3")
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            for widget in (NoteView, Checklist, CodesPanel):
                region = app.screen.query_one(widget).region
                assert region.width >= 30 and region.height >= 5, (widget, region)
                assert region.right <= 80 and region.bottom <= 24
            await pilot.press("a")
            box = app.screen.query_one("#prompt-box").region
            assert box.bottom <= 24 and box.right <= 80
            assert app.screen.query_one("#answer").region.height >= 1

    run(go)


def test_unreadable_note_does_not_sink_the_queue(note: Path, tmp_path: Path) -> None:
    bad = tmp_path / "binary.txt"
    bad.write_bytes(b"\x00\x01\x02" * 100)

    async def go() -> None:
        app = make_app([bad, note], store_path=tmp_path / "s.sqlite3")
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            assert app.current is not None and app.current.note_id == "kp_missing"
            assert app.states[-1].error

    run(go)


def test_review_help_and_core_never_imports_textual() -> None:
    from typer.testing import CliRunner

    from scribe.cli import app

    result = CliRunner().invoke(app, ["review", "--help"])
    assert result.exit_code == 0 and "--audit" in result.output and "--store" in result.output
    code = ("import sys, scribe.api, scribe.prompts, scribe.store, scribe.cli, scribe.tui.bindings; "
            "assert 'textual' not in sys.modules, 'textual imported'")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------- snapshots (fixed size, pinned Textual)
SNAP_SIZE = (100, 30)


@pytest.fixture
def snap_note(tmp_path: Path) -> Path:
    path = tmp_path / "snap_note.txt"
    path.write_text(
        "DATE OF SERVICE: 03/02/2024\n"
        "PROCEDURE: Kyphoplasty L1. Balloon tamp inflated creating a cavity, PMMA injected.\n"
        "No biopsy was taken. History of prior vertebroplasty at T10.\n"
        "Indication: osteoporotic compression fracture.\n"
    )
    return path


def _snap_app(path: Path, tmp_path: Path) -> ReviewApp:
    return make_app([path], store_path=tmp_path / "snap.sqlite3", user="dr_snap")


def test_snapshot_main_screen(snap_compare: Any, snap_note: Path, tmp_path: Path) -> None:
    assert snap_compare(_snap_app(snap_note, tmp_path), terminal_size=SNAP_SIZE, run_before=ready)


def test_snapshot_prompt_screen(snap_compare: Any, snap_note: Path, tmp_path: Path) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("a", "x", "enter")  # shows the inline error too
        await pilot.pause()

    assert snap_compare(_snap_app(snap_note, tmp_path), terminal_size=SNAP_SIZE, run_before=before)


def test_snapshot_help_screen(snap_compare: Any, snap_note: Path, tmp_path: Path) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(_snap_app(snap_note, tmp_path), terminal_size=SNAP_SIZE, run_before=before)


def test_answers_to_an_earlier_text_are_shown_stale_and_not_applied(note: Path, tmp_path: Path) -> None:
    from scribe.models import Answer
    from scribe.tui.state import load_note

    with ReviewStore(tmp_path / "s.sqlite3") as st:
        st.save("kp_missing", [Answer(element="guidance", value=["ct"], user="dr_x")], identity=identity(note))
        fresh = load_note(note, st, "medicare")
        assert not fresh.stale and fresh.done is not None and fresh.done.elements.guidance.value == ["ct"]
        note.write_text(NOTE + "Addendum dictated later.\n")
        state = load_note(note, st, "medicare")
        assert state.stale
        assert state.done is not None and state.done.elements.guidance.value != ["ct"]  # not applied
        assert "guidance" in state.done.missing
        row = {name: (status, value) for name, status, value in state.rows()}["guidance"]
        assert row == ("stale", "CT (earlier text; not applied)")


def test_the_same_file_name_in_another_folder_is_another_note(tmp_path: Path) -> None:
    from scribe.models import Answer
    from scribe.tui.state import load_note

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = tmp_path / "a" / "n1.txt", tmp_path / "b" / "n1.txt"
    a.write_text(NOTE)
    b.write_text(NOTE.replace("L1", "L3"))
    with ReviewStore(tmp_path / "s.sqlite3") as st:
        st.save("n1", [Answer(element="guidance", value=["ct"], user="dr_x")], identity=identity(a))
        other = load_note(b, st, "medicare")
    assert other.clinician == [] and not other.stale and other.done is not None
    assert "guidance" in other.done.missing


def test_gold_export_with_the_real_audit_module(note: Path, tmp_path: Path) -> None:
    pytest.importorskip("scribe.audit.gold")

    async def go() -> None:
        app = make_app([note], store_path=tmp_path / "s.sqlite3", audit=True, user="coder_1")
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            checklist = app.screen.query_one(Checklist)
            checklist.highlighted = [r[0] for r in checklist.rows].index("guidance")
            await pilot.press("w", "1", "enter")
            await pilot.pause(GUARD)
            await pilot.press("g")
            await pilot.pause()

    run(go)
    gold = json.loads((tmp_path / "kp_missing.gold.json").read_text())
    assert gold["guidance"] == ["fluoroscopy"] and gold["levels"] == ["L1"]
    assert stat.S_IMODE((tmp_path / "kp_missing.gold.json").stat().st_mode) == 0o600


def test_payer_question_abn_is_asked_and_adds_its_modifier(tmp_path: Path) -> None:
    path = tmp_path / "hemangioma.txt"
    path.write_text("PROCEDURE: Vertebroplasty T8 under fluoroscopic guidance. PMMA injected.\n"
                    "HISTORY: Pain despite 8 weeks of bracing and analgesics.\n"
                    "Indication: aggressive vertebral hemangioma.\n")

    async def go() -> None:
        app = make_app([path], store_path=tmp_path / "s.sqlite3")
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            assert rows(app)["abn_on_file"] == ("missing", "-")
            await pilot.press("a")
            assert isinstance(app.screen, PromptScreen) and app.screen.prompt.element == "abn_on_file"
            assert "payment" not in app.screen.prompt.question.lower()
            await pilot.press("y", "e", "s", "enter")
            await pilot.pause()
            assert rows(app)["abn_on_file"] == ("answered", "yes")
            assert "22510 ×1 -GA" in codes_text(app)

    run(go)
