"""Where review answers live: an append-only SQLite log beside the notes.

Default location: ``<note_dir>/.scribe/reviews.sqlite3`` (created owner-only, 0600). Every answer is
a row (note id for display, the note's identity: SHA-256 of its decoded text + source id + file path,
element, JSON value, user, ISO time, role, comment); rows are never updated or deleted, so the history
of a note is kept and the latest answer to an element wins when applied. Answers are looked up by
identity (``lookup``), never by file name: see ``scribe.identity``. All store and addendum file I/O
lives in this module. Each ``save`` runs in one transaction in WAL mode: a crash between the write and
the commit leaves either the whole batch of answers or none of it.

Safe stores: the store and addenda are opened with ``O_NOFOLLOW`` (a symbolic link is refused), and their
folder must belong to this user (or root) and not be writable by group or others, unless the group is the
one named by ``$SCRIBE_SHARED_GROUP`` (``UnsafeStore`` otherwise, one line).

Revisions: each note (its identity) has a revision, bumped by every clinician answer and attestation. Each
answer and attestation records the revision its author saw; an attestation or addendum built on a revision
that is no longer the note's is refused with ``Superseded`` (naming what changed). An attestation is one
transaction with its addendum: the signed text goes to a temp file beside the note, the row is committed,
then the file is renamed into place. Recovery rule: the store is the record; if the process dies between the
commit and the rename, the next ``recover_addendum`` (run when the note is opened for review) rewrites
``NOTE.addendum.txt`` from the attested text stored in the row.

Nothing here imports Textual or spaCy.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import hashlib
import json
import os
import sqlite3
import stat
import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from scribe.fsutil import OWNER_ONLY, atomic_write_text, output_problem
from scribe.identity import NoteIdentity
from scribe.models import Answer, Extraction, Flag

Role = Literal["clinician", "coder"]
ROLES: tuple[str, ...] = ("clinician", "coder")
STORE_DIR = ".scribe"
STORE_NAME = "reviews.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    note_id     TEXT NOT NULL,
    note_sha256 TEXT NOT NULL DEFAULT '',
    element     TEXT NOT NULL,
    value       TEXT NOT NULL,
    user        TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT 'clinician' CHECK (role IN ('clinician', 'coder')),
    comment     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS answers_note ON answers (note_id, role, id);
CREATE TABLE IF NOT EXISTS attestations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    note_id     TEXT NOT NULL,
    note_sha256 TEXT NOT NULL DEFAULT '',
    user        TEXT NOT NULL,
    at          TEXT NOT NULL,
    addendum    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attestations_note ON attestations (note_id, id);
"""
# columns added after the first release: (table, column, declaration); existing stores gain them on open
_ADDED_COLUMNS = (
    ("answers", "source_id", "TEXT NOT NULL DEFAULT ''"),
    ("answers", "note_path", "TEXT NOT NULL DEFAULT ''"),
    ("attestations", "source_id", "TEXT NOT NULL DEFAULT ''"),
    ("attestations", "note_path", "TEXT NOT NULL DEFAULT ''"),
    ("answers", "revision", "INTEGER NOT NULL DEFAULT 0"),
    ("answers", "seen_revision", "INTEGER NOT NULL DEFAULT 0"),
    ("attestations", "revision", "INTEGER NOT NULL DEFAULT 0"),
    ("attestations", "seen_revision", "INTEGER NOT NULL DEFAULT 0"),
)
_INDEXES = """
CREATE INDEX IF NOT EXISTS answers_identity ON answers (note_sha256, source_id, id);
CREATE INDEX IF NOT EXISTS answers_source ON answers (source_id);
CREATE INDEX IF NOT EXISTS answers_path ON answers (note_path);
CREATE TABLE IF NOT EXISTS revisions (
    note_sha256 TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    PRIMARY KEY (note_sha256, source_id)
);
"""

SHARED_GROUP_ENV = "SCRIBE_SHARED_GROUP"


class UnsafeStore(sqlite3.DatabaseError):
    """A store or addendum that must not be opened (a symbolic link, a folder others may write): one line."""


