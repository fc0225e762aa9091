"""Prompts and answers: Extraction -> questions; answers -> a completed Extraction.

A prompt is a compliant, non-leading query: it names the note's own words, offers every
documented choice plus "other / clinically undetermined", and never mentions payment. Answers
are an append-only log (the latest answer to an element wins); ``apply_answers`` never edits the
extraction in place. Payer questions (``abn_on_file``) are answered the same way and are read by
the coding engine. Nothing here imports spaCy or Textual.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scribe.models import (
    ELEMENT_NAMES,
    LEVEL_INDEX,
    LEVEL_ORDER,
    MISSING_ORDER,
    TRANSITIONAL,
    Answer,
    BiopsyValue,
    ConservativeTherapyValue,
    Element,
    Evidence,
    Extraction,
    Guidance,
    Indication,
    Laterality,
    Modality,
    Option,
    ProcedureType,
    Prompt,
    Proposal,
    Status,
    TreatedLevel,
    level_sort_key,
)

UNDETERMINED = "undetermined"
UNDETERMINED_OPTION = Option(value=UNDETERMINED, label="Other / clinically undetermined")
PAYER_QUESTIONS = ("abn_on_file",)

_LEVEL_TOKEN = re.compile(r"\b([CTLS])\s*-?\s*(\d{1,2})\b|\b(sacrum)\b", re.IGNORECASE)
_RANGE = re.compile(r"\b([CTLS])\s*-?\s*(\d{1,2})\s*(?:-|–|to|through|thru)\s*([CTLS])?\s*-?\s*(\d{1,2})\b",
                    re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|days?|w|wks?|weeks?|mo|mos|months?|y|yrs?|years?)?\b\s*(.*)$",
                       re.IGNORECASE | re.DOTALL)
_UNIT_WEEKS = {"d": 1 / 7, "w": 1.0, "m": 52 / 12, "y": 52.0}

# Choices offered for each element (value, label). Labels are neutral clinical wording.
CHOICES: dict[str, list[tuple[Any, str]]] = {
    "procedure_type": [
        ("vertebroplasty", "Vertebroplasty (cement injected, no cavity created)"),
        ("kyphoplasty", "Vertebral augmentation with a cavity-creating device (e.g. balloon, osteotome)"),
        ("mixed", "Both: vertebroplasty at some levels, augmentation at others"),
        ("sacroplasty", "Sacroplasty"),
    ],
    "cavity_creation": [
        (True, "A device created a cavity or reduced the fracture before cement"),
        (False, "No cavity was created: cement only"),
    ],
    "laterality": [("unilateral", "One side (unilateral access)"), ("bilateral", "Both sides (bilateral access)")],
    "guidance": [
        (["fluoroscopy"], "Fluoroscopy (including C-arm / biplane)"),
        (["ct"], "CT (including cone-beam / O-arm)"),
        (["ct", "fluoroscopy"], "Both CT and fluoroscopy"),
    ],
    "indication": [
        ("osteoporosis", "Osteoporotic (fragility) fracture"),
        ("neoplasm", "Neoplasm (metastasis, myeloma, lymphoma or other tumour)"),
        ("hemangioma", "Vertebral hemangioma"),
        ("trauma", "Traumatic fracture"),
        ("other", "Other cause (please specify)"),
    ],
    "abn_on_file": [
        (True, "Yes, a signed ABN is on file for this procedure"),
        (False, "No signed ABN is on file"),
    ],
}

INPUT_KIND: dict[str, str] = {
    "procedure_type": "choice", "cavity_creation": "choice", "levels": "levels", "laterality": "choice",
    "guidance": "choice", "biopsy": "biopsy", "conservative_therapy": "duration", "indication": "choice",
    "abn_on_file": "bool",
}

QUESTIONS: dict[str, str] = {
    "procedure_type": "Which procedure was performed in this session?",
    "cavity_creation": "Please clarify whether a device created a cavity or reduced the fracture before the cement "
                       "was injected, and at which levels.",
    "levels": "Which vertebral levels were treated in this session?",
    "laterality": "Was the sacrum accessed on one side or on both sides?",
    "guidance": "Which imaging guided needle placement during the procedure?",
    "biopsy": "A biopsy is documented. From which site (level or bone) was the specimen taken?",
    "conservative_therapy": "How long was non-surgical management tried before this procedure, and which "
                            "treatments were used?",
    "indication": "What is the underlying cause of the treated fracture or lesion?",
    "abn_on_file": "Is a signed Advance Beneficiary Notice on file for this procedure?",
}

WAITING: dict[str, list[str]] = {
    "procedure_type": ["22510", "22511", "22512", "22513", "22514", "22515", "0200T", "0201T"],
    "cavity_creation": ["22513", "22514", "22515"],
    "laterality": ["0200T", "0201T"],
    "biopsy": ["20225", "20220", "38220", "38221", "38222"],
}


class AnswerError(ValueError):
    """An answer that does not fit its element (one line, safe to show)."""


# ----------------------------------------------------------------------------- prompts
def _cites(el: Element, limit: int = 3) -> list[Evidence]:
    return el.evidence[:limit]


def _quote(evs: list[Evidence]) -> str:
    words = []
    for e in evs:
        t = " ".join(e.text.split())
        if t and t.lower() not in {w.lower() for w in words}:
            words.append(t)
    return ", ".join(f"'{w}'" for w in words[:3])


def _options(element: str) -> list[Option]:
    return [Option(value=v, label=label) for v, label in CHOICES.get(element, [])] + [UNDETERMINED_OPTION]


def _waiting(ex: Extraction, element: str) -> list[str]:
    if element == "levels":
        proc = ex.elements.procedure_type.value
        return {"vertebroplasty": ["22510", "22511", "22512"], "kyphoplasty": ["22513", "22514", "22515"],
                "sacroplasty": ["0200T", "0201T"]}.get(str(proc), WAITING["procedure_type"])
    return list(WAITING.get(element, []))


def build_prompts(ex: Extraction, proposal: Proposal | None = None, answers: Sequence[Answer] = ()) -> list[Prompt]:
    """One prompt per missing or conflicting element, then the payer questions the flags raise."""
    prompts: list[Prompt] = []
    for name in MISSING_ORDER:
        if name not in ex.missing:
            continue
        el = ex.elements.get(name)
        question = QUESTIONS[name]
        cites = _cites(el)
        if el.status == Status.CONFLICT:
            reason = "conflict"
            if cites:
                question = f"The note documents {_quote(cites)}, which do not agree. " + question
        else:
            reason = "missing"
            context = _context_for(ex, name)
            if context:
                cites = context
                question = f"The note documents {_quote(context)}. " + question
        prompts.append(Prompt(id=f"{ex.note_id}:{name}", element=name, question=question,
                              input_kind=INPUT_KIND[name],  # type: ignore[arg-type]
                              options=_options(name), cites=cites, reason=reason,
                              waiting_codes=_waiting(ex, name)))
    flags = proposal.flags if proposal is not None else ex.flags
    answered = {a.element for a in answers}
    for f in flags:
        if f.id == "abn_required" and f.severity != "info" and "abn_on_file" not in answered:
            prompts.append(Prompt(id=f"{ex.note_id}:abn_on_file", element="abn_on_file",
                                  question=QUESTIONS["abn_on_file"], input_kind="bool",
                                  options=_options("abn_on_file"), cites=f.evidence[:3], reason=f.id))
            break
    return prompts


def _context_for(ex: Extraction, name: str) -> list[Evidence]:
    """The note's own words that make the question relevant (never a suggested answer)."""
    el = ex.elements
    if name == "cavity_creation":
        return el.procedure_type.evidence[:2]
    if name == "biopsy":
        return el.biopsy.evidence[:2]
    if name in ("levels", "guidance", "laterality"):
        return el.procedure_type.evidence[:1]
    if name == "conservative_therapy":
        return el.conservative_therapy.evidence[:2]
    return []


