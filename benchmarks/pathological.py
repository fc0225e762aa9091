"""Scaling of ``extract`` on pathological notes: time for N and 4N characters of the same pattern.

A linear pipeline shows a ratio near 4; a ratio far above 4 means a quadratic step has crept in
(one was found by the batch fuzz test: 10 KB of "Kyphoplasty L1 " took 0.8 s before the fix).

Run::

    .venv/bin/python benchmarks/pathological.py
"""

from __future__ import annotations

import time

from scribe.api import extract

PATTERNS = {
    "repeated procedure+level": "Kyphoplasty L1 ",
    "bare levels": "L1 ",
    "terms and negations": "balloon cement T12 biopsy no ",
    "context cues": "no prior old chronic not L1 T12 ",
    "spoken levels and corrections": "kyphoplasty tee twelve el one correction el two ",
    "one long sentence": "Kyphoplasty at T12 and L1 with balloon, cement injected under fluoroscopy for 6 weeks, ",
    "nested brackets": "((([[ vertebroplasty L1 ]])) ",
}


def timed(text: str) -> float:
    start = time.perf_counter()
    extract(text, mentions=False)
    return time.perf_counter() - start


def main() -> None:
    extract("warm-up")
    size = 60_000
    print(f"{'pattern':<32} {'60 KB s':>9} {'240 KB s':>9} {'ratio':>7}")
    for name, unit in PATTERNS.items():
        small = unit * (size // len(unit))
        big = unit * (4 * size // len(unit))
        a, b = timed(small), timed(big)
        print(f"{name:<32} {a:9.3f} {b:9.3f} {b / a:7.1f}")


if __name__ == "__main__":
    main()