class Change(BaseModel):
    """Something another reviewer recorded since a revision was seen."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["answer", "attestation"]
    element: str = ""
    value: Any = None
    user: str = ""
    revision: int = 0

    def words(self) -> str:
        who = self.user or "another reviewer"
        if self.kind == "attestation":
            return f"{who} attested the addendum"
        return f"{who} answered {_ELEMENT_WORDS.get(self.element, self.element.replace('_', ' '))}: " \
               f"{value_words(self.element, self.value)}"


class Superseded(Exception):
    """An attestation or addendum built on answers that are no longer the note's latest."""

    def __init__(self, changes: Sequence[Change], revision: int) -> None:
        self.changes = list(changes)
        self.revision = revision
        what = "; ".join(c.words() for c in self.changes) or "the note's answers changed"
        super().__init__(f"changed since you read this note: {what}")


class SaveResult(BaseModel):
    """The note's revision after a save, and what others recorded since the revision the saver had seen."""

    model_config = ConfigDict(extra="forbid")

    revision: int
    changes: list[Change] = Field(default_factory=list)


def _shared_gid() -> int | None:
    name = os.environ.get(SHARED_GROUP_ENV, "").strip()
    if not name:
        return None
    try:
        import grp

        return grp.getgrnam(name).gr_gid
    except (ImportError, KeyError):
        raise UnsafeStore(f"${SHARED_GROUP_ENV} names no group on this system") from None


def folder_problem(folder: str | os.PathLike[str]) -> str | None:
    """Why a store or addendum must not be written in ``folder``, or None when it is safe: the folder belongs to
    this user (or root) and neither group nor others may write it; with ``$SCRIBE_SHARED_GROUP`` a folder of that
    group may be group-writable (and belong to another member of the group)."""
    try:
        st = os.stat(folder)
    except OSError:
        return None  # missing: creating it (owner-only) or the write itself reports it
    if not stat.S_ISDIR(st.st_mode):
        return "is not a folder"
    if not hasattr(os, "geteuid"):
        return None
    shared = _shared_gid()
    in_group = shared is not None and st.st_gid == shared
    if st.st_uid not in (os.geteuid(), 0) and not in_group:
        return "belongs to another user"
    if st.st_mode & stat.S_IWOTH:
        return "is writable by others"
    if st.st_mode & stat.S_IWGRP and not in_group:
        return f"is writable by its group (set {SHARED_GROUP_ENV} to that group to share it)"
    return None


def _check_folder(folder: Path) -> None:
    problem = folder_problem(folder)
    if problem is not None:
        raise UnsafeStore(f"{folder}: {problem}; refused")


def _check_file_stat(path: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeStore(f"{path}: is not a regular file; refused")
    if not hasattr(os, "geteuid"):
        return
    shared = _shared_gid()
    if st.st_uid != os.geteuid() and not (shared is not None and st.st_gid == shared):
        raise UnsafeStore(f"{path}: belongs to another user; refused")
    if st.st_mode & stat.S_IWOTH:
        raise UnsafeStore(f"{path}: is writable by others; refused")


def _no_links(path: Path) -> None:
    """The store and its WAL/SHM/journal companions must not be symbolic links."""
    for side in ("", "-wal", "-shm", "-journal"):
        p = Path(str(path) + side)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            if stat.S_ISLNK(os.lstat(p).st_mode):
                raise UnsafeStore(f"{p}: is a symbolic link; refused")


def _file_mode() -> int:
    return 0o660 if os.environ.get(SHARED_GROUP_ENV, "").strip() else OWNER_ONLY


def open_store_file(path: Path, *, create: bool) -> os.stat_result | None:
    """Check (and with ``create``, create owner-only) the store file without following links; its stat, or None
    when it does not exist and ``create`` is false. Raises ``UnsafeStore``."""
    _check_folder(path.parent)
    _no_links(path)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    if create:
        flags |= os.O_CREAT
    try:
        fd = os.open(path, flags, _file_mode())
    except FileNotFoundError:
        if create:
            raise
        return None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise UnsafeStore(f"{path}: is a symbolic link; refused") from None
        raise
    try:
        st = os.fstat(fd)
        _check_file_stat(path, st)
        if st.st_uid == getattr(os, "geteuid", lambda: -1)():
            with contextlib.suppress(OSError):
                os.fchmod(fd, _file_mode())
        return st
    finally:
        os.close(fd)


def _same_file(path: Path, st: os.stat_result) -> None:
    """After SQLite opened ``path`` by name: it is still the very file checked (not swapped for a link)."""
    now = os.lstat(path)
    if stat.S_ISLNK(now.st_mode) or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
        raise UnsafeStore(f"{path}: was replaced while it was opened; refused")


class StoredAnswers(BaseModel):
    """A note's saved answers: ``current`` (given for this very text) and ``stale`` (an earlier version)."""

    model_config = ConfigDict(extra="forbid")

    current: list[Answer] = Field(default_factory=list)
    stale: list[Answer] = Field(default_factory=list)


# current: same text hash and same source id (or none recorded: rows from before source ids, same text);
# stale candidates: same source id or same note file, another text
_MATCH_SQL = ("SELECT element, value, user, at, comment, note_sha256, source_id FROM answers "
              "WHERE role = ? AND ((note_sha256 = ? AND source_id IN (?, '')) OR (source_id != '' AND source_id = ?) "
              "OR (note_path != '' AND note_path = ?)) ORDER BY id")


def _split(rows: Iterable[tuple[Any, ...]], identity: NoteIdentity) -> StoredAnswers:
    out = StoredAnswers()
    for el, v, u, at, c, sha, sid in rows:
        a = Answer(element=el, value=json.loads(v), user=u, at=datetime.fromisoformat(at), comment=c)
        if sha == identity.sha256 and sid in (identity.source_id, ""):
            out.current.append(a)
        elif sha:  # a row without a hash (older stores) proves nothing about its note
            out.stale.append(a)
    return out


def default_store_path(note: str | os.PathLike[str]) -> Path:
    """``<note_dir>/.scribe/reviews.sqlite3`` for a note file (or a folder of notes)."""
    p = Path(note)
    folder = p if p.is_dir() else p.parent
    return folder / STORE_DIR / STORE_NAME


def read_answers(store_path: str | os.PathLike[str], identity: NoteIdentity,
                 role: Role = "clinician") -> StoredAnswers:
    """The saved answers for a note, read-only (no store is created; none yet means no answers).

    Raises ``sqlite3.Error`` when the store exists but cannot be read.
    """
    path = Path(store_path)
    st = open_store_file(path, create=False)
    if st is None:
        return StoredAnswers()
    conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=10.0)
    try:
        _same_file(path, st)
        cols = {r[1] for r in conn.execute("PRAGMA table_info(answers)")}
        if "source_id" not in cols:  # a store from before note identities: no row can be matched safely
            return StoredAnswers()
        return _split(conn.execute(_MATCH_SQL, (role, identity.sha256, identity.source_id, identity.source_id,
                                                identity.path)), identity)
    finally:
        conn.close()


