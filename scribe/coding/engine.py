"""The rule engine: ``propose(extraction, answers, payer) -> Proposal``.

The proposal's flags include the billed-vs-documented comparison of the note's own billing lines
(``extraction.billed``); a claims file is compared by the caller (``billing.compare``).

A pure function of the extraction (with any answers already applied, see ``scribe.prompts``),
the payer-question answers (``abn_on_file``) and the payer profile. No I/O beyond the cached
rule data, no spaCy objects. Rule ids in comments and flag messages refer to
``../shared/domain/coding-rules.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scribe.coding.billing import compare
from scribe.coding.flags import coder_wording
from scribe.coding.rules import CodingRules, PayerProfile, RuleNote, default_rules
from scribe.models import (
    TRANSITIONAL,
    Answer,
    CodeLine,
    Diagnosis,
    Evidence,
    Extraction,
    Flag,
    Proposal,
    Severity,
    Status,
    TreatedLevel,
    level_sort_key,
    make_code_line,
    make_diagnosis,
    make_flag,
    make_proposal,
)

SEVERITY_ORDER = {"info": 0, "warning": 1, "hard-stop": 2}
UNDETERMINED = "undetermined"
level_key = level_sort_key


def region_letter(level: str) -> str:
    return "S" if level == "sacrum" else level[:1]


def is_sacral(level: str) -> bool:
    return level == "sacrum" or (level[:1] == "S" and level[1:].isdecimal())


def is_vertebral_level(site: str) -> bool:
    return site[:1] in "CTL" and site[1:].isdecimal()


def answered(answers: Sequence[Answer], element: str) -> Answer | None:
    """The latest answer to ``element`` (answers are an append-only log)."""
    for a in reversed(answers):
        if a.element == element:
            return a
    return None


_AUGMENTATION = ("vertebroplasty", "kyphoplasty", "sacroplasty")


@dataclass(frozen=True, slots=True)
class _RuleIndex:
    """What the engine looks up in one rules table, derived once per table instead of once per note (or
    per sort key): the table is a frozen model, read-only after loading."""

    rules: CodingRules
    addon_codes: frozenset[str]  # the add-on code of each family (``addon_by_family``)
    claim_first: frozenset[str]  # codes sorted into the first group of the claim (see ``_claim_order``)
    augmentation_codes: frozenset[str]  # codes of the vertebroplasty, kyphoplasty and sacroplasty families
    never_propose: frozenset[str]
    notes: dict[str, RuleNote]  # rule id -> its note (the first of that id, as ``PayerTable.rule``)

    @classmethod
    def of(cls, rules: CodingRules) -> _RuleIndex:
        table = rules.table
        addon_family = {code: fam for fam, code in table.addon_by_family.items()}

        def claim_family(code: str) -> str:
            info = table.codes.get(code)
            return "kyphoplasty" if code == "22899" else addon_family.get(code) or (info.family if info else "")

        notes: dict[str, RuleNote] = {}
        for note in rules.payers.rules:
            notes.setdefault(note.id, note)
        return cls(rules=rules, addon_codes=frozenset(addon_family),
                   claim_first=frozenset(code for code in {*table.codes, *addon_family, "22899"}
                                         if claim_family(code) in _AUGMENTATION),
                   augmentation_codes=frozenset(c for c, d in table.codes.items() if d.family in _AUGMENTATION),
                   never_propose=frozenset(table.never_propose), notes=notes)


_INDEXES: dict[int, _RuleIndex] = {}


def _rule_index(rules: CodingRules) -> _RuleIndex:
    """The index of ``rules``, cached by identity (the entry keeps its table alive, so the id is not reused
    while cached; a few tables at most are ever in use)."""
    index = _INDEXES.get(id(rules))
    if index is None or index.rules is not rules:
        if len(_INDEXES) >= 8:
            _INDEXES.clear()
        index = _INDEXES[id(rules)] = _RuleIndex.of(rules)
    return index


class _Builder:
    def __init__(self, ex: Extraction, answers: Sequence[Answer], payer: PayerProfile, rules: CodingRules) -> None:
        self.ex = ex
        self.elements = ex.elements
        self.answers = answers
        self.payer = payer
        self.rules = rules
        self.table = rules.table
        self.index = _rule_index(rules)
        self.codes: list[CodeLine] = []
        self.diagnoses: list[Diagnosis] = []
        self.flags: list[Flag] = []
        # the acts done this session (today, affirmed), which access_only and _act_evidence read
        self.done_today = [a for a in ex.acts if a.when == "today" and a.polarity == "affirmed"]

    # -- helpers
    def flag(self, flag_id: str, severity: Severity, message: str, evidence: Iterable[Evidence] = (),
             rule: str | None = None) -> None:
        """Add a flag worded for coders (``coder_wording``: a rule reference in the message's last
        parenthesis moves to ``rule``); built unvalidated, its values are typed here."""
        verified, source = True, None
        if rule:
            note = self.index.notes.get(rule)
            if note is not None:  # an unverified rule says so in its fields (verified, source), not in the text
                verified, source = note.verified, note.source
        message, rule = coder_wording(message, rule)
        self.flags.append(make_flag(flag_id, severity, message, _dedupe(evidence, 6), verified, source, rule))

    def line(self, code: str, units: int, rationale: str, evidence: Iterable[Evidence],
             modifiers: Sequence[str] = ()) -> None:
        assert code not in self.index.never_propose, code  # C7 and the deleted codes: never proposed
        self.codes.append(make_code_line(code, units, list(modifiers), self.table.describe(code), rationale,
                                         _dedupe(evidence, 8)))

    def diag(self, code: str, rationale: str, evidence: Iterable[Evidence]) -> None:
        for d in self.diagnoses:
            if d.code == code:
                return
        self.diagnoses.append(make_diagnosis(code, self.table.icd10.get(code, ""), rationale, _dedupe(evidence, 4)))

    # -- the rules
    def run(self) -> Proposal:
        ex = self.ex
        if not ex.is_procedure_note:
            if ex.document.discontinued:
                self.flag("discontinued_procedure", "warning",
                          "The augmentation was stopped before any cement was delivered: no procedure code is "
                          "proposed; the coder decides on a reduced or discontinued service modifier",
                          ex.document.evidence)
                return make_proposal([], [], self.flags)
            return make_proposal([], [], [])
        self.procedures()
        self.biopsy()
        self.other_flags()
        self.diagnosis()
        self.coverage()
        self.codes.sort(key=self._claim_order)
        # billing lines in the note: ``compare`` words its flags for coders itself, as ``flag`` does
        self.flags.extend(compare(ex, ex.billed, self.codes, self.rules))
        self.flags.sort(key=_severity_rank)
        return make_proposal(self.codes, self.diagnoses, self.flags)

    def _claim_order(self, c: CodeLine) -> tuple[int, str, int, str, list[str]]:
        """The augmentation codes first (vertebroplasty, kyphoplasty, sacroplasty, their add-ons, 22899), by
        code, then separately reported codes (biopsy) by code: 22511, 20225-XS; 22510, 22512, 22513.

        This is the order the engine has always produced. An earlier key also looked for the family's
        primary among ``self.codes``, meaning to put each add-on right after it, but ``list.sort`` empties
        the list while it computes the keys, so that search always came back empty and the key was the
        code: kept as it was, so the output is unchanged (the add-on codes follow their primaries'
        numbers anyway; only 22899 sorts after 22515)."""
        code = c.code
        if code in self.index.claim_first:
            return (0, code, int(code in self.index.addon_codes), code, c.modifiers)
        return (1, "", 0, code, c.modifiers)

    def procedures(self) -> None:
        ex = self.ex
        proc = self.elements.procedure_type
        levels = self.elements.levels
        if proc.value is None or proc.status in (Status.MISSING, Status.CONFLICT):
            self.flag("code_withheld", "warning",
                      "Procedure codes withheld: the procedure type is not documented "
                      "(waiting on procedure_type)", proc.evidence)
            return
        treated = [t for t in ex.treated if t.level != UNDETERMINED]
        if not treated or levels.status in (Status.MISSING, Status.CONFLICT):
            waiting = self._family_codes(proc.value)
            self.flag("code_withheld", "warning",
                      f"{'/'.join(waiting)} withheld: treated levels are not documented, so the code and "
                      "its units cannot be chosen (waiting on levels)", levels.evidence)
            return
        invalid = sorted(set(levels.detail.get("transitional_or_invalid", []))
                         | {t.level for t in treated if t.level in TRANSITIONAL})
        if invalid:
            self.flag("transitional_anatomy", "warning",
                      f"Transitional or unusual level named ({', '.join(invalid)}): coder review of the "
                      "numbering before coding (rule C2)", levels.evidence)
        sacral: list[TreatedLevel] = []
        vertebral: list[TreatedLevel] = []
        for t in treated:
            (sacral if is_sacral(t.level) or t.family == "sacroplasty" else vertebral).append(t)
        if sacral:
            self.sacroplasty(sacral)
        vp = [t for t in vertebral if t.family == "vertebroplasty"]
        kp = [t for t in vertebral if t.family == "kyphoplasty"]
        if kp:
            cav = self.elements.cavity_creation
            cavity_ok = cav.value is True and cav.status in (Status.FOUND, Status.ANSWERED)
            if not cavity_ok:
                state = "contradicts itself" if cav.status == Status.CONFLICT else "is not documented"
                self.flag("code_withheld", "warning",
                          "22513/22514/22515 withheld: kyphoplasty is named but mechanical cavity creation "
                          f"{state}; augmentation codes need a documented cavity or reduction step "
                          "(rule C1, waiting on cavity_creation)", [*proc.evidence, *cav.evidence])
                kp = []
        if vp:
            self.family_lines("vertebroplasty", vp)
        if kp:
            self.family_lines("kyphoplasty", kp)
        self.access_only(treated)
        if vp and kp:
            self.flag("ncci_modifier_review", "warning",
                      "Vertebroplasty and augmentation at different bodies in one session: both families are "
                      "reported with their own primary; check whether an NCCI edit needs XS/59 on one primary "
                      "(no modifier added)", [e for t in vp[:1] + kp[:1] for e in t.evidence[:1]], rule="C6")

    def access_only(self, treated: list[TreatedLevel]) -> None:
        """A level reached by a needle today but given no cement is not billed: say so, so the coder can decide
        on a reduced service ("L1 access attempted and abandoned; no cement at L1")."""
        names = {t.level for t in treated}
        done = {a.level for a in self.done_today
                if a.act in ("cement", "cavity", "biopsy", "ablation")}  # a needle for a biopsy did its job
        biopsy = self.elements.biopsy.value
        if isinstance(biopsy, dict):
            done |= set(biopsy.get("sites") or [])
        reached = [a for a in self.done_today if a.act == "access"
                   and a.level and a.level not in names and a.level not in done]
        levels = sorted({a.level for a in reached if a.level}, key=level_key)
        if levels:
            self.flag("access_without_cement", "info",
                      f"Needle access at {', '.join(levels)} is documented but no cement was delivered there: not "
                      "billed; check whether a reduced or discontinued service applies", [a.evidence[0] for a in
                                                                                          reached[:3]])

    def _act_evidence(self, levels: list[TreatedLevel]) -> list[Evidence]:
        """The words of today's cavity and cement acts at ``levels``: a code line cites what was done, not only
        the level's name."""
        names = {t.level for t in levels}
        return [a.evidence[0] for a in self.done_today if a.level in names
                and a.act in ("cavity", "cement") and a.evidence][:4]

    def _family_codes(self, proc: str) -> list[str]:
        fams = ["vertebroplasty", "kyphoplasty"] if proc == "mixed" else [proc]
        out: list[str] = []
        for fam in fams:
            if fam == "sacroplasty":
                out += list(self.table.sacral_by_laterality.values())
                continue
            out += sorted(set(self.table.primary_by_region.get(fam, {}).values()) - {"22899"})
            if fam in self.table.addon_by_family:
                out.append(self.table.addon_by_family[fam])
        return out

    def family_lines(self, family: str, levels: list[TreatedLevel]) -> None:
        """C2, C3, C4, C5: one primary per family and (levels - 1) add-on units."""
        levels = sorted(levels, key=lambda t: level_key(t.level))
        primaries = self.table.primary_by_region[family]
        if family == "kyphoplasty":
            cervical = [t for t in levels if region_letter(t.level) == "C"]
            if cervical:
                code = primaries["C"]
                names = ", ".join(t.level for t in cervical)
                self.line(code, 1, f"Cervical augmentation with cavity creation ({names}) has no specific code: "
                          "unlisted spine procedure", [e for t in cervical for e in t.evidence[:1]])
                self.flag("cervical_augmentation_review", "warning",
                          f"{code} (unlisted) proposed for cervical augmentation: attach the operative note and a "
                          "comparison code for the payer; coder review", [e for t in cervical for e in t.evidence[:1]])
                levels = [t for t in levels if region_letter(t.level) != "C"]  # not in cervical
                if not levels:
                    return
        regions = {region_letter(t.level) for t in levels}
        primary_level = self._primary_level(levels)
        code = primaries[region_letter(primary_level.level)]
        names = ", ".join(t.level for t in levels)
        what = "cement only" if family == "vertebroplasty" else "mechanical cavity creation before cement"
        self.line(code, 1, f"{family.capitalize()} ({what}) at {names}: first body {primary_level.level} gives the "
                  "primary code", primary_level.evidence[:2] + self._act_evidence([primary_level])
                  + self._cavity_evidence(family))
        if len(levels) > 1:
            addon = self.table.addon_by_family[family]
            others = [t for t in levels if t is not primary_level]
            self.line(addon, len(others), f"{len(others)} further bod{'y' if len(others) == 1 else 'ies'} "
                      f"({', '.join(t.level for t in others)}): one unit each, no 51 or 59 on the add-on",
                      [e for t in others for e in t.evidence[:1]] + self._act_evidence(others))
        if len(regions) > 1:
            spans = " and ".join(sorted(regions, key="CTLS".index))
            self.flag("primary_region_policy", "info",
                      f"{family.capitalize()} levels span {spans} regions: primary {code} "
                      f"chosen by the payer policy '{self.payer.primary_region}'",
                      [e for t in levels for e in t.evidence[:1]], rule="C4")

    def _cavity_evidence(self, family: str) -> list[Evidence]:
        return self.elements.cavity_creation.evidence[:2] if family == "kyphoplasty" else []

    def _primary_level(self, levels: list[TreatedLevel]) -> TreatedLevel:
        policy = self.payer.primary_region
        if policy == "first_treated":
            def first(t: TreatedLevel) -> int:
                return min((e.start for e in t.evidence), default=1 << 30)
            return min(levels, key=first)
        if policy == "thoracic":
            thoracic = [t for t in levels if region_letter(t.level) == "T"]
            if thoracic:
                return thoracic[0]
        return levels[0]  # cranial (default)

    def sacroplasty(self, sacral: list[TreatedLevel]) -> None:
        lat = self.elements.laterality
        ev = [e for t in sacral for e in t.evidence[:1]]
        code = self.table.sacral_by_laterality.get(str(lat.value)) if lat.status in (
            Status.FOUND, Status.ANSWERED) else None
        if code is None:
            self.flag("code_withheld", "warning",
                      "0200T/0201T withheld: sacroplasty sides (one or both) are not documented "
                      "(waiting on laterality)", ev + lat.evidence)
            return
        self.line(code, 1, f"Sacral augmentation, {lat.value}: one unit per session however many segments or "
                  "needles; no 50/RT/LT", ev[:2] + lat.evidence[:2])

    def biopsy(self) -> None:
        """C8: same level included; another vertebral level 20225; iliac crest 20220/3822x."""
        b = self.elements.biopsy
        value = b.value or {}
        if value.get("performed") is not True:
            return
        treated = {t.level for t in self.ex.treated}
        sacro = any(is_sacral(t.level) or t.family == "sacroplasty" for t in self.ex.treated)
        sites = [s for s in value.get("sites", []) if s != UNDETERMINED]
        if not sites:
            if sacro:
                return
            self.flag("code_withheld", "warning",
                      "Biopsy performed but its site is not documented: a separate biopsy code (20225/20220/"
                      "3822x) cannot be decided until the site is known (waiting on biopsy)", b.evidence)
            return
        kinds: dict[str, str] = b.detail.get("site_kinds", {})
        included = [s for s in sites if s in treated or (sacro and is_sacral(s))]
        if included:
            self.flag("biopsy_included", "info",
                      f"Biopsy at the treated level ({', '.join(included)}) is included in the augmentation code: "
                      "no separate biopsy code", _site_evidence(b.evidence, included))
        mod = self.payer.biopsy_modifier
        for site in sites:
            if site in included:
                continue
            if is_vertebral_level(site) or is_sacral(site):
                code = self.table.biopsy_by_kind["vertebral"]
                what = f"{site} vertebral body"
            else:
                kind = kinds.get(site, "bone")
                code = self.table.biopsy_by_kind.get(kind, self.table.biopsy_by_kind["bone"])
                what = f"{site} ({kind.replace('_', ' ')})"
            self.line(code, 1, f"Biopsy at a site not augmented: {what}, distinct site modifier {mod}. "
                      f"Claim item 19: 'needle biopsy {what}, separate site from augmented levels'",
                      _site_evidence(b.evidence, [site]) or b.evidence[:2], modifiers=[mod])

    def other_flags(self) -> None:
        proc = self.elements.procedure_type
        assistant = proc.detail.get("assistant")
        if assistant:
            self.flag("assistant_not_payable", "warning",
                      "An assistant surgeon is named: assistant-at-surgery is not payable for these codes; do not "
                      "bill modifier 80/81/82 or AS (rule C9)", _as_evidence(assistant))

    def diagnosis(self) -> None:
        """D1-D5: ICD-10-CM in claim order."""
        ind = self.elements.indication
        t = self.table
        value = ind.value if ind.status in (Status.FOUND, Status.ANSWERED) else None
        levels = [x.level for x in self.ex.treated] or list(self.elements.levels.value or [])
        ev = ind.evidence
        uncertain = ind.detail.get("uncertain") if ind.status != Status.ANSWERED else None
        if uncertain and (value is not None or ind.status == Status.MISSING):
            self._uncertain(str(value or uncertain.get("value") or "cause"), uncertain, levels, ev)
            return
        if value == "osteoporosis":
            if ind.detail.get("subtype") == "steroid_induced":
                self.diag("M80.88XA", "Other (glucocorticoid-induced) osteoporosis with current vertebral fracture "
                          "(D1); the fracture is contained in M80", ev)
                self.diag("T38.0X5A", "Adverse effect of the glucocorticoid that caused the osteoporosis (D1)", ev)
            else:
                self.diag("M80.08XA", "Age-related osteoporosis with current vertebral fracture (D1): one code, "
                          "no M48.5- or S-code beside it", ev)
        elif value == "neoplasm":
            kind = ind.detail.get("neoplasm_kind", "other")
            sacral = kind == "primary" and any(lv == "sacrum" or lv.startswith("S") for lv in levels)
            if sacral:
                kind = "other"  # C41.2 is the vertebral column; a sacral primary is not in the code table
            self.diag("M84.58XA", "Pathological fracture in neoplastic disease, vertebra (D2), listed first", ev)
            code = t.neoplasm_codes.get(kind)
            if code:
                self.diag(code, f"The neoplasm ({kind}) documented as the cause (D2)", ev)
            if kind == "metastasis" and not ind.detail.get("primary_site_stated", True):
                self.flag("neoplasm_primary_query", "warning",
                          "Metastatic disease without a stated primary site: query the clinician for the primary "
                          "so its code can follow C79.51 (D2)", ev)
            elif sacral:
                self.flag("neoplasm_primary_query", "warning",
                          "Primary bone tumour of the sacrum: C41.2 is the vertebral column only; the coder must "
                          "choose the sacral code (D2)", ev)
            elif kind == "other":
                self.flag("neoplasm_primary_query", "warning",
                          "Neoplasm type not specific enough to code: query the clinician for the neoplasm and "
                          "its primary site (D2)", ev)
        elif value == "hemangioma":
            if ind.detail.get("with_fracture"):
                self.diag("M84.58XA", "Pathological fracture through the hemangioma, vertebra (D3), listed first", ev)
            self.diag("D18.09", "Vertebral hemangioma (D3)", ev)
        elif value == "trauma":
            ftype = ind.detail.get("fracture_type")
            kind = {"wedge": "wedge compression", "burst_stable": "stable burst",
                    "burst_unstable": "unstable burst"}.get(ftype or "", "type unspecified")
            for lv in sorted(levels, key=level_key):
                code = t.trauma_code(lv, ftype)
                if code:
                    self.diag(code, f"Traumatic fracture of {lv}, {kind}, closed, initial encounter (D4)", ev)
            if ftype == "burst":
                self.flag("fracture_type_query", "info",
                          "Burst fracture without stated stability: coded as type unspecified; stable or "
                          "unstable burst has its own code (D4)", ev)
        else:
            for r in self._icd_regions(levels):
                self.diag(t.collapsed_by_region[r], f"Collapsed vertebra, {r} region, no etiology documented (D5)", ev)
            if (self.ex.treated or levels) and value == "other":
                self.flag("etiology_query", "warning",
                          "Fracture cause documented outside the coded categories (e.g. Paget disease, "
                          "osteonecrosis): collapsed-vertebra code proposed; the coder adds the disease's own code "
                          "or queries the clinician (D5)", ev)
            elif self.ex.treated or levels:
                self.flag("etiology_query", "warning",
                          "No fracture etiology documented (osteoporosis, neoplasm, trauma…): collapsed-vertebra "
                          "code proposed; query the clinician for the cause (D5)", ev)

    def _icd_regions(self, levels: list[str]) -> list[str]:
        """The ICD-10-CM regions of ``levels``, in spinal order, each once."""
        regions: list[str] = []
        for lv in sorted(levels, key=level_key):
            r = self.table.icd_region_by_level.get(lv)
            if r and r not in regions:
                regions.append(r)
        return regions

    def _uncertain(self, value: str, cue: dict[str, object], levels: list[str], ev: list[Evidence]) -> None:
        """ICD-10-CM IV.H: an uncertain cause ("suspected myeloma") is not coded in the outpatient setting; the
        fracture is coded as a collapsed vertebra by region and the coder is told why."""
        t = self.table
        for r in self._icd_regions(levels):
            self.diag(t.collapsed_by_region[r], f"Collapsed vertebra, {r} region: the documented fracture; its cause "
                      "is stated as uncertain, so it is not coded (outpatient, ICD-10-CM IV.H)", ev)
        named = " ".join(e.text for e in ev[:1]) or str(cue.get("value") or "")
        quote = " ".join(f"{cue.get('cue', '')} {named}".split())
        where = int(cue.get("start", 0) or 0), int(cue.get("end", 0) or 0)  # type: ignore[call-overload]
        cue_ev = [Evidence(start=where[0], end=where[1], text=str(cue.get("cue", "")), rule="uncertainty cue")]
        self.flag("uncertain_diagnosis", "warning",
                  f"The cause is documented as uncertain ('{quote}'): outpatient "
                  f"coding does not code a {value} diagnosis that is not confirmed. The fracture is coded instead; "
                  "code the cause once it is confirmed (e.g. by pathology) or query the clinician",
                  [*cue_ev, *ev], rule="IV.H")

    def coverage(self) -> None:
        """V1-V5 and the ABN mechanics (V4)."""
        ex = self.ex
        ind = self.elements.indication
        value = ind.value if ind.status in (Status.FOUND, Status.ANSWERED) else None
        treated = ex.treated
        # V5: level count
        vertebral = [x for x in treated if not is_sacral(x.level)]
        if len(vertebral) > 3 and ind.detail.get("neoplasm_kind") not in ("myeloma", "plasmacytoma"):
            self.flag("level_count_review", "warning",
                      f"{len(vertebral)} levels treated in one session: more than 3 needs documented medical "
                      "necessity for each level (V5)", [e for x in vertebral for e in x.evidence[:1]], rule="V5")
        # V2: conservative therapy against the payer minimum
        ct = self.elements.conservative_therapy
        weeks = (ct.value or {}).get("weeks") if isinstance(ct.value, dict) else None
        minimum = self.payer.conservative_min_weeks
        if value in (None, "osteoporosis", "trauma", "other"):
            if weeks is None:
                self.flag("coverage_documentation", "warning",
                          "Conservative therapy: the non-surgical management tried (and for how long) is not "
                          "documented (V2)", ct.evidence)
            elif minimum is not None and weeks < minimum:
                self.flag("coverage_documentation", "warning",
                          f"Conservative therapy documented for {weeks:g} weeks; this payer requires at least "
                          f"{minimum:g} weeks of failed non-surgical management (V2)", ct.evidence)
        # V1: Medicare osteoporotic VCF documentation items (vertebral levels); sacroplasty has its own items
        sacral_levels = [x for x in treated if is_sacral(x.level) or x.family == "sacroplasty"]
        if value == "osteoporosis" and self.payer.abn and len(sacral_levels) < len(treated):  # a vertebral level too
            self._v1()
        if sacral_levels and value in (None, "osteoporosis", "other"):
            self._sacral_coverage()
        # V4: ABN
        reasons: list[str] = []
        if value == "hemangioma":
            reasons.append("hemangioma")
        if value == "trauma":
            reasons.append("traumatic fracture in normal bone")
        if ex.coverage.get("chronic"):
            reasons.append("chronic fracture")
        if any(region_letter(x.level) == "C" for x in treated):
            reasons.append("cervical level")
        if sacral_levels:
            reasons.append("sacral augmentation (0200T/0201T)")
        if reasons and self.payer.abn:
            abn = answered(self.answers, "abn_on_file")
            ev = ind.evidence[:2] + ex.coverage.get("chronic", [])[:1]
            if abn is not None and abn.value in (True, False):
                mod = "GA" if abn.value is True else "GZ"
                for c in [c for c in self.codes if c.code in self.index.augmentation_codes]:
                    if mod not in c.modifiers:
                        c.modifiers.append(mod)
                self.flag("abn_required", "info",
                          f"Outside the covered indications ({'; '.join(reasons)}): ABN "
                          f"{'on file, GA appended' if abn.value else 'not on file, GZ appended'} (V4)", ev)
            else:
                self.flag("abn_required", "warning",
                          f"Outside the covered indications ({'; '.join(reasons)}): the patient must have signed an "
                          "Advance Beneficiary Notice before the procedure. Is an ABN on file? (GA with it, GZ "
                          "without) (V4)", ev)

    def _sacral_coverage(self) -> None:
        """Sacral insufficiency fracture: imaging that shows it and the pain it causes despite non-surgical care
        (no vertebral items: height loss, kyphosis and Roland-Morris do not apply to the sacrum)."""
        cov = self.ex.coverage
        lacking: list[str] = []
        if not (cov.get("mri_edema") or cov.get("bone_scan") or cov.get("fracture_imaging")):
            lacking.append("sacral insufficiency fracture shown on MRI, CT or bone scan")
        if not (cov.get("pain_score") or cov.get("hospitalised") or cov.get("immobility")):
            lacking.append("pain severity (e.g. NRS) or immobility despite non-surgical care")
        if lacking:
            self.flag("coverage_documentation", "warning",
                      "Sacroplasty documentation not found in the note: " + "; ".join(lacking), rule="V4")

    def _v1(self) -> None:
        cov = self.ex.coverage
        lacking: list[str] = []
        if not (cov.get("mri_edema") or cov.get("bone_scan")):
            lacking.append("acute/subacute fracture confirmed by MRI edema or bone-scan uptake")
        if not cov.get("pain_score"):
            lacking.append("pain score (NRS >= 8 hospitalised, or >= 5 despite optimal non-surgical care)")
        if not (cov.get("worsening") or cov.get("height_loss") or cov.get("kyphosis") or cov.get("roland_morris")
                or cov.get("hospitalised")):
            lacking.append("worsening pain or >= 2 of: height loss > 25%, kyphosis, Roland-Morris > 17")
        if not cov.get("bone_density"):
            lacking.append("referral for bone-density evaluation or osteoporosis treatment")
        if lacking:
            self.flag("coverage_documentation", "warning",
                      "Medicare LCD documentation not found in the note: " + "; ".join(lacking), rule="V1")


