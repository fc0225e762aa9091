"""The document gate: what kind of document a note is, and whether it records an augmentation.

Decided in this order (each step gives a reason a scribe can read in the worklist):

1. A title that names a non-procedure document (an imaging report, a letter or handout, a clinical note
   such as a progress note, consult, anaesthesia record or a cancelled pre-procedure note) makes it that
   kind, unless the title itself names the augmentation ("CT-GUIDED VERTEBROPLASTY - RADIOLOGY REPORT").
2. Cement delivered today into a vertebral body or the sacrum (a ``cement`` act, today, affirmed) makes it
   an augmentation record.
3. A title that names another procedure (a biopsy, a lumbar puncture, a fusion …) makes it that procedure's
   record.
4. A performed-procedure statement (the procedure named in a session section, not negated, planned or
   historical) makes it an augmentation record; so does needle access today in a record that names the
   augmentation and says it was stopped (a discontinued procedure: no codes, flag ``discontinued_procedure``).
5. Otherwise: a letter (salutation, "Sincerely") is correspondence; a record with procedure sections is another
   procedure; anything else is a clinical note, or ``unknown`` when nothing says.

The vocabulary is data: ``lexicons/documents.json`` (title cues) and ``lexicons/acts.json`` (stop cues).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scribe.acts import STOP_WORDS, _alt, act_patterns, compiled_for, today
from scribe.lexicon import DocumentsLexicon, default_documents
from scribe.models import Act, Document, DocumentKind, Evidence, make_evidence

if TYPE_CHECKING:
    from scribe.resolvers.view import View

_TITLE_KINDS: tuple[DocumentKind, ...] = ("correspondence", "clinical_note", "imaging_report", "other_procedure")
_DEMOGRAPHIC = re.compile(r"^\s*(?:patient|pt|name|mrn|dob|date|dos|chart|hospital no|account|provider|physician|"
                          r"surgeon|attending|radiologist|ordering|exam date|visit date|arrival|conference)"
                          r"\b[^\n]*[:|]", re.IGNORECASE)
_RUN_IN_DEMOGRAPHIC = re.compile(r"\b(?:patient|pt|name|mrn|medical record|dob|date of (?:service|birth|visit|exam)|"
                                 r"dos|chart|hospital no|account|member)\b", re.IGNORECASE)
_PROCEDURE_RECORD = re.compile(r"\b(?:procedure|operative|operation|op)\s+(?:note|report|record)\b", re.IGNORECASE)
_LETTER_WORDS = ("dear", "sincerely", "to whom", "re:")  # literal precheck of the letter cues
_FIELD = re.compile(r"^[A-Za-z][\w /&()'-]{0,40}:\s*\S")  # "HISTORY: ...", "Indication: ..."
_EXAM_LINE = re.compile(r"[ \t]*(?:exam|examination|study|procedure|operation|title)[ \t]*:[ \t]*([^\n]{1,100})$",
                        re.IGNORECASE)


# pattern syntax whose meaning lower-casing would change: an upper-case escape or range, a character by its code, an
# inline flag (a case-sensitive group)
_CASED_SYNTAX = re.compile(r"\\[A-Z0-9xu]|[A-Z]-[A-Z]|\(\?[a-zA-Z-]+[:)]")


def _lowered(rx: re.Pattern[str]) -> re.Pattern[str] | None:
    """``rx`` (case-insensitive) as a case-sensitive pattern for lower-cased ASCII text, which finds the same spans
    about twice as fast; None when lower-casing the pattern would change its meaning (or it holds a non-ASCII
    character, which may match an ASCII one regardless of case: "ſ" matches "s")."""
    if not rx.pattern.isascii() or _CASED_SYNTAX.search(rx.pattern):
        return None
    return re.compile(rx.pattern.lower(), rx.flags & ~re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DocumentPatterns:
    title_lines: int
    titles: tuple[tuple[DocumentKind, re.Pattern[str]], ...]
    augmentation: re.Pattern[str]
    letter: re.Pattern[str]
    procedure_record: re.Pattern[str]
    clinical_fields: re.Pattern[str]
    stay_fields: re.Pattern[str]
    procedure_fields: re.Pattern[str]
    # the title patterns for a lower-cased ASCII title line (``_lowered``), in the order of ``titles``
    titles_lower: tuple[re.Pattern[str] | None, ...]
    augmentation_lower: re.Pattern[str] | None


def compile_document_patterns(lex: DocumentsLexicon) -> DocumentPatterns:
    titles = tuple((k, _alt(lex.titles[k])) for k in _TITLE_KINDS if k in lex.titles)
    augmentation = _alt(lex.augmentation_title)
    return DocumentPatterns(lex.title_lines, titles, augmentation, _alt(lex.letter),
                            _alt(lex.procedure_record), _alt(lex.clinical_fields), _alt(lex.stay_fields),
                            _alt(lex.procedure_fields), tuple(_lowered(rx) for _, rx in titles),
                            _lowered(augmentation))


def _search(rx: re.Pattern[str], lowered: re.Pattern[str] | None, chunk: str,
            lower: str | None) -> re.Match[str] | None:
    """``rx.search(chunk)``, by the lower-cased pattern on ``lower`` (the chunk lower-cased, when it is ASCII)."""
    if lower is not None and lowered is not None:
        return lowered.search(lower)
    return rx.search(chunk)


_COMPILED: dict[int, DocumentPatterns] = {}


def document_patterns() -> DocumentPatterns:
    """The compiled patterns of the document lexicon in use."""
    return compiled_for(default_documents(), _COMPILED, compile_document_patterns)


@dataclass(slots=True)
class Gate:
    document: Document
    augmentation: bool
    discontinued: bool


def title_spans(text: str, n_lines: int) -> list[tuple[int, int]]:
    """The title lines: up to ``n_lines`` short lines (at most 100 characters, not fields nor demographics) of
    the note's first block (up to its first blank line, at most 8 lines); plus the value of an "EXAM:" /
    "Procedure:" line among the first 15 lines. A dictation that opens with a sentence has no title."""
    spans: list[tuple[int, int]] = []
    pos = 0
    seen = 0
    while pos < len(text) and len(spans) < n_lines and seen < 8:
        end = text.find("\n", pos)
        end = len(text) if end == -1 else end
        line = text[pos:end].strip()
        if not line:
            if seen:
                break  # the first block ends
        else:
            seen += 1
            if len(line) > 100 and not _FIELD.match(line):
                # a note run into one line ("ct myelogram thoracic and lumbar spine patient john doe mrn …"):
                # its title is the words before the demographics, when they come within the first 15 words
                lead = text.index(line[0], pos)
                demo = next((d for d in _RUN_IN_DEMOGRAPHIC.finditer(line, 0, 160) if d.start() > 0), None)
                if demo is not None and demo.start() > 0 and len(line[: demo.start()].split()) <= 15:
                    spans.append((lead, lead + demo.start()))
                break
            if not (len(line) > 100 or _DEMOGRAPHIC.match(line) or _FIELD.match(line)):
                lead = text.index(line[0], pos)
                spans.append((lead, lead + len(line)))
        pos = end + 1
    start = 0
    for _ in range(15):  # each of the first 15 lines, matched at its start (no search through the note)
        nxt = text.find("\n", start)
        end = len(text) if nxt == -1 else nxt
        if ":" in text[start:end]:
            m = _EXAM_LINE.match(text, start, end)
            if m is not None:
                spans.append((m.start(1), m.end(1)))
        if nxt == -1:
            break
        start = nxt + 1
    return spans


def _evidence(v: View, start: int, end: int, rule: str) -> Evidence:
    if v.tab.idx:
        return v.evidence(start, end, rule)
    return make_evidence(start, end, v.text[start:end], None, rule)


def classify(v: View, acts: list[Act], performed: list[Evidence], named: bool) -> Gate:
    """``performed``: evidence of performed-procedure statements (the procedure named in a session section,
    affirmed); ``named``: the note names a procedure of the family anywhere."""
    pats = document_patterns()
    text = v.text
    spans = title_spans(text, pats.title_lines)
    if not spans and v.doc.user_data.get("flat") and len(v.sections) > 1 and v.sections[0].name == "TITLE":
        # a note flattened into one paragraph: its title is the words before its first heading (at most 15)
        first = v.sections[0]
        head = text[first.start : first.end].rstrip()
        if 0 < len(head.split()) <= 15:
            spans.append((first.start, first.start + len(head)))
    aug_title: Evidence | None = None
    title_kind: DocumentKind | None = None
    title_ev: Evidence | None = None
    titles = list(zip(pats.titles, pats.titles_lower, strict=True))
    for s, e in spans:
        chunk = text[s:e]
        # an ASCII chunk lower-cased keeps its offsets: the lower-cased patterns run on it
        lower = chunk.lower() if chunk.isascii() else None
        hit = _search(pats.augmentation, pats.augmentation_lower, chunk, lower)
        if hit and v.tab.idx:
            tok = v.tab.token_at(s + hit.start())
            if v.has(tok, tok + 1, "negated", "historical", "hypothetical"):
                hit = None  # "Procedure: biopsy of T10. Vertebroplasty was deferred."
        if hit and aug_title is None and not any(_search(rx, low, chunk, lower) for (kind, rx), low in titles
                                                 if kind in ("correspondence", "clinical_note")):
            aug_title = _evidence(v, s + hit.start(), s + hit.end(), "title")
        if title_kind is None:
            for (kind, rx), low in titles:
                m = _search(rx, low, chunk, lower)
                if m:
                    if kind == "clinical_note" and _PROCEDURE_RECORD.search(chunk):
                        break  # "Consult and procedure note": the acts decide
                    title_kind, title_ev = kind, _evidence(v, s + m.start(), s + m.end(), "title")
                    break
    cement = today(acts, "cement")
    access = today(acts, "access")

    def gate(kind: DocumentKind, reason: str, ev: list[Evidence], aug: bool = False, disc: bool = False) -> Gate:
        return Gate(Document(kind=kind, evidence=ev, reason=reason, discontinued=disc), aug, disc)

    if title_kind in ("correspondence", "clinical_note", "imaging_report") and aug_title is None and title_ev:
        label = {"correspondence": "a letter or handout", "clinical_note": "a clinical note",
                 "imaging_report": "an imaging report"}[title_kind]
        return gate(title_kind, f"the title names {label} ('{title_ev.text}'), not a procedure record", [title_ev])
    lower = v.tab.lower_text if len(v.tab.lower_text) == len(text) else text.lower()
    letter = pats.letter.search(text) if any(w in lower for w in _LETTER_WORDS) else None
    if letter:
        return gate("correspondence", "written as a letter", [_evidence(v, letter.start(), letter.end(), "letter")])
    stay, clinical, procedure_field, first_field = _field_kinds(text, pats)
    if len(stay) >= 2 and not procedure_field:
        # a hospital stay's summary ("Admission date:", "Hospital course:", "Discharge medications:") with none
        # of a procedure record's fields ("Technique:", "EBL:"): it may tell of a procedure, it records none
        labels = ", ".join(sorted(f.rstrip(": ") for f in stay)[:3])
        return gate("clinical_note", f"laid out as a discharge summary ({labels}), with no procedure record",
                    [_evidence(v, first_field[0], first_field[1], "fields")])
    if cement:
        first = cement[0]
        where = f" into {first.level}" if first.level else ""
        return gate("augmentation_procedure", f"cement delivered{where} today", list(first.evidence), aug=True)
    if len(clinical) >= 2 and not procedure_field and aug_title is None:
        # a consult, H&P or progress note by its fields ("Chief complaint:", "Review of systems:") that records
        # no cement today and no procedure-record field
        labels = ", ".join(sorted(f.rstrip(": ") for f in clinical)[:3])
        first = pats.clinical_fields.search(text)
        ev = [_evidence(v, first.start(), first.end(), "fields")] if first else []
        return gate("clinical_note", f"laid out as a clinical note ({labels}), with no procedure record", ev)
    if title_kind == "other_procedure" and aug_title is None and title_ev:
        return gate("other_procedure", f"the title names another procedure ('{title_ev.text}') and no cement was "
                    "delivered into a vertebral body", [title_ev])
    stop = pats_incomplete(v) if (named or aug_title is not None) else None
    if stop is not None:
        if access:
            return gate("augmentation_procedure", "the augmentation was stopped before any cement was delivered",
                        [stop, *access[0].evidence], aug=True, disc=True)
        return gate("clinical_note", "the augmentation was cancelled before any access: nothing was done", [stop])
    if performed or aug_title is not None:
        ev = performed[:1] or [aug_title]  # type: ignore[list-item]
        return gate("augmentation_procedure", f"the note records the procedure as performed ('{ev[0].text}')", ev,
                    aug=True)
    if title_kind is not None and title_ev is not None:
        return gate(title_kind, f"the title names {title_kind.replace('_', ' ')} ('{title_ev.text}')", [title_ev])
    record = pats.procedure_record.search(text[: min(len(text), 2000)])
    if any(s.name in ("DESCRIPTION",) for s in v.sections) and record:
        return gate("other_procedure", "a procedure record with no augmentation act",
                    [_evidence(v, record.start(), record.end(), "procedure")])
    if text.strip():
        return gate("clinical_note", "no procedure of this family is recorded as performed", [])
    return gate("unknown", "empty note", [])


def _field_kinds(text: str, pats: DocumentPatterns) -> tuple[set[str], set[str], bool, tuple[int, int]]:
    """The hospital-stay and clinical-note field labels of the note's lines, whether any line is a procedure
    record's field, and the span of the first stay label (each line matched at its start: no search through the
    note; a line's label is what comes before its first colon within 60 characters)."""
    stay: set[str] = set()
    clinical: set[str] = set()
    procedure = False
    first = (0, 0)
    start = 0
    stay_match, clinical_match, procedure_match = (pats.stay_fields.match, pats.clinical_fields.match,
                                                   pats.procedure_fields.match)
    for line in text.split("\n"):
        colon = line.find(":", 0, 60)
        if colon != -1:
            end = start + colon + 1
            m = stay_match(text, start, end)
            if m is not None:
                if not stay:
                    first = (m.start(), m.end())
                stay.add(m.group(0).strip().lower())
            elif (c := clinical_match(text, start, end)) is not None:
                clinical.add(c.group(0).strip().lower())
            elif not procedure and procedure_match(text, start, end) is not None:
                procedure = True
        start += len(line) + 1
    return stay, clinical, procedure, first


def pats_incomplete(v: View) -> Evidence | None:
    """The first stop cue ("could not be completed", "aborted", "no cement was injected") in a session section."""
    rx = act_patterns().incomplete
    lower = v.tab.lower_text if len(v.tab.lower_text) == len(v.text) else v.text.lower()
    if not any(w in lower for w in STOP_WORDS):
        return None  # a literal precheck: the stop cues' regexes are tried at every character
    for m in rx.finditer(lower):
        if not v.tab.idx:
            return None
        tok = v.tab.token_at(m.start())
        if v.session(tok):
            return _evidence(v, m.start(), m.end(), "incomplete")
    return None
