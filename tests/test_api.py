"""The package's Python API: ``scribe.extract`` and ``scribe.extract_many``, loaded lazily."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import scribe
from scribe.models import Elements

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "sample_notes").glob("*.txt"))


def run_python(code: str, cwd: Path) -> str:
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_acceptance_one_liner(tmp_path: Path) -> None:
    code = ("import scribe; print(scribe.extract('Vertebroplasty T12 under fluoroscopy.', note_id='x')"
            ".elements['levels'].value)")
    assert run_python(code, tmp_path) == "['T12']\n"


def test_import_scribe_loads_neither_spacy_nor_textual(tmp_path: Path) -> None:
    code = """
import json, sys
def heavy():
    return sorted({m.split('.')[0] for m in sys.modules} & {'spacy', 'textual', 'thinc'})
import scribe
after_import = heavy()
extract = scribe.extract  # resolving the name loads scribe.api, still not the pipeline
after_lookup = heavy()
ex = extract('Kyphoplasty at L1 with a balloon under fluoroscopy.', note_id='n1')
print(json.dumps([after_import, after_lookup, heavy(), ex.note_id]))
"""
    after_import, after_lookup, after_call, note_id = json.loads(run_python(code, tmp_path))
    assert after_import == [] and after_lookup == []
    assert "spacy" in after_call and "textual" not in after_call and note_id == "n1"


def test_unknown_attributes_still_fail() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = scribe.nothing_here  # type: ignore[attr-defined]
    assert {"extract", "extract_many"} <= set(dir(scribe))


def test_elements_are_indexed_by_contract_name() -> None:
    ex = scribe.extract("Vertebroplasty T12 under fluoroscopy.", note_id="x")
    assert ex.elements["levels"] is ex.elements.levels
    assert ex.elements["guidance"].value == ["fluoroscopy"]
    with pytest.raises(KeyError):
        ex.elements["codes"]
    # indexing adds nothing to the JSON: the contract's keys are unchanged
    assert set(ex.to_contract()["elements"]) == set(Elements.model_fields)


def test_extract_many_keeps_input_order_in_processes() -> None:
    texts = [p.read_text(encoding="utf-8") for p in SAMPLES[:8]]
    ids = [p.stem for p in SAMPLES[:8]]
    serial = [scribe.extract(t, note_id=i).to_contract() for t, i in zip(texts, ids, strict=True)]
    pooled = scribe.extract_many(texts, n_process=2, note_ids=ids, chunksize=1)
    assert [e.note_id for e in pooled] == ids
    assert [e.to_contract() for e in pooled] == serial
    in_process = scribe.extract_many(texts[:3], with_codes=False)
    assert [e.note_id for e in in_process] == ["note_1", "note_2", "note_3"]
    assert all(e.codes == [] for e in in_process)


def test_extract_many_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_process"):
        scribe.extract_many(["a"], n_process=0)
    with pytest.raises(ValueError, match="1 note_ids for 2 texts"):
        scribe.extract_many(["a", "b"], note_ids=["x"])
    assert scribe.extract_many([], n_process=4) == []