# ----------------------------------------------------------------------------- parsing answers
def normalised(raw: str) -> str:
    """The answer as the note pipeline's normaliser reads it (``token.norm_`` joined by spaces), so an
    answer may say whatever a note may: "lumbar two" -> "l2", "tee twelve" -> "t12", "kypho plasty"."""
    from scribe.nlp import get_nlp

    text = " ".join(str(raw).split())[:500]
    if not text:
        return ""
    nlp = get_nlp()
    doc = nlp.tokenizer(text)
    doc.user_data["text"] = text
    doc.user_data["dos"] = None
    doc = nlp.get_pipe("scribe_normalize")(doc)
    return " ".join(t.norm_ for t in doc)


def _spoken_numbers(text: str) -> str:
    """Number words at the start of a duration as digits: "six weeks" -> "6 weeks", "a month" -> "1 month"."""
    from scribe.numbers import parse_number

    words = text.split()
    got = parse_number(words) if words and not words[0][:1].isdecimal() else None
    if got is None:
        return text
    value, used = got
    return " ".join([f"{value:g}", *words[used:]])


def parse_levels(raw: str) -> list[str]:
    """'T12, L1' / 'T11-L1' / 't12 and l1' / 'lumbar two' / 'sacrum' -> levels in spinal order."""
    return _parse_levels(normalised(raw))


