"""Results back to the EHR as FHIR R4: one ``Bundle`` (type ``collection``) per note.

- a ``Claim`` (status ``draft``, use ``predetermination``): the code proposal. Its items are the CPT
  lines (code, modifiers, units), each linked to the ICD-10-CM diagnoses and to the note through
  ``supportingInfo`` (category ``attachment``, a reference to the ``DocumentReference``);
- one ``Observation`` (status ``registered``: asked, not yet answered) per missing element: the
  documentation query a clinician must answer, derived from the note (``derivedFrom``).

Each Bundle is validated by the ``fhir.resources`` R4B models before it is written. The mapping and
the reasons for it are in docs/fhir.md.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from scribe.models import Extraction

CPT = "http://www.ama-assn.org/go/cpt"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
INFO_CATEGORY = "http://terminology.hl7.org/CodeSystem/claiminformationcategory"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
NOTE_ID_SYSTEM = "urn:scribe:note-id"  # a note read from a text or HL7 file has no FHIR id: its note id
QUERY_SYSTEM = "urn:scribe:documentation-query"  # codes: the contract's element names
FLAG_EXTENSION = "urn:scribe:flag"  # a Claim extension per flag: "severity: id"
_ID_CHARS = re.compile(r"[^A-Za-z0-9\-.]")
_NAMESPACE = uuid.UUID("6b3c2f7e-3d1a-4c52-9a64-0c3e5f1d2a90")


def fhir_id(*parts: str) -> str:
    """A FHIR resource id (``[A-Za-z0-9-.]{1,64}``) from note ids and names: other characters become ``-``."""
    raw = "-".join(p for p in parts if p)
    safe = _ID_CHARS.sub("-", raw)[:64].strip("-.")
    return safe or uuid.uuid5(_NAMESPACE, raw).hex[:32]


def _urn(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '|'.join(parts))}"


def document_reference(ex: Extraction) -> dict[str, Any]:
    """The reference to the note: ``DocumentReference/<id>`` for a note read from FHIR, else the note id as
    an identifier (the EHR holds the document under its own id; an HL7 note id is its TXA-12)."""
    from scribe.sources import kind_of, source_file

    path = source_file(ex.source) if ex.source else None
    if path is not None and path.is_file() and kind_of(path) in ("fhir", "ndjson"):
        return {"reference": f"DocumentReference/{ex.note_id}", "display": ex.note_id}
    return {"type": "DocumentReference", "identifier": {"system": NOTE_ID_SYSTEM, "value": ex.note_id},
            "display": ex.note_id}


def _coding(system: str, code: str, display: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def claim(ex: Extraction, doc: dict[str, Any], *, payer: str, created: datetime) -> dict[str, Any]:
    diagnoses = [
        {"sequence": i, "diagnosisCodeableConcept": {"coding": [_coding(ICD10CM, d.code, d.description)],
                                                     "text": d.rationale or d.description or d.code}}
        for i, d in enumerate(ex.diagnoses, 1)
    ]
    items: list[dict[str, Any]] = []
    for i, line in enumerate(ex.codes, 1):
        item: dict[str, Any] = {
            "sequence": i,
            "informationSequence": [1],
            "productOrService": {"coding": [_coding(CPT, line.code)], "text": line.description or line.code},
            "quantity": {"value": line.units},
        }
        if diagnoses:
            item["diagnosisSequence"] = [d["sequence"] for d in diagnoses]
        if line.modifiers:
            item["modifier"] = [{"coding": [_coding(CPT, m)]} for m in line.modifiers]
        if ex.date_of_service is not None:
            item["servicedDate"] = ex.date_of_service.isoformat()
        items.append(item)
    out: dict[str, Any] = {
        "resourceType": "Claim",
        "id": fhir_id(ex.note_id, "claim"),
        "status": "draft",
        "type": {"coding": [_coding(CLAIM_TYPE, "professional", "Professional")]},
        "use": "predetermination",
        "patient": {"display": "The patient of the source document"},
        "created": created.isoformat(),
        "provider": {"display": "The author of the source document"},
        "priority": {"coding": [_coding(PRIORITY, "normal", "Normal")]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": f"Payer profile {payer}"}}],
        "supportingInfo": [{
            "sequence": 1,
            "category": {"coding": [_coding(INFO_CATEGORY, "attachment", "Attachment")]},
            "valueReference": doc,
        }],
    }
    if diagnoses:
        out["diagnosis"] = diagnoses
    if items:
        out["item"] = items
    if ex.flags:
        out["extension"] = [{"url": FLAG_EXTENSION, "valueString": f"{f.severity}: {f.id}"} for f in ex.flags]
    return out


def queries(ex: Extraction, doc: dict[str, Any], *, created: datetime) -> list[dict[str, Any]]:
    """One Observation per missing element, carrying the prompt's question (the note's own words)."""
    from scribe.prompts import build_prompts

    asked = {p.element: p for p in build_prompts(ex)}
    out: list[dict[str, Any]] = []
    for element in ex.missing:
        prompt = asked.get(element)
        question = prompt.question if prompt is not None else f"Please document {element.replace('_', ' ')}."
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": fhir_id(ex.note_id, "query", element),
            "status": "registered",
            "category": [{"coding": [_coding(OBS_CATEGORY, "procedure", "Procedure")]}],
            "code": {"coding": [_coding(QUERY_SYSTEM, element, f"Documentation query: {element.replace('_', ' ')}")],
                     "text": question},
            "subject": {"display": "The patient of the source document"},
            "issued": created.isoformat(),
            "derivedFrom": [doc],
        }
        if ex.date_of_service is not None:
            obs["effectiveDateTime"] = ex.date_of_service.isoformat()
        if prompt is not None and prompt.waiting_codes:
            obs["note"] = [{"text": "Codes waiting for the answer: " + ", ".join(prompt.waiting_codes)}]
        out.append(obs)
    return out


def bundle(ex: Extraction, *, payer: str = "medicare", created: datetime | None = None) -> dict[str, Any]:
    """The FHIR R4 Bundle of one note (a JSON-ready dict), validated by the R4B models."""
    from fhir.resources.R4B.bundle import Bundle

    when = (created or datetime.now(UTC)).replace(microsecond=0)
    doc = document_reference(ex)
    resources = [claim(ex, doc, payer=payer, created=when), *queries(ex, doc, created=when)]
    raw = {
        "resourceType": "Bundle",
        "id": fhir_id(ex.note_id, "scribe"),
        "type": "collection",
        "timestamp": when.isoformat(),
        "entry": [{"fullUrl": _urn(ex.source, ex.note_id, r["resourceType"], r["id"]), "resource": r}
                  for r in resources],
    }
    return Bundle.model_validate(raw).model_dump(mode="json", exclude_none=True)
