"""The mypyc-compiled hot path (scribe/_native.py): same output as pure Python, and the guard that keeps
stale compiled modules from running."""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import scribe
from scribe import _native
from scribe.api import extract

ROOT = Path(__file__).resolve().parent.parent
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _notes(dev_gold_dir: Path) -> list[Path]:
    return sorted((ROOT / "sample_notes").glob("*.txt")) + sorted(dev_gold_dir.glob("*.txt"))


@pytest.mark.slow
def test_pure_python_gives_the_same_extractions_as_this_build(dev_gold_dir: Path) -> None:
    paths = _notes(dev_gold_dir)
    code = (
        "import json, sys, scribe\n"
        "from pathlib import Path\n"
        "from scribe.api import extract\n"
        "assert scribe.BUILD == 'pure', scribe.BUILD\n"
        "print(json.dumps([extract(Path(p).read_text(encoding='utf-8'), note_id=Path(p).stem).model_dump(mode='json')"
        " for p in sys.argv[1:]]))\n"
    )
    env = {**os.environ, "SCRIBE_PURE": "1"}
    out = subprocess.run([sys.executable, "-c", code, *map(str, paths)], capture_output=True, text=True, env=env,
                         check=True)
    pure = json.loads(out.stdout)
    here = [extract(p.read_text(encoding="utf-8"), note_id=p.stem).model_dump(mode="json") for p in paths]
    assert len(here) == len(paths) >= 20
    for a, b, p in zip(pure, here, paths, strict=True):
        assert a == b, p.name


def test_this_build_runs_the_compiled_modules_unless_told_otherwise() -> None:
    """A clean install compiles the hot path; a silent fallback (mypyc refusing an edited module) or
    compiled modules older than their sources fail here. ``SCRIBE_PURE=1`` runs the suite on pure Python."""
    if os.environ.get("SCRIBE_PURE"):
        assert scribe.BUILD == "pure"
        return
    if not any((ROOT / p).with_suffix(SUFFIX).exists() for p in _native.COMPILED):
        pytest.skip("installed without the compiled modules (no mypyc or C compiler)")
    assert scribe.BUILD == "compiled", _native.state()
    import scribe.resolvers.procedure as procedure

    assert procedure.__file__ is not None and procedure.__file__.endswith(SUFFIX)


def _tree(tmp_path: Path, compiled: bool = True) -> Path:
    if compiled:
        library = tmp_path / f"{_native.GROUP}{SUFFIX}"
        library.parent.mkdir(parents=True, exist_ok=True)
        library.write_bytes(b"")
        os.utime(library, (1_000_100, 1_000_100))
    for rel in _native.COMPILED:
        source = tmp_path / rel
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text("x = 1\n")
        os.utime(source, (1_000_000, 1_000_000))
        if compiled:
            source.with_suffix(SUFFIX).write_bytes(b"")  # a shim: its age does not count
    return tmp_path


def test_state_compiled_when_every_module_is_newer_than_its_source(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCRIBE_PURE", raising=False)
    assert _native.state(_tree(tmp_path)) == ("compiled", None)


def test_state_pure_without_compiled_modules_or_when_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCRIBE_PURE", raising=False)
    assert _native.state(_tree(tmp_path, compiled=False)) == ("pure", None)
    monkeypatch.setenv("SCRIBE_PURE", "1")
    assert _native.state(_tree(tmp_path / "b")) == ("pure", None)


def test_state_stale_after_an_edit_or_with_a_module_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCRIBE_PURE", raising=False)
    root = _tree(tmp_path)
    edited = root / "scribe/resolvers/view.py"
    os.utime(edited, (1_000_500, 1_000_500))
    assert _native.state(root) == ("stale", "scribe/resolvers/view.py")
    os.utime(edited, (1_000_000, 1_000_000))
    (root / "scribe/nlp/terms.py").with_suffix(SUFFIX).unlink()
    assert _native.state(root) == ("stale", "scribe/nlp/terms.py")
    (root / f"{_native.GROUP}{SUFFIX}").unlink()  # shims without the compiled code
    assert _native.state(root) == ("stale", "scribe/numbers.py")


def test_stale_modules_load_from_source_with_one_line_on_stderr(tmp_path: Path) -> None:
    """In a copy of the package whose compiled modules are older than an edited source, importing scribe
    says so once and runs every module of the set from source."""
    code = (
        "import scribe, scribe.nlp.table as t, scribe.resolvers as r\n"
        "print(scribe.BUILD, t.__file__.endswith('.py'), r.__file__.endswith('__init__.py'))\n"
    )
    root = tmp_path / "tree"
    (root / "scribe").mkdir(parents=True)
    for path in (ROOT / "scribe").rglob("*.py"):
        target = root / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
        os.utime(target, (1_000_000, 1_000_000))
    for rel in [*_native.COMPILED, f"{_native.GROUP}.py"]:  # compiled stand-ins that must never be imported
        ext = (root / rel).with_suffix(SUFFIX)
        ext.write_bytes(b"not a shared object")
        os.utime(ext, (1_000_100, 1_000_100))
    os.utime(root / "scribe/nlp/table.py", (1_000_500, 1_000_500))
    env = {k: v for k, v in os.environ.items() if k != "SCRIBE_PURE"}
    env["PYTHONPATH"] = str(root)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                         cwd=tmp_path)
    assert out.stdout.split() == ["stale", "True", "True"]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "scribe/nlp/table.py" in lines[0] and "make setup" in lines[0]
