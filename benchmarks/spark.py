"""Notes/s of ``scribe spark-check`` on Spark local[2] against ``scribe check --jobs 2``, on the same notes.

Generates ``--n`` invented notes (default 10000, ``benchmarks/synth.py``: 300-500 words each) as .txt files
in a temporary folder, then times each command as a subprocess, wall clock, start-up included (interpreter,
imports, pipelines; for Spark also the JVM and the Python workers):

- ``scribe check DIR --jobs 2 --format jsonl --output FILE``;
- ``scribe spark-check DIR --output OUT.parquet --master local[2]``.

It also times both on ``--small`` notes (default 20) to estimate each command's fixed start-up cost, and
prints notes/s with and without it. Both commands read the same files and write every contract object.

Run::

    .venv/bin/python benchmarks/spark.py               # 10000 notes
    .venv/bin/python benchmarks/spark.py --n 2000
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from synth import generate  # noqa: E402  (benchmarks/ is not a package)

SCRIBE = [sys.executable, "-m", "scribe.cli"]


def write_notes(folder: Path, n: int, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for note_id, text in generate(n, seed):
        (folder / f"{note_id}.txt").write_text(text, encoding="utf-8")


def timed(cmd: list[str], ok: tuple[int, ...]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd[2:4])} failed with exit {proc.returncode}: {proc.stderr[-800:]}")
    return elapsed


def run_check(folder: Path, out: Path) -> float:
    return timed([*SCRIBE, "check", str(folder), "--jobs", "2", "--format", "jsonl", "--output", str(out),
                  "--fail-on", "never"], (0,))


def run_spark(folder: Path, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    return timed([*SCRIBE, "spark-check", str(folder), "--output", str(out), "--master", "local[2]"], (0,))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="notes to generate")
    parser.add_argument("--small", type=int, default=20, help="notes of the start-up run")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    with tempfile.TemporaryDirectory(prefix="scribe-spark-bench-") as tmp:
        base = Path(tmp)
        big, small = base / "notes", base / "small"
        write_notes(big, args.n, args.seed)
        write_notes(small, args.small, args.seed + 1)
        rows = []
        for name, run in (("scribe check --jobs 2", run_check), ("scribe spark-check local[2]", run_spark)):
            fixed = run(small, base / f"small-{len(rows)}.out")
            total = run(big, base / f"big-{len(rows)}.out")
            rows.append((name, total, fixed))
        print(f"{args.n} notes (benchmarks/synth.py, seed {args.seed}), {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f}")
        print(f"{'command':<30} {'wall s':>8} {'notes/s':>8} {'start-up s':>11} {'notes/s after start-up':>23}")
        for name, total, fixed in rows:
            warm = f"{args.n / (total - fixed):.1f}" if total > fixed else "n/a (noise)"
            print(f"{name:<30} {total:8.1f} {args.n / total:8.1f} {fixed:11.1f} {warm:>23}")
        (_, check_total, _), (_, spark_total, _) = rows
        print(f"spark-check / check: {check_total / spark_total:.2f}x the notes/s")


if __name__ == "__main__":
    main()
