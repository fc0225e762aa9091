"""Batch checking of many notes: pure logic behind ``scribe check`` (nothing here prints).

``check_paths`` expands files and folders into note paths and yields one result per note, in
input order: an ``Extraction`` for a note that was read, a ``ReadError`` for one that was not.
With ``jobs > 1`` notes are processed in a pool of worker processes; paths are sent in chunks
and only a bounded window of chunks is in flight, so a folder of thousands of notes never sits
in memory at once. One failing note never affects the others: every exception in a worker
becomes a ``ReadError`` naming the file and the exception class, never any of the note's text.

``check_paths_rendered`` is the same walk for front ends that only need text out (``scribe check``):
each worker renders its own notes, and the parent yields ``(NoteStatus, rendered)`` pairs.
``BatchSummary`` counts results for the summary line and the exit code; ``worst_flag`` picks the
most severe flag (hard-stop > warning > info).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from scribe import sources
from scribe.models import Extraction, Flag, ReadError
from scribe.notes import DEFAULT_MAX_BYTES, NOTE_SUFFIXES, Note, NoteError, note_id_for

BatchResult = Extraction | ReadError

FailOn = Literal["missing", "flags", "never"]
FAIL_ON: tuple[str, ...] = ("missing", "flags", "never")

SEVERITY_RANK: dict[str, int] = {"info": 1, "warning": 2, "hard-stop": 3}

DEFAULT_CHUNKSIZE = 16  # notes per task sent to a worker when the number of notes is unknown
MAX_CHUNKSIZE = 32  # measured on 2 cores: 1 -> 8 -> 32 notes per task cut the parallel CPU overhead 7.9 -> 6.6 -> 6.4 s
WINDOW_PER_JOB = 4  # chunks in flight per worker process

PathLike = str | os.PathLike[str]
# a unit of work: a plain text file (read where it is processed), a note of a FHIR/HL7 file, or the
# error of an entry of such a file (``scribe.sources``)
Item = str | Note | ReadError
T = TypeVar("T")


def default_jobs() -> int:
    """Worker processes by default: one per CPU."""
    return os.cpu_count() or 1


# --- one note -------------------------------------------------------------------------------


def _read_error(path: Path | Item, message: str) -> ReadError:
    if isinstance(path, Note | ReadError):
        return ReadError(note_id=path.note_id, source=sources.label(path) if isinstance(path, Note) else path.source,
                         error=_one_line(message))
    return ReadError(note_id=note_id_for(Path(path)), source=str(path), error=_one_line(message))


def _item(item: PathLike | Note | NoteError) -> Item:
    """A work item that pickles: a ``NoteError`` of a FHIR/HL7 entry becomes its ``ReadError`` at once."""
    if isinstance(item, NoteError):
        return ReadError(note_id=sources.error_note_id(item), source=sources.label(item), error=_one_line(str(item)))
    return item if isinstance(item, Note) else str(item)


def _one_line(message: str) -> str:
    return " ".join(message.split())


def check_one(path: PathLike | Note | ReadError, *, payer: str = "medicare", max_bytes: int = DEFAULT_MAX_BYTES,
              answers: str | None = None) -> BatchResult:
    """Read and extract one note; any failure becomes a ``ReadError`` (never raises).

    ``answers`` applies the answers saved by ``scribe review``: ``"auto"`` reads the store beside
    the note (``.scribe/reviews.sqlite3``), any other value is a store path.
    ``NoteError`` messages are already one line naming the file and the problem. Any other
    exception is reported by its class only: its message could quote the note.
    ``path`` may also be a note of a FHIR/HL7 file or the error of one of its entries (``scribe.sources``).
    """
    from scribe.api import extract_note
    from scribe.notes import read_note

    if isinstance(path, ReadError):
        return path
    p = sources.source_file(path) if isinstance(path, Note) else Path(path)
    name = sources.label(path) if isinstance(path, Note) else str(p)
    try:
        note = path if isinstance(path, Note) else read_note(p, max_bytes=max_bytes)
        ex = extract_note(note, payer=payer, mentions=False)
        if answers:
            ex = _with_answers(ex, note, answers, payer)
        return ex
    except sqlite3.Error as exc:
        return _read_error(path, f"{name}: cannot read its saved answers ({type(exc).__name__})")
    except NoteError as err:
        return _read_error(path, str(err))
    except MemoryError:
        return _read_error(path, f"{name}: out of memory while reading the note")
    except Exception as exc:  # one bad note never stops the batch
        return _read_error(path, f"{name}: internal error ({type(exc).__name__})")


def _with_answers(ex: Extraction, note: Note, answers: str, payer: str) -> Extraction:
    """Apply the clinician answers saved for this very note (matched by identity, never by file name)."""
    from scribe.identity import identity_of
    from scribe.store import default_store_path, with_saved_answers

    # a note of a FHIR / HL7 file: the store beside that file; its identity carries the file's document id
    store = default_store_path(sources.source_file(note)) if answers == "auto" else Path(answers)
    return with_saved_answers(ex, identity_of(note), store, payer)[0]


# --- what the summary needs to know about a note ---------------------------------------------


class NoteStatus(BaseModel):
    """A note's outcome in brief (small and picklable): enough for the summary and the exit code."""

    model_config = ConfigDict(frozen=True)

    note_id: str
    source: str
    error: str | None = None  # set when the file could not be read
    missing: bool = False  # some element is missing (the note needs prompts)
    serious_flag: bool = False  # some flag is a warning or a hard-stop
    stale_answers: str = ""  # the stale-answers flag message, when saved answers were not applied

    @classmethod
    def of(cls, result: BatchResult) -> NoteStatus:
        if isinstance(result, ReadError):
            return cls(note_id=result.note_id, source=result.source, error=result.error)
        stale = next((f.message for f in result.flags if f.id == "stale_answers"), "")
        return cls(note_id=result.note_id, source=result.source, missing=bool(result.missing),
                   serious_flag=has_serious_flag(result), stale_answers=stale)


