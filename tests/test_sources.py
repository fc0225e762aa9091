"""FHIR R4 (DocumentReference, Bundle, Bulk NDJSON) and HL7 v2 (MDM, ORU) inputs: scribe.sources.

The FHIR and HL7 forms of sample_02 (tests/fixtures, built by tests/fixtures/make_fixtures.py) must give
the very extraction its .txt gives, evidence offsets included; every hostile variant is one error naming
the file and the entry, and the other entries go on.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.make_fixtures import b64, bundle, docref, hl7_escape, mdm_message, oru_message
from tui_support import wait_loaded
from typer.testing import CliRunner

from scribe.api import extract_note
from scribe.batch import check_paths, list_note_paths
from scribe.cli import app
from scribe.models import Extraction, ReadError
from scribe.notes import Note, NoteError, read_note
from scribe.sources import EntryError, iter_notes, kind_of, source_file
from scribe.sources.text import html_to_text

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
SAMPLE = ROOT / "sample_notes"
TXT = SAMPLE / "sample_02_kp_asr.txt"
runner = CliRunner()


def notes_of(*paths: Path | str, max_bytes: int = 1_000_000) -> tuple[list[Note], list[NoteError]]:
    good: list[Note] = []
    bad: list[NoteError] = []
    for n in iter_notes(paths, max_bytes=max_bytes):
        (bad if isinstance(n, NoteError) else good).append(n)
    return good, bad


def same_result(a: Extraction, b: Extraction) -> bool:
    """The extraction without the keys that name where the note came from (and the candidate mentions,
    which batch checks skip)."""
    skip = {"note_id", "source", "mentions"}
    return a.model_dump(mode="json", exclude=skip) == b.model_dump(mode="json", exclude=skip)


@pytest.fixture(scope="module")
def plain() -> Extraction:
    return extract_note(read_note(TXT))


@pytest.fixture(scope="module")
def kp_text() -> str:
    return read_note(TXT).text


# --- equality with the plain text ----------------------------------------------------------


@pytest.mark.parametrize(("path", "note_id"), [
    ("fhir/sample-02-kp-asr.json", "sample-02-kp-asr"),  # DocumentReference, base64 text/plain
    ("hl7/sample-02-kp-asr.hl7", "DOC-02"),  # MDM^T02, one OBX FT with \.br\ line breaks
])
def test_single_note_forms_equal_the_plain_text(path: str, note_id: str, plain: Extraction, kp_text: str) -> None:
    [note], errors = notes_of(FIX / path)
    assert errors == []
    assert note.note_id == note_id and note.source == str(FIX / path)
    assert note.text == kp_text
    ex = extract_note(note)
    assert same_result(ex, plain)
    assert ex.codes and all(e.text == kp_text[e.start:e.end] for c in ex.codes for e in c.evidence)


def test_every_good_entry_of_the_multi_note_files_equals_the_plain_text(plain: Extraction, kp_text: str) -> None:
    good, _ = notes_of(FIX / "fhir" / "bundle.json", FIX / "fhir" / "bulk.ndjson", FIX / "hl7" / "feed.hl7")
    by_id = {n.note_id: n for n in good}
    # Bundle (data and relative url), NDJSON (with and without context.period), MDM (TX lines), ORU (repeats)
    for note_id in ("bundle-ok", "bundle-url", "bulk-1", "bulk-4", "DOC-A", "ORD-B", "DOC-D"):
        note = by_id[note_id]
        assert note.text == kp_text, note_id
        assert same_result(extract_note(note), plain), note_id
    assert by_id["bulk-1"].source.endswith("bulk.ndjson#line=1")
    assert by_id["ORD-B"].source.endswith("feed.hl7#message=2")


def test_hostile_entries_are_one_error_each_and_the_others_go_on() -> None:
    good, bad = notes_of(FIX / "fhir" / "bundle.json", FIX / "fhir" / "bulk.ndjson", FIX / "hl7" / "feed.hl7")
    messages = [str(e) for e in bad]
    bundle_path, bulk, feed = (str(FIX / p) for p in ("fhir/bundle.json", "fhir/bulk.ndjson", "hl7/feed.hl7"))
    assert messages == [
        f"{bundle_path}: entry 4: content[0].attachment.data is not valid base64",
        f"{bundle_path}: entry 5: no content (missing attachment)",
        f"{bundle_path}: entry 7: RTF attachment not supported (send text/plain or text/html)",
        f"{bundle_path}: entry 8: attachment url with scheme 'https:' not read (only a relative file; scribe "
        "fetches nothing from the network)",
        f"{bulk}: line 3: content[0].attachment.data is not valid base64",
        f"{bulk}: line 4: not valid JSON (truncated or malformed line)",
        f"{feed}: message 3: no OBX text (no OBX segment of type TX, FT or ST)",
    ]
    assert all(isinstance(e, EntryError) and "\n" not in str(e) for e in bad)
    assert [n.note_id for n in good] == ["bundle-ok", "bundle-url", "bundle-html", "bulk-1", "bulk-4", "DOC-A",
                                         "ORD-B", "DOC-D"]  # the Patient resources are skipped, not errors


def test_errors_never_quote_the_note(tmp_path: Path, kp_text: str) -> None:
    secret = "Zanzibar-Quokka-7731"
    text = f"{secret} balloon kyphoplasty L1\n"
    bad = [
        json.dumps(docref("a", data=b64(text)[:-3] + "!!!")),
        json.dumps(docref("b", data=b64("{\\rtf1 " + text + "}"), content_type="text/rtf")),
        json.dumps(docref("c", text))[:-40],
        json.dumps({"resourceType": "DocumentReference", "id": "d", "status": secret, "content": []}),
    ]
    f = tmp_path / "x.ndjson"
    f.write_text("\n".join(bad) + "\n")
    h = tmp_path / "x.hl7"
    h.write_text(f"MSH|^~\\&|A|B|C|D|2025||ADT^A01|{secret}|P|2.5\rPID|1||{secret}\r")
    _, errors = notes_of(f, h)
    assert len(errors) == 5
    assert not any(secret in str(e) or "kyphoplasty" in str(e) for e in errors), [str(e) for e in errors]


# --- hostile sizes -------------------------------------------------------------------------


def test_a_2mb_attachment_is_refused_by_default_and_read_when_allowed(tmp_path: Path, kp_text: str) -> None:
    big = (kp_text + "\n") * (2_000_000 // len(kp_text) + 1)
    assert len(big.encode()) > 2_000_000
    ndjson = tmp_path / "big.ndjson"
    ndjson.write_text(json.dumps(docref("big", big)) + "\n" + json.dumps(docref("small", kp_text)) + "\n")
    single = tmp_path / "big.json"
    single.write_text(json.dumps(bundle(docref("big", big), docref("small", kp_text))))
    good, bad = notes_of(ndjson, single)
    assert [n.note_id for n in good] == ["small", "small"]
    assert [str(e) for e in bad] == [
        f"{ndjson}: line 1: line too long (over 2065536 bytes)",
        f"{single}: entry 1: content[0].attachment too large (about {len(b64(big)) * 3 // 4} bytes; limit 1000000)",
    ]
    good, bad = notes_of(ndjson, single, max_bytes=3_000_000)
    assert bad == [] and [len(n.text) for n in good] == [len(big), len(kp_text)] * 2


def test_hl7_hostile_messages(tmp_path: Path, kp_text: str) -> None:
    f = tmp_path / "odd.hl7"
    msgs = [
        mdm_message("OK-1", kp_text),
        mdm_message("NO-OBX", kp_text, obx=False),
        "MSH|^~\\&|A|B|C|D|2025||ADT^A01|X|P|2.5\rPID|1\r",  # not a document message
        mdm_message("BIG-SP", "line one\\.sp999999999\\line two".replace("\\", "\x00"), formatted=True)
        .replace("\x00", "\\"),
    ]
    # MLLP framing and LF line ends, as some interfaces write them
    f.write_bytes(("\x0b" + "\x1c\r\n\x0b".join(m.replace("\r", "\n") for m in msgs) + "\x1c\r\n").encode())
    good, bad = notes_of(f)
    assert [n.note_id for n in good] == ["OK-1", "BIG-SP"]
    assert good[0].text == kp_text
    assert good[1].text.count("\n") < 200  # the repeat count is capped, not expanded a billion times
    assert [str(e) for e in bad] == [
        f"{f}: message 2: no OBX text (no OBX segment of type TX, FT or ST)",
        f"{f}: message 3: MSH-9 is 'ADT^A01', not MDM^T02/T04/T06 or ORU^R01",
    ]


def test_hl7_escapes_and_dates(tmp_path: Path) -> None:
    text = "Pipe | caret ^ tilde ~ amp & back \\ done\nDate of Service: none here\nkyphoplasty L1"
    f = tmp_path / "esc.hl7"
    f.write_text(mdm_message("D/1", text, activity="20250301"))
    [note], _ = notes_of(f)
    assert note.text == text
    assert note.note_id == "D_1"  # TXA-12 made safe as a file name stem (addenda are named after it)
    assert str(note.date_of_service) == "2025-03-01"  # TXA-4: the text has no date of its own
    o = tmp_path / "oru.hl7"
    o.write_text(oru_message("ORD 9", "a\nb", observed="20241231"))
    [note], _ = notes_of(o)
    assert (note.note_id, note.text, str(note.date_of_service)) == ("ORD_9", "a\nb", "2024-12-31")
    assert hl7_escape("a|b") == "a\\F\\b"


def test_fhir_dates_ids_and_html(tmp_path: Path) -> None:
    f = tmp_path / "d.json"
    f.write_text(json.dumps(docref("n1", "kyphoplasty L1\n", start="2025-02-03")))
    [note], _ = notes_of(f)
    assert str(note.date_of_service) == "2025-02-03"  # context.period.start
    raw = docref("n2", "x\n", start=None)
    raw.pop("id")
    raw["identifier"] = [{"system": "urn:x", "value": "ACC/77"}]
    f.write_text(json.dumps(raw))
    [note], _ = notes_of(f)
    assert (note.note_id, str(note.date_of_service)) == ("ACC_77", "2025-06-04")  # identifier, then date
    html = ("<html><head><style>p{}</style><script>var a=1</script></head><body><h1>PROCEDURE</h1>"
            "<p>Balloon   kyphoplasty at&nbsp;L1 &amp; L2.</p><ul><li>Fluoroscopy</li></ul><br/>Done</body></html>")
    assert html_to_text(html) == "PROCEDURE\nBalloon kyphoplasty at\xa0L1 & L2.\nFluoroscopy\nDone\n"


def test_attachment_urls_stay_in_the_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "n.txt").write_text("kyphoplasty L1\n")
    (tmp_path / "outside.txt").write_text("kyphoplasty L2\n")
    f = tmp_path / "sub" / "b.json"
    f.write_text(json.dumps(bundle(
        docref("ok", url="n.txt"), docref("up", url="../outside.txt"), docref("abs", url=str(tmp_path / "outside.txt")),
        docref("file", url="file:///etc/passwd"), docref("gone", url="missing.txt"),
    )))
    good, bad = notes_of(f)
    assert [n.note_id for n in good] == ["ok"] and good[0].text == "kyphoplasty L1\n"
    assert [str(e).split(": ", 2)[2] for e in bad] == [
        "attachment url leads out of the resource's folder",
        "attachment url is not a relative file path",
        "attachment url with scheme 'file:' not read (only a relative file; scribe fetches nothing from the network)",
        "attachment: file not found",
    ]


def test_whole_file_problems(tmp_path: Path) -> None:
    cases = {
        "empty.json": b"",
        "array.json": b"[1, 2]",
        "patient.json": b'{"resourceType": "Patient"}',
        "broken.json": b'{"resourceType": "Bundle", "entry": [',
        "nomsh.hl7": b"PID|1||x\r",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    _, bad = notes_of(*(tmp_path / n for n in cases))
    assert [str(e).removeprefix(str(tmp_path) + "/") for e in bad] == [
        "empty.json: empty file",
        "array.json: not a FHIR resource (the JSON is not an object)",
        "patient.json: resourceType 'Patient': expected DocumentReference or Bundle",
        "broken.json: not valid JSON (line 1, column 38)",
        "nomsh.hl7: no HL7 v2 message (no MSH segment)",
    ]


# --- detection and folders -----------------------------------------------------------------


def test_kind_by_extension_or_content(tmp_path: Path, kp_text: str) -> None:
    a = tmp_path / "a.txt"
    a.write_text(mdm_message("X1", kp_text))
    b = tmp_path / "b.dat"
    b.write_text(json.dumps(docref("x2", kp_text)))
    c = tmp_path / "c.export"
    c.write_text(json.dumps(docref("x3", kp_text)) + "\n" + json.dumps(docref("x4", kp_text)) + "\n")
    # c's first line is longer than the bytes sniffed: it is read as JSON, whose "extra data" makes it NDJSON
    assert [kind_of(p) for p in (a, b, c, TXT)] == ["hl7", "fhir", "fhir", "text"]
    good, bad = notes_of(a, b, c)
    assert bad == [] and [n.note_id for n in good] == ["X1", "x2", "x3", "x4"]


def test_folder_expansion_keeps_gold_and_other_json_out(tmp_path: Path) -> None:
    for name in ("n.txt", "n.gold.json", "claims.json", "d.json", "e.ndjson", "f.hl7", "README.md"):
        (tmp_path / name).write_text("x")
    (tmp_path / "d.json").write_text('{"resourceType": "DocumentReference"}')
    (tmp_path / "claims.json").write_text('[{"code": "22513"}]')
    assert [p.name for p in list_note_paths([tmp_path])] == ["d.json", "e.ndjson", "f.hl7", "n.txt"]
    assert {p.name for p in list_note_paths([SAMPLE])} >= {"sample_22_fhir_docref.json",
                                                         "sample_23_fhir_bulk.ndjson", "sample_24_hl7_mdm.hl7"}


# --- no network ----------------------------------------------------------------------------


def test_no_socket_is_opened_while_reading_any_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    opened: list[tuple] = []

    class NoSocket(socket.socket):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            opened.append(args)
            raise OSError("scribe must not open a socket while reading notes")

    monkeypatch.setattr(socket, "socket", NoSocket)
    remote = tmp_path / "remote.json"
    remote.write_text(json.dumps(bundle(
        docref("r1", url="https://ehr.example.org/Binary/1"), docref("r2", url="http://127.0.0.1:9/x"),
        docref("r3", url="//ehr.example.org/x"), docref("r4", url="ftp://ehr.example.org/x"),
    )))
    inputs = [FIX / "fhir", FIX / "hl7", SAMPLE, remote]
    good, bad = notes_of(*inputs)
    assert len(good) >= 30 and len(bad) >= 11
    for note in good[:3] + good[-3:]:
        extract_note(note)
    assert opened == []


# --- every command reads them --------------------------------------------------------------


def test_check_jobs_2_gives_the_same_results_in_order(plain: Extraction) -> None:
    inputs = [FIX / "fhir", FIX / "hl7"]
    one = list(check_paths(inputs, jobs=1))
    two = list(check_paths(inputs, jobs=2))
    assert [r.model_dump(mode="json") for r in one] == [r.model_dump(mode="json") for r in two]
    errors = [r for r in two if isinstance(r, ReadError)]
    assert [(e.note_id, Path(e.source).name) for e in errors] == [
        ("bulk-3", "bulk.ndjson#line=3"), ("bulk-4", "bulk.ndjson#line=4"), ("bundle-4", "bundle.json#entry=4"),
        ("bundle-5", "bundle.json#entry=5"), ("bundle-7", "bundle.json#entry=7"),
        ("bundle-8", "bundle.json#entry=8"), ("feed-3", "feed.hl7#message=3"),
    ]
    oks = [r for r in two if isinstance(r, Extraction) and r.note_id != "bundle-html"]
    assert len(oks) == 9 and all(same_result(r, plain) for r in oks)


def test_cli_commands_read_fhir_and_hl7() -> None:
    res = runner.invoke(app, ["extract", str(FIX / "hl7" / "feed.hl7")])
    assert res.exit_code == 2
    assert [json.loads(x)["note_id"] for x in res.stdout.splitlines()] == ["DOC-A", "ORD-B", "DOC-D"]
    assert res.stderr.strip() == f"scribe extract: {FIX / 'hl7' / 'feed.hl7'}: message 3: no OBX text (no OBX " \
                                 "segment of type TX, FT or ST)"
    res = runner.invoke(app, ["codes", str(SAMPLE / "sample_24_hl7_mdm.hl7"), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["note_id"] == "SAMPLE-24-HL7-MDM"
    res = runner.invoke(app, ["codes", str(SAMPLE / "sample_23_fhir_bulk.ndjson")])
    assert res.exit_code == 2 and "holds several notes" in res.stderr
    res = runner.invoke(app, ["audit", str(FIX / "fhir" / "bulk.ndjson"), "--format", "jsonl"])
    assert res.exit_code == 2
    assert sorted(json.loads(x)["note_id"] for x in res.stdout.splitlines()) == ["bulk-1", "bulk-4"]
    assert "line 4: not valid JSON" in res.stderr


def test_review_state_of_a_note_from_a_multi_note_file(kp_text: str) -> None:
    from scribe.tui.state import read_and_extract

    good, bad = notes_of(FIX / "hl7" / "feed.hl7")
    state = read_and_extract(good[1], "medicare")
    assert state.extraction is not None and state.note_id == "ORD-B" and state.text == kp_text
    assert state.path == FIX / "hl7" / "ORD-B"  # store, addendum and gold file beside the HL7 file
    assert source_file(good[1]) == FIX / "hl7" / "feed.hl7"
    err = read_and_extract(bad[0], "medicare")
    assert err.extraction is None and "message 3" in err.error


def test_make_run_summary_counts_the_structured_examples() -> None:
    proc = subprocess.run([sys.executable, "-m", "scribe.cli", "check", str(SAMPLE), "--format", "table"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "25 notes: 25 read, 21 complete, 4 needing prompts, 0 unreadable" in proc.stdout


@pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning")
def test_malformed_hl7_escapes_never_reach_the_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = "Zanzibar-Quokka-7731"
    f = tmp_path / "esc.hl7"
    f.write_text(mdm_message("E1", "x", formatted=True).replace(
        "||x||", f"||{secret} \\Xzz\\ \\C2842\\ \\M1\\ \\\\ kyphoplasty L1||"))
    with caplog.at_level("DEBUG"):
        [note], bad = notes_of(f)
    assert bad == [] and secret in note.text
    assert not any(secret in r.getMessage() or secret in str(r.args) for r in caplog.records)


def test_review_app_queues_the_notes_of_an_hl7_feed(tmp_path: Path) -> None:
    import asyncio

    pytest.importorskip("textual")
    from scribe.sources import iter_items
    from scribe.tui.app import ReviewApp

    feed = tmp_path / "feed.hl7"
    shutil.copyfile(FIX / "hl7" / "feed.hl7", feed)
    items = [Path(i) if isinstance(i, str) else i for i in iter_items([feed])]
    app = ReviewApp(items, user="dr_test", store_path=tmp_path / "answers.sqlite3")

    async def go() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_loaded(pilot)
            assert app.loaded
            assert [s.note_id for s in app.states] == ["DOC-A", "DOC-D", "ORD-B", "feed-3"]  # errors last
            assert app.states[-1].error.endswith("message 3: no OBX text (no OBX segment of type TX, FT or ST)")
            assert {s.path for s in app.states[:3]} == {tmp_path / "DOC-A", tmp_path / "DOC-D", tmp_path / "ORD-B"}

    asyncio.run(go())


def test_attachment_charset_and_unsupported_types(tmp_path: Path) -> None:
    text = "Vertébroplastie L1 - cément\n"
    f = tmp_path / "c.json"
    f.write_text(json.dumps(bundle(
        docref("latin", data=b64(text.encode("latin-1")), content_type="text/plain; charset=ISO-8859-1"),
        docref("pdf", data=b64(b"%PDF-1.4"), content_type="application/pdf"),
        docref("odd", data=b64(b"x"), content_type="text/plain; charset=no-such-charset"),
    )))
    good, bad = notes_of(f)
    assert [(n.note_id, n.text) for n in good] == [("latin", text)]
    assert [str(e).split(": ", 2)[2] for e in bad] == [
        "unsupported attachment type 'application/pdf' (text/plain or text/html)",
        "unknown charset 'no-such-charset'",
    ]


# ------------------------------------------------------------------ identity and answers (issue 16) for FHIR / HL7


def test_a_structured_input_gives_its_document_id_to_the_note_identity(tmp_path: Path, kp_text: str) -> None:
    from scribe.identity import find_source_id, identity_of

    hl7 = tmp_path / "m.hl7"
    hl7.write_text(mdm_message("DOC-9", kp_text) + mdm_message("DOC-9", kp_text, event="T04", control="MSG0002"))
    fhir = tmp_path / "b.json"
    fhir.write_text(json.dumps(bundle(docref("doc-9", kp_text), docref("doc-10", kp_text))))
    (t02, t04), bad = notes_of(hl7)
    (f9, f10), bad2 = notes_of(fhir)
    assert bad == bad2 == []
    ids = [identity_of(n) for n in (t02, t04, f9, f10)]
    assert all(i.sha256 == ids[0].sha256 for i in ids)  # one text
    # an edit (T04) of the same document keeps its id (TXA-12, not the message's MSH-10); two resources differ
    assert ids[0].source_id == ids[1].source_id and ids[0].source_id.startswith("hl7:")
    assert ids[2].source_id != ids[3].source_id and ids[2].source_id.startswith("fhir:")
    assert "DOC-9" not in ids[0].source_id and "doc-9" not in ids[2].source_id  # hashed like the MRN
    assert identity_of(read_note(TXT)).source_id == find_source_id(kp_text)  # plain text: as before
    assert identity_of(f9, source_id="given").source_id == "given"


def test_answers_saved_for_a_fhir_note_follow_its_document_id(tmp_path: Path) -> None:
    """check / codes / audit --with-answers find the answers the review app saved for a note of a FHIR file
    (store beside the file, matched by text hash + DocumentReference id); a new text of the same document
    makes them stale; another document with the same words never gets them."""
    from scribe.identity import identity_of
    from scribe.models import Answer
    from scribe.store import ReviewStore, default_store_path

    text = (SAMPLE / "sample_12_missing_guidance.txt").read_text(encoding="utf-8")
    day = tmp_path / "day"
    day.mkdir()
    f = day / "dr.json"
    f.write_text(json.dumps(docref("op-12", text)))
    [note], _ = notes_of(f)
    with ReviewStore(default_store_path(f)) as st:
        st.save(note.note_id, [Answer(element="guidance", value=["fluoroscopy"], user="dr_fhir")],
                identity=identity_of(note))

    res = runner.invoke(app, ["check", str(day), "--with-answers", "--format", "csv"])
    assert res.exit_code == 0, res.output
    row = res.stdout.splitlines()[1]
    assert row.startswith("op-12,") and "guidance=answer (dr_fhir" in row
    res = runner.invoke(app, ["codes", str(f), "--with-answers", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["provenance"]["guidance"]["user"] == "dr_fhir"
    res = runner.invoke(app, ["audit", str(day), "--with-answers", "--format", "jsonl"])
    assert json.loads(res.stdout.splitlines()[0])["provenance"]["guidance"]["user"] == "dr_fhir"

    other = tmp_path / "other"  # the same words under another document id, its own store copied in
    other.mkdir()
    (other / "dr.json").write_text(json.dumps(docref("op-13", text)))
    shutil.copytree(day / ".scribe", other / ".scribe")
    res = runner.invoke(app, ["check", str(other), "--with-answers", "--format", "csv"])
    assert res.exit_code == 1 and ",guidance," in res.stdout.splitlines()[1]
    assert "stale" not in res.stderr

    f.write_text(json.dumps(docref("op-12", text + "\nSigned electronically.\n")))  # a new text of op-12
    res = runner.invoke(app, ["check", str(day), "--with-answers", "--format", "jsonl"])
    assert res.exit_code == 1
    got = json.loads(res.stdout)
    assert "guidance" in got["missing"] and "stale_answers" in [x["id"] for x in got["flags"]]
    assert "given for an earlier version of this note (guidance)" in res.stderr


# ------------------------------------------------------------------ CPU budget (issue 17) for notes of FHIR / HL7 files

_DENSE = "Kyphoplasty at T12 and L1 with balloon, cement injected under fluoroscopy for 6 weeks, biopsy of T12 "


@pytest.mark.skipif(os.name != "posix", reason="CPU timers")
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_slow_entry_of_a_bulk_file_is_one_timeout_and_the_others_go_on(tmp_path: Path, kp_text: str,
                                                                          jobs: int) -> None:
    """The batch knows a note of a multi-note file by FILE#line=N: a worker that ran past the budget on it
    names that, and the note is reported (under its own id) while the other entries are checked."""
    slow = (_DENSE * (1_000_000 // len(_DENSE) + 1))[:1_000_000]
    f = tmp_path / "bulk.ndjson"
    f.write_text("".join(json.dumps(docref(f"d{i}", slow if i == 3 else kp_text)) + "\n" for i in range(1, 6)))
    results = list(check_paths([f], jobs=jobs, max_bytes=2_000_000, timeout=0.5))
    assert [r.note_id for r in results] == ["d1", "d2", "d3", "d4", "d5"]
    assert [type(r) for r in results] == [Extraction, Extraction, ReadError, Extraction, Extraction]
    assert results[2].error == f"{f}#line=3: took longer than 0.5 s; not checked"  # type: ignore[union-attr]
    assert results[2].source == f"{f}#line=3"
