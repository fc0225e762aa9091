"""The coding rule data in ``lexicons/coding/`` as validated pydantic models.

Codes, region maps, ICD-10-CM choices and payer profiles are data: a coder edits JSON, not
Python. Low-confidence rules (``confidence: "L"``) carry ``verified: false`` and a source; the
flags they raise copy both, so a coder sees which advice is unsettled.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from scribe.lexicon import lexicon_dir, load_json_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeDef(_Strict):
    family: Literal["vertebroplasty", "kyphoplasty", "sacroplasty", "biopsy", "imaging", "sedation"]
    role: Literal["primary", "addon", "separate", "unlisted", "bundled"]
    region: str
    description: str  # scribe's own short wording (CPT descriptors are AMA-copyrighted)


class CodeTable(_Strict):
    source_note: str = ""
    codes: dict[str, CodeDef]
    deleted: dict[str, str]  # deleted code -> its replacement (crosswalk)
    icd10: dict[str, str]  # ICD-10-CM code -> own-words description
    trauma_by_level: dict[str, str]  # level (or region letter C/S) -> S-code
    collapsed_by_region: dict[str, str]  # ICD spinal region -> M48.5-XA
    neoplasm_codes: dict[str, str]  # neoplasm kind -> code
    never_propose: list[str]
    forbidden_modifiers: list[str]
    primary_by_region: dict[str, dict[str, str]]  # family -> region letter -> primary code
    addon_by_family: dict[str, str]
    sacral_by_laterality: dict[str, str]
    biopsy_by_kind: dict[str, str]
    icd_region_by_level: dict[str, str]
    # 6th character of S22.0-/S32.0- by fracture type (the table holds the unspecified-type code)
    fracture_type_digit: dict[str, str] = {}

    def trauma_code(self, level: str, fracture_type: str | None) -> str | None:
        letter = "S" if level == "sacrum" else level[:1]
        code = self.trauma_by_level.get(level) or self.trauma_by_level.get(letter)
        digit = self.fracture_type_digit.get(fracture_type or "")
        if code and digit and code.startswith(("S22.0", "S32.0")) and len(code) == 8:
            return code[:6] + digit + code[7:]
        return code

    def describe(self, code: str) -> str:
        if code in self.codes:
            return self.codes[code].description
        return self.icd10.get(code, "")


class PayerProfile(_Strict):
    description: str = ""
    primary_region: Literal["cranial", "first_treated", "thoracic"] = "cranial"
    biopsy_modifier: Literal["XS", "59"] = "XS"
    conservative_min_weeks: float | None = None
    abn: bool = False  # Advance Beneficiary Notice mechanics apply (Medicare)


class RuleNote(_Strict):
    id: str
    text: str
    confidence: Literal["H", "M", "L"]
    verified: bool
    source: str


class PayerTable(_Strict):
    payers: dict[str, PayerProfile]
    rules: list[RuleNote] = Field(default_factory=list)

    def rule(self, rule_id: str) -> RuleNote | None:
        return next((r for r in self.rules if r.id == rule_id), None)


class CodingRules(_Strict):
    table: CodeTable
    payers: PayerTable

    def payer(self, name: str) -> PayerProfile:
        try:
            return self.payers.payers[name]
        except KeyError:
            known = ", ".join(sorted(self.payers.payers))
            raise UnknownPayerError(f"unknown payer {name!r} (known: {known})") from None


class UnknownPayerError(ValueError):
    """A payer name not in ``lexicons/coding/payers.json``."""


def load_rules(directory: Path | None = None) -> CodingRules:
    d = (directory or lexicon_dir()) / "coding"
    return CodingRules(table=load_json_model(d / "codes.json", CodeTable),
                       payers=load_json_model(d / "payers.json", PayerTable))


@cache
def default_rules() -> CodingRules:
    return load_rules()


def payer_names() -> list[str]:
    return sorted(default_rules().payers.payers)
