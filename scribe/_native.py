"""The modules the build compiles with mypyc, and the guard that keeps stale compiled code out.

``setup.py`` compiles ``COMPILED`` (the extraction pipeline's hot path: normalisation, sections,
sentences, terms, levels, context and the resolvers) into C extensions beside their sources, when
mypyc and a C compiler are there; otherwise scribe runs as pure Python, with the same output (a test
compares the two). Python imports an extension module before the source of the same name, so after
an edit the old compiled code would keep running: ``install()`` (run when ``scribe`` is imported)
makes every module of the set load from its source when

- ``SCRIBE_PURE`` is set to a non-empty value (development, and the pure-Python test), or
- any source is newer than its compiled module, or only some have one (the compiled modules call one
  another directly, so it is all or none); then one line on stderr says so.

This module imports nothing of scribe and nothing outside the standard library: ``setup.py`` reads it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path

# one quoted path per line: the Makefile reads them in this layout (its NATIVE list)
COMPILED: tuple[str, ...] = (
    "scribe/numbers.py",
    "scribe/scan.py",
    "scribe/nlp/__init__.py",
    "scribe/nlp/context.py",
    "scribe/nlp/levels.py",
    "scribe/nlp/normalize.py",
    "scribe/nlp/sections.py",
    "scribe/nlp/sentences.py",
    "scribe/nlp/table.py",
    "scribe/nlp/terms.py",
    "scribe/nlp/tokenizer.py",
    "scribe/nlp/types.py",
    "scribe/resolvers/__init__.py",
    "scribe/resolvers/biopsy.py",
    "scribe/resolvers/coverage.py",
    "scribe/resolvers/guidance.py",
    "scribe/resolvers/indication.py",
    "scribe/resolvers/laterality.py",
    "scribe/resolvers/procedure.py",
    "scribe/resolvers/therapy.py",
    "scribe/resolvers/view.py",
)

_ROOT = Path(__file__).resolve().parent.parent
_SLACK_S = 2.0  # an installed wheel writes sources and extensions seconds apart, in any order


def module_name(path: str) -> str:
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _extension(source: Path) -> Path | None:
    """The compiled module built from ``source``, if there is one."""
    stem = source.with_suffix("")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = stem.with_name(stem.name + suffix)
        if candidate.exists():
            return candidate
    return None


GROUP = "scribe__mypyc"  # the shared library that holds the compiled code (setup.py's group_name + "__mypyc")


def state(root: Path = _ROOT) -> tuple[str, str | None]:
    """Which modules would run from the tree at ``root``: ``("compiled", None)``, ``("pure", None)``
    (nothing compiled, or ``SCRIBE_PURE``), or ``("stale", source)``: compiled modules exist but
    ``source`` is newer than the compiled code, or has no compiled module.

    Each module's own extension is a small shim that a rebuild leaves untouched when only the code
    changed; the code itself is in the shared library ``GROUP`` beside the package, so the sources are
    compared with that."""
    if os.environ.get("SCRIBE_PURE"):
        return "pure", None
    shims = [(root / p, _extension(root / p)) for p in COMPILED]
    library = _extension(root / f"{GROUP}.py")
    if library is None and all(shim is None for _, shim in shims):
        return "pure", None
    try:
        built = library.stat().st_mtime if library is not None else None
    except OSError:
        built = None
    for source, shim in shims:
        try:
            newer = built is None or shim is None or source.stat().st_mtime > built + _SLACK_S
        except OSError:
            newer = True
        if newer:
            return "stale", source.relative_to(root).as_posix()
    return "compiled", None


class _SourceFinder:
    """Finds the modules of ``COMPILED`` as source files, ahead of their compiled extensions."""

    def __init__(self) -> None:
        self.sources = {module_name(p): _ROOT / p for p in COMPILED}

    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        source = self.sources.get(name)
        if source is None:
            return None
        locations = [str(source.parent)] if source.name == "__init__.py" else None
        return importlib.util.spec_from_file_location(name, source, submodule_search_locations=locations)


_installed: list[str] = []


def install() -> str:
    """Decide once per process which modules run (see the module docstring); returns the state."""
    if _installed:
        return _installed[0]
    mode, source = state()
    if mode != "compiled":
        sys.meta_path.insert(0, _SourceFinder())  # type: ignore[arg-type]
    if mode == "stale":
        print(f"scribe: {source} is newer than its compiled module; running the pure-Python modules "
              "(`make setup` rebuilds them)", file=sys.stderr)
    _installed.append(mode)
    return mode
