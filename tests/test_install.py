"""scribe installs the way Python packages install: a wheel built from the repository works in a fresh venv,
outside the source tree, with its lexicons inside the wheel.

The wheel test builds from a copy of the repository (the build leaves nothing in the working tree), installs
the wheel into a new venv in a temporary folder (dependencies from pip's cache or index, as a user gets them)
and runs ``scribe extract``, ``scribe check`` and ``scribe lexicon check`` there on two sample notes (and
``scribe extract`` on the FHIR and HL7 v2 samples), from a working directory outside the tree.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from scribe.api import extract_file

ROOT = Path(__file__).resolve().parent.parent
NOTES = ["sample_02_kp_asr.txt", "sample_12_missing_guidance.txt"]  # one complete, one needing a prompt


def test_every_package_is_in_the_wheel_list() -> None:
    """pyproject lists the packages by hand (the lexicons are mapped in from lexicons/): a new sub-package of
    scribe/ must be added there, or the wheel would leave it out."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "scribe").rglob("__init__.py")}
    data = {"scribe.lexicons", "scribe.lexicons.coding"}
    assert set(config["packages"]) == on_disk | data
    assert config["package-dir"] == {"scribe.lexicons": "lexicons"}
    assert {p.parent for p in (ROOT / "lexicons").rglob("*.json*")} == {ROOT / "lexicons", ROOT / "lexicons" / "coding"}


def run(cmd: list[str | Path], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_tree(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
        ".hypothesis", ".scribe", "tests"))
    dist = tmp_path / "dist"
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, src], cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = dist.glob("scribe-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for lexicon in ("terms.jsonl", "context.jsonl", "sections.json", "normalization.json", "coverage.json",
                    "coding/codes.json", "coding/payers.json"):
        assert f"scribe/lexicons/{lexicon}" in names
    assert not any(n.endswith((".so", ".c", ".pyd")) for n in names)  # pure Python: nothing compiled

    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    made = run([base, "-m", "venv", venv], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    installed = run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-2000:]

    work = tmp_path / "work"  # outside the tree, with nothing of it beside
    work.mkdir()
    for name in NOTES:
        shutil.copy(ROOT / "sample_notes" / name, work / name)
    scribe = venv / "bin" / "scribe"

    extracted = run([scribe, "extract", *NOTES], cwd=work)
    assert extracted.returncode == 0, extracted.stderr
    got = [json.loads(line) for line in extracted.stdout.splitlines()]
    expected = [extract_file(work / n, mentions=False).to_contract() for n in NOTES]
    for g, e in zip(got, expected, strict=True):
        assert g["source"] == Path(e["source"]).name
        g.pop("source"), e.pop("source")
        assert g == e  # the installed wheel extracts exactly what the source tree does

    checked = run([scribe, "check", *NOTES, "--format", "csv"], cwd=work)
    assert checked.returncode == 1, checked.stderr  # one note needs a prompt
    rows = checked.stdout.splitlines()
    assert rows[0].startswith("note_id,") and len(rows) == 3
    assert "sample_12_missing_guidance" in rows[2] and ",guidance," in rows[2]

    # scribe.sources ships too: a FHIR DocumentReference and an HL7 v2 message read in the installed wheel
    structured = ["sample_22_fhir_docref.json", "sample_24_hl7_mdm.hl7"]
    for name in structured:
        shutil.copy(ROOT / "sample_notes" / name, work / name)
    extracted = run([scribe, "extract", *structured], cwd=work)
    assert extracted.returncode == 0, extracted.stderr
    assert [json.loads(line)["note_id"] for line in extracted.stdout.splitlines()] == [
        "sample-22-fhir-docref", "SAMPLE-24-HL7-MDM"]

    lexicons = run([scribe, "lexicon", "check"], cwd=work)
    assert lexicons.returncode == 0, lexicons.stderr
    assert f"{venv}/lib/" in lexicons.stdout and "/site-packages/scribe/lexicons: valid" in lexicons.stdout