def current_user(user: str | None = None) -> str:
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers without a passwd entry)
        return "unknown"


def note_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(at: datetime | None) -> str:
    return (at or _now()).isoformat()


class ReviewStore:
    """The append-only answer log. Use as a context manager or call ``close()``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.parent.exists():
            # a folder we create is owner-only; an existing folder (--store elsewhere) is checked, not changed
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                os.chmod(self.path.parent, 0o770 if _file_mode() != OWNER_ONLY else 0o700)
        # created owner-only without following a link, in a folder only this user may write, before SQLite opens it
        st = open_store_file(self.path, create=True)
        assert st is not None
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per save.
        self._conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=10.0)
        try:
            _same_file(self.path, st)
        except BaseException:
            self._conn.close()
            raise
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(_SCHEMA)
        self._migrate()
        for side in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.chmod(str(self.path) + side, _file_mode())

    def _migrate(self) -> None:
        for table, column, decl in _ADDED_COLUMNS:
            cols = {r[1] for r in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in cols:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        self._conn.executescript(_INDEXES)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing
    def _transaction(self, rows: Iterable[tuple[Any, ...]], sql: str) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for row in rows:
                conn.execute(sql, row)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _key(note_sha256: str, identity: NoteIdentity | None) -> tuple[str, str]:
        return (identity.sha256, identity.source_id) if identity is not None else (note_sha256, "")

    def _revision(self, key: tuple[str, str]) -> int:
        row = self._conn.execute("SELECT revision FROM revisions WHERE note_sha256 = ? AND source_id = ?",
                                 key).fetchone()
        return int(row[0]) if row else 0

    def _bump(self, key: tuple[str, str], revision: int) -> None:
        self._conn.execute("INSERT INTO revisions (note_sha256, source_id, revision) VALUES (?, ?, ?) "
                           "ON CONFLICT (note_sha256, source_id) DO UPDATE SET revision = excluded.revision",
                           (*key, revision))

    def _changes(self, key: tuple[str, str], seen: int) -> list[Change]:
        out: list[tuple[int, int, Change]] = []
        for rid, el, v, u, rev in self._conn.execute(
                "SELECT id, element, value, user, revision FROM answers WHERE note_sha256 = ? AND source_id = ? "
                "AND role = 'clinician' AND revision > ?", (*key, seen)):
            out.append((rev, rid, Change(kind="answer", element=el, value=json.loads(v), user=u, revision=rev)))
        for rid, u, rev in self._conn.execute(
                "SELECT id, user, revision FROM attestations WHERE note_sha256 = ? AND source_id = ? AND revision > ?",
                (*key, seen)):
            out.append((rev, rid, Change(kind="attestation", user=u, revision=rev)))
        return [c for _, _, c in sorted(out, key=lambda t: (t[0], t[1]))]

    def revision(self, identity: NoteIdentity) -> int:
        """The note's revision: bumped by every clinician answer and attestation (0 before any)."""
        return self._revision(self._key("", identity))

    def changes_since(self, identity: NoteIdentity, seen_revision: int) -> list[Change]:
        """Clinician answers and attestations recorded after ``seen_revision``, oldest first."""
        return self._changes(self._key("", identity), seen_revision)

    def _begin(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("ROLLBACK")

    def save(self, note_id: str, answers: Sequence[Answer], *, note_sha256: str = "",
             role: Role = "clinician", identity: NoteIdentity | None = None,
             seen_revision: int | None = None) -> SaveResult:
        """Append ``answers`` in one transaction (all or nothing); clinician answers bump the note's revision.

        ``identity`` (from ``scribe.identity``) is what later look-ups match; ``note_id`` is a label.
        ``seen_revision`` is the revision the answers were given at (default: the current one); the result
        lists what others recorded since then, so the caller can show it and refresh.
        """
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        key = self._key(note_sha256, identity)
        sid, npath = (identity.source_id, identity.path) if identity is not None else ("", "")
        if not answers:
            return SaveResult(revision=self._revision(key))
        conn = self._conn
        self._begin()
        try:
            current = self._revision(key)
            seen = current if seen_revision is None else seen_revision
            changes = self._changes(key, seen) if seen < current else []
            new = current + 1 if role == "clinician" else current  # coder corrections are never in the addendum
            for a in answers:
                conn.execute("INSERT INTO answers (note_id, note_sha256, source_id, note_path, element, value, user, "
                             "at, role, comment, revision, seen_revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (note_id, key[0], sid, npath, a.element,
                              json.dumps(a.value, sort_keys=True, default=_json_default), a.user, _iso(a.at), role,
                              a.comment, new, seen))
            if new != current:
                self._bump(key, new)
            conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return SaveResult(revision=new, changes=changes)

    def attest(self, note_id: str, user: str, addendum_text: str, *, note_sha256: str = "",
               identity: NoteIdentity | None = None, at: datetime | None = None,
               seen_revision: int | None = None) -> datetime:
        """Record that ``user`` attests the addendum for the note (row only; ``attest_note`` also writes the file).
        Raises ``Superseded`` when ``seen_revision`` is given and is no longer the note's revision."""
        at = at or _now()
        self._record_attestation(note_id, user, addendum_text, self._key(note_sha256, identity), identity, at,
                                 seen_revision)
        return at

    def _record_attestation(self, note_id: str, user: str, text: str, key: tuple[str, str],
                            identity: NoteIdentity | None, at: datetime, seen_revision: int | None) -> int:
        sid, npath = (identity.source_id, identity.path) if identity is not None else ("", "")
        self._begin()
        try:
            current = self._revision(key)
            seen = current if seen_revision is None else seen_revision
            if seen != current:
                raise Superseded(self._changes(key, seen), current)
            self._conn.execute(
                "INSERT INTO attestations (note_id, note_sha256, source_id, note_path, user, at, addendum, revision, "
                "seen_revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (note_id, key[0], sid, npath, user, at.isoformat(), text, current + 1, seen))
            self._bump(key, current + 1)
            self._conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return current + 1

    def attest_note(self, note: str | os.PathLike[str], note_id: str, user: str, text: str, *,
                    identity: NoteIdentity, seen_revision: int, at: datetime | None = None) -> tuple[Path, str, int]:
        """Attest the addendum ``text`` of ``note``: the signed, locked file and the attestation row together.

        The signed text is written to a temp file beside the note first, then the row is committed, then the
        file is renamed into place (see the module's recovery rule). Any failure before the commit (a name too
        long, a read-only folder, ``Superseded``) leaves no row and no file. Returns (path, signed text, revision).
        """
        at = at or _now()
        target = addendum_path(note)
        signed = _body(text) + "\n" + attestation_line(user, at) + "\n"
        staged = _Staged(note, target, signed, LOCKED)
        try:
            staged.prepare()
            revision = self._record_attestation(note_id, user, signed, self._key("", identity), identity, at,
                                                seen_revision)
        except BaseException:
            staged.abort()
            raise
        staged.commit()
        return target, signed, revision

    def write_addendum(self, note: str | os.PathLike[str], text: str, *, identity: NoteIdentity,
                       seen_revision: int) -> Path:
        """``write_addendum`` under the store's write lock, refused (``Superseded``) when the answers it was built
        from are no longer the note's latest. Nothing is recorded in the store."""
        key = self._key("", identity)
        self._begin()
        try:
            current = self._revision(key)
            if seen_revision != current:
                raise Superseded(self._changes(key, seen_revision), current)
            return write_addendum(note, text)
        finally:
            self._rollback()

    def recover_addendum(self, note: str | os.PathLike[str], identity: NoteIdentity) -> bool:
        """The recovery rule: when the note's latest event is an attestation whose text is not in
        ``NOTE.addendum.txt`` (the process died between the commit and the rename: the file is missing, the
        unsigned draft of that text, or the previous attested version), write it from the store."""
        key = self._key("", identity)
        row = self._conn.execute(
            "SELECT addendum, revision FROM attestations WHERE note_sha256 = ? AND source_id = ? ORDER BY id DESC "
            "LIMIT 1", key).fetchone()
        if row is None or row[1] != self._revision(key) or row[1] == 0:
            return False
        now = current_addendum(note)
        # what the folder holds when the rename never happened: no addendum, the unsigned draft of the attested
        # text, or the previous attested version; an unattested text of its own is a later version, left alone
        if now == row[0] or (now is not None and not is_attested(now) and _body(now) != _body(row[0])):
            return False
        _Staged(note, addendum_path(note), row[0], LOCKED).write()
        return True

    def lookup(self, identity: NoteIdentity, role: Role = "clinician") -> StoredAnswers:
        """The answers given for this note (``current``) and for earlier versions of it (``stale``)."""
        return _split(self._conn.execute(_MATCH_SQL, (role, identity.sha256, identity.source_id,
                                                      identity.source_id, identity.path)), identity)

    def latest_attestation(self, identity: NoteIdentity) -> dict[str, Any] | None:
        """The last attestation recorded for this very text of the note, if any."""
        cur = self._conn.execute(
            "SELECT id, note_id, user, at, addendum, revision FROM attestations "
            "WHERE note_sha256 = ? AND source_id = ? ORDER BY id DESC LIMIT 1", (identity.sha256, identity.source_id))
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip(("id", "note_id", "user", "at", "addendum", "revision"), row, strict=True))

    # ------------------------------------------------------------------ reading
    def answers_for(self, note_id: str, role: Role | None = "clinician") -> list[Answer]:
        """Every answer saved under the display label ``note_id``, oldest first: for history and audit only.
        Answers are applied by identity (``lookup``); a file stem is never an identity.

        ``role=None`` returns both clinician and coder answers.
        """
        if role is None:
            cur = self._conn.execute(
                "SELECT element, value, user, at, comment FROM answers WHERE note_id = ? ORDER BY id", (note_id,))
        else:
            cur = self._conn.execute(
                "SELECT element, value, user, at, comment FROM answers WHERE note_id = ? AND role = ? ORDER BY id",
                (note_id, role))
        return [Answer(element=el, value=json.loads(v), user=u, at=datetime.fromisoformat(at), comment=c)
                for el, v, u, at, c in cur.fetchall()]

    def history(self, note_id: str) -> list[dict[str, Any]]:
        """Raw rows (all roles) for display or audit."""
        cur = self._conn.execute(
            "SELECT id, note_id, note_sha256, element, value, user, at, role, comment FROM answers "
            "WHERE note_id = ? ORDER BY id", (note_id,))
        cols = [d[0] for d in cur.description]
        out = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
        for r in out:
            r["value"] = json.loads(r["value"])
        return out

    def attestations(self, note_id: str) -> list[dict[str, Any]]:
        cur = self._conn.execute(
            "SELECT id, note_id, note_sha256, user, at, addendum FROM attestations WHERE note_id = ? ORDER BY id",
            (note_id,))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def note_ids(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT DISTINCT note_id FROM answers ORDER BY note_id")]


def _json_default(o: Any) -> Any:
    if isinstance(o, datetime | date):
        return o.isoformat()
    if hasattr(o, "model_dump"):
        return o.model_dump(mode="json")
    raise TypeError(f"cannot store {type(o).__name__} in an answer")


# ---------------------------------------------------------------------- addendum
_ADMIN_QUESTIONS = ("abn_on_file",)
_GUIDANCE_WORDS = {"fluoroscopy": "fluoroscopy", "ct": "CT"}
_ELEMENT_WORDS = {
    "procedure_type": "procedure",
    "cavity_creation": "cavity creation",
    "levels": "treated levels",
    "guidance": "imaging guidance",
    "biopsy": "biopsy",
    "laterality": "sacral access",
    "conservative_therapy": "conservative therapy",
    "indication": "indication",
    "abn_on_file": "signed ABN on file",
}
_INDICATION_WORDS = {
    "osteoporosis": "osteoporotic compression fracture",
    "neoplasm": "neoplastic involvement",
    "hemangioma": "vertebral hemangioma",
    "trauma": "traumatic fracture",
    "other": "other cause",
}
_PROCEDURE_WORDS = {
    "vertebroplasty": "vertebroplasty",
    "kyphoplasty": "vertebral augmentation with cavity creation (kyphoplasty)",
    "sacroplasty": "sacroplasty",
    "mixed": "vertebroplasty and vertebral augmentation at different levels",
}


def _weeks_words(weeks: float) -> str:
    w = float(weeks)
    if w.is_integer():
        n = int(w)
        return f"{n} week" if n == 1 else f"{n} weeks"
    return f"{w:g} weeks"


def value_words(element: str, value: Any, *, short: bool = False) -> str:
    """A clinical phrase for a value (``short``: a few words, for the TUI checklist)."""
    if value == "undetermined":
        return "clinically undetermined"
    if value is None:
        return "not documented"
    if element == "levels":
        return ", ".join(value) if value else "not documented"
    if element == "guidance":
        vals = value if isinstance(value, list) else [value]
        return " and ".join(_GUIDANCE_WORDS.get(v, str(v)) for v in vals) or "not documented"
    if element == "conservative_therapy" and isinstance(value, dict):
        text = _weeks_words(value.get("weeks", 0))
        mods = [m.replace("_", " ") for m in value.get("modalities") or []]
        return text + (f" ({', '.join(mods)})" if mods else "")
    if element == "biopsy" and isinstance(value, dict):
        if value.get("performed") is False:
            return "not performed"
        if value.get("performed") is None:
            return "not stated" if short else "none documented"
        sites = ", ".join(value.get("sites") or [])
        return f"performed at {sites}" if sites else "performed"
    if element == "cavity_creation":
        if short:
            return {True: "yes", False: "no (cement only)"}.get(value, str(value))
        return {True: "cavity created before cement", False: "no cavity created (cement only)"}.get(value, str(value))
    if element == "abn_on_file":
        return {True: "yes", False: "no"}.get(value, str(value))
    if short and isinstance(value, str):
        return value
    if element == "indication":
        return _INDICATION_WORDS.get(value, str(value))
    if element == "procedure_type":
        return _PROCEDURE_WORDS.get(value, str(value))
    if element == "laterality":
        return str(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sentence(element: str, value: Any) -> str:
    """One sentence of clinical prose for an answered element."""
    if value == "undetermined":
        label = _ELEMENT_WORDS.get(element, element.replace("_", " "))
        return f"The {label} is clinically undetermined."
    if element == "procedure_type":
        return f"The procedure performed was {value_words(element, value)}."
    if element == "cavity_creation":
        return ("A device created a cavity before the cement was injected." if value is True
                else "No cavity was created; cement was injected without prior cavity creation.")
    if element == "levels":
        levels = list(value or [])
        if not levels:
            return "The treated levels are not documented."
        return f"The treated level{'s were' if len(levels) > 1 else ' was'} {_and(levels)}."
    if element == "guidance":
        return f"Imaging guidance was {value_words(element, value)}."
    if element == "biopsy" and isinstance(value, dict):
        if value.get("performed") is False:
            return "No biopsy was performed."
        sites = list(value.get("sites") or [])
        return f"A biopsy was taken at {_and(sites)}." if sites else "A biopsy was performed."
    if element == "laterality":
        return f"Sacral access was {value}."
    if element == "conservative_therapy" and isinstance(value, dict):
        mods = [m.replace("_", " ") for m in value.get("modalities") or []]
        what = f" with {_and(mods)}" if mods else ""
        return f"Conservative therapy{what} was tried for {_weeks_words(value.get('weeks', 0))} before the procedure."
    if element == "indication":
        return f"The underlying cause is {value_words(element, value)}."
    return f"{_ELEMENT_WORDS.get(element, element).capitalize()}: {value_words(element, value)}."


def addendum_text(extraction: Extraction, answers: Sequence[Answer], *, role: Role = "clinician") -> str:
    """The addendum as clinical prose, from the latest answer to each element, e.g.::

        Addendum to the procedure note of 03/02/2024 (kp_01).
        The treated levels were T12 and L1. Imaging guidance was fluoroscopy. Conservative therapy was
        tried for 8 weeks before the procedure.
        Clarified by dr_x on 2024-03-04.

    Payer questions (ABN) are administrative and never part of it. ``attest_addendum`` appends the
    attestation line.
    """
    final: dict[str, Answer] = {}
    for a in answers:
        final[a.element] = a
    order = [*_ELEMENT_WORDS]
    sentences: list[str] = []
    for name in sorted(final, key=lambda n: order.index(n) if n in order else len(order)):
        if name in _ADMIN_QUESTIONS:
            continue  # payer questions (ABN) are administrative, not part of the clinical addendum
        a = final[name]
        sentence = _sentence(name, a.value)
        if a.comment:
            sentence += f" ({' '.join(a.comment.split())})"
        sentences.append(sentence)
    of = " of " + extraction.date_of_service.strftime("%m/%d/%Y") if extraction.date_of_service else ""
    head = f"Addendum to the procedure note{of} ({extraction.note_id})."
    if not sentences:
        return f"{head}\nNo clarification recorded.\n"
    clinical = {n: a for n, a in final.items() if n not in _ADMIN_QUESTIONS}
    users = sorted({a.user for a in clinical.values() if a.user})
    times = [a.at for a in clinical.values() if a.at is not None]
    when = max(times).date().isoformat() if times else _now().date().isoformat()
    verb = "Clarified" if role == "clinician" else "Corrected"
    return f"{head}\n{' '.join(sentences)}\n{verb} by {_and(users) if users else 'unknown'} on {when}.\n"


ADDENDUM_SUFFIX = ".addendum.txt"
ATTESTED_PREFIX = "Attested by "
LOCKED = 0o400  # an attested addendum is read-only: a later change writes a new version


def addendum_path(note: str | os.PathLike[str], version: int | None = None) -> Path:
    """``NOTE.addendum.txt`` beside ``NOTE.txt``; an earlier, attested version is ``NOTE.vN.addendum.txt``."""
    p = Path(note)
    stem = p.stem if p.suffix else p.name
    return p.with_name(f"{stem}.v{version}{ADDENDUM_SUFFIX}" if version else f"{stem}{ADDENDUM_SUFFIX}")


def attestation_line(user: str, at: datetime) -> str:
    return f"{ATTESTED_PREFIX}{user} at {at.astimezone(UTC).strftime('%Y-%m-%d %H:%M')} UTC."


def is_attested(text: str) -> bool:
    return any(line.startswith(ATTESTED_PREFIX) for line in text.splitlines())


def _body(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(ATTESTED_PREFIX)).strip()


def _archive_attested(note: str | os.PathLike[str], target: Path) -> Path | None:
    """Move the attested addendum at ``target`` to the next free ``NOTE.vN.addendum.txt`` (kept locked)."""
    kept = _link_next_version(note, target)
    os.unlink(target)
    return kept


def _link_next_version(note: str | os.PathLike[str], target: Path) -> Path:
    n = 1
    while os.path.lexists(addendum_path(note, n)):
        n += 1
    kept = addendum_path(note, n)
    os.link(target, kept, follow_symlinks=False)  # fails rather than overwrite an existing version
    return kept


def _name_fits(target: Path) -> None:
    try:
        limit = os.pathconf(target.parent, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    if len(os.fsencode(target.name)) > limit:
        raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), str(target))


class _Staged:
    """An addendum written to a temp file beside the note, renamed into place only by ``commit`` (after the
    store's commit); ``abort`` removes every trace. An attested addendum it replaces is kept as ``NOTE.vN``."""

    def __init__(self, note: str | os.PathLike[str], target: Path, text: str, mode: int) -> None:
        self.note, self.target, self.text, self.mode = note, target, text, mode
        self.tmp: str | None = None
        self.kept: Path | None = None

    def prepare(self) -> None:
        _check_folder(self.target.parent)
        _name_fits(self.target)
        old = _read_text(self.target)  # never through a link
        # an attested addendum is locked (0400) by design: it is kept as NOTE.vN or re-signed, not refused
        problem = None if old is not None and is_attested(old) else output_problem(self.target)
        if problem is not None:
            raise UnsafeStore(f"{self.target}: {problem}")
        fd, self.tmp = tempfile.mkstemp(prefix=".scribe-", suffix=".tmp", dir=self.target.parent)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), self.mode)
            fh.write(self.text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        if old is not None and is_attested(old) and _body(old) != _body(self.text):
            self.kept = _link_next_version(self.note, self.target)  # a link: the old file stays until commit

    def abort(self) -> None:
        for leftover in (self.tmp, self.kept):
            if leftover is not None:
                with contextlib.suppress(OSError):
                    os.unlink(leftover)
        self.tmp = self.kept = None

    def write(self) -> None:
        """Prepare then commit, leaving nothing behind when preparing fails (no store row goes with it)."""
        try:
            self.prepare()
        except BaseException:
            self.abort()
            raise
        self.commit()

    def commit(self) -> None:
        assert self.tmp is not None
        os.replace(self.tmp, self.target)
        self.tmp = None
        with contextlib.suppress(OSError):
            dir_fd = os.open(self.target.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def write_addendum(note: str | os.PathLike[str], text: str) -> Path:
    """Write ``NOTE.addendum.txt`` atomically (0600); the note itself is never touched.

    An attested (locked) addendum is never overwritten: when the text changes it is kept as
    ``NOTE.vN.addendum.txt`` and the new, unattested version takes its name. Same text: nothing written.
    The note's folder must be safe (``folder_problem``); a symbolic link is never followed.
    """
    target = addendum_path(note)
    _check_folder(target.parent)
    _name_fits(target)
    old = _read_text(target)
    if old is not None and is_attested(old):
        if _body(old) == _body(text):
            return target
        _archive_attested(note, target)
    elif old == text:
        return target
    atomic_write_text(target, text)
    return target


def attest_addendum(note: str | os.PathLike[str], text: str, user: str, at: datetime) -> tuple[Path, str]:
    """Write the addendum with its attestation line (name and time) and lock it (0400), without a store row
    (``ReviewStore.attest_note`` does both in one transaction)."""
    target = addendum_path(note)
    signed = _body(text) + "\n" + attestation_line(user, at) + "\n"
    _Staged(note, target, signed, LOCKED).write()
    return target, signed


def current_addendum(note: str | os.PathLike[str]) -> str | None:
    return _read_text(addendum_path(note))


def _read_text(path: Path) -> str | None:
    """The file's text, never through a symbolic link (``UnsafeStore``); None when it does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise UnsafeStore(f"{path}: is a symbolic link; refused") from None
        if err.errno == errno.ENAMETOOLONG:
            return None
        raise
    with os.fdopen(fd, "rb") as fh:
        return fh.read().decode("utf-8", errors="replace")


# ---------------------------------------------------------------------- applying saved answers
STALE_FLAG = "stale_answers"


def stale_flag(stale: Sequence[Answer]) -> Flag:
    """The flag a note carries when saved answers were given for an earlier version of its text."""
    elements = ", ".join(sorted({a.element for a in stale}))
    n = len(stale)
    return Flag(id=STALE_FLAG, severity="warning", rule="identity",
                message=f"{n} saved answer{'s were' if n != 1 else ' was'} given for an earlier version of this "
                        f"note ({elements}) and {'are' if n != 1 else 'is'} not applied: the clinician should answer "
                        "again on the current text")


def with_saved_answers(ex: Extraction, identity: NoteIdentity, store_path: str | os.PathLike[str],
                       payer: str = "medicare") -> tuple[Extraction, StoredAnswers]:
    """The extraction completed with the clinician answers saved for this very note (read-only).

    Stale answers (an earlier text of the note) are never applied; the result carries a
    ``stale_answers`` flag instead. Raises ``sqlite3.Error`` when the store cannot be read.
    """
    from scribe.prompts import complete

    stored = read_answers(store_path, identity, "clinician")
    done = complete(ex, stored.current, payer)[0] if stored.current else ex
    if stored.stale:
        flags = [stale_flag(stored.stale), *done.flags]
        order = {"hard-stop": 0, "warning": 1, "info": 2}
        done = done.model_copy(update={"flags": sorted(flags, key=lambda f: order.get(f.severity, 3))})
    return done, stored
