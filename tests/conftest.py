"""Shared fixtures: where the shared corpus is, and a cached extractor."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEV_GOLD = SHARED / "dev_gold"
SAMPLE_NOTES = ROOT / "sample_notes"


@pytest.fixture(scope="session")
def dev_gold_dir() -> Path:
    if not DEV_GOLD.is_dir():
        pytest.skip("../shared/dev_gold is not beside the project")
    return DEV_GOLD
