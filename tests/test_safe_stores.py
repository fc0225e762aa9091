"""Safe stores (issue 17): no planted symbolic link is followed, the store's folder must be the user's, an
attestation and its addendum are one transaction, and two reviewers on one note are coordinated by revisions."""

from __future__ import annotations

import asyncio
import errno
import grp
import json
import os
import sqlite3
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
from tui_support import record_notifications, wait_loaded
from typer.testing import CliRunner

from scribe.cli import app as cli_app
from scribe.identity import identity_of
from scribe.models import Answer
from scribe.notes import read_note
from scribe.store import (
    SHARED_GROUP_ENV,
    ReviewStore,
    Superseded,
    UnsafeStore,
    addendum_path,
    current_addendum,
    default_store_path,
    read_answers,
    write_addendum,
)
from scribe.tui.state import load_note

POSIX = os.name == "posix"
ROOT_USER = POSIX and os.geteuid() == 0
NOTE = (
    "Patient: Jane Doe  MRN: 000111\nDate of Service: 03/11/2026\n"
    "PROCEDURE: Kyphoplasty L1. Balloon tamp inflated creating a cavity, PMMA injected.\n"
    "HISTORY: Pain 7/10 despite 8 weeks of bracing and analgesics. MRI shows marrow edema at L1.\n"
    "Indication: osteoporotic compression fracture; worsening pain; DEXA ordered.\n"
)  # misses only its guidance


def _note(folder: Path, name: str = "n1.txt") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    note = folder / name
    note.write_text(NOTE)
    return note


def _answer(element: str, value: Any, user: str) -> Answer:
    return Answer(element=element, value=value, user=user)


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# ------------------------------------------------------------------ planted links
def test_a_planted_symlink_store_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    victim_dir = tmp_path / "other"
    victim_dir.mkdir()
    victim = victim_dir / "theirs.sqlite3"
    victim.write_bytes(b"")
    victim.chmod(0o666)
    notes = tmp_path / "notes"
    note = _note(notes)
    store = default_store_path(note)
    store.parent.mkdir(mode=0o700)
    store.symlink_to(victim)
    with pytest.raises(UnsafeStore) as err:
        ReviewStore(store)
    assert str(err.value) == f"{store}: is a symbolic link; refused"
    with pytest.raises(UnsafeStore):
        read_answers(store, identity_of(read_note(note)))
    assert victim.read_bytes() == b""  # nothing written through the link
    assert _files(victim_dir) == {"theirs.sqlite3"}  # no WAL or journal beside it either


def test_a_planted_symlink_wal_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "s" / "reviews.sqlite3"
    store.parent.mkdir(mode=0o700)
    victim = tmp_path / "theirs"
    victim.write_bytes(b"")
    Path(str(store) + "-wal").symlink_to(victim)
    with pytest.raises(UnsafeStore, match="-wal: is a symbolic link"):
        ReviewStore(store)
    assert victim.read_bytes() == b""


def test_a_planted_symlink_addendum_is_refused(tmp_path: Path) -> None:
    note = _note(tmp_path / "notes")
    victim = tmp_path / "theirs.txt"
    victim.write_text("their file\n")
    addendum_path(note).symlink_to(victim)
    with pytest.raises(UnsafeStore, match="is a symbolic link; refused"):
        write_addendum(note, "Addendum.\n")
    with pytest.raises(UnsafeStore):
        current_addendum(note)
    assert victim.read_text() == "their file\n"


# ------------------------------------------------------------------ the store's folder
@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
@pytest.mark.parametrize("mode, problem", [(0o777, "is writable by others"), (0o1777, "is writable by others"),
                                           (0o770, "is writable by its group")])
def test_a_folder_others_may_write_is_refused(tmp_path: Path, mode: int, problem: str) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(mode)
    store = folder / "reviews.sqlite3"
    with pytest.raises(UnsafeStore) as err:
        ReviewStore(store)
    assert str(err.value).startswith(f"{folder}: {problem}") and "\n" not in str(err.value)
    assert _files(folder) == set()  # nothing created
    note = _note(folder)
    with pytest.raises(UnsafeStore, match=problem):
        write_addendum(note, "Addendum.\n")
    assert _files(folder) == {"n1.txt"}


@pytest.mark.skipif(not POSIX, reason="POSIX groups")
def test_a_configured_group_may_share_a_group_writable_folder(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o770)
    group = grp.getgrgid(folder.stat().st_gid).gr_name
    monkeypatch.setenv(SHARED_GROUP_ENV, group)
    with ReviewStore(folder / "reviews.sqlite3") as st:
        st.save("n1", [_answer("levels", ["L1"], "dr_a")])
    assert stat.S_IMODE((folder / "reviews.sqlite3").stat().st_mode) == 0o660
    monkeypatch.setenv(SHARED_GROUP_ENV, "no-such-group-scribe")
    with pytest.raises(UnsafeStore, match="names no group"):
        ReviewStore(folder / "reviews.sqlite3")