def _dedupe(evs: Iterable[Evidence], limit: int) -> list[Evidence]:
    """The first ``limit`` pieces of evidence with distinct spans (a new list)."""
    seen: set[tuple[int, int]] = set()
    out: list[Evidence] = []
    for e in evs:
        span = (e.start, e.end)
        if span not in seen:
            seen.add(span)
            out.append(e)
            if len(out) == limit:
                break
    return out


def _severity_rank(flag: Flag) -> int:
    """Sort key: the most severe flags first (the sort is stable: raised order within a severity)."""
    return -SEVERITY_ORDER[flag.severity]


def _site_evidence(evs: list[Evidence], sites: list[str]) -> list[Evidence]:
    """The evidence naming one of ``sites`` (a level exactly, a longer site name anywhere in it), else the
    first two pieces."""
    wanted = {s.lower().replace(" ", "") for s in sites}
    named = [w for w in wanted if not w[:1].isdecimal() and len(w) > 3]  # found inside the evidence too
    out: list[Evidence] = []
    for e in evs:
        flat = e.text.lower().replace(" ", "")
        if flat.replace("-", "") in wanted or any(w in flat for w in named):
            out.append(e)
    return out or evs[:2]


def _as_evidence(value: object) -> list[Evidence]:
    if isinstance(value, dict) and {"start", "end", "text"} <= set(value):
        return [Evidence.model_validate(value)]
    if isinstance(value, list):
        return [Evidence.model_validate(v) for v in value if isinstance(v, dict) and {"start", "end", "text"} <= set(v)]
    return []


def propose(extraction: Extraction, answers: Sequence[Answer] = (), payer: str = "medicare",
            rules: CodingRules | None = None) -> Proposal:
    """CPT lines, ICD-10-CM diagnoses and flags for one extraction (rules in coding-rules.md)."""
    rules = rules or default_rules()
    return _Builder(extraction, answers, rules.payer(payer), rules).run()
