"""Start-up of ``scribe extract one.txt``: a fresh process, from launch to the JSON of one note (target <= 1.5 s).

Runs the installed ``scribe`` command (the venv's, next to this interpreter) ``--runs`` times on one note and
prints the wall time of each run, their minimum and median, and where a run's time goes, measured in fresh
interpreters too: importing spaCy, importing scribe's CLI (Typer, pydantic models), building the pipeline.

Usage::

    .venv/bin/python benchmarks/extract_startup.py                 # 7 runs on the first sample note
    .venv/bin/python benchmarks/extract_startup.py --runs 15 NOTE
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 1.5
ROOT = Path(__file__).resolve().parent.parent

_PARTS = {
    "import spacy": "import time; t = time.perf_counter(); import spacy; print(time.perf_counter() - t)",
    "import scribe.cli": "import time; t = time.perf_counter(); import scribe.cli; print(time.perf_counter() - t)",
    "build pipeline": ("import spacy, scribe.nlp as n, time; t = time.perf_counter(); n.get_nlp(); "
                       "print(time.perf_counter() - t)"),
}


def _scribe() -> list[str]:
    exe = Path(sys.executable).with_name("scribe")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "scribe"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("note", nargs="?", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)
    note = args.note or sorted((ROOT / "sample_notes").glob("*.txt"))[0]
    cmd = [*_scribe(), "extract", str(note), "--format", "json"]
    times: list[float] = []
    for _ in range(max(1, args.runs)):
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            print(f"scribe extract failed (exit {done.returncode})", file=sys.stderr)
            return 2
    print(f"scribe extract {note.name}: " + ", ".join(f"{t:.2f}" for t in times) + " s")
    med = statistics.median(times)
    print(f"  min {min(times):.2f} s, median {med:.2f} s (target <= {TARGET_S} s: "
          f"{'met' if med <= TARGET_S else 'NOT met'})")
    for name, code in _PARTS.items():
        got = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(3)]
        print(f"  {name:18s} {min(got):.2f} s (best of 3 fresh interpreters)")
    return 0 if med <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