# --- worker side (picklable payloads only) --------------------------------------------------


def _worker_init() -> None:
    """Load the pipeline once per process, before the first note arrives."""
    _load_pipeline()
    # Ctrl-C reaches the whole process group: let the parent alone stop the batch and shut the pool
    # down, rather than every worker dying mid-note (which breaks the pool).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _load_pipeline() -> None:
    try:
        from scribe.nlp import get_nlp

        get_nlp()
    except Exception:  # a broken pipeline is reported per note by check_one
        pass


def _to_payload(result: BatchResult) -> dict[str, Any]:
    """A plain, picklable form of a result.

    An extraction travels as its contract JSON (``to_contract()`` serialised by pydantic's core):
    encoding it in the worker and validating it in the parent costs about a third of building and
    validating a dict, and the parent is the one process every note goes through.
    """
    if isinstance(result, ReadError):
        return {"kind": "error", "data": result.model_dump()}
    return {"kind": "ok", "json": result.model_dump_json(exclude={"mentions"})}


def _error_payload(path: Item, problem: str) -> dict[str, Any]:
    return _to_payload(_read_error(path, f"{sources.label(path)}: {problem}"))


def _from_payload(payload: dict[str, Any], path: Item) -> BatchResult:
    try:
        if payload["kind"] == "error":
            return ReadError.model_validate(payload["data"])
        return Extraction.model_validate_json(payload["json"])
    except Exception as exc:
        return _read_error(path, f"{sources.label(path)}: internal error ({type(exc).__name__})")


def _rendered(result: BatchResult, render: Callable[[BatchResult], T]) -> tuple[NoteStatus, T]:
    try:
        return NoteStatus.of(result), render(result)
    except Exception as exc:
        if isinstance(result, ReadError):
            raise
        err = _read_error(Path(result.source), f"{result.source}: internal error ({type(exc).__name__})")
        return NoteStatus.of(err), render(err)