def _parse_levels(raw: str) -> list[str]:
    found: list[str] = []
    consumed: list[tuple[int, int]] = []
    for m in _RANGE.finditer(raw):
        a = f"{m.group(1).upper()}{int(m.group(2))}"
        b = f"{(m.group(3) or m.group(1)).upper()}{int(m.group(4))}"
        if a not in LEVEL_INDEX or b not in LEVEL_INDEX:
            raise AnswerError(f"unknown level in range {m.group(0)!r}")
        ia, ib = sorted((LEVEL_INDEX[a], LEVEL_INDEX[b]))
        found.extend(LEVEL_ORDER[ia : ib + 1])
        consumed.append(m.span())
    for m in _LEVEL_TOKEN.finditer(raw):
        if any(s <= m.start() < e for s, e in consumed):
            continue
        if m.group(3):
            found.append("sacrum")
            continue
        lv = f"{m.group(1).upper()}{int(m.group(2))}"
        if lv not in LEVEL_INDEX and lv not in TRANSITIONAL:  # T13 / L6: kept, and coding flags them (C2)
            raise AnswerError(f"unknown level {lv!r} (C1-C7, T1-T12, L1-L5, S1-S5, sacrum; T13 or L6 if "
                              "transitional)")
        found.append(lv)
    rest = _LEVEL_TOKEN.sub(" ", _RANGE.sub(" ", raw))
    if re.search(r"[A-Za-z0-9]", re.sub(r"\b(and|to|through|thru)\b", " ", rest, flags=re.IGNORECASE)):
        raise AnswerError("levels look like 'T12, L1' or 'T11-L1'")
    if not found:
        raise AnswerError("no level given (for example 'T12, L1' or 'T11-L1')")
    return sorted(set(found), key=level_sort_key)


def parse_weeks(raw: str) -> float:
    """'6 weeks' / 'six weeks' / '3 months' / '10 days' / '6' (weeks) -> weeks."""
    m = _DURATION.match(_spoken_numbers(str(raw).strip().lower()))
    if not m or m.group(3).strip():
        raise AnswerError("a duration looks like '6 weeks', '3 months' or '10 days'")
    return _weeks_of(m)


def parse_therapy(raw: str) -> dict[str, Any]:
    """'8 weeks of bracing and analgesics' -> {"weeks": 8.0, "modalities": ["analgesics", "bracing"]}."""
    m = _DURATION.match(_spoken_numbers(str(raw).strip().lower()))
    if not m:
        raise AnswerError("a duration looks like '6 weeks', '3 months' or '10 days' (treatments may follow: "
                          "'8 weeks of bracing and analgesics')")
    rest = m.group(3).strip().lower()
    if rest and m.group(2) is None:  # "8 weaks": no unit before the words
        raise AnswerError("a duration looks like '6 weeks', '3 months' or '10 days'")
    modalities: list[str] = []
    if rest:
        for pattern, value in _therapy_terms():
            if re.search(rf"\b{re.escape(pattern)}s?\b", rest) and value not in modalities:
                modalities.append(value)
        leftover = re.sub(r"\b(of|with|and|or|plus|then|failed|trial|tried)\b|[,;&/+.]", " ", rest)
        if not modalities and leftover.strip():
            modalities.append("other")
    order = list(get_args(Modality))
    return {"weeks": _weeks_of(m), "modalities": sorted(modalities, key=order.index)}


