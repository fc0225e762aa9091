"""The audit HTML report rendered by headless Chromium: highlights present, injected markup inert.

Skipped (with the reason) only when no Chromium binary is installed; CI installs it (`.ci/run`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from scribe.audit import run_audit
from scribe.audit.report import write_report

TITLE = "scribe audit"
NOTE = """Date of Service: 03/11/2025
PROCEDURE: Kyphoplasty L1.
INDICATION: Painful osteoporotic compression fracture of L1. Old healed T8 fracture, not treated.
Eight weeks of bracing and analgesics failed.
TECHNIQUE: Under biplane fluoroscopy, bilateral transpedicular access to L1 was obtained. A balloon tamp
was inflated to create a cavity, and PMMA cement was injected. No biopsy was performed.
ADDENDUM: <script>document.title='pwned'</script> <img src=x onerror="document.title='pwned-img'">
<style>body{display:none}</style> </pre><b>bold?</b>
"""


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                      "/usr/bin/chromium", shutil.which("google-chrome")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); "
                                                          ".ci/run installs it in CI")


def headless(tmp_path: Path, page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "chromium-profile"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={profile}", *extra, page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def dump_dom(tmp_path: Path, page: Path) -> str:
    result = headless(tmp_path, page, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<html" in result.stdout, result.stderr[-2000:]
    return result.stdout


def dom_title(dom: str) -> str:
    m = re.search(r"<title>(.*?)</title>", dom, re.DOTALL)
    assert m is not None
    return m.group(1)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audit_html")
    (folder / "hostile.txt").write_text(NOTE, encoding="utf-8")
    run = run_audit([folder / "hostile.txt"])
    out = folder / "audit.html"
    write_report(out, run, title=TITLE)
    return out


def test_harness_runs_scripts_when_allowed(tmp_path: Path) -> None:
    """Control: the same browser set-up does run an inline script on a page without the policy,
    so an unchanged title on the report means the note's script did not run."""
    page = tmp_path / "control.html"
    page.write_text("<!DOCTYPE html><html><head><title>before</title></head><body>"
                    "<script>document.title='ran'</script></body></html>", encoding="utf-8")
    assert dom_title(dump_dom(tmp_path, page)) == "ran"


def test_report_dom_has_highlights_and_inert_note_markup(tmp_path: Path, report: Path) -> None:
    dom = dump_dom(tmp_path, report)
    assert dom_title(dom) == TITLE  # neither the <script> nor the onerror handler ran
    assert re.search(r"<script\b", dom, re.IGNORECASE) is None  # no script element at all
    assert re.search(r"<img\b", dom, re.IGNORECASE) is None
    assert "<b>bold?</b>" not in dom
    # the note's markup is there as text
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert "&lt;img src=x onerror=" in dom
    assert "&lt;/pre&gt;&lt;b&gt;bold?&lt;/b&gt;" in dom
    # evidence highlighted by element, set-aside mentions styled apart, a legend
    for element in ("procedure_type", "cavity_creation", "levels", "guidance", "conservative_therapy"):
        assert re.search(rf'<mark class="ev[^"]*\bel-{element}\b', dom), element
    assert re.search(r'<mark class="aside[^"]*\bel-levels\b[^>]*>T8</mark>', dom)
    assert 'class="legend"' in dom
    assert 'http-equiv="Content-Security-Policy"' in dom and "default-src 'none'" in dom
    # the note text is one <pre> per note: the injected </pre> did not close it
    assert dom.count('<pre class="note-text">') == 1


def test_report_screenshot(tmp_path: Path, report: Path) -> None:
    shot = tmp_path / "audit.png"
    result = headless(tmp_path, report, f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars")
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