def _work_chunk(paths: list[Item], payer: str, max_bytes: int, render: Callable[[BatchResult], Any] | None,
                answers: str | None = None) -> list[Any]:
    """Worker entry point: a chunk of paths in, one picklable item per path out (same order).

    Without ``render`` an item is a payload dict (``_to_payload``); with it, ``(NoteStatus, render(result))``.
    """
    out: list[Any] = []
    for path in paths:
        result = check_one(path, payer=payer, max_bytes=max_bytes, answers=answers)
        try:
            out.append(_to_payload(result) if render is None else _rendered(result, render))
        except Exception as exc:  # e.g. a value that fails to serialise
            err = _read_error(path, f"{sources.label(path)}: internal error ({type(exc).__name__})")
            out.append(_to_payload(err) if render is None else _rendered(err, render))
    return out


# --- the batch ------------------------------------------------------------------------------


def list_note_paths(inputs: Iterable[PathLike], *, recursive: bool = False) -> list[Path]:
    """Every input file the inputs expand to, in order (for a count before the work starts): plain text
    notes, and FHIR / HL7 files that each hold one or more notes (``scribe.sources``)."""
    return list(sources.iter_sources(inputs, recursive=recursive))


def _chunks(paths: Iterator[Item], size: int) -> Iterator[list[Item]]:
    while True:
        chunk = list(islice(paths, size))
        if not chunk:
            return
        yield chunk


def _mp_context() -> multiprocessing.context.BaseContext:
    # fork is cheapest on Linux (workers inherit imported modules); elsewhere the platform default.
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def check_paths(
    paths: Iterable[PathLike],
    *,
    recursive: bool = False,
    jobs: int | None = None,
    payer: str = "medicare",
    max_bytes: int = DEFAULT_MAX_BYTES,
    chunksize: int | None = None,
    expand: bool = True,
    answers: str | None = None,
) -> Iterator[BatchResult]:
    """Yield one result per note path, in input order (folders expand sorted).

    ``paths`` may be any iterable (a generator is consumed lazily). ``jobs`` defaults to the
    number of CPUs; ``jobs == 1`` runs in this process. ``expand=False`` takes ``paths`` as
    note files already listed (e.g. by ``list_note_paths``): a folder among them is an error.
    """
    note_paths = _note_paths(paths, recursive=recursive, expand=expand, max_bytes=max_bytes)
    n_jobs, size = _check_args(paths, jobs, chunksize)
    if n_jobs == 1:
        for path in note_paths:
            yield check_one(path, payer=payer, max_bytes=max_bytes, answers=answers)
        return
    for path, item in _check_parallel(note_paths, n_jobs, payer, max_bytes, size, None, answers):
        yield _from_payload(item, path)


def check_paths_rendered(
    paths: Iterable[PathLike],
    render: Callable[[BatchResult], T],
    *,
    recursive: bool = False,
    jobs: int | None = None,
    payer: str = "medicare",
    max_bytes: int = DEFAULT_MAX_BYTES,
    chunksize: int | None = None,
    expand: bool = True,
    answers: str | None = None,
) -> Iterator[tuple[NoteStatus, T]]:
    """Like ``check_paths``, but ``render`` (a module-level function) runs where the note was read.

    Yields ``(NoteStatus, render(result))`` in input order. A front end that only needs text out
    (a JSON line, a CSV row) saves the parent process from rebuilding every ``Extraction``; with
    ``jobs`` workers busy on as many cores, that parent time is what limits the speed-up.
    """
    note_paths = _note_paths(paths, recursive=recursive, expand=expand, max_bytes=max_bytes)
    n_jobs, size = _check_args(paths, jobs, chunksize)
    if n_jobs == 1:
        for path in note_paths:
            yield _rendered(check_one(path, payer=payer, max_bytes=max_bytes, answers=answers), render)
        return
    for path, item in _check_parallel(note_paths, n_jobs, payer, max_bytes, size, render, answers):
        if isinstance(item, dict):  # the worker failed: the note comes back as an error payload
            yield _rendered(_from_payload(item, path), render)
        else:
            yield item


