"""Loading the word lists and rule tables in ``lexicons/`` into validated pydantic models.

Every file is data: a coder adds a synonym, a device brand or a section header by editing a
file, never Python. Unknown keys are rejected, and labels, values and section names are checked
against ``scribe.vocabulary``, so a typo in a lexicon fails loudly at load with ``file:line: field``.

Where the lexicons are: ``--lexicons DIR`` (the CLI sets ``SCRIBE_LEXICONS``), else ``SCRIBE_LEXICONS``,
else the copy shipped in the package (``scribe/lexicons`` inside a wheel, read with ``importlib.resources``;
the top-level ``lexicons/`` folder of a source checkout or an editable install).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from scribe.vocabulary import SECTION_NAMES, TERM_VALUES, RegionLetter, SpokenMark, known

ENV_VAR = "SCRIBE_LEXICONS"


class LexiconError(Exception):
    """A lexicon file that is missing or malformed (one line: ``file:line: field: problem``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TermPattern(_Strict):
    """A phrase matched on normalised tokens (``token.norm_``)."""

    label: str
    pattern: str = Field(min_length=1)
    value: str | None = None
    plural: bool = True  # also match the simple plural of the last word

    @field_validator("label")
    @classmethod
    def _known_label(cls, label: str) -> str:
        if label not in TERM_VALUES:
            raise ValueError(f"unknown label {label!r} (known: {known(TERM_VALUES.keys())})")
        return label

    @field_validator("value")
    @classmethod
    def _known_value(cls, value: str | None, info: ValidationInfo) -> str | None:
        label = info.data.get("label")
        if value is None or label is None:  # no value, or the label already failed
            return value
        allowed = TERM_VALUES[label]
        if value not in allowed:
            raise ValueError(f"{value!r} is not a value of label {label} (known: {known(allowed)})")
        return value


class ContextRule(_Strict):
    """A ConText cue (medspaCy-style record)."""

    category: Literal["negated", "historical", "hypothetical", "uncertain", "planned", "other_level",
                      "corrected", "pseudo", "terminate", "diagnostic"]
    literal: str
    direction: Literal["forward", "backward", "bidirectional", "terminate", "pseudo"]
    max_scope: int | None = None
    applies_to: list[str] = Field(default_factory=list)  # element labels; empty = all
    # words one of which must stand within the cue's scope on the side it modifies (same sentence)
    # for the cue to count: "stable" only before cement ("stable L2 cement"), not "stable, a balloon"; a
    # pseudo-cue's words stand before it ("needle placement was confirmed with CT")
    requires: list[str] = Field(default_factory=list)
    # words that, right before the cue, make it attributive, so it reaches forward only: "the previously
    # augmented T11" describes T11, not the "fluoroscopy" before it
    forward_after: list[str] = Field(default_factory=list)

    @field_validator("applies_to")
    @classmethod
    def _known_labels(cls, labels: list[str]) -> list[str]:
        unknown = [x for x in labels if x not in TERM_VALUES]
        if unknown:
            raise ValueError(f"unknown label {unknown[0]!r} (known: {known(TERM_VALUES.keys())})")
        return labels


class SectionDef(_Strict):
    name: str
    headers: list[str]
    spoken: list[str] = Field(default_factory=list)  # headers recognised at paragraph start
    # headers, beside the spoken ones, that stay headings anywhere in a note flattened into one unpunctuated
    # paragraph (a speech-recognition dump: "... no relief anesthesia local complications none ...")
    flat: list[str] = Field(default_factory=list)
    # whether the spoken headers stay headings anywhere in a flattened note too (not "consent": "description
    # consent time-out prone ..." is a description that opens with the consent)
    flat_spoken: bool = True
    session: bool  # may carry facts about this session's procedure
    # a field that may name this session's guidance but not its treated levels ("Imaging: biplane fluoroscopy"
    # and "Imaging: MRI shows fractures at T11 and L1" both come under "Imaging:")
    guidance: bool = False

    @field_validator("name")
    @classmethod
    def _known_name(cls, name: str) -> str:
        if name not in SECTION_NAMES:
            raise ValueError(f"unknown section {name!r} (known: {known(SECTION_NAMES)})")
        return name


class Sections(_Strict):
    sections: list[SectionDef]
    default_field_section: str
    # words after a spoken heading word that make it the subject of a sentence, not a heading
    # ("Consent was obtained.", "Exam shows tenderness", "History of breast cancer.")
    not_heading_followers: list[str] = []
    # in a flattened note, words before a heading word that make it part of a phrase, not a heading
    # ("the procedure", "no complications", "past history")
    not_heading_before: list[str] = []
    # and endings of such words: an adjective in "-ic" leads a noun phrase ("osteoporotic history")
    not_heading_before_suffixes: list[str] = []
    # and word pairs of a flattened note that end in a heading word but are phrases ("local anesthesia")
    not_flat_headings: list[str] = []
    # and nouns after a heading word that make it a compound noun there ("procedure note", "operation report")
    not_flat_heading_followers: list[str] = []

    @field_validator("default_field_section")
    @classmethod
    def _defined(cls, name: str, info: ValidationInfo) -> str:
        defined = {s.name for s in info.data.get("sections", [])}
        if defined and name not in defined:
            raise ValueError(f"{name!r} is not one of the sections defined above")
        return name


def _lower_case(key: str) -> str:
    """Tokens are looked up lower-cased: a key with a capital letter would never match."""
    if key != key.lower() or not key.strip():
        raise ValueError("must be lower case and not blank")
    return key


Word = Annotated[str, AfterValidator(_lower_case)]


class FlatSentences(_Strict):
    """Sentence starts in a note flattened into one unpunctuated paragraph (scribe/nlp/sentences.py)."""

    # words after which no new sentence starts: prepositions, conjunctions, determiners, relative words
    joiners: list[Word] = []
    # subjects that open a sentence after any other word ("... without relief she also tried a brace")
    subjects: list[Word] = []
    # subjects that open a sentence only before one of ``subject_verbs`` ("... into l2 there was no leak",
    # "... prone the patient was prepped")
    verb_led: list[Word] = []
    # bare nouns that open a sentence before one of ``subject_verbs`` ("... and naproxen | biopsy is planned")
    # unless one of ``noun_modifiers`` or a level leads them ("bone biopsy was taken", "t12 biopsy was taken")
    noun_subjects: list[Word] = []
    noun_modifiers: list[Word] = []
    subject_verbs: list[Word] = []
    # past participles not ending in "-ed" that close a passive clause ("cement was given")
    participles: list[Word] = []
    # words that go on with a passive clause after its participle ("the patient was placed prone")
    complements: list[Word] = []
    # words that open a sentence before a noun and one of ``subject_verbs`` ("... injected | no leak was seen")
    negated_subjects: list[Word] = []
    # words after a number that make it a count or measure, not a list item's number ("2 ml", "3 weeks")
    units: list[Word] = []


class Normalization(_Strict):
    misspellings: dict[Word, str]
    joined: dict[Word, str]  # "kypho plasty" -> "kyphoplasty"
    fuzzy_targets: list[str]
    fuzzy_min_length: int = Field(default=7, ge=1)
    fuzzy_cutoff: float = Field(default=88.0, ge=0, le=100)
    letter_words: dict[Word, RegionLetter]  # spoken letters: "tee" -> "t"
    # speech-recognition homophones of a level number, only after a spoken letter ("el won" -> l1)
    level_number_homophones: dict[Word, Annotated[int, Field(ge=1, le=12)]] = {}
    region_words: dict[Word, RegionLetter]  # "thoracic" -> "t"
    spoken_punctuation: dict[Word, SpokenMark]  # "period" -> "."
    correction_cues: list[str]
    flat_sentences: FlatSentences = Field(default_factory=FlatSentences)


class Lexicon(_Strict):
    terms: list[TermPattern]
    context: list[ContextRule]
    sections: Sections
    normalization: Normalization


def _regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression ({exc})") from None
    return pattern


Regex = Annotated[str, AfterValidator(_regex)]


class CoverageLexicon(BaseModel):
    """``coverage.json``: the coverage documentation items (read by ``scribe.resolvers.coverage``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: dict[str, list[Regex]]  # item -> regular expressions (case-insensitive)
    negation: Regex  # regex of negation cues looked for just before a match
    min_pain_score: int = 5
    level_scoped: list[str] = []  # items that must concern a treated level
    keywords: dict[str, list[str]] = {}  # item -> lower-case words one of which must occur (a cheap pre-filter)

    @field_validator("level_scoped", "keywords")
    @classmethod
    def _known_items(cls, named: list[str] | dict[str, list[str]], info: ValidationInfo) -> Any:
        items = info.data.get("items")
        unknown = [x for x in named if items is not None and x not in items]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not one of the items")
        return named


DocumentKind = Literal["augmentation_procedure", "other_procedure", "imaging_report", "clinical_note",
                       "correspondence", "unknown"]
CavityDevice = Literal["balloon", "spinejack", "kiva", "osteotome", "curette", "drill"]


class ActsLexicon(BaseModel):
    """``acts.json``: the act vocabulary of ``scribe.acts`` (regular expressions, case-insensitive, looked for
    near an act's object): what delivers cement, what only observes it, targets that are not a vertebral body,
    access predicates, ablation, the cues of a procedure stopped before cement, and cavity devices."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cement_delivery: list[Regex]
    cement_observed: list[Regex]
    nonvertebral_target: list[Regex]
    access_predicate: list[Regex]
    access_other_use: list[Regex]  # a needle used for something else: local anaesthetic, a lumbar puncture
    ablation: list[Regex]
    incomplete: list[Regex]
    devices: dict[CavityDevice, list[Regex]]
    # words (lower case, matched inside a negation cue's text) that say a level was not treated ("L2 was not
    # treated", "L1 was abandoned") and that a procedure was stopped part-way ("the procedure was aborted")
    untreated_cues: list[str] = []
    abort_cues: list[str] = []


class DocumentsLexicon(BaseModel):
    """``documents.json``: the title cues of each document kind (``scribe.document``), the words that make a title
    name the augmentation, letter cues and the words of a procedure record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title_lines: int = Field(3, ge=1, le=8)
    titles: dict[DocumentKind, list[Regex]]
    augmentation_title: list[Regex]
    letter: list[Regex]
    procedure_record: list[Regex]
    clinical_fields: list[Regex] = []  # field labels of a clinical note (H&P, consult, progress note)
    stay_fields: list[Regex] = []  # field labels of a hospital stay's summary (admission, hospital course, discharge)
    procedure_fields: list[Regex] = []  # field labels of a procedure record (technique, EBL, specimens)


# --- where the lexicons are -------------------------------------------------------------------


def packaged_lexicon_dir() -> Path:
    """The lexicons shipped with scribe: ``scribe/lexicons`` of an installed wheel (a data-only package read
    through ``importlib.resources``), else the ``lexicons/`` folder beside the ``scribe/`` package (a source
    checkout, or an editable install, whose import hook does not serve a data-only package)."""
    try:
        shipped = resources.files("scribe.lexicons") / "terms.jsonl"
    except ModuleNotFoundError:
        shipped = None
    if isinstance(shipped, Path) and shipped.is_file():
        return shipped.parent
    return Path(__file__).resolve().parent.parent / "lexicons"


def lexicon_dir() -> Path:
    """``SCRIBE_LEXICONS`` (which ``--lexicons DIR`` sets) when set, else the packaged lexicons."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return packaged_lexicon_dir()


def use_lexicon_dir(directory: Path) -> None:
    """Read the lexicons from ``directory`` from now on, in this process and the worker processes it starts."""
    os.environ[ENV_VAR] = str(directory)
    clear_caches()


def clear_caches() -> None:
    default_lexicon.cache_clear()
    default_coverage.cache_clear()
    default_acts.cache_clear()
    default_documents.cache_clear()


# --- reading and validating, with file:line ---------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def _read(path: Path) -> str:
    if not path.parent.is_dir():
        raise LexiconError(f"{path.parent}: lexicon folder not found")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LexiconError(f"{path}: lexicon file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LexiconError(f"{path}: cannot read the lexicon file ({type(exc).__name__})") from None


def _problem(path: Path, line: int, error: Any) -> LexiconError:
    """One line: ``file:line: field: what is wrong``."""
    loc = tuple(error["loc"])
    field = ".".join(str(x) for x in loc).replace(".[key]", " (key)") or "(file)"
    msg = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    if error["type"] in ("literal_error", "missing", "extra_forbidden") and isinstance(given, str | int | float):
        msg += f" (got {given!r})"
    return LexiconError(f"{path}:{line}: {field}: {msg}")


def _errors(model: type[M], data: object, path: Path, line_of: Callable[[tuple[Any, ...]], int]) -> list[LexiconError]:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return [_problem(path, line_of(tuple(e["loc"])), e) for e in exc.errors()]
    return []


def _validated(model: type[M], data: object, path: Path, line_of: Callable[[tuple[Any, ...]], int]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _problem(path, line_of(tuple(first["loc"])), first) from None


def _parse_json(path: Path, text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LexiconError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None


def _rows(path: Path) -> list[tuple[int, object]]:
    """The rows of a JSON-lines file with their line numbers (blank lines and ``//`` comments skipped)."""
    rows: list[tuple[int, object]] = []
    for n, line in enumerate(_read(path).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        try:
            rows.append((n, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise LexiconError(f"{path}:{n}: invalid JSON ({exc.msg})") from None
    return rows


def load_json_model(path: Path, model: type[M]) -> M:
    """A JSON file validated as ``model``; an error names the line of the offending field."""
    text = _read(path)
    return _validated(model, _parse_json(path, text), path, lambda loc: _json_line(text, loc))


def load_jsonl_models(path: Path, model: type[M]) -> list[M]:
    """A JSON-lines file, one ``model`` per row; an error names the row's line."""
    return [_validated(model, data, path, lambda _loc, n=n: n) for n, data in _rows(path)]


def _json_problems(path: Path, model: type[M]) -> list[LexiconError]:
    text = _read(path)
    return _errors(model, _parse_json(path, text), path, lambda loc: _json_line(text, loc))


def _jsonl_problems(path: Path, model: type[M]) -> list[LexiconError]:
    out: list[LexiconError] = []
    for n, data in _rows(path):
        out += _errors(model, data, path, lambda _loc, n=n: n)
    return out


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def _json_line(text: str, loc: tuple[Any, ...]) -> int:
    """The line of the value at ``loc`` (object keys and list indices) in a valid JSON text: as deep as
    the path goes (a model-level error points at its object)."""
    pos = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    for key in loc:
        found = _child(text, pos, key)
        if found is None:
            break
        pos = found
    return text.count("\n", 0, pos) + 1


def _child(text: str, pos: int, key: Any) -> int | None:
    def skip(i: int) -> int:
        return _SPACE.match(text, i).end()  # type: ignore[union-attr]

    opening = text[pos : pos + 1]
    if opening not in ("{", "[") or (opening == "[" and not isinstance(key, int)):
        return None
    i, n = skip(pos + 1), 0
    while i < len(text) and text[i] not in "}]":
        if opening == "{":
            name, i = json.decoder.scanstring(text, i + 1)
            i = skip(skip(i) + 1)  # past the colon
            if name == str(key):
                return i
        elif n == key:
            return i
        _, i = _DECODER.raw_decode(text, i)
        i = skip(i)
        if text[i : i + 1] == ",":
            i = skip(i + 1)
        n += 1
    return None


# --- loading ----------------------------------------------------------------------------------


def load_lexicon(directory: Path | None = None) -> Lexicon:
    d = directory or lexicon_dir()
    return Lexicon(
        terms=load_jsonl_models(d / "terms.jsonl", TermPattern),
        context=load_jsonl_models(d / "context.jsonl", ContextRule),
        sections=load_json_model(d / "sections.json", Sections),
        normalization=load_json_model(d / "normalization.json", Normalization),
    )


def load_coverage(directory: Path | None = None) -> CoverageLexicon:
    return load_json_model((directory or lexicon_dir()) / "coverage.json", CoverageLexicon)


@cache
def default_lexicon() -> Lexicon:
    return load_lexicon()


@cache
def default_coverage() -> CoverageLexicon:
    return load_coverage()


@cache
def default_acts() -> ActsLexicon:
    return load_json_model(lexicon_dir() / "acts.json", ActsLexicon)


@cache
def default_documents() -> DocumentsLexicon:
    return load_json_model(lexicon_dir() / "documents.json", DocumentsLexicon)


def lexicon_files() -> dict[str, tuple[type[BaseModel], bool]]:
    """Each lexicon file (relative to the folder), its model and whether it is JSON lines (one model a row)."""
    from scribe.coding.rules import CodeTable, PayerTable

    return {
        "terms.jsonl": (TermPattern, True),
        "context.jsonl": (ContextRule, True),
        "sections.json": (Sections, False),
        "normalization.json": (Normalization, False),
        "coverage.json": (CoverageLexicon, False),
        "acts.json": (ActsLexicon, False),
        "documents.json": (DocumentsLexicon, False),
        "coding/codes.json": (CodeTable, False),
        "coding/payers.json": (PayerTable, False),
    }


def lexicon_problems(directory: Path | None = None) -> list[str]:
    """Every problem of every lexicon file in ``directory`` (default: the one in use), one line each
    (``file:line: field: problem``); empty when all are valid. A file that is missing or not JSON gives one
    problem and its other rows are not checked."""
    d = directory or lexicon_dir()
    if not d.is_dir():
        return [f"{d}: lexicon folder not found"]
    problems: list[str] = []
    for name, (model, rows) in lexicon_files().items():
        try:
            found = _jsonl_problems(d / name, model) if rows else _json_problems(d / name, model)
        except LexiconError as err:
            found = [err]
        problems += [str(p) for p in found]
    return problems


def require_lexicons() -> None:
    """Load and validate the lexicons in use once, at the start of a command (the caches then serve the
    pipeline): a broken lexicon stops the command before any note is read."""
    from scribe.coding.rules import default_rules

    default_lexicon()
    default_coverage()
    default_acts()
    default_documents()
    default_rules()