def _therapy_terms() -> list[tuple[str, str]]:
    from scribe.lexicon import default_lexicon

    terms = [(t.pattern.lower(), t.value) for t in default_lexicon().terms if t.label == "THERAPY" and t.value]
    return sorted(terms, key=lambda x: -len(x[0]))  # type: ignore[return-value]


def _weeks_of(m: re.Match[str]) -> float:
    n = float(m.group(1))
    unit = (m.group(2) or "w").lower()[0]
    weeks = round(n * _UNIT_WEEKS[unit], 2)
    if weeks > 52 * 30:
        raise AnswerError("duration longer than 30 years")
    return weeks


def parse_choice(element: str, raw: Any) -> Any:
    options = [o.value for o in _options(element)]
    if raw in options:
        return raw
    text = str(raw).strip().lower()
    for i, o in enumerate(_options(element), 1):
        if text in (str(i), str(o.value).lower(), o.label.lower()) or (
            len(text) >= 3 and o.label.lower().startswith(text)):
            return o.value
    if element in ("cavity_creation", "abn_on_file"):
        if text in ("y", "yes", "true"):
            return True
        if text in ("n", "no", "false"):
            return False
    found = _lexicon_choice(element, text)
    if found is not None:
        return found
    labels = "; ".join(f"{i}. {o.label}" for i, o in enumerate(_options(element), 1))
    raise AnswerError(f"choose one of: {labels}")


# the lexicon label whose terms name each choice element's values (what a note may say for it)
_TERM_LABELS = {"guidance": "GUIDE", "procedure_type": "PROC", "indication": "IND", "laterality": "SIDE",
                "cavity_creation": "CAVITY"}
_SIDE_VALUES = {"left": "unilateral", "right": "unilateral"}
_PARTS = re.compile(r"\s*(?:\band\b|\bplus\b|\bwith\b|\bthen\b|[,;&+/])\s*")


def _terms_for(label: str) -> dict[str, str]:
    """Normalised lexicon phrase -> value, for one label (cached per label)."""
    cache = _TERM_CACHE.get(label)
    if cache is None:
        from scribe.lexicon import default_lexicon

        cache = {}
        for t in default_lexicon().terms:
            if t.label == label and t.value:
                for form in {t.pattern.lower(), normalised(t.pattern)}:
                    cache.setdefault(form, t.value)
        _TERM_CACHE[label] = cache
    return cache


_TERM_CACHE: dict[str, dict[str, str]] = {}


def _lexicon_choice(element: str, text: str) -> Any:
    """A choice named the way a note names it ("ct", "fluoroscopic", "c-arm", "balloon"), or None."""
    label = _TERM_LABELS.get(element)
    if label is None or not text:
        return None
    terms = _terms_for(label)
    norm = normalised(text)
    whole = terms.get(norm) or terms.get(text)
    parts = [whole] if whole else [terms.get(p) for p in _PARTS.split(norm) if p]
    if not parts or any(v is None for v in parts):
        return None
    values = sorted({str(v) for v in parts})
    if element == "guidance":
        return values if set(values) <= {"ct", "fluoroscopy"} else None
    if element == "cavity_creation":
        return True  # a cavity device named ("balloon", "osteotome")
    if element == "laterality":
        values = sorted({_SIDE_VALUES.get(v, v) for v in values})
        if len(values) == 1 and {"left", "right"} <= {str(v) for v in parts}:
            return "bilateral"  # "left and right"
    if len(values) != 1:
        return None
    return values[0]