def _note_paths(paths: Iterable[PathLike], *, recursive: bool, expand: bool, max_bytes: int) -> Iterator[Item]:
    """Work items in input order: FHIR / HL7 files are expanded into their notes as the batch reaches them."""
    files = sources.iter_sources(paths, recursive=recursive) if expand else paths
    return (_item(i) for i in sources.iter_items(files, max_bytes))


def _check_args(paths: Iterable[PathLike], jobs: int | None, chunksize: int | None) -> tuple[int, int]:
    """(jobs, chunk size). For a list of note files (length known): no more workers than notes,
    and without a chunk size a quarter of each worker's share (so a short list still spreads over
    every worker), at most MAX_CHUNKSIZE. DEFAULT_CHUNKSIZE for an iterator or a folder."""
    n_jobs = default_jobs() if jobs is None else jobs
    if n_jobs < 1:
        raise ValueError("jobs must be at least 1")
    # the number of notes is known when every input is a plain text file (a FHIR/HL7 file may hold many)
    known = n_jobs > 1 and isinstance(paths, Sized) and all(
        Path(p).suffix.lower() in NOTE_SUFFIXES and not Path(p).is_dir() for p in paths)
    if known:
        n_jobs = max(1, min(n_jobs, len(paths)))  # type: ignore[arg-type]  # no idle workers to start
    if chunksize is None and n_jobs == 1:
        chunksize = 1  # unused: one process reads the notes one by one
    elif chunksize is None:
        if known:
            chunksize = max(1, min(MAX_CHUNKSIZE, len(paths) // (n_jobs * 4)))  # type: ignore[arg-type]
        else:
            chunksize = DEFAULT_CHUNKSIZE
    if chunksize < 1:
        raise ValueError("chunksize must be at least 1")
    return n_jobs, chunksize


def _check_parallel(
    note_paths: Iterator[Item],
    jobs: int,
    payer: str,
    max_bytes: int,
    chunksize: int,
    render: Callable[[BatchResult], Any] | None,
    answers: str | None = None,
) -> Iterator[tuple[Item, Any]]:
    """(work item, worker item) in input order, with at most ``jobs * WINDOW_PER_JOB`` chunks in flight."""
    chunks = _chunks(note_paths, chunksize)
    first = next(chunks, None)
    if first is None:
        return
    runner = _Runner(jobs, (payer, max_bytes, render, answers))
    window = max(2, jobs * WINDOW_PER_JOB)
    pending: deque[tuple[list[Item], Future[list[Any]]]] = deque()
    try:
        pending.append((first, runner.submit(first)))
        for chunk in islice(chunks, window - 1):
            pending.append((chunk, runner.submit(chunk)))
        while pending:
            chunk, future = pending.popleft()
            try:
                items = future.result()
            except BrokenProcessPool:
                # A worker died (killed, out of memory, a crash in native code) and took every chunk in
                # flight with it. Run this chunk note by note in a fresh pool, so only the note that kills
                # a worker is reported, then send the other lost chunks again.
                lost = [c for c, _ in pending]
                pending.clear()
                runner.restart()
                items = runner.isolate(chunk)
                pending.extend((c, runner.submit(c)) for c in lost)
            except Exception as exc:  # e.g. a result that could not be sent back
                items = [_error_payload(p, f"worker failed ({type(exc).__name__})") for p in chunk]
            if len(items) != len(chunk):  # defensive: never misattribute a result
                items = [_error_payload(p, "internal error (result count mismatch)") for p in chunk]
            yield from zip(chunk, items, strict=True)
            nxt = next(chunks, None)
            if nxt is not None:
                pending.append((nxt, runner.submit(nxt)))
    except BaseException:  # Ctrl-C, or the caller stopped early (GeneratorExit): do not wait for the work
        for _, future in pending:
            future.cancel()
        runner.close(wait=False)
        raise
    runner.close(wait=True)


class _Runner:
    """A process pool that can be replaced when a worker dies."""

    def __init__(self, jobs: int, args: tuple[str, int, Callable[[BatchResult], Any] | None, str | None]) -> None:
        self.jobs = jobs
        self.args = args
        self.context = _mp_context()
        self.forked = self.context.get_start_method() == "fork"
        if self.forked:
            _load_pipeline()  # once, here: forked workers inherit it instead of each loading their own
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        self.fresh = True
        return ProcessPoolExecutor(max_workers=self.jobs, mp_context=self.context, initializer=_worker_init)

    def submit(self, chunk: list[Item]) -> Future[list[Any]]:
        first, self.fresh = self.forked and self.fresh, False
        if first:
            gc.freeze()  # keep the inherited pipeline out of the children's collector (fewer copied pages)
        try:
            return self.pool.submit(_work_chunk, chunk, *self.args)
        except BrokenProcessPool as exc:  # broken before this chunk was sent: fail it like the others
            failed: Future[list[Any]] = Future()
            failed.set_exception(exc)
            return failed
        finally:
            if first:
                gc.unfreeze()  # with fork, every worker is started by the first submit

    def restart(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = self._new_pool()

    def isolate(self, chunk: list[Item]) -> list[Any]:
        """Each note of ``chunk`` alone; a note whose worker dies is reported, the pool replaced."""
        items: list[Any] = []
        for path in chunk:
            try:
                items.extend(self.submit([path]).result())
            except Exception as exc:
                items.append(_error_payload(path, f"worker failed ({type(exc).__name__})"))
                if isinstance(exc, BrokenProcessPool):
                    self.restart()
        return items

    def close(self, *, wait: bool) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=True)


# --- flags and summary ----------------------------------------------------------------------


def worst_flag(extraction: Extraction) -> Flag | None:
    """The most severe flag (hard-stop > warning > info); the first one on ties."""
    worst: Flag | None = None
    for flag in extraction.flags:
        if worst is None or SEVERITY_RANK.get(flag.severity, 0) > SEVERITY_RANK.get(worst.severity, 0):
            worst = flag
    return worst


def has_serious_flag(extraction: Extraction) -> bool:
    """True when any flag is a warning or a hard-stop."""
    return any(SEVERITY_RANK.get(f.severity, 0) >= SEVERITY_RANK["warning"] for f in extraction.flags)


def needs_attention(result: Extraction | NoteStatus, fail_on: FailOn = "missing") -> bool:
    """Whether this note makes ``scribe check`` exit 1 under ``fail_on``."""
    status = result if isinstance(result, NoteStatus) else NoteStatus.of(result)
    if fail_on == "never" or status.error is not None:
        return False
    return status.missing or (fail_on == "flags" and status.serious_flag)


class BatchSummary(BaseModel):
    """Counts for the summary line and the exit code."""

    read: int = 0
    complete: int = 0
    needing_prompts: int = 0
    unreadable: int = 0
    flagged: int = 0  # notes read with at least one warning or hard-stop flag
    seconds: float = 0.0
    attention: int = Field(default=0, description="notes that trigger exit 1 under the fail-on mode")

    @property
    def total(self) -> int:
        return self.read + self.unreadable

    def add(self, result: BatchResult | NoteStatus, fail_on: FailOn = "missing") -> None:
        status = result if isinstance(result, NoteStatus) else NoteStatus.of(result)
        if status.error is not None:
            self.unreadable += 1
            return
        self.read += 1
        if status.missing:
            self.needing_prompts += 1
        else:
            self.complete += 1
        if status.serious_flag:
            self.flagged += 1
        if needs_attention(status, fail_on):
            self.attention += 1

    def exit_code(self) -> int:
        """2 if any file was unreadable, else 1 if any note needs attention, else 0."""
        if self.unreadable:
            return 2
        if self.attention:
            return 1
        return 0


def summarise(results: Iterable[BatchResult | NoteStatus], fail_on: FailOn = "missing") -> BatchSummary:
    """Count results (timing the iteration, which is when the work happens for a generator)."""
    start = time.perf_counter()
    summary = BatchSummary()
    for result in results:
        summary.add(result, fail_on)
    summary.seconds = time.perf_counter() - start
    return summary
