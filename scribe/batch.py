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

import contextlib
import gc
import math
import multiprocessing
import os
import signal
import sqlite3
import sys
import threading
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

try:
    import resource
except ImportError:  # not on Windows: the CPU timer alone bounds a note there
    resource = None  # type: ignore[assignment]

BatchResult = Extraction | ReadError

FailOn = Literal["missing", "flags", "never"]
FAIL_ON: tuple[str, ...] = ("missing", "flags", "never")

SEVERITY_RANK: dict[str, int] = {"info": 1, "warning": 2, "hard-stop": 3}

DEFAULT_CHUNKSIZE = 16  # notes per task sent to a worker when the number of notes is unknown
MAX_CHUNKSIZE = 32  # measured on 2 cores: 1 -> 8 -> 32 notes per task cut the parallel CPU overhead 7.9 -> 6.6 -> 6.4 s
WINDOW_PER_JOB = 4  # chunks in flight per worker process
DEFAULT_NOTE_TIMEOUT = 10.0  # CPU seconds one note may take before it is reported as not checked

PathLike = str | os.PathLike[str]
# a unit of work: a plain text file (read where it is processed), a note of a FHIR/HL7 file, or the
# error of an entry of such a file (``scribe.sources``)
Item = str | Note | ReadError
T = TypeVar("T")


def default_jobs() -> int:
    """Worker processes by default: one per CPU."""
    return os.cpu_count() or 1


# --- one note -------------------------------------------------------------------------------


class NoteTimeout(BaseException):
    """A note ran past its CPU budget (raised by the ``SIGPROF`` timer of ``cpu_budget``).

    A ``BaseException``, so that no ``except Exception`` inside the pipeline swallows it."""


def timeout_message(path: PathLike, seconds: float) -> str:
    return f"{path}: took longer than {seconds:g} s; not checked"


@contextlib.contextmanager
def cpu_budget(seconds: float | None) -> Iterator[None]:
    """Raise ``NoteTimeout`` once this process has spent ``seconds`` of CPU time inside the block.

    A process CPU timer (``ITIMER_PROF``), so a busy machine does not make a note late. Only in the main
    thread (where Python runs signal handlers) and where the platform has the timer; elsewhere no budget.
    The handler runs between bytecodes: a worker process also has a kernel limit behind it (``_note_limits``).
    """
    if not seconds or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise NoteTimeout

    previous = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _read_error(path: Path | Item, message: str) -> ReadError:
    if isinstance(path, Note | ReadError):
        return ReadError(note_id=path.note_id, source=_label(path), error=_one_line(message))
    return ReadError(note_id=note_id_for(Path(path)), source=str(path), error=_one_line(message))


def _label(item: Path | Item) -> str:
    """What a work item is called in messages, and its key among the notes over budget: the path of a text
    note, ``FILE#entry=N`` (``line=N``, ``message=N``) for a note of a FHIR / HL7 file."""
    return item.source if isinstance(item, ReadError) else sources.label(item)


def _item(item: PathLike | Note | NoteError) -> Item:
    """A work item that pickles: a ``NoteError`` of a FHIR/HL7 entry becomes its ``ReadError`` at once."""
    if isinstance(item, NoteError):
        return ReadError(note_id=sources.error_note_id(item), source=sources.label(item), error=_one_line(str(item)))
    return item if isinstance(item, Note) else str(item)


def _one_line(message: str) -> str:
    """The message on one line: line breaks and other control characters (a file name may hold them) shown
    as escapes (``\\n``, ``\\x1b``), so the line still names the file exactly."""
    from scribe.display import visible

    return visible(message)


def check_one(path: PathLike | Note | ReadError, *, payer: str = "medicare", max_bytes: int = DEFAULT_MAX_BYTES,
              answers: str | None = None, timeout: float | None = None) -> BatchResult:
    """Read and extract one note; any failure becomes a ``ReadError`` (never raises).

    ``timeout``: the note's CPU budget in seconds; a note over it is reported as not checked.

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
    name = _label(path) if isinstance(path, Note) else str(p)
    if timeout:
        _load_pipeline()  # built once per process, outside any note's budget
    try:
        with cpu_budget(timeout):
            note = path if isinstance(path, Note) else read_note(p, max_bytes=max_bytes)
            ex = extract_note(note, payer=payer, mentions=False)
            if answers:
                ex = _with_answers(ex, note, answers, payer)
        return ex
    except NoteTimeout:
        if not timeout:
            raise  # the budget of a caller (a worker's): it reports the note
        return _read_error(path, timeout_message(name, timeout))
    except sqlite3.Error as exc:
        from scribe.store import UnsafeStore

        why = str(exc) if isinstance(exc, UnsafeStore) else type(exc).__name__  # a refusal names only paths
        return _read_error(path, f"{name}: cannot read its saved answers ({why})")
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


_TIMED_OUT: Any = None  # in a worker: the queue on which it names a note over its budget, before it exits


def _worker_init(timed_out: Any = None) -> None:
    """Load the pipeline once per process, before the first note arrives."""
    global _TIMED_OUT
    _TIMED_OUT = timed_out
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler, inherited through fork
    _die_with_parent()
    if resource is not None:  # a worker stopped by its CPU limit leaves no core file of patient data
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _load_pipeline()
    # Ctrl-C reaches the whole process group: let the parent alone stop the batch and shut the pool
    # down, rather than every worker dying mid-note (which breaks the pool).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _die_with_parent() -> None:
    """Ask Linux to send this worker SIGTERM when the parent dies (even by SIGKILL): no orphans."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