# what each answered value must be, checked through pydantic after parsing (the contract's vocabulary)
_VALUE_TYPES: dict[str, Any] = {
    "procedure_type": ProcedureType,
    "cavity_creation": bool,
    "levels": list[str],
    "guidance": list[Guidance],
    "biopsy": BiopsyValue,
    "laterality": Laterality,
    "conservative_therapy": ConservativeTherapyValue,
    "indication": Indication,
    "abn_on_file": bool,
}
ANSWERABLE: tuple[str, ...] = (*ELEMENT_NAMES, *PAYER_QUESTIONS)


def validate_value(element: str, value: Any) -> Any:
    """Check a parsed value against its model (raises AnswerError, one line)."""
    from pydantic import TypeAdapter

    if value == UNDETERMINED:
        return value
    kind = _VALUE_TYPES.get(element)
    if kind is None:
        raise AnswerError(f"no prompt for {element!r}")
    try:
        checked = TypeAdapter(kind).validate_python(value, strict=element in ("cavity_creation", "abn_on_file"))
    except ValidationError as exc:
        raise AnswerError(f"{element}: {exc.errors()[0]['msg']}") from None
    return checked.model_dump() if hasattr(checked, "model_dump") else checked


def parse_answer(element: str, raw: Any) -> Any:
    """Validate a typed or chosen answer into the contract vocabulary (raises AnswerError).

    The one answer parser: the review app, ``scribe codes --answers`` and ``scribe.answers`` all use it.
    Text goes through the note normaliser first, so "lumbar two", "six weeks", "c-arm" read as in a note.
    """
    return validate_value(element, _parse_answer(element, raw))


def _parse_answer(element: str, raw: Any) -> Any:
    if isinstance(raw, str) and raw.strip().lower() in (UNDETERMINED, "other / clinically undetermined"):
        return UNDETERMINED
    try:
        if element == "levels":
            if isinstance(raw, str):
                return parse_levels(raw)
            if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
                raise AnswerError("levels are text like 'T12, L1' or a list of level names like [\"T12\", \"L1\"]")
            return parse_levels(", ".join(raw))
        if element == "conservative_therapy":
            if isinstance(raw, dict):
                return ConservativeTherapyValue.model_validate(raw).model_dump()
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                return {"weeks": float(raw), "modalities": []}
            if not isinstance(raw, str):
                raise AnswerError("conservative therapy is a duration like '6 weeks' (treatments may follow)")
            return parse_therapy(raw)
        if element == "biopsy":
            if isinstance(raw, dict):
                return BiopsyValue.model_validate(raw).model_dump()
            if not isinstance(raw, str):
                raise AnswerError("biopsy is 'no' or the site(s), e.g. 'L1' or 'L1, iliac crest'")
            text = raw.strip()
            if text.lower() in ("no", "none", "not performed"):
                return {"performed": False, "sites": []}
            sites: list[str] = []
            for part in re.split(r"\s*(?:,|;|\band\b)\s*", text):
                if not part:
                    continue
                try:
                    sites.extend(parse_levels(part))
                except AnswerError:
                    sites.append(part.lower())
            return {"performed": True, "sites": sites}
        if element in CHOICES:
            return parse_choice(element, raw)
    except ValidationError as exc:
        raise AnswerError(f"{element}: {exc.errors()[0]['msg']}") from None
    raise AnswerError(f"no prompt for {element!r}")


# ----------------------------------------------------------------------------- provenance
class Provenance(BaseModel):
    """Where a value comes from: the note (with the words that decided it) or an answer (who, when)."""

    model_config = ConfigDict(extra="forbid")

    element: str
    source: Literal["note", "answer", "none"]
    user: str = ""
    at: str = ""
    evidence: list[Evidence] = Field(default_factory=list)

    def cell(self) -> str:
        """Short form for a worklist cell: ``answer (dr_x 2026-03-12T10:00:00+00:00)`` / ``note @123``."""
        if self.source == "answer":
            return f"answer ({self.user or 'unknown'}{' ' + self.at if self.at else ''})"
        if self.source == "note":
            return "note" + (f" @{self.evidence[0].start}" if self.evidence else "")
        return "-"


