"""Lexicon validation: labels, values and names checked against scribe.vocabulary, errors as file:line: field,
and a broken lexicon stopping every command before it reads a note (exit 78)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scribe import lexicon
from scribe.cli import app
from scribe.coding import rules
from scribe.commands import EXIT_CONFIG
from scribe.lexicon import LexiconError, lexicon_problems, load_lexicon, packaged_lexicon_dir
from scribe.vocabulary import TERM_VALUES

ROOT = Path(__file__).resolve().parent.parent
NOTE = ROOT / "sample_notes" / "sample_01_vp_formal.txt"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _own_lexicons() -> Iterator[None]:
    """``--lexicons`` sets SCRIBE_LEXICONS for the process: restore it, and forget what was cached."""
    saved = os.environ.pop(lexicon.ENV_VAR, None)
    yield
    os.environ.pop(lexicon.ENV_VAR, None)
    if saved is not None:
        os.environ[lexicon.ENV_VAR] = saved
    lexicon.clear_caches()
    rules.default_rules.cache_clear()


def broken(tmp_path: Path, name: str, edit: Callable[[str], str]) -> Path:
    """A copy of the packaged lexicons with ``name`` edited."""
    folder = tmp_path / "lex"
    shutil.copytree(packaged_lexicon_dir(), folder)
    path = folder / name
    before = path.read_text(encoding="utf-8")
    after = edit(before)
    assert after != before
    path.write_text(after, encoding="utf-8")
    return folder


def line_of(folder: Path, name: str, needle: str) -> int:
    lines = (folder / name).read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if needle in line)


def unknown_label(text: str) -> str:
    return text.replace('{"label": "GUIDE", "pattern": "fluoroscopy"', '{"label": "GUIDANCE", "pattern": "fluoroscopy"',
                        1)


def misspelt_value(text: str) -> str:
    return text.replace('"pattern": "balloon kyphoplasty", "value": "kyphoplasty"',
                        '"pattern": "balloon kyphoplasty", "value": "kyphoplsty"', 1)


def test_the_packaged_lexicons_are_valid() -> None:
    assert lexicon_problems() == []
    lex = load_lexicon()
    assert {t.label for t in lex.terms} <= set(TERM_VALUES)
    result = runner.invoke(app, ["lexicon", "check"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout


def test_unknown_label_fails_lexicon_check_with_file_and_line(tmp_path: Path) -> None:
    folder = broken(tmp_path, "terms.jsonl", unknown_label)
    line = line_of(folder, "terms.jsonl", '"GUIDANCE"')
    result = runner.invoke(app, ["lexicon", "check", str(folder)])
    assert result.exit_code == EXIT_CONFIG
    assert f"{folder / 'terms.jsonl'}:{line}: label: unknown label 'GUIDANCE'" in result.stderr
    assert result.stdout == ""


def test_value_outside_the_vocabulary_fails_with_file_and_line(tmp_path: Path) -> None:
    folder = broken(tmp_path, "terms.jsonl", misspelt_value)
    line = line_of(folder, "terms.jsonl", "kyphoplsty")
    problems = lexicon_problems(folder)
    assert problems == [f"{folder / 'terms.jsonl'}:{line}: value: 'kyphoplsty' is not a value of label PROC "
                        "(known: kyphoplasty, sacroplasty, vertebroplasty)"]
    with pytest.raises(LexiconError, match=rf"terms\.jsonl:{line}: value: 'kyphoplsty'"):
        load_lexicon(folder)


@pytest.mark.parametrize("edit", [unknown_label, misspelt_value], ids=["label", "value"])
def test_a_broken_lexicon_stops_check_before_any_note_is_read(tmp_path: Path, edit: Callable[[str], str]) -> None:
    folder = broken(tmp_path, "terms.jsonl", edit)
    result = runner.invoke(app, ["--lexicons", str(folder), "check", str(NOTE), "--format", "jsonl"])
    assert result.exit_code == EXIT_CONFIG  # not 2 ("unreadable notes") with one internal error per note
    assert result.stdout == ""  # no worklist row: no note was read
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"scribe check: {folder / 'terms.jsonl'}:")


def test_the_environment_variable_points_extract_at_a_broken_copy(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    folder = broken(tmp_path, "terms.jsonl", misspelt_value)
    monkeypatch.setenv(lexicon.ENV_VAR, str(folder))
    result = runner.invoke(app, ["extract", str(NOTE)])
    assert result.exit_code == EXIT_CONFIG
    assert result.stdout == ""
    assert result.stderr.startswith(f"scribe extract: {folder / 'terms.jsonl'}:")


def test_lexicon_check_lists_every_problem(tmp_path: Path) -> None:
    folder = broken(tmp_path, "terms.jsonl", lambda t: misspelt_value(unknown_label(t)))
    result = runner.invoke(app, ["lexicon", "check", str(folder)])
    assert result.exit_code == EXIT_CONFIG
    assert "label: unknown label 'GUIDANCE'" in result.stderr and "value: 'kyphoplsty'" in result.stderr
    assert result.stderr.splitlines()[-1].endswith("2 problems")


def test_json_files_name_the_line_of_the_bad_field(tmp_path: Path) -> None:
    folder = broken(tmp_path, "sections.json", lambda t: t.replace('"name": "PLAN"', '"name": "PLANS"', 1))
    line = line_of(folder, "sections.json", '"PLANS"')
    (problem,) = lexicon_problems(folder)
    assert problem.startswith(f"{folder / 'sections.json'}:{line}: sections.")
    assert "name: unknown section 'PLANS'" in problem


def test_normalisation_maps_to_regions_and_lower_case_words(tmp_path: Path) -> None:
    folder = broken(tmp_path, "normalization.json", lambda t: t.replace('"thoracic": "t"', '"thoracic": "x"', 1))
    line = line_of(folder, "normalization.json", '"thoracic": "x"')
    (problem,) = lexicon_problems(folder)
    assert problem.startswith(f"{folder / 'normalization.json'}:{line}: region_words.thoracic: ")
    folder = broken(tmp_path / "b", "normalization.json", lambda t: t.replace('"thoracic": "t"', '"Thoracic": "t"', 1))
    (problem,) = lexicon_problems(folder)
    assert "region_words.Thoracic (key): must be lower case" in problem


def test_coverage_patterns_must_compile(tmp_path: Path) -> None:
    def bad_pattern(text: str) -> str:
        data = json.loads(text)
        item = next(iter(data["items"]))
        data["items"][item].append("(unclosed")
        return json.dumps(data, indent=1)

    folder = broken(tmp_path, "coverage.json", bad_pattern)
    (problem,) = lexicon_problems(folder)
    assert "coverage.json:" in problem and "invalid regular expression" in problem


def test_coding_tables_are_checked_too(tmp_path: Path) -> None:
    folder = broken(tmp_path, "coding/payers.json",
                    lambda t: t.replace('"primary_region": "', '"primary_region": "x', 1))
    line = line_of(folder, "coding/payers.json", '"primary_region": "x')
    (problem,) = lexicon_problems(folder)
    assert problem.startswith(f"{folder / 'coding' / 'payers.json'}:{line}: payers.")


def test_a_missing_folder_or_file_is_one_problem(tmp_path: Path) -> None:
    assert lexicon_problems(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}: lexicon folder not found"]
    folder = tmp_path / "lex"
    shutil.copytree(packaged_lexicon_dir(), folder)
    (folder / "context.jsonl").unlink()
    assert lexicon_problems(folder) == [f"{folder / 'context.jsonl'}: lexicon file not found"]
    result = runner.invoke(app, ["--lexicons", str(folder), "codes", str(NOTE)])
    assert result.exit_code == EXIT_CONFIG
    assert result.stderr == f"scribe codes: {folder / 'context.jsonl'}: lexicon file not found\n"


def test_the_option_does_not_outlive_the_test() -> None:
    """(The fixture's own check: a later test must read the packaged lexicons.)"""
    assert lexicon.ENV_VAR not in os.environ


def test_help_documents_the_exit_code() -> None:
    for args in (["--help"], ["check", "--help"], ["extract", "--help"], ["lexicon", "check", "--help"]):
        result = runner.invoke(app, args, env={"COLUMNS": "200"})
        assert result.exit_code == 0
        assert "78" in result.stdout, args
