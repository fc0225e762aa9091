"""Where review answers live: an append-only SQLite log beside the notes.

Default location: ``<note_dir>/.scribe/reviews.sqlite3`` (created owner-only, 0600). Every answer is
a row (note id, SHA-256 of the note bytes, element, JSON value, user, ISO time, role, comment); rows
are never updated or deleted, so the history of a note is kept and the latest answer to an element
wins when applied. Each ``save`` runs in one transaction in WAL mode: a crash between the write and
the commit leaves either the whole batch of answers or none of it.

Nothing here imports Textual or spaCy.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from scribe.fsutil import OWNER_ONLY, atomic_write_text
from scribe.models import Answer, Extraction

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


def default_store_path(note: str | os.PathLike[str]) -> Path:
    """``<note_dir>/.scribe/reviews.sqlite3`` for a note file (or a folder of notes)."""
    p = Path(note)
    folder = p if p.is_dir() else p.parent
    return folder / STORE_DIR / STORE_NAME


def read_answers(store_path: str | os.PathLike[str], note_id: str, role: Role = "clinician") -> list[Answer]:
    """The saved answers for a note, read-only (no store is created; none yet means no answers).

    Raises ``sqlite3.Error`` when the store exists but cannot be read.
    """
    path = Path(store_path)
    if not path.is_file():
        return []
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
    try:
        cur = conn.execute("SELECT element, value, user, at, comment FROM answers WHERE note_id = ? AND role = ? "
                           "ORDER BY id", (note_id, role))
        return [Answer(element=el, value=json.loads(v), user=u, at=datetime.fromisoformat(at), comment=c)
                for el, v, u, at, c in cur.fetchall()]
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
            # a folder we create is owner-only; an existing folder (--store elsewhere) is left alone
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                os.chmod(self.path.parent, 0o700)
        if not self.path.exists():
            # create the file owner-only before SQLite opens it
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, OWNER_ONLY)
            os.close(fd)
        with contextlib.suppress(OSError):
            os.chmod(self.path, OWNER_ONLY)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per save.
        self._conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=10.0)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(_SCHEMA)
        for side in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.chmod(str(self.path) + side, OWNER_ONLY)

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

    def save(self, note_id: str, answers: Sequence[Answer], *, note_sha256: str = "",
             role: Role = "clinician") -> None:
        """Append ``answers`` for ``note_id`` in one transaction (all or nothing)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        rows = [
            (note_id, note_sha256, a.element, json.dumps(a.value, sort_keys=True, default=_json_default),
             a.user, _iso(a.at), role, a.comment)
            for a in answers
        ]
        if not rows:
            return
        self._transaction(rows, "INSERT INTO answers (note_id, note_sha256, element, value, user, at, role, comment)"
                                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)")

    def attest(self, note_id: str, user: str, addendum_text: str, *, note_sha256: str = "") -> datetime:
        """Record that ``user`` attests the addendum for ``note_id``; returns the time recorded."""
        at = _now()
        self._transaction([(note_id, note_sha256, user, at.isoformat(), addendum_text)],
                          "INSERT INTO attestations (note_id, note_sha256, user, at, addendum) VALUES (?, ?, ?, ?, ?)")
        return at

    # ------------------------------------------------------------------ reading
    def answers_for(self, note_id: str, role: Role | None = "clinician") -> list[Answer]:
        """Every answer for the note, oldest first (apply in order: the latest per element wins).

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


def addendum_text(extraction: Extraction, answers: Sequence[Answer], *, role: Role = "clinician") -> str:
    """Clinical wording of the latest answers, e.g.::

        Addendum: treated levels T12, L1; imaging guidance: fluoroscopy; conservative therapy: 8 weeks;
        answered by dr_x on 2024-03-04.
        (Note kp_01, date of service 2024-03-02.)
    """
    final: dict[str, Answer] = {}
    for a in answers:
        final[a.element] = a
    order = [*_ELEMENT_WORDS]
    parts: list[str] = []
    for name in sorted(final, key=lambda n: order.index(n) if n in order else len(order)):
        if name in _ADMIN_QUESTIONS:
            continue  # payer questions (ABN) are administrative, not part of the clinical addendum
        a = final[name]
        label = _ELEMENT_WORDS.get(name, name.replace("_", " "))
        sep = " " if name == "levels" else ": "
        part = f"{label}{sep}{value_words(name, a.value)}"
        if a.comment:
            part += f" ({a.comment})"
        parts.append(part)
    ref = f"(Note {extraction.note_id}"
    if extraction.date_of_service:
        ref += f", date of service {extraction.date_of_service.isoformat()}"
    ref += ".)"
    if not parts:
        return f"Addendum: no clarification recorded.\n{ref}\n"
    users = sorted({a.user for a in final.values() if a.user})
    times = [a.at for a in final.values() if a.at is not None]
    when = max(times).date().isoformat() if times else _now().date().isoformat()
    by = ", ".join(users) or "unknown"
    verb = "answered" if role == "clinician" else "corrected"
    return f"Addendum: {'; '.join(parts)}; {verb} by {by} on {when}.\n{ref}\n"


ADDENDUM_SUFFIX = ".addendum.txt"


def addendum_path(note: str | os.PathLike[str]) -> Path:
    p = Path(note)
    return p.with_name(p.name + ADDENDUM_SUFFIX)


def write_addendum(note: str | os.PathLike[str], text: str) -> Path:
    """Write ``<note>.addendum.txt`` atomically (0600); the note itself is never touched."""
    target = addendum_path(note)
    atomic_write_text(target, text)
    return target
