"""Build hook: compile the extraction pipeline's hot path with mypyc (``scribe/_native.py`` lists the
modules and explains the guard against stale compiled code).

Everything else about the package is in ``pyproject.toml``. With ``SCRIBE_PURE=1`` set, or when mypyc
or the C compiler fails, the package installs as pure Python and gives the same output, more slowly.
"""

from __future__ import annotations

import os
import runpy
import sys

from setuptools import setup


def _ext_modules() -> list[object]:
    if os.environ.get("SCRIBE_PURE"):
        return []
    compiled = runpy.run_path(os.path.join("scribe", "_native.py"))["COMPILED"]
    try:
        from mypyc.build import mypycify

        extensions = list(mypycify(list(compiled), opt_level="3", group_name="scribe"))
    except (Exception, SystemExit) as exc:  # mypyc missing, or its type check refused a module
        print(f"scribe: mypyc could not compile the pipeline ({exc!r}); installing pure Python", file=sys.stderr)
        return []
    for extension in extensions:
        extension.optional = True  # a failed C build leaves pure Python (scribe/_native.py sees it)
    return extensions


setup(ext_modules=_ext_modules())