@pytest.mark.skipif(not ROOT_USER, reason="chown to another user needs root")
def test_a_folder_or_store_of_another_user_is_refused(tmp_path: Path) -> None:
    import pwd

    nobody = pwd.getpwnam("nobody")
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o755)
    os.chown(folder, nobody.pw_uid, nobody.pw_gid)
    with pytest.raises(UnsafeStore, match="belongs to another user; refused"):
        ReviewStore(folder / "reviews.sqlite3")
    assert _files(folder) == set()
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    planted = mine / "reviews.sqlite3"
    planted.write_bytes(b"")
    os.chown(planted, nobody.pw_uid, nobody.pw_gid)
    with pytest.raises(UnsafeStore, match=r"reviews\.sqlite3: belongs to another user; refused"):
        ReviewStore(planted)
    assert planted.read_bytes() == b""


def test_a_new_store_is_owner_only(tmp_path: Path) -> None:
    store = tmp_path / "notes" / ".scribe" / "reviews.sqlite3"
    with ReviewStore(store) as st:
        st.save("n1", [_answer("levels", ["L1"], "dr_a")])
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700


# ------------------------------------------------------------------ attestation and addendum together
def _state(note: Path, st: ReviewStore, user: str, guidance: str) -> Any:
    state = load_note(note, st, "medicare")
    st.save(state.note_id, [_answer("guidance", [guidance], user)], identity=state.identity,
            seen_revision=state.revision)
    return load_note(note, st, "medicare")