def provenance(ex: Extraction) -> list[Provenance]:
    """Provenance of every element's value, in contract order."""
    out: list[Provenance] = []
    for name in ELEMENT_NAMES:
        el = ex.elements.get(name)
        if el.status == Status.ANSWERED:
            out.append(Provenance(element=name, source="answer", user=str(el.detail.get("answered_by", "")),
                                  at=str(el.detail.get("answered_at", ""))))
        elif el.status == Status.FOUND:
            out.append(Provenance(element=name, source="note", evidence=el.evidence[:3]))
        else:
            out.append(Provenance(element=name, source="none"))
    return out


def provenance_cell(ex: Extraction) -> str:
    """``element=source`` pairs for the elements that have a value (answers first), ``;``-separated."""
    items = [p for p in provenance(ex) if p.source != "none"]
    items.sort(key=lambda p: p.source != "answer")
    return "; ".join(f"{p.element}={p.cell()}" for p in items)


def provenance_json(ex: Extraction) -> dict[str, Any]:
    return {p.element: p.model_dump(mode="json", exclude={"element"}) for p in provenance(ex) if p.source != "none"}


# ----------------------------------------------------------------------------- applying answers
def latest(answers: Sequence[Answer]) -> dict[str, Answer]:
    out: dict[str, Answer] = {}
    for a in answers:
        out[a.element] = a
    return out


def apply_answers(ex: Extraction, answers: Sequence[Answer]) -> Extraction:
    """A new Extraction with each answered element's value, status ``answered`` and `missing` recomputed."""
    if not answers:
        return ex
    elements = ex.elements.model_copy(deep=True)
    final = latest(answers)
    for name, ans in final.items():
        if name in PAYER_QUESTIONS or name not in MISSING_ORDER:
            continue
        value = ans.value
        el = elements.get(name)
        detail = dict(el.detail)
        if value == UNDETERMINED:
            detail["undetermined"] = True
            value = {"levels": [], "guidance": [], "biopsy": {"performed": None, "sites": []}}.get(name)
        detail["answered_by"] = ans.user
        if ans.at is not None:
            detail["answered_at"] = ans.at.isoformat()
        setattr(elements, name, Element(value=value, status=Status.ANSWERED, evidence=el.evidence, detail=detail))
    treated = _treated_after(ex, elements, final)
    missing = [n for n in MISSING_ORDER if elements.get(n).status in (Status.MISSING, Status.CONFLICT)]
    return ex.model_copy(update={"elements": elements, "treated": treated, "missing": missing,
                                 "is_procedure_note": ex.is_procedure_note or "procedure_type" in final})


def _treated_after(ex: Extraction, elements: Any, final: dict[str, Answer]) -> list[TreatedLevel]:
    if not ({"levels", "procedure_type", "cavity_creation"} & set(final)):
        return ex.treated
    proc = elements.procedure_type.value
    cavity = elements.cavity_creation.value
    levels = list(elements.levels.value or [])
    by_level = {t.level: t for t in ex.treated}
    out: list[TreatedLevel] = []
    for lv in levels:
        old = by_level.get(lv)
        if lv == "sacrum" or lv.startswith("S") or proc == "sacroplasty":
            family = "sacroplasty"
        elif proc == "mixed":
            family = old.family if old is not None else ("kyphoplasty" if cavity is True else "vertebroplasty")
        elif proc in ("vertebroplasty", "kyphoplasty"):
            family = proc
        else:
            family = old.family if old is not None else "vertebroplasty"
        level_cavity = cavity if family == "kyphoplasty" and "cavity_creation" in final else (
            old.cavity if old is not None else None)
        out.append(TreatedLevel(level=lv, family=family, cavity=level_cavity,  # type: ignore[arg-type]
                                evidence=old.evidence if old is not None else []))
    return out


def complete(
    ex: Extraction, answers: Sequence[Answer] = (), payer: str = "medicare"
) -> tuple[Extraction, list[Prompt]]:
    """Apply answers, re-run the coding engine and list what is still to ask."""
    from scribe.coding import propose

    done = apply_answers(ex, answers)
    proposal = propose(done, answers, payer)  # flags include the note's own billing lines
    done = done.model_copy(update={"codes": proposal.codes, "diagnoses": proposal.diagnoses,
                                   "flags": proposal.flags})
    return done, build_prompts(done, proposal, answers)
