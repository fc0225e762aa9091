"""Speed of ``scribe.batch.check_paths`` on the fuzz test's hostile notes (the figure tests/test_batch.py no
longer asserts: speed belongs here, not in a test that a loaded machine can fail).

Writes ``--n`` notes (default 10000) made by the fuzz test's own generator (``tests/test_batch.py::_hostile``:
random bytes, odd Unicode, huge numbers, impossible levels, runs of headings...) into a temporary folder and
checks them with ``--jobs`` worker processes (default 2), wall clock, pool start-up included. Prints notes/s,
the wall and CPU seconds and how many notes were read, unreadable or failed inside the pipeline. The test
used to require the 10000 notes in under 90 s on 2 cores.

Run::

    .venv/bin/python benchmarks/hostile_batch.py
    .venv/bin/python benchmarks/hostile_batch.py --n 2000 --jobs 1
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_batch import _hostile  # the fuzz test's generator: the same notes, the same seed

from scribe import batch
from scribe.models import ReadError

SEED = 20250311  # the fuzz test's


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(args.n):
            (folder / f"f{i:05d}.txt").write_bytes(_hostile(rng, i))
        cpu, start = cpu_seconds(), time.perf_counter()
        results = list(batch.check_paths([folder], jobs=args.jobs))
        wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    errors = [r for r in results if isinstance(r, ReadError)]
    internal = sum("internal error" in e.error for e in errors)
    print(f"{args.n} hostile notes, --jobs {args.jobs}: {wall:.1f} s wall, {cpu:.1f} s CPU, "
          f"{args.n / wall:.0f} notes/s")
    print(f"  {len(results) - len(errors)} read, {len(errors) - internal} unreadable, {internal} internal errors")


if __name__ == "__main__":
    main()
