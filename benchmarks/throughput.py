"""Throughput of scribe's extraction pipeline against bare spaCy tokenisation.

Generates ``--n`` synthetic procedure notes (``benchmarks/synth.py``, default 2000), then in one process measures:

(a) notes/s of ``spacy.blank("en")`` tokenisation: ``nlp.tokenizer(text)`` over every note (and the
    ``nlp.pipe`` variant, which for a blank pipeline is the same tokeniser plus batching);
(b) notes/s of the full ``scribe.api.extract(text, note_id=..., mentions=False)`` pipeline on the same notes
    (after one warm-up extract outside the timing, so lexicon loading is not counted).

It prints both rates, per-note milliseconds and the ratio extract / tokenise (target >= 0.5).

The spaCy tokeniser's speed depends strongly on the text: measured here, dictation-style notes with
many short lines (``../shared/dev_gold``) tokenise about four times slower per note than the
generated notes, so the ratio is printed for whichever corpus is given; compare figures from one run.

Run::

    .venv/bin/python benchmarks/throughput.py                 # 2000 notes
    .venv/bin/python benchmarks/throughput.py --n 5000 --seed 1
    .venv/bin/python benchmarks/throughput.py --profile       # also cProfile top-25 of the extract loop
    .venv/bin/python benchmarks/throughput.py --corpus ../shared/dev_gold --corpus sample_notes
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import spacy
from synth import generate

from scribe.api import extract

TARGET_RATIO = 0.5


def time_loop(fn, texts: list[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        fn(text)
    return time.perf_counter() - start


def run_extract(notes: list[tuple[str, str]]) -> float:
    start = time.perf_counter()
    for note_id, text in notes:
        extract(text, note_id=note_id, mentions=False)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="scribe extract throughput vs spacy.blank tokenisation")
    parser.add_argument("--n", type=int, default=2000, help="number of synthetic notes (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="synthetic corpus seed (default 0)")
    parser.add_argument("--corpus", type=Path, action="append", default=[],
                        help="read the *.txt notes of this folder (repeatable) instead of generating; they are "
                             "cycled to --n notes")
    parser.add_argument("--profile", action="store_true", help="print a cProfile top-25 of the extract loop")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")

    if args.corpus:
        read = [(p.stem, p.read_text(encoding="utf-8", errors="replace"))
                for d in args.corpus for p in sorted(d.glob("*.txt"))]
        if not read:
            parser.error("no *.txt notes in --corpus")
        notes = [(f"{read[i % len(read)][0]}_{i}", read[i % len(read)][1]) for i in range(args.n)]
        kind = f"notes read from {', '.join(str(d) for d in args.corpus)} ({len(read)} distinct, cycled)"
    else:
        notes = generate(args.n, args.seed)
        kind = "synthetic notes"
    texts = [t for _, t in notes]
    words = sum(len(t.split()) for t in texts)
    chars = sum(len(t) for t in texts)
    print(f"corpus: {len(notes)} {kind}, {words} words ({words / len(notes):.0f}/note), {chars} chars")

    nlp = spacy.blank("en")
    nlp.tokenizer(texts[0])  # warm-up
    tok_s = time_loop(nlp.tokenizer, texts)
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=256):
        pass
    pipe_s = time.perf_counter() - start

    extract(texts[0], note_id="warmup", mentions=False)  # warm-up: lexicons, matchers, coding tables
    ext_s = run_extract(notes)

    n = len(notes)
    tok_rate, pipe_rate, ext_rate = n / tok_s, n / pipe_s, n / ext_s
    ratio = ext_rate / tok_rate
    print(f"(a) spacy.blank tokenizer : {tok_rate:10.1f} notes/s  {1000 * tok_s / n:8.3f} ms/note")
    print(f"    spacy.blank nlp.pipe  : {pipe_rate:10.1f} notes/s  {1000 * pipe_s / n:8.3f} ms/note")
    print(f"(b) scribe extract        : {ext_rate:10.1f} notes/s  {1000 * ext_s / n:8.3f} ms/note")
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    print(f"ratio extract/tokenizer   : {ratio:.3f} ({verdict} target {TARGET_RATIO})")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run_extract(notes)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        print("\ncProfile of the extract loop, top 25 by cumulative time:")
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print("top 25 by own (tottime) time:")
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
