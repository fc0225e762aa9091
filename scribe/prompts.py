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
from typing import Any, get_args

from pydantic import ValidationError

from scribe.models import (
    LEVEL_INDEX,
    LEVEL_ORDER,
    MISSING_ORDER,
    Answer,
    BiopsyValue,
    ConservativeTherapyValue,
    Element,
    Evidence,
    Extraction,
    Modality,
    Option,
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
def parse_levels(raw: str) -> list[str]:
    """'T12, L1' / 'T11-L1' / 't12 and l1' / 'sacrum' -> levels in spinal order."""
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
        if lv not in LEVEL_INDEX:
            raise AnswerError(f"unknown level {lv!r} (C1-C7, T1-T12, L1-L5, S1-S5 or sacrum)")
        found.append(lv)
    rest = _LEVEL_TOKEN.sub(" ", _RANGE.sub(" ", raw))
    if re.search(r"[A-Za-z0-9]", re.sub(r"\b(and|to|through|thru)\b", " ", rest, flags=re.IGNORECASE)):
        raise AnswerError("levels look like 'T12, L1' or 'T11-L1'")
    if not found:
        raise AnswerError("no level given (for example 'T12, L1' or 'T11-L1')")
    return sorted(set(found), key=level_sort_key)


def parse_weeks(raw: str) -> float:
    """'6 weeks' / '3 months' / '10 days' / '6' (weeks) -> weeks."""
    m = _DURATION.match(raw)
    if not m or m.group(3).strip():
        raise AnswerError("a duration looks like '6 weeks', '3 months' or '10 days'")
    return _weeks_of(m)


def parse_therapy(raw: str) -> dict[str, Any]:
    """'8 weeks of bracing and analgesics' -> {"weeks": 8.0, "modalities": ["analgesics", "bracing"]}."""
    m = _DURATION.match(raw)
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
    labels = "; ".join(f"{i}. {o.label}" for i, o in enumerate(_options(element), 1))
    raise AnswerError(f"choose one of: {labels}")


def parse_answer(element: str, raw: Any) -> Any:
    """Validate a typed or chosen answer into the contract vocabulary (raises AnswerError)."""
    if isinstance(raw, str) and raw.strip().lower() in (UNDETERMINED, "other / clinically undetermined"):
        return UNDETERMINED
    try:
        if element == "levels":
            return parse_levels(raw) if isinstance(raw, str) else [str(x) for x in parse_levels(", ".join(raw))]
        if element == "conservative_therapy":
            if isinstance(raw, dict):
                return ConservativeTherapyValue.model_validate(raw).model_dump()
            if isinstance(raw, int | float):
                return {"weeks": float(raw), "modalities": []}
            return parse_therapy(str(raw))
        if element == "biopsy":
            if isinstance(raw, dict):
                return BiopsyValue.model_validate(raw).model_dump()
            text = str(raw).strip()
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
