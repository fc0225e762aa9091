"""Fuzz ``scribe check --jobs 2`` and the Python API with hostile notes and hostile file names.

Our own generator (seeded, so a run can be repeated) writes N files (default 20,000) of these kinds: random
bytes; random code points; the hostile shapes of ``benchmarks/pathological.py`` at random sizes (a few up to
the 1 MB limit); a soup of procedure words, levels, negations and spoken forms; UTF-16 and UTF-32 with a
byte-order mark; files mixing UTF-8 and cp1252 lines; a NUL at a random place; markup, CSV formulas and
terminal escapes in the text; line-ending and bracket storms; real sample notes with random edits. One
file in five has a hostile name (Rich markup, an OSC 8 link, an ESC sequence, CR, a formula, fullwidth
forms, a bidi override).

It reports:

- crashes: a traceback on stderr, an exit code other than 0/1/2, an ``internal error`` for a note (an
  exception inside the pipeline), an error line that is not one line naming its file, a raw ESC on stderr,
  and, for the API, any exception other than ``NoteError``;
- lost notes: notes missing from the output, or out of order;
- the maximum resident set size of the CLI run (parent and workers) and of this process (the API run).

Run::

    .venv/bin/python benchmarks/fuzz.py            # 20,000 files through the CLI, every 4th also through the API
    .venv/bin/python benchmarks/fuzz.py 2000 --api-every 1
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from pathological import SHAPES, scaled  # noqa: E402

WORDS = ["kyphoplasty", "vertebroplasty", "sacroplasty", "balloon", "tamp", "cement", "PMMA", "biopsy", "core",
         "fluoroscopy", "CT", "guidance", "weeks", "months", "bracing", "NSAIDs", "no", "not", "denies", "without",
         "history of", "prior", "planned", "will", "aborted", "L1", "T12", "S1", "L5-S1", "T11-L2", "tee twelve",
         "el one", "sorry", "correction", "DOS", "Date of Service:", "PROCEDURE:", "INDICATION:", "TECHNIQUE:",
         "PLAN:", "period", "new paragraph", ":", ";", ",", ".", "(", ")", "[", "]", "\u200b", "\ufeff", "\u202e",
         "\u00a0", "osteoporotic", "fracture", "myeloma", "metastasis", "22513", "22514", "x2", "-59", "1/2/2025"]
HOSTILE_TEXT = ["=cmd|' /C calc'!A0", "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\uff1d1+1", ";=1", "[bold]x[/bold]",
                "[link=javascript:alert(1)]click[/link]", "\x1b[31mred\x1b[0m", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
                "\x07\x08\x7f", "\u202eevil", "\r=2+5", '"quoted, "" cell"']
HOSTILE_NAMES = [" [copy]", " [time=10:32]", "[link=javascript:x]", "\x1b[31m", "\r=2+5", ";=1", "\uff1d1",
                 "\u202e", " =HYPERLINK(1)", "\t@x", "\u00a0-1", "'\"", "\n+1"]


def _sample_notes() -> list[str]:
    notes = [p.read_text(encoding="utf-8", errors="replace") for p in sorted((ROOT / "sample_notes").glob("*.txt"))]
    return notes or ["PROCEDURE: Kyphoplasty L1 under fluoroscopy. Balloon inflated, cement injected.\n"]


def hostile(rng: random.Random, i: int, samples: list[str]) -> bytes:
    kind = i % 10
    if kind == 0:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 600)))
    if kind == 1:
        cps = (rng.randint(1, 0x10FFFF) for _ in range(rng.randint(1, 400)))
        return "".join(chr(c) for c in cps if not 0xD800 <= c <= 0xDFFF).encode("utf-8")
    if kind == 2:
        unit = rng.choice(list(SHAPES.values()))
        size = 1_000_000 if i % 2000 == 2 else rng.choice([300, 3_000, 20_000, 60_000]) if i % 50 == 2 else \
            rng.randint(10, 2_000)
        return scaled(unit, size).encode("utf-8")
    if kind == 3:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 400))).encode("utf-8")
    if kind == 4:
        text = rng.choice(samples)[: rng.randint(0, 3000)] or "L1"
        codec, bom = rng.choice([("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
                                 ("utf-32-le", b"\xff\xfe\x00\x00"), ("utf-32-be", b"\x00\x00\xfe\xff")])
        data = bom + text.encode(codec)
        return data[: rng.randint(1, len(data))] if rng.random() < 0.2 else data  # sometimes cut mid-character
    if kind == 5:
        lines = rng.choice(samples).splitlines() or ["L1"]
        return b"\n".join(line.encode("utf-8" if rng.random() < 0.5 else "cp1252", "replace") for line in lines)
    if kind == 6:
        data = bytearray(rng.choice(samples).encode("utf-8") * rng.randint(1, 4))
        data[rng.randrange(len(data))] = 0
        return bytes(data)
    if kind == 7:
        return "\n".join(rng.choice(HOSTILE_TEXT + WORDS) for _ in range(rng.randint(1, 80))).encode("utf-8")
    if kind == 8:
        unit = rng.choice(["\r\n", "\r", "\n", "((", "]]", "[[", ":", "::\n", "PROCEDURE:", "L1:", "\t", "  "])
        return (unit * rng.randint(1, 5000) + rng.choice(WORDS)).encode("utf-8")
    text = list(rng.choice(samples))
    for _ in range(rng.randint(1, 30)):  # random edits of a real note
        pos = rng.randrange(len(text) + 1)
        op = rng.random()
        if op < 0.4 and text:
            del text[min(pos, len(text) - 1)]
        elif op < 0.8:
            text.insert(pos, rng.choice(WORDS + HOSTILE_TEXT) + " ")
        else:
            text.insert(pos, chr(rng.randint(1, 0xFFFF)) if rng.random() < 0.5 else rng.choice("\r\n\t\x00"))
    return "".join(text).encode("utf-8", "replace")


def name_for(rng: random.Random, i: int) -> str:
    base = f"f{i:05d}"
    return base + rng.choice(HOSTILE_NAMES) + ".txt" if i % 5 == 4 else base + ".txt"


def main(argv: list[str]) -> int:
    n = int(next((a for a in argv if a.isdigit()), "20000"))
    api_every = int(argv[argv.index("--api-every") + 1]) if "--api-every" in argv else 4
    rng = random.Random(20261204)
    samples = _sample_notes()
    crashes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="scribe-fuzz-") as tmp:
        folder = Path(tmp) / "notes"
        folder.mkdir()
        for i in range(n):
            (folder / name_for(rng, i)).write_bytes(hostile(rng, i, samples))
        expected = [p.stem for p in sorted(folder.glob("*")) if p.suffix == ".txt"]

        # the CLI, two worker processes, the default 10 s budget per note
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "scribe.cli", "check", str(folder), "--jobs", "2",
                               "--format", "jsonl"], cwd=ROOT, capture_output=True)
        cli_seconds = time.perf_counter() - start
        cli_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        stderr = proc.stderr.decode("utf-8", "replace")
        if proc.returncode not in (0, 1, 2):
            crashes.append(f"cli exit code {proc.returncode}")
        if "Traceback" in stderr:
            crashes.append("cli traceback on stderr")
        if "\x1b" in stderr:
            crashes.append("raw ESC on stderr")
        rows = []
        for line in proc.stdout.decode("utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                crashes.append("cli output line that is not JSON")
        from scribe.display import visible

        got = [r.get("note_id") for r in rows]
        lost = sum(1 for a, b in zip(expected, got, strict=False) if a != b) + abs(len(expected) - len(got))
        errors = [r for r in rows if "error" in r]
        for r in errors:
            if "internal error" in r["error"] or "worker failed" in r["error"]:
                crashes.append(f"cli: {r['error'].rsplit(': ', 1)[-1]}")
            if "\n" in r["error"] or not r["error"].startswith(visible(r["source"]) + ": "):
                crashes.append("cli: an error that is not one line naming its file")
        timeouts = sum("took longer than" in r["error"] for r in errors)
        err_lines = [line for line in stderr.splitlines() if line]
        if len(err_lines) != len(errors) or not all(line.startswith("scribe check: ") for line in err_lines):
            crashes.append("cli: stderr is not one line per unreadable note")

        # the Python API on every api_every-th file's bytes, decoded as the CLI decodes them
        from scribe.api import extract
        from scribe.notes import NoteError, decode

        api_count = api_errors = 0
        start = time.perf_counter()
        for path in sorted(folder.glob("*"))[::api_every]:
            api_count += 1
            try:
                text, _ = decode(path.read_bytes(), str(path))
                extract(text, note_id=path.stem, source=str(path), mentions=False)
            except NoteError:
                api_errors += 1
            except Exception as exc:  # any other exception is a crash
                crashes.append(f"api: {type(exc).__name__}")
        api_seconds = time.perf_counter() - start
        api_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"inputs: {n} files ({n // 5} with hostile names), seed 20261204")
    print(f"cli   : scribe check --jobs 2: {len(rows)} results ({len(rows) - len(errors)} read, "
          f"{len(errors)} unreadable, {timeouts} over the 10 s budget) in {cli_seconds:.0f} s, exit {proc.returncode}; "
          f"max RSS {cli_rss:.0f} MB (largest process of the run)")
    print(f"api   : scribe.api.extract on {api_count} texts ({api_errors} NoteError) in {api_seconds:.0f} s; "
          f"max RSS {api_rss:.0f} MB")
    print(f"crashes: {len(crashes)}" + (f" {sorted(set(crashes))[:10]}" if crashes else ""))
    print(f"lost notes: {lost}")
    return 0 if not crashes and not lost else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
