"""The review state of one note, without any UI: extraction, stored answers, completed result.

``NoteState.recompute`` re-runs ``scribe.prompts.complete`` (apply answers, re-code, list what is
still to ask) the moment an answer changes. This module does not import Textual.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scribe.identity import NoteIdentity
from scribe.models import ELEMENT_NAMES, Answer, Evidence, Extraction, Option, Prompt, Status
from scribe.notes import Note, NoteError
from scribe.prompts import CHOICES, INPUT_KIND, PAYER_QUESTIONS, QUESTIONS, UNDETERMINED_OPTION, complete
from scribe.store import ReviewStore, addendum_text, current_addendum, value_words

LABELS: dict[str, str] = {
    "procedure_type": "procedure",
    "cavity_creation": "cavity",
    "levels": "levels",
    "guidance": "guidance",
    "biopsy": "biopsy",
    "laterality": "laterality",
    "conservative_therapy": "conservative",
    "indication": "indication",
    "abn_on_file": "ABN on file",
}


@dataclass
class NoteState:
    path: Path
    text: str
    extraction: Extraction | None = None
    error: str = ""
    sha256: str = ""
    clinician: list[Answer] = field(default_factory=list)
    coder: list[Answer] = field(default_factory=list)
    done: Extraction | None = None
    prompts: list[Prompt] = field(default_factory=list)
    audit: bool = False  # coder corrections are applied (and shown) only in audit mode
    stale: bool = False  # some stored answers were given for a different version of the note
    identity: NoteIdentity | None = None  # text hash + source id: what the store matches answers by
    stale_answers: list[Answer] = field(default_factory=list)  # shown as stale, never applied
    attested: dict[str, Any] | None = None  # the latest attestation of this very text (user, at)
    revision: int = 0  # the store's revision of this note that ``clinician`` reflects (optimistic concurrency)

    @property
    def note_id(self) -> str:
        return self.extraction.note_id if self.extraction is not None else self.path.stem

    @property
    def answers(self) -> list[Answer]:
        """Clinician answers, then (audit mode) coder corrections: the latest per element wins."""
        return [*self.clinician, *self.coder] if self.audit else list(self.clinician)

    @property
    def complete_(self) -> bool:
        return self.done is not None and not self.done.missing and not self.prompts

    def load_answers(self, store: ReviewStore) -> None:
        """The answers saved for this very note; answers to an earlier text of it are kept aside as stale."""
        if self.identity is None:
            return
        with contextlib.suppress(OSError):  # the recovery rule: an attestation committed but never renamed
            store.recover_addendum(self.path, self.identity)
        self.revision = store.revision(self.identity)
        clinician = store.lookup(self.identity, "clinician")
        coder = store.lookup(self.identity, "coder")
        self.clinician, self.coder = clinician.current, coder.current
        self.stale_answers = [*clinician.stale, *(coder.stale if self.audit else [])]
        self.stale = bool(self.stale_answers)
        attested = store.latest_attestation(self.identity)
        # attested only while the addendum beside the note is still the attested text (a later change starts a
        # new, unattested version)
        self.attested = attested if attested and current_addendum(self.path) == attested["addendum"] else None

    def recompute(self, payer: str) -> None:
        if self.extraction is None:
            return
        self.done, self.prompts = complete(self.extraction, self.answers, payer)  # billing flags included

    # ------------------------------------------------------------ views over the state
    def corrected(self, element: str) -> bool:
        return self.audit and any(a.element == element for a in self.coder)

    def latest_answer(self, element: str) -> Answer | None:
        for a in reversed(self.answers):
            if a.element == element:
                return a
        return None

    def stale_answer(self, element: str) -> Answer | None:
        for a in reversed(self.stale_answers):
            if a.element == element:
                return a
        return None

    def rows(self) -> list[tuple[str, str, str]]:
        """(element, status, value words) for the checklist, in contract order plus payer questions."""
        if self.done is None:
            return []
        out: list[tuple[str, str, str]] = []
        for name in ELEMENT_NAMES:
            el = self.done.elements.get(name)
            status = el.status.value if isinstance(el.status, Status) else str(el.status)
            if status == "not_applicable":
                value = "n/a"
            elif el.detail.get("undetermined"):
                value = "clinically undetermined"  # apply_answers stores an empty value plus this detail
            elif status in ("missing", "conflict") and el.value in (None, [], {}):
                value = "-"
            else:
                value = value_words(name, el.value, short=True)
            if self.corrected(name):
                status = "corrected"
            elif status in ("missing", "conflict") and (old := self.stale_answer(name)) is not None:
                status, value = "stale", value_words(name, old.value, short=True) + " (earlier text; not applied)"
            out.append((name, status, value))
        asked = {p.element for p in self.prompts}
        for name in PAYER_QUESTIONS:
            ans = self.latest_answer(name)
            if ans is not None:
                status = "corrected" if self.corrected(name) else "answered"
                out.append((name, status, value_words(name, ans.value, short=True)))
            elif name in asked:
                out.append((name, "missing", "-"))
        return out

    def evidence_for(self, element: str) -> list[Evidence]:
        if self.done is None:
            return []
        if element in ELEMENT_NAMES:
            ev = list(self.done.elements.get(element).evidence)
            if ev:
                return ev
        for p in self.prompts:
            if p.element == element:
                return list(p.cites)
        return []

    def prompt_for(self, element: str, *, coder: bool = False) -> Prompt:
        """The pending prompt for ``element`` or, for a found/answered one, a review question."""
        if not coder:
            for p in self.prompts:
                if p.element == element:
                    return p
        current = ""
        if self.done is not None and element in ELEMENT_NAMES:
            current = value_words(element, self.done.elements.get(element).value)
        elif (ans := self.latest_answer(element)) is not None:
            current = value_words(element, ans.value)
        question = QUESTIONS.get(element, f"Value of {element}?")
        if coder:
            question = f"Currently: {current or 'not documented'}. If this is wrong, give the right value. " + question
        elif current:
            question = f"Currently: {current}. " + question
        options = [Option(value=v, label=label) for v, label in CHOICES.get(element, [])] + [UNDETERMINED_OPTION]
        return Prompt(id=f"{self.note_id}:{element}", element=element, question=question,
                      input_kind=INPUT_KIND.get(element, "text"),  # type: ignore[arg-type]
                      options=options, cites=self.evidence_for(element)[:3],
                      reason="audit" if coder else "review")

    def addendum(self) -> str:
        assert self.extraction is not None
        return addendum_text(self.extraction, self.clinician)


def read_and_extract(path: Path | Note | NoteError, payer: str, audit: bool = False) -> NoteState:
    """Read and extract (with mentions) one note; safe to run in a worker thread (no store access).

    ``path`` may also be a note of a FHIR / HL7 file (or the error of one of its entries): its state's
    ``path`` is ``<that file's folder>/<note_id>``, so the answer store, addendum and gold file of each
    note of a multi-note file sit beside that file under the note's own name. Its identity carries the
    file's own document id (``Note.source_id``).
    """
    from scribe.api import extract_note
    from scribe.identity import identity_of
    from scribe.notes import read_note
    from scribe.sources import error_note_id, source_file

    if isinstance(path, NoteError):
        return NoteState(path=source_file(path.source).parent / error_note_id(path), text="", error=str(path),
                         audit=audit)
    if isinstance(path, Note):
        note, where = path, source_file(path).parent / path.note_id
    else:
        try:
            note = read_note(path)
        except NoteError as err:
            return NoteState(path=path, text="", error=str(err), audit=audit)
        where = path
    state = NoteState(path=where, text=note.text, audit=audit)
    try:
        state.identity = identity_of(note)
        state.sha256 = state.identity.sha256
        state.extraction = extract_note(note, payer=payer, mentions=True)
    except Exception as err:  # one bad note never sinks the queue; the message names the class, never text
        state.error = f"{where.name}: internal error ({type(err).__name__})"
    return state


def load_note(path: Path | Note | NoteError, store: ReviewStore, payer: str, audit: bool = False) -> NoteState:
    """Read, extract, restore the stored answers and complete one note."""
    state = read_and_extract(path, payer, audit)
    if state.extraction is not None:
        state.load_answers(store)
        state.recompute(payer)
    return state


def make_answer(element: str, value: Any, user: str, comment: str = "") -> Answer:
    return Answer(element=element, value=value, user=user, at=datetime.now(UTC).replace(microsecond=0),
                  comment=comment)


def queue_order(states: Sequence[NoteState], audit: bool = False) -> list[NoteState]:
    """Incomplete notes (non-empty ``missing`` or a pending prompt) first, then by note id; errors last."""
    if audit:
        return sorted(states, key=lambda s: (bool(s.error), s.note_id))
    return sorted(states, key=lambda s: (bool(s.error), s.complete_, s.note_id))