@contextlib.contextmanager
def _note_limits(seconds: float | None) -> Iterator[None]:
    """The kernel's limit behind ``cpu_budget`` in a worker: a note stuck inside native code (where Python
    cannot run the timer's handler) is stopped by ``SIGXCPU`` at twice its budget plus a second."""
    if not seconds or resource is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    limit = math.ceil(usage.ru_utime + usage.ru_stime + 2 * seconds + 1)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


_WARM = False  # this process has run one short note through everything (before any note's budget starts)


def _load_pipeline() -> None:
    global _WARM
    try:
        from scribe.nlp import get_nlp

        get_nlp()
        if not _WARM:  # the tables loaded on first use (coding rules, payers) too: not on a note's budget
            from scribe.api import extract

            _WARM = True
            extract("PROCEDURE: Kyphoplasty L1 under fluoroscopy; 6 weeks of bracing failed.", mentions=False)
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
    return _to_payload(_read_error(path, f"{_label(path)}: {problem}"))


def _from_payload(payload: dict[str, Any], path: Item) -> BatchResult:
    try:
        if payload["kind"] == "error":
            return ReadError.model_validate(payload["data"])
        return Extraction.model_validate_json(payload["json"])
    except Exception as exc:
        return _read_error(path, f"{_label(path)}: internal error ({type(exc).__name__})")


def _rendered(result: BatchResult, render: Callable[[BatchResult], T]) -> tuple[NoteStatus, T]:
    try:
        return NoteStatus.of(result), render(result)
    except Exception as exc:
        if isinstance(result, ReadError):
            raise
        # the note's own id (a note of a FHIR / HL7 file is not named after its file)
        err = ReadError(note_id=result.note_id, source=result.source,
                        error=_one_line(f"{result.source}: internal error ({type(exc).__name__})"))
        return NoteStatus.of(err), render(err)


def _work_chunk(paths: list[Item], payer: str, max_bytes: int, render: Callable[[BatchResult], Any] | None,
                answers: str | None = None, timeout: float | None = None, *,
                skip: frozenset[str] = frozenset()) -> list[Any]:
    """Worker entry point: a chunk of paths in, one picklable item per path out (same order).

    Without ``render`` an item is a payload dict (``_to_payload``); with it, ``(NoteStatus, render(result))``.
    A note over its CPU budget ``timeout`` is named on the parent's queue and the worker exits, so the
    parent replaces it (a process interrupted mid-note is not trusted with another); ``skip`` holds the
    notes already known to be over budget, reported without being run again.
    """
    out: list[Any] = []
    for path in paths:
        key = _label(path)  # a note of a FHIR / HL7 file is known by FILE#entry=N
        if key in skip:
            result: BatchResult = _read_error(path, timeout_message(key, timeout or 0))
        else:
            try:
                with _note_limits(timeout), cpu_budget(timeout):
                    result = check_one(path, payer=payer, max_bytes=max_bytes, answers=answers)
            except NoteTimeout:
                if _TIMED_OUT is not None:
                    _TIMED_OUT.put(key)
                    os._exit(0)
                result = _read_error(path, timeout_message(key, timeout or 0))
        try:
            out.append(_to_payload(result) if render is None else _rendered(result, render))
        except Exception as exc:  # e.g. a value that fails to serialise
            err = _read_error(path, f"{key}: internal error ({type(exc).__name__})")
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
    timeout: float | None = DEFAULT_NOTE_TIMEOUT,
) -> Iterator[BatchResult]:
    """Yield one result per note path, in input order (folders expand sorted).

    ``paths`` may be any iterable (a generator is consumed lazily). ``jobs`` defaults to the
    number of CPUs; ``jobs == 1`` runs in this process. ``expand=False`` takes ``paths`` as
    note files already listed (e.g. by ``list_note_paths``): a folder among them is an error.
    ``timeout``: each note's CPU budget in seconds (``None``: no budget); a note over it becomes a
    ``ReadError`` ("took longer than 10 s; not checked") and the batch goes on.
    """
    note_paths = _note_paths(paths, recursive=recursive, expand=expand, max_bytes=max_bytes)
    n_jobs, size = _check_args(paths, jobs, chunksize)
    if n_jobs == 1:
        for path in note_paths:
            yield check_one(path, payer=payer, max_bytes=max_bytes, answers=answers, timeout=timeout)
        return
    for path, item in _check_parallel(note_paths, n_jobs, payer, max_bytes, size, None, answers, timeout):
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
    timeout: float | None = DEFAULT_NOTE_TIMEOUT,
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
            yield _rendered(check_one(path, payer=payer, max_bytes=max_bytes, answers=answers, timeout=timeout),
                            render)
        return
    for path, item in _check_parallel(note_paths, n_jobs, payer, max_bytes, size, render, answers, timeout):
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
    timeout: float | None = None,
) -> Iterator[tuple[Item, Any]]:
    """(work item, worker item) in input order, with at most ``jobs * WINDOW_PER_JOB`` chunks in flight."""
    chunks = _chunks(note_paths, chunksize)
    first = next(chunks, None)
    if first is None:
        return
    runner = _Runner(jobs, (payer, max_bytes, render, answers, timeout))
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
        runner.close(wait=False)
        raise
    runner.close(wait=True)


