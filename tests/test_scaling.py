"""Linear time on hostile notes: each shape of ``benchmarks/pathological.py`` grows like n^k with k <= 1.3,
measured as a ratio of CPU times in this run (no wall-clock threshold)."""

from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path

import pytest

from scribe.api import extract

_spec = importlib.util.spec_from_file_location(
    "pathological", Path(__file__).resolve().parent.parent / "benchmarks" / "pathological.py")
assert _spec is not None and _spec.loader is not None
pathological = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pathological)

SMALL, BIG = 20_000, 200_000  # a factor of 10: the exponent is log10 of the ratio of the times
MAX_EXPONENT = 1.3


def _cpu(text: str, runs: int) -> float:
    best = math.inf
    for _ in range(runs):
        start = time.process_time()
        extract(text, mentions=False)
        best = min(best, time.process_time() - start)
    return best


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    extract("PROCEDURE: Kyphoplasty L1 under fluoroscopy.")


@pytest.mark.parametrize("shape", list(pathological.SHAPES))
def test_time_grows_linearly(shape: str) -> None:
    unit = pathological.SHAPES[shape]
    small, big = pathological.scaled(unit, SMALL), pathological.scaled(unit, BIG)
    t_small = _cpu(small, 3)
    t_big = _cpu(big, 1)
    k = pathological.exponent(SMALL, t_small, BIG, t_big)
    if k > MAX_EXPONENT:  # one more look before failing: another process may have shared the core's cache
        t_small, t_big = min(t_small, _cpu(small, 3)), min(t_big, _cpu(big, 1))
        k = pathological.exponent(SMALL, t_small, BIG, t_big)
    assert k <= MAX_EXPONENT, f"{shape}: {t_small:.3f} s at {SMALL} B, {t_big:.3f} s at {BIG} B: n^{k:.2f}"