def test_a_name_too_long_leaves_no_attestation_row_and_no_file(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    note = _note(folder, "k" * 246 + ".txt")  # 250 characters: its addendum's name is over the limit
    with ReviewStore(tmp_path / "s.sqlite3") as st:
        state = _state(note, st, "dr_a", "fluoroscopy")
        with pytest.raises(OSError) as err:
            st.attest_note(note, state.note_id, "dr_a", state.addendum(), identity=state.identity,
                           seen_revision=state.revision)
        assert err.value.errno == errno.ENAMETOOLONG
        assert st.attestations(state.note_id) == []
        assert st.revision(state.identity) == state.revision
    assert _files(folder) == {note.name}


def test_a_read_only_folder_leaves_no_attestation_row_and_no_file(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "notes"
    note = _note(folder)
    with ReviewStore(tmp_path / "s.sqlite3") as st:
        state = _state(note, st, "dr_a", "fluoroscopy")
        if ROOT_USER:  # root writes anywhere: the folder refuses the temp file as a read-only mount would
            def refuse(*a: object, **k: object) -> Any:
                raise OSError(errno.EROFS, os.strerror(errno.EROFS))

            monkeypatch.setattr(tempfile, "mkstemp", refuse)
        else:
            folder.chmod(0o500)
        try:
            with pytest.raises(OSError):
                st.attest_note(note, state.note_id, "dr_a", state.addendum(), identity=state.identity,
                               seen_revision=state.revision)
        finally:
            folder.chmod(0o700)
        assert st.attestations(state.note_id) == []
    assert _files(folder) == {note.name}


def test_a_failed_commit_leaves_no_addendum_file(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    note = _note(folder)
    with ReviewStore(tmp_path / "s.sqlite3") as st:
        state = _state(note, st, "dr_a", "fluoroscopy")

        class Boom:
            def __init__(self, conn: sqlite3.Connection) -> None:
                self.conn = conn

            def execute(self, sql: str, *args: object) -> object:
                if sql == "COMMIT":
                    raise sqlite3.OperationalError("disk I/O error (simulated)")
                return self.conn.execute(sql, *args)

        real = st._conn
        st._conn = Boom(real)  # type: ignore[assignment]
        with pytest.raises(sqlite3.OperationalError):
            st.attest_note(note, state.note_id, "dr_a", state.addendum(), identity=state.identity,
                           seen_revision=state.revision)
        st._conn = real
        assert st.attestations(state.note_id) == []
    assert _files(folder) == {note.name}  # neither the addendum nor a temp file


def test_attestation_writes_the_locked_file_and_the_row_together(tmp_path: Path) -> None:
    note = _note(tmp_path / "notes")
    with ReviewStore(tmp_path / "s.sqlite3") as st:
        state = _state(note, st, "dr_a", "fluoroscopy")
        path, signed, revision = st.attest_note(note, state.note_id, "dr_a", state.addendum(),
                                                identity=state.identity, seen_revision=state.revision)
        assert revision == state.revision + 1 == st.revision(state.identity)
        rows = st.attestations(state.note_id)
    assert [r["addendum"] for r in rows] == [signed] == [path.read_text()]
    assert stat.S_IMODE(path.stat().st_mode) == 0o400


def test_a_crash_between_commit_and_rename_is_recovered_from_the_store(tmp_path: Path) -> None:
    note = _note(tmp_path / "notes")
    with ReviewStore(tmp_path / "s.sqlite3") as st:
        state = _state(note, st, "dr_a", "fluoroscopy")
        # the row is committed, the rename never happened (as if the process died in between)
        st.attest(state.note_id, "dr_a", state.addendum() + "Attested by dr_a at 2026-03-12 09:30 UTC.\n",
                  identity=state.identity, seen_revision=state.revision)
        assert current_addendum(note) is None
        again = load_note(note, st, "medicare")  # opening the note applies the recovery rule
        assert again.attested is not None and current_addendum(note) == again.attested["addendum"]
        assert stat.S_IMODE(addendum_path(note).stat().st_mode) == 0o400


# ------------------------------------------------------------------ two reviewers on one note
def test_revisions_are_recorded_and_a_superseded_attestation_is_refused(tmp_path: Path) -> None:
    note = _note(tmp_path / "notes")
    store = tmp_path / "s.sqlite3"
    with ReviewStore(store) as sa, ReviewStore(store) as sb:
        a = load_note(note, sa, "medicare")
        b = load_note(note, sb, "medicare")
        assert a.revision == b.revision == 0
        ra = sa.save(a.note_id, [_answer("guidance", ["fluoroscopy"], "dr_a")], identity=a.identity,
                     seen_revision=a.revision)
        assert ra.revision == 1 and ra.changes == []
        rb = sb.save(b.note_id, [_answer("guidance", ["ct"], "dr_b")], identity=b.identity,
                     seen_revision=b.revision)
        assert rb.revision == 2 and [c.words() for c in rb.changes] == ["dr_a answered imaging guidance: fluoroscopy"]
        rows = sa.history(a.note_id)
        assert [(r["element"], r["user"]) for r in rows] == [("guidance", "dr_a"), ("guidance", "dr_b")]
        seen = [r[0] for r in sa._conn.execute("SELECT seen_revision FROM answers ORDER BY id")]
        assert seen == [0, 0]  # each answer records the revision its reviewer saw
        a = load_note(note, sa, "medicare")
        a.revision = 1  # A's screen: A's own answer only
        a.clinician = [x for x in a.clinician if x.user == "dr_a"]
        with pytest.raises(Superseded) as err:
            sa.attest_note(note, a.note_id, "dr_a", a.addendum(), identity=a.identity, seen_revision=a.revision)
        assert "dr_b answered imaging guidance: CT" in str(err.value)
        with pytest.raises(Superseded):
            sa.write_addendum(note, a.addendum(), identity=a.identity, seen_revision=a.revision)
        assert sa.attestations(a.note_id) == [] and current_addendum(note) is None


def test_two_reviewers_in_the_review_app_a_stale_attestation_is_refused_and_everything_agrees(
        tmp_path: Path) -> None:
    """The issue's scenario: A answers fluoroscopy; B answers CT and writes the addendum; A attests -> refused,
    A's screen says what B changed and shows CT, and the store, `check --with-answers` and the addendum agree."""
    pytest.importorskip("textual")
    from scribe.tui.app import ReviewApp
    from scribe.tui.screens.confirm import ConfirmScreen
    from scribe.tui.widgets.checklist import Checklist

    note = _note(tmp_path / "notes")
    store = default_store_path(note)
    shown: list[str] = []

    def reviewer_b() -> None:  # another reviewer, another process: the same store API the review app uses
        with ReviewStore(store) as sb:
            b = load_note(note, sb, "medicare")
            sb.save(b.note_id, [_answer("guidance", ["ct"], "dr_b")], identity=b.identity, seen_revision=b.revision)
            b = load_note(note, sb, "medicare")
            sb.write_addendum(note, b.addendum(), identity=b.identity, seen_revision=b.revision)  # type: ignore[arg-type]

    async def go() -> None:
        app = ReviewApp([note], user="dr_a")
        record_notifications(app, shown)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("a")
            await pilot.press(*"fluoro", "enter")
            await pilot.pause()
            assert app.current is not None and app.current.revision == 1
            reviewer_b()
            await pilot.pause(0.35)  # past the key guard
            await pilot.press("s")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await pilot.pause()
            rows = app.screen.query_one(Checklist).rows  # type: ignore[attr-defined]
            guidance = next(r for r in rows if r[0] == "guidance")
            assert guidance[2] == "CT"  # the checklist is refreshed with B's answer
            assert app.current.attested is None and app.current.revision == 2

    asyncio.run(go())
    refused = [m for m in shown if m.startswith("Not attested")]
    assert len(refused) == 1 and "dr_b answered imaging guidance: CT" in refused[0] and "\n" not in refused[0]
    with ReviewStore(store) as st:
        assert st.attestations("n1") == []
        assert [a.value for a in st.answers_for("n1")][-1] == ["ct"]
    result = CliRunner().invoke(cli_app, ["check", str(note), "--with-answers", "--format", "jsonl"])
    assert json.loads(result.stdout)["elements"]["guidance"]["value"] == ["ct"]
    text = current_addendum(note)
    assert text is not None and "Imaging guidance was CT." in text and "fluoroscopy" not in text
    assert "Attested" not in text


def test_review_app_says_in_one_line_why_an_attestation_failed_and_records_nothing(tmp_path: Path) -> None:
    pytest.importorskip("textual")
    from scribe.tui.app import ReviewApp

    note = _note(tmp_path / "notes", "k" * 246 + ".txt")
    store = tmp_path / "s.sqlite3"
    shown: list[str] = []

    async def go() -> None:
        app = ReviewApp([note], user="dr_a", store_path=store)
        record_notifications(app, shown)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("a")
            await pilot.press(*"fluoro", "enter")
            await pilot.pause(0.35)
            await pilot.press("s")
            await pilot.pause()
            await pilot.press("y")
            await pilot.pause()
            assert app.current is not None and app.current.attested is None

    asyncio.run(go())
    assert "Not attested: File name too long" in shown
    with ReviewStore(store) as st:
        assert st.attestations(note.stem) == [] and len(st.answers_for(note.stem)) == 1
    assert _files(note.parent) == {note.name}


def test_check_with_answers_reports_a_planted_store_in_one_line(tmp_path: Path) -> None:
    note = _note(tmp_path / "notes")
    store = default_store_path(note)
    store.parent.mkdir(mode=0o700)
    victim = tmp_path / "theirs.sqlite3"
    victim.write_bytes(b"")
    store.symlink_to(victim)
    result = CliRunner().invoke(cli_app, ["check", str(note), "--with-answers", "--format", "jsonl"])
    assert result.stderr == (f"scribe check: {note}: cannot read its saved answers "
                             f"({store}: is a symbolic link; refused)\n")
    assert "Traceback" not in result.output and victim.read_bytes() == b""


def test_attesting_over_an_attested_addendum_keeps_the_old_version(tmp_path: Path) -> None:
    note = _note(tmp_path / "notes")
    with ReviewStore(tmp_path / "s.sqlite3") as st:
        state = _state(note, st, "dr_a", "fluoroscopy")
        _, first, _ = st.attest_note(note, state.note_id, "dr_a", state.addendum(), identity=state.identity,
                                     seen_revision=state.revision)
        state = _state(note, st, "dr_a", "ct")  # no addendum written in between: the locked one is still there
        path, second, _ = st.attest_note(note, state.note_id, "dr_a", state.addendum(), identity=state.identity,
                                         seen_revision=state.revision)
    assert path.read_text() == second and "CT" in second
    assert (note.parent / "n1.v1.addendum.txt").read_text() == first


def test_an_answer_saved_after_another_reviewers_shows_it_and_reloads(tmp_path: Path) -> None:
    pytest.importorskip("textual")
    from scribe.tui.app import ReviewApp

    note = _note(tmp_path / "notes")
    store = default_store_path(note)
    shown: list[str] = []

    async def go() -> None:
        app = ReviewApp([note], user="dr_a")
        record_notifications(app, shown)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_loaded(pilot)
            with ReviewStore(store) as sb:  # B answers while A's screen is open at revision 0
                b = load_note(note, sb, "medicare")
                sb.save(b.note_id, [_answer("guidance", ["ct"], "dr_b")], identity=b.identity,
                        seen_revision=b.revision)
            await pilot.press("a")
            await pilot.press(*"fluoro", "enter")
            await pilot.pause()
            state = app.current
            assert state is not None and state.revision == 2
            assert [a.user for a in state.clinician] == ["dr_b", "dr_a"]  # reloaded from the store

    asyncio.run(go())
    assert "Saved. Meanwhile dr_b answered imaging guidance: CT." in shown