class _Runner:
    """A process pool that can be replaced when a worker dies (or exits after a note over its budget)."""

    def __init__(self, jobs: int,
                 args: tuple[str, int, Callable[[BatchResult], Any] | None, str | None, float | None]) -> None:
        self.jobs = jobs
        self.args = args
        self.timeout = args[4]
        self.context = _mp_context()
        self.forked = self.context.get_start_method() == "fork"
        self.queue = self.context.SimpleQueue()  # workers name the notes that ran over their budget here
        self.timed_out: set[str] = set()
        if self.forked:
            _load_pipeline()  # once, here: forked workers inherit it instead of each loading their own
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        self.fresh = True
        return ProcessPoolExecutor(max_workers=self.jobs, mp_context=self.context, initializer=_worker_init,
                                   initargs=(self.queue,))

    def submit(self, chunk: list[Item]) -> Future[list[Any]]:
        first, self.fresh = self.forked and self.fresh, False
        if first:
            gc.freeze()  # keep the inherited pipeline out of the children's collector (fewer copied pages)
        try:
            skip = frozenset(key for key in map(_label, chunk) if key in self.timed_out)
            return self.pool.submit(_work_chunk, chunk, *self.args, skip=skip)
        except BrokenProcessPool as exc:  # broken before this chunk was sent: fail it like the others
            failed: Future[list[Any]] = Future()
            failed.set_exception(exc)
            return failed
        finally:
            if first:
                gc.unfreeze()  # with fork, every worker is started by the first submit

    def _drain(self) -> None:
        """Collect the notes workers reported over budget before exiting."""
        with contextlib.suppress(OSError, EOFError):
            while not self.queue.empty():
                self.timed_out.add(self.queue.get())

    def restart(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self._drain()
        self.pool = self._new_pool()

    def isolate(self, chunk: list[Item]) -> list[Any]:
        """Each note of ``chunk`` alone; a note whose worker dies is reported, the pool replaced.

        A worker that dies after the note's budget has passed (on the wall clock) was stopped by its
        kernel CPU limit, or spent that long before some other end: either way the note was not checked
        in time, and is reported so."""
        items: list[Any] = []
        for path in chunk:
            start = time.monotonic()
            try:
                items.extend(self.submit([path]).result())
            except Exception as exc:
                broken = isinstance(exc, BrokenProcessPool)
                if broken:
                    self.restart()
                late = broken and self.timeout and time.monotonic() - start >= self.timeout
                key = _label(path)
                if key in self.timed_out or late:
                    self.timed_out.add(key)
                    items.append(_to_payload(_read_error(path, timeout_message(key, self.timeout or 0))))
                else:
                    items.append(_error_payload(path, f"worker failed ({type(exc).__name__})"))
        return items

    def close(self, *, wait: bool) -> None:
        """Shut the pool down; ``wait=False`` (interrupted) kills the workers rather than letting them finish
        their notes. The pool's own thread then fails the futures in flight (cancelling them here as well
        races with it: Python 3.11 raises InvalidStateError in that thread), and is joined at once."""
        if not wait:
            procs = list((getattr(self.pool, "_processes", None) or {}).values())
            for proc in procs:
                with contextlib.suppress(Exception):
                    proc.kill()
            for proc in procs:
                with contextlib.suppress(Exception):
                    proc.join(timeout=2)
            # a result cut off mid-write by the kill must read as the end of the pipe, not as a wait for the
            # rest of it: the pool's thread would wait forever (this process holds the pipe's other write end,
            # which it never writes to)
            with contextlib.suppress(Exception):
                self.pool._result_queue._writer.close()  # type: ignore[attr-defined]
        self.pool.shutdown(wait=True, cancel_futures=wait)
        with contextlib.suppress(OSError):
            self.queue.close()


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
