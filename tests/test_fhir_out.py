"""`scribe extract --format fhir`: one FHIR R4 Bundle per note, validated by the fhir.resources R4B models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.observation import Observation
from typer.testing import CliRunner

from scribe.api import extract_file, extract_note
from scribe.cli import app
from scribe.fhir_out import CPT, ICD10CM, QUERY_SYSTEM, bundle, fhir_id
from scribe.sources import iter_notes

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_notes"
runner = CliRunner()
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def parsed(data: dict) -> tuple[Claim, list[Observation]]:
    b = Bundle.model_validate(data)  # the R4B models accept it as it is written
    assert b.type == "collection"
    resources = [e.resource for e in b.entry]
    claims = [r for r in resources if isinstance(r, Claim)]
    obs = [r for r in resources if isinstance(r, Observation)]
    assert len(claims) == 1 and len(claims) + len(obs) == len(resources)
    assert len({e.fullUrl for e in b.entry}) == len(b.entry)
    return claims[0], obs


def test_complete_note_gives_a_claim_with_its_codes_and_no_queries() -> None:
    ex = extract_file(SAMPLE / "sample_09_cross_region_smartquotes.txt")
    claim, obs = parsed(bundle(ex, created=WHEN))
    assert obs == [] and ex.missing == []
    assert (claim.status, claim.use) == ("draft", "predetermination")
    got = [(i.productOrService.coding[0].system, i.productOrService.coding[0].code, int(i.quantity.value),
            [m.coding[0].code for m in i.modifier or []]) for i in claim.item]
    assert got == [(CPT, c.code, c.units, c.modifiers) for c in ex.codes]
    assert [d.diagnosisCodeableConcept.coding[0].code for d in claim.diagnosis] == [d.code for d in ex.diagnoses]
    assert all(d.diagnosisCodeableConcept.coding[0].system == ICD10CM for d in claim.diagnosis)
    assert all(i.diagnosisSequence == [d.sequence for d in claim.diagnosis] for i in claim.item)
    # every item points back to the note through the attachment supportingInfo
    [info] = claim.supportingInfo
    assert info.category.coding[0].code == "attachment"
    assert info.valueReference.identifier.value == ex.note_id
    assert all(i.informationSequence == [info.sequence] for i in claim.item)
    assert all(str(i.servicedDate) == str(ex.date_of_service) for i in claim.item)


def test_missing_elements_become_observations_derived_from_the_note() -> None:
    ex = extract_file(SAMPLE / "sample_13_missing_levels.txt")
    claim, obs = parsed(bundle(ex, created=WHEN))
    assert [o.code.coding[0].code for o in obs] == ex.missing == ["levels"]
    [o] = obs
    assert o.status == "registered" and o.code.coding[0].system == QUERY_SYSTEM
    assert "Which vertebral levels" in o.code.text and "KYPHOPLASTY" in o.code.text  # the note's own word
    assert o.derivedFrom[0].identifier.value == ex.note_id
    assert not claim.item  # codes withheld until the levels are answered
    assert any(e.valueString == "warning: code_withheld" for e in claim.extension)


def test_a_fhir_note_is_referenced_by_its_document_reference_id() -> None:
    [note] = list(iter_notes([SAMPLE / "sample_22_fhir_docref.json"]))
    claim, _ = parsed(bundle(extract_note(note), created=WHEN))
    assert claim.supportingInfo[0].valueReference.reference == "DocumentReference/sample-22-fhir-docref"


def test_every_sample_note_gives_a_valid_bundle_through_the_cli() -> None:
    res = runner.invoke(app, ["extract", "--format", "fhir", str(SAMPLE)])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) == 25
    ids = set()
    for line in lines:
        claim, obs = parsed(json.loads(line))
        ids.add(claim.id)
        assert all(o.id.startswith(claim.id.removesuffix("-claim")) for o in obs)
    assert len(ids) == 25


def test_resource_ids_are_valid_fhir_ids() -> None:
    assert fhir_id("sample_01 x/y", "claim") == "sample-01-x-y-claim"
    assert len(fhir_id("a" * 200)) == 64
    assert fhir_id("__") and fhir_id("__") == fhir_id("__")
