"""Pydantic models at every boundary of scribe.

`Extraction` is the contract of ``../shared/contract/extraction.md``: its JSON form (``to_contract``)
keeps those names and meanings exactly. Extra keys (``date_of_service``, ``treated``, ``mentions``,
``billed``) are allowed by the contract and are used by the coding engine, the TUI and the audit.
Nothing in this module imports spaCy or Textual.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

ELEMENT_NAMES: tuple[str, ...] = (
    "procedure_type",
    "cavity_creation",
    "levels",
    "guidance",
    "biopsy",
    "laterality",
    "conservative_therapy",
    "indication",
)

# The order in which `missing` lists elements (contract: "When an element is missing").
MISSING_ORDER: tuple[str, ...] = (
    "procedure_type",
    "cavity_creation",
    "levels",
    "laterality",
    "guidance",
    "biopsy",
    "conservative_therapy",
    "indication",
)

# Spinal levels in cranio-caudal order (the contract's level names); "sacrum" (no segment named) sorts
# after S5, transitional and unknown names after that.
LEVEL_ORDER: tuple[str, ...] = (
    *(f"C{i}" for i in range(1, 8)),
    *(f"T{i}" for i in range(1, 13)),
    *(f"L{i}" for i in range(1, 6)),
    *(f"S{i}" for i in range(1, 6)),
)
LEVEL_INDEX: dict[str, int] = {lv: i for i, lv in enumerate(LEVEL_ORDER)}
TRANSITIONAL: frozenset[str] = frozenset({"T13", "L6"})


def level_sort_key(level: str) -> tuple[int, str]:
    """Sort key for level names: spinal order, then "sacrum", then anything else by name."""
    index = LEVEL_INDEX.get(level)
    if index is None:
        index = len(LEVEL_ORDER) + (0 if level == "sacrum" else 1)
    return (index, level)


ProcedureType = Literal["vertebroplasty", "kyphoplasty", "sacroplasty", "mixed"]
Family = Literal["vertebroplasty", "kyphoplasty", "sacroplasty"]
Guidance = Literal["ct", "fluoroscopy"]
Laterality = Literal["unilateral", "bilateral"]
Indication = Literal["osteoporosis", "neoplasm", "hemangioma", "trauma", "other"]
Modality = Literal[
    "analgesics",
    "opioids",
    "nsaids",
    "bracing",
    "bed_rest",
    "physical_therapy",
    "calcitonin",
    "activity_modification",
    "other",
]
Severity = Literal["info", "warning", "hard-stop"]


class Strict(BaseModel):
    """Base for models that reject unknown keys (lexicons, answers, payer profiles)."""

    model_config = ConfigDict(extra="forbid")


class Status(StrEnum):
    FOUND = "found"
    MISSING = "missing"
    CONFLICT = "conflict"
    NOT_APPLICABLE = "not_applicable"
    ANSWERED = "answered"


class ContextFlag(Strict):
    """A ConText modifier applied to a mention, with the cue that triggered it."""

    category: Literal[
        "negated", "historical", "hypothetical", "uncertain", "planned", "other_level", "corrected", "diagnostic"
    ]
    cue: str
    cue_start: int
    cue_end: int


class Evidence(BaseModel):
    """A span of the note (offsets into the text as read, after decoding)."""

    model_config = ConfigDict(extra="forbid")

    start: int
    end: int
    text: str
    section: str | None = None
    rule: str | None = None  # the lexicon entry or pattern that matched
    fuzzy: bool = False  # matched only through a fuzzy (speech-recognition) correction


_new = object.__new__  # the unvalidated constructors' steps, looked up once
# The four slots every pydantic model instance fills, set through their descriptors directly:
# ``object.__setattr__(obj, "__pydantic_extra__", None)`` looks the name up on the type first, and these run
# for every Evidence, Act and Element of every note (about 40), so the lookups were worth skipping (~0.15 us
# a construction, 20 %).
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_Built = TypeVar("_Built", bound=BaseModel)


def _unvalidated(cls: type[_Built], values: dict[str, Any]) -> _Built:
    """An instance of ``cls`` holding ``values`` (every field, in field order, each already of its type), built
    without validation: the step every ``make_*`` constructor below shares. The dict passed becomes the
    instance's own."""
    obj = _new(cls)
    _set_dict(obj, values)
    _set_fields_set(obj, set(values))
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


def make_evidence(start: int, end: int, text: str, section: str | None = None, rule: str | None = None,
                  fuzzy: bool = False) -> Evidence:
    """An Evidence built without validation, for the pipeline's hot path (its values are already
    typed; ``Evidence.model_construct`` does the same work with more general machinery)."""
    return _unvalidated(Evidence, {"start": start, "end": end, "text": text, "section": section, "rule": rule,
                                   "fuzzy": fuzzy})


_Model = TypeVar("_Model", bound=BaseModel)


