"""Scaling of ``extract`` on hostile long notes: CPU time per shape at 10 KB, 100 KB and 1 MB, and the
growth exponent k of t ~ n^k between 100 KB and 1 MB (1.0 is linear; 2.0 quadratic).

Each shape is one unit repeated to the size. The first four are the shapes of issue 17 (a quadratic step
found by fuzzing each: biopsy mentions against every level group of their sentence, every ``:`` searching
back to its line start, all terms rescanned for each negated level); the others are earlier finds and
more of ours. Target: every exponent <= 1.3 and every 1 MB time <= 5 s. ``tests/test_scaling.py`` checks
the exponent of each shape on smaller sizes.

Run::

    .venv/bin/python benchmarks/pathological.py             # every shape, 10 KB / 100 KB / 1 MB
    .venv/bin/python benchmarks/pathological.py --quick     # 2 KB / 20 KB / 200 KB
    .venv/bin/python benchmarks/pathological.py "colons"    # the shapes whose name holds this
"""

from __future__ import annotations

import math
import sys
import time

from scribe.api import extract

SHAPES: dict[str, str] = {
    # issue 17
    "biopsy of T12": "biopsy of T12 ",
    "biopsy weeks osteotome": "biopsy weeks osteotome el one sacroplasty ",
    "punctuation": "!?-,;:/",
    "procedure words and levels, one line": "kyphoplasty vertebroplasty balloon cement L1 T12 L2 needle no ",
    # earlier finds (the first version of this benchmark)
    "repeated procedure+level": "Kyphoplasty L1 ",
    "bare levels": "L1 ",
    "terms and negations": "balloon cement T12 biopsy no ",
    "context cues": "no prior old chronic not L1 T12 ",
    "spoken levels and corrections": "kyphoplasty tee twelve el one correction el two ",
    "one long sentence": "Kyphoplasty at T12 and L1 with balloon, cement injected under fluoroscopy for 6 weeks, ",
    "nested brackets": "((([[ vertebroplasty L1 ]])) ",
    # ours
    "one repeated word": "kyphoplasty ",
    "one long token": "x",
    "colons": "a:b ",
    "headings on one line": "PROCEDURE: ",
    "heading lines": "PROCEDURE: kyphoplasty L1\n",
    "level labels": "L1:\n",
    "capitals lines": "KYPHOPLASTY\n",
    "blank lines": "\n\n",
    "run-in act sentences": "HISTORY: x. A core biopsy was taken. Cement was injected. ",
    "no balloon at a level": "no balloon at L1 ",
    "aborted before a balloon": "the procedure was aborted before a balloon ",
    "balloon kyphoplasty": "balloon kyphoplasty ",
    "core specimens": "core specimen sent ",
    "new paragraph": "new paragraph kyphoplasty L1 ",
    "ranges": "L1-L5 ",
    "level lists": "T12, L1 and L2 ",
    "weeks of therapy": "6 weeks of bracing ",
    "dates of service": "Date of Service: 03/11/2025 ",
    "untreated levels": "cement at L1 not treated ",
    "spoken corrections": "tee eleven sorry tee twelve ",
    "biopsy none": "biopsy none ",
    "unicode marks": "\u00a0kyphoplasty\u200b L1\u202e ",
    "spoken headings": "indications procedure technique history period ",
    "negated cement before levels": "no cement L1 T12 L2 ",
    "cement without levels": "cement injected ",
}
SIZES = (10_000, 100_000, 1_000_000)
QUICK = (2_000, 20_000, 200_000)


def cpu_seconds(text: str) -> float:
    start = time.process_time()
    extract(text, mentions=False)
    return time.process_time() - start


def exponent(small: int, t_small: float, big: int, t_big: float) -> float:
    return math.log(max(t_big, 1e-4) / max(t_small, 1e-4)) / math.log(big / small)


def scaled(unit: str, size: int) -> str:
    """``unit`` repeated to ``size`` bytes of UTF-8 (the size limit counts bytes)."""
    per = len(unit.encode("utf-8"))
    return unit * (size // per) + unit[: size % per] if unit.isascii() else unit * (size // per)


def main(argv: list[str]) -> int:
    sizes = QUICK if "--quick" in argv else SIZES
    wanted = [a for a in argv if not a.startswith("--")]
    extract("warm-up: PROCEDURE: Kyphoplasty L1 under fluoroscopy.")
    labels = [f"{s // 1000} KB s" for s in sizes]
    print(f"{'shape':<38} {labels[0]:>9} {labels[1]:>9} {labels[2]:>9} {'k':>6}")
    worst_k, worst_t = 0.0, 0.0
    for name, unit in SHAPES.items():
        if wanted and not any(w.lower() in name.lower() for w in wanted):
            continue
        times = [cpu_seconds(scaled(unit, size)) for size in sizes]
        k = exponent(sizes[1], times[1], sizes[2], times[2])
        worst_k, worst_t = max(worst_k, k), max(worst_t, times[2])
        print(f"{name:<38} {times[0]:9.3f} {times[1]:9.3f} {times[2]:9.3f} {k:6.2f}", flush=True)
    print(f"worst exponent {worst_k:.2f} (target <= 1.3); slowest at {sizes[2] // 1000} KB: {worst_t:.2f} s "
          f"(target <= 5 s at 1 MB)")
    return 0 if worst_k <= 1.3 and (sizes != SIZES or worst_t <= 5.0) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