def copy_with(model: _Model, update: dict[str, Any]) -> _Model:
    """``model.model_copy(update=update)`` without pydantic's general machinery, for the hot path: a shallow
    copy whose ``__dict__`` keeps the field order (the updated keys are fields already there), so the JSON is
    the same. Like ``model_copy``, nothing is validated. A model with extra keys or private attributes (none
    here) takes ``model_copy`` itself."""
    if model.__pydantic_extra__ or model.__pydantic_private__:
        return model.model_copy(update=update)
    copied = _new(type(model))
    values = model.__dict__.copy()
    values.update(update)
    _set_dict(copied, values)
    _set_fields_set(copied, model.__pydantic_fields_set__ | update.keys())
    _set_extra(copied, None)
    _set_private(copied, None)
    return copied


class Mention(BaseModel):
    """A candidate span found by the pipeline, kept or discarded by a resolver.

    Discarded mentions (negated, historical, imaging-only levels…) are kept so the TUI and the
    audit can show them differently from the evidence that decided a value.
    """

    model_config = ConfigDict(extra="forbid")

    element: str
    value: Any = None
    start: int
    end: int
    text: str
    section: str | None = None
    flags: list[ContextFlag] = Field(default_factory=list)
    used: bool = False
    fuzzy: bool = False


class BiopsyValue(Strict):
    performed: bool | None = None
    sites: list[str] = Field(default_factory=list)


class ConservativeTherapyValue(Strict):
    weeks: float
    modalities: list[Modality] = Field(default_factory=list)


class Element(BaseModel):
    """One extracted field: value + status + evidence (contract names)."""

    model_config = ConfigDict(extra="forbid")

    value: Any = None
    status: Status = Status.MISSING
    evidence: list[Evidence] = Field(default_factory=list)
    detail: dict[str, Any] = Field(default_factory=dict)  # extra, e.g. modalities without weeks

    @classmethod
    def of(cls, value: Any = None, status: Status = Status.MISSING, evidence: list[Evidence] | None = None,
           detail: dict[str, Any] | None = None) -> Element:
        """An Element built without validation, for the resolvers' hot path (as ``make_evidence``): the
        values are already typed (a Status, a list of Evidence), and the lists passed are the Element's own."""
        return _unvalidated(cls, {"value": value, "status": status, "evidence": [] if evidence is None else evidence,
                                  "detail": {} if detail is None else detail})


_ELEMENT_NAME_SET = frozenset(ELEMENT_NAMES)  # Elements.get: a set, not a scan of the tuple


class Elements(BaseModel):
    model_config = ConfigDict(extra="forbid")

    procedure_type: Element = Field(default_factory=Element)
    cavity_creation: Element = Field(default_factory=Element)
    levels: Element = Field(default_factory=Element)
    guidance: Element = Field(default_factory=Element)
    biopsy: Element = Field(default_factory=Element)
    laterality: Element = Field(default_factory=Element)
    conservative_therapy: Element = Field(default_factory=Element)
    indication: Element = Field(default_factory=Element)

    def get(self, name: str) -> Element:
        if name not in _ELEMENT_NAME_SET:
            raise KeyError(name)
        return getattr(self, name)

    def __getitem__(self, name: str) -> Element:
        """``elements["levels"]``: an element by its contract name, as in the JSON (``KeyError`` if unknown)."""
        return self.get(name)


class TreatedLevel(Strict):
    """A level treated in this session and the family its technique belongs to (rule C1)."""

    level: str
    family: Family
    cavity: bool | None = None  # cavity creation documented at this level
    rule: str = ""  # the row of the family decision table that decided (scribe/resolvers/decide.py)
    evidence: list[Evidence] = Field(default_factory=list)


ActKind = Literal["access", "cavity", "cement", "biopsy", "ablation"]
When = Literal["today", "past", "planned"]
Polarity = Literal["affirmed", "negated"]
DocumentKind = Literal[
    "augmentation_procedure", "other_procedure", "imaging_report", "clinical_note", "correspondence", "unknown"
]


class Act(Strict):
    """What was done to which level and when (contract: "Documents and acts"), with the words that say so."""

    act: ActKind
    level: str | None = None
    side: str | None = None
    device: str | None = None  # cavity acts: the device that made the cavity
    when: When = "today"
    polarity: Polarity = "affirmed"
    evidence: list[Evidence] = Field(default_factory=list)




def make_act(act: str, level: str | None, side: str | None, device: str | None, when: str, polarity: str,
             evidence: list[Evidence]) -> Act:
    """An Act built without validation, for the pipeline's hot path (as ``make_evidence``: the values are
    already of the vocabulary)."""
    return _unvalidated(Act, {"act": act, "level": level, "side": side, "device": device, "when": when,
                              "polarity": polarity, "evidence": evidence})


class Document(Strict):
    """What kind of document the note is, why, and the words that say so."""

    kind: DocumentKind = "unknown"
    evidence: list[Evidence] = Field(default_factory=list)
    reason: str = ""
    discontinued: bool = False  # an augmentation record stopped before any cement (flag discontinued_procedure)


class BilledLine(Strict):
    """A code found on a billing line of the note or in a claims file (for the audit)."""

    code: str
    units: int = 1
    modifiers: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    origin: Literal["note", "claims"] = "note"


class CodeLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    units: int = 1
    modifiers: list[str] = Field(default_factory=list)
    description: str = ""
    rationale: str = ""
    evidence: list[Evidence] = Field(default_factory=list)


class Diagnosis(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    description: str = ""
    rationale: str = ""
    evidence: list[Evidence] = Field(default_factory=list)


class Flag(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    severity: Severity = "info"
    message: str = ""
    evidence: list[Evidence] = Field(default_factory=list)
    verified: bool = True  # False when raised by a low-confidence (L) rule
    source: str | None = None
    rule: str | None = None  # the rule id behind the flag (coding-rules.md), kept out of the message


class Proposal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    codes: list[CodeLine] = Field(default_factory=list)
    diagnoses: list[Diagnosis] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)


# Unvalidated constructors for the coding engine's hot path (as ``make_evidence``): the engine builds its
# lines, diagnoses and flags from values that are already typed (strings it formats, ints, lists of
# Evidence it copies), so validating them again only re-checks its own work. Each ``__dict__`` is built in
# field order with every field, as validation builds it, so the JSON is the same byte for byte. Input
# from outside (answers, JSON read back, claims files) is still validated by the models themselves.


def make_code_line(code: str, units: int, modifiers: list[str], description: str, rationale: str,
                   evidence: list[Evidence]) -> CodeLine:
    """A CodeLine built without validation (the lists passed become the line's own)."""
    return _unvalidated(CodeLine, {"code": code, "units": units, "modifiers": modifiers, "description": description,
                                   "rationale": rationale, "evidence": evidence})


def make_diagnosis(code: str, description: str, rationale: str, evidence: list[Evidence]) -> Diagnosis:
    """A Diagnosis built without validation (the list passed becomes the diagnosis's own)."""
    return _unvalidated(Diagnosis, {"code": code, "description": description, "rationale": rationale,
                                    "evidence": evidence})


def make_flag(flag_id: str, severity: Severity, message: str, evidence: list[Evidence], verified: bool = True,
              source: str | None = None, rule: str | None = None) -> Flag:
    """A Flag built without validation (the list passed becomes the flag's own)."""
    return _unvalidated(Flag, {"id": flag_id, "severity": severity, "message": message, "evidence": evidence,
                               "verified": verified, "source": source, "rule": rule})


def make_proposal(codes: list[CodeLine], diagnoses: list[Diagnosis], flags: list[Flag]) -> Proposal:
    """A Proposal built without validation (the lists passed become the proposal's own)."""
    return _unvalidated(Proposal, {"codes": codes, "diagnoses": diagnoses, "flags": flags})


class Answer(Strict):
    """A clinician's (or coder's) answer to a prompt. `value` uses the contract vocabulary.

    For `conservative_therapy` the value is ``{"weeks": float, "modalities": [...]}``; for
    `biopsy` ``{"performed": bool, "sites": [...]}``; `"undetermined"` is always accepted and
    means "other / clinically undetermined". Payer questions use element ids such as
    ``abn_on_file``.
    """

    element: str
    value: Any
    user: str = ""
    at: datetime | None = None
    comment: str = ""


class Extraction(BaseModel):
    """The result of reading one note (contract: extraction.md)."""

    model_config = ConfigDict(extra="forbid")

    note_id: str
    source: str = ""
    document: Document = Field(default_factory=Document)
    elements: Elements = Field(default_factory=Elements)
    acts: list[Act] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    codes: list[CodeLine] = Field(default_factory=list)
    diagnoses: list[Diagnosis] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)
    # extra keys (allowed by the contract)
    date_of_service: date | None = None
    is_procedure_note: bool = True
    treated: list[TreatedLevel] = Field(default_factory=list)
    mentions: list[Mention] = Field(default_factory=list)
    billed: list[BilledLine] = Field(default_factory=list)
    coverage: dict[str, list[Evidence]] = Field(default_factory=dict)  # V1 documentation items found
    text_length: int = 0

    def to_contract(self, *, mentions: bool = False) -> dict[str, Any]:
        """The JSON-ready dict of the contract (plus extra keys)."""
        exclude = None if mentions else {"mentions"}
        return self.model_dump(mode="json", exclude=exclude)


class ReadError(Strict):
    """One unreadable note, as reported in batch output."""

    note_id: str
    source: str
    error: str


class Option(Strict):
    """One choice offered by a prompt."""

    value: Any
    label: str


class Prompt(BaseModel):
    """A compliant, non-leading query for one missing or conflicting element (or a payer question).

    `element` is a contract element name or a payer question id such as ``abn_on_file``.
    `input_kind` tells a front end which input to show; `options` always include an
    "other / clinically undetermined" choice (value ``"undetermined"``).
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    element: str
    question: str
    input_kind: Literal["choice", "multi", "levels", "duration", "biopsy", "text", "bool"] = "choice"
    options: list[Option] = Field(default_factory=list)
    cites: list[Evidence] = Field(default_factory=list)  # the note's own words the query names
    reason: str = ""  # why it is asked (status / flag id)
    waiting_codes: list[str] = Field(default_factory=list)  # codes withheld until it is answered
