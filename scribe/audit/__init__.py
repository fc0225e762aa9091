"""Coder spot-audit: sample notes, show how each element was decided, compare with gold and claims.

``run_audit`` reads the notes, extracts them all (the stratum of a note is its extracted
``procedure_type``), draws a reproducible sample (:mod:`scribe.audit.sample`), compares billed
codes (claims file and billing lines of the notes) with the proposal, and scores the sample
against gold files when a gold folder is given (:mod:`scribe.audit.metrics`). Rendering lives
in ``scribe.commands.audit`` (table, JSON lines) and :mod:`scribe.audit.report` (HTML).

Nothing here imports spaCy or Textual at import time; :mod:`scribe.audit.gold` is imported by the
TUI.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from scribe.audit.metrics import AuditMetrics, compute_metrics
from scribe.audit.sample import SamplePlan, sample_notes, stratum_of
from scribe.evaluate import SCORED, Disagreement, Gold, gold_values, predicted_values, same
from scribe.models import ELEMENT_NAMES, BilledLine, Evidence, Extraction, Flag, Mention, ReadError

__all__ = [
    "AuditError", "AuditRun", "AuditedNote", "Cue", "DiscardedMention", "ElementView", "Quote", "apply_claims",
    "run_audit", "snippet",
]


class AuditError(Exception):
    """A usage problem (bad gold file, claims file, payer): one line, names the file."""


class Quote(BaseModel):
    """An evidence span with the rule that matched it and the words around it."""

    model_config = ConfigDict(extra="forbid")

    start: int
    end: int
    text: str
    section: str | None = None
    rule: str | None = None
    context: str = ""


class Cue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str
    cue: str
    start: int
    end: int


class DiscardedMention(BaseModel):
    """A candidate the resolver did not use, with the context cues that set it aside."""

    model_config = ConfigDict(extra="forbid")

    start: int
    end: int
    text: str
    value: Any = None
    section: str | None = None
    cues: list[Cue] = Field(default_factory=list)

    @property
    def negated(self) -> bool:
        return any(c.category == "negated" for c in self.cues)


class ElementView(BaseModel):
    """One checklist row: value, status, evidence quotes, deciding rules and discarded mentions."""

    model_config = ConfigDict(extra="forbid")

    name: str
    value: Any = None
    status: str
    evidence: list[Quote] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    cues: list[Cue] = Field(default_factory=list)  # context cues on the mentions that were used
    discarded: list[DiscardedMention] = Field(default_factory=list)
    missing: bool = False
    provenance: str = "-"  # "note" (its evidence beside it) or "answer by USER, TIME"


def snippet(text: str, start: int, end: int, width: int = 40) -> str:
    """The span with up to ``width`` characters either side, on one line, ``…`` where cut."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    lo, hi = max(0, start - width), min(len(text), end + width)
    out = ("…" if lo > 0 else "") + text[lo:hi] + ("…" if hi < len(text) else "")
    return " ".join(out.split())


def _quote(text: str, ev: Evidence) -> Quote:
    return Quote(start=ev.start, end=ev.end, text=ev.text, section=ev.section, rule=ev.rule,
                 context=snippet(text, ev.start, ev.end))


def _cues(m: Mention) -> list[Cue]:
    return [Cue(category=f.category, cue=f.cue, start=f.cue_start, end=f.cue_end) for f in m.flags]


def element_views(ex: Extraction, text: str) -> list[ElementView]:
    """The checklist of one note, in contract order."""
    views: list[ElementView] = []
    for name in ELEMENT_NAMES:
        el = ex.elements.get(name)
        spans = {(e.start, e.end) for e in el.evidence}
        used = [m for m in ex.mentions if m.element == name and m.used]
        dropped = [m for m in ex.mentions if m.element == name and not m.used and (m.start, m.end) not in spans]
        rules: list[str] = []
        for e in el.evidence:
            if e.rule and e.rule not in rules:
                rules.append(e.rule)
        value = el.value.model_dump() if isinstance(el.value, BaseModel) else el.value
        views.append(ElementView(
            name=name, value=value, status=str(el.status.value if hasattr(el.status, "value") else el.status),
            evidence=[_quote(text, e) for e in el.evidence], rules=rules,
            cues=[c for m in used for c in _cues(m)],
            discarded=[DiscardedMention(start=m.start, end=m.end, text=m.text, value=m.value, section=m.section,
                                        cues=_cues(m)) for m in dropped],
            missing=name in ex.missing,
            provenance=_provenance_words(el),
        ))
    return views


def _provenance_words(el: Any) -> str:
    if el.status == "answered":
        at = el.detail.get("answered_at")
        return f"answer by {el.detail.get('answered_by') or 'unknown'}" + (f", {at}" if at else "")
    return "note" if el.status == "found" else "-"


class AuditedNote(BaseModel):
    """One sampled note: its text, its extraction (claims applied), gold and billing comparison."""

    model_config = ConfigDict(extra="forbid")

    note_id: str
    source: str
    stratum: str
    text: str
    extraction: Extraction
    billing_flags: list[Flag] = Field(default_factory=list)
    gold: Gold | None = None
    gold_source: str | None = None

    @property
    def disagreements(self) -> list[Disagreement]:
        if self.gold is None:
            return []
        p, g = predicted_values(self.extraction), gold_values(self.gold)
        return [Disagreement(note_id=self.note_id, field=f, predicted=p[f], expected=g[f])
                for f in SCORED if not same(f, p[f], g[f])]

    def elements(self) -> list[ElementView]:
        return element_views(self.extraction, self.text)

    def audit_dict(self) -> dict[str, Any]:
        """The ``audit`` key of the JSON lines output."""
        from scribe.acts_view import acts_by_level

        out: dict[str, Any] = {
            "stratum": self.stratum,
            "document": {"kind": self.extraction.document.kind, "reason": self.extraction.document.reason},
            "acts_by_level": [r.model_dump(mode="json") for r in acts_by_level(self.extraction)],
            "elements": {
                v.name: {
                    "rules": v.rules,
                    "evidence": [q.model_dump(mode="json") for q in v.evidence],
                    "cues": [c.model_dump(mode="json") for c in v.cues],
                    "discarded": [d.model_dump(mode="json") for d in v.discarded],
                }
                for v in self.elements()
            },
            "billing_flags": [f.model_dump(mode="json") for f in self.billing_flags],
            "gold": None,
        }
        if self.gold is not None:
            out["gold"] = {
                "source": self.gold_source,
                "values": gold_values(self.gold),
                "disagreements": [d.model_dump(mode="json", exclude={"note_id"}) for d in self.disagreements],
            }
        return out

    def to_json(self) -> dict[str, Any]:
        """The extraction contract object plus an ``audit`` key."""
        from scribe.prompts import provenance_json

        data = self.extraction.to_contract()
        data["provenance"] = provenance_json(self.extraction)
        data["audit"] = self.audit_dict()
        return data


class AuditRun(BaseModel):
    """Everything one ``scribe audit`` run produced."""

    model_config = ConfigDict(extra="forbid")

    plan: SamplePlan
    notes: list[AuditedNote] = Field(default_factory=list)
    unreadable: list[ReadError] = Field(default_factory=list)
    metrics: AuditMetrics | None = None
    gold_dir: str | None = None
    without_gold: list[str] = Field(default_factory=list)
    claims: str | None = None
    payer: str = "medicare"

    def flag_counts(self) -> dict[str, int]:
        counts = {"hard-stop": 0, "warning": 0, "info": 0}
        for n in self.notes:
            for f in n.extraction.flags:
                counts[f.severity] = counts.get(f.severity, 0) + 1
        return counts


def apply_claims(ex: Extraction, claims: Sequence[BilledLine] = ()) -> tuple[Extraction, list[Flag]]:
    """Compare the note's billing lines plus its claims rows with the proposal.

    Returns the extraction (``billed`` extended, billing flags replaced by the full comparison, flags
    ordered by severity as ``extract`` orders them) and the billing flags alone. The flags ``extract``
    already raised for the note's own billing lines are replaced, not repeated.
    """
    from scribe.coding import SEVERITY_ORDER
    from scribe.coding.billing import audit_billing, compare

    prior = compare(ex, ex.billed) if ex.billed else []
    base = ex.model_copy(update={"flags": [f for f in ex.flags if f not in prior]})
    if not claims and not base.billed:
        return base, []
    done = audit_billing(base, claims)
    billing = done.flags[len(base.flags):]
    flags = sorted(done.flags, key=lambda f: -SEVERITY_ORDER[f.severity])  # as extract() orders them
    return done.model_copy(update={"flags": flags}), billing


def _note_paths(inputs: Iterable[str | os.PathLike[str]], recursive: bool, expand: Any) -> list[Path]:
    """``iter_note_paths`` without the README files a folder of notes often holds (a README named
    explicitly is still audited): a README is not a note and would distort the sample."""
    out: list[Path] = []
    for item in inputs:
        found = list(expand([item], recursive=recursive))
        if Path(item).is_dir():
            found = [p for p in found if not p.name.lower().startswith("readme")]
        out.extend(found)
    return out


CLAIMS_SECTION = "claims"  # Evidence.section of a claims-file row (no offsets: it is not in the note)


def _with_claims_evidence(rows: dict[str, list[BilledLine]], name: str) -> dict[str, list[BilledLine]]:
    """Give each claims line an evidence item naming the file and the row, so that every billed-vs-
    documented flag shows both sides (the claims row and the note's words)."""
    out: dict[str, list[BilledLine]] = {}
    for note_id, lines in rows.items():
        out[note_id] = [
            b if b.evidence else b.model_copy(update={"evidence": [Evidence(
                start=0, end=0, text=f"{note_id},{b.code},{b.units},{' '.join(b.modifiers)}".rstrip(","),
                section=CLAIMS_SECTION, rule=f"claims file {name}")]})
            for b in lines
        ]
    return out


def _load_gold(path: Path) -> Gold:
    import json

    from pydantic import ValidationError

    try:
        return Gold.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditError(f"{path}: cannot read gold file ({type(exc).__name__})") from None
    except json.JSONDecodeError as exc:
        raise AuditError(f"{path}: not valid JSON (line {exc.lineno})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise AuditError(f"{path}: not a gold annotation ({where}: {first['msg']})") from None


def run_audit(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    sample: int | None = None,
    seed: int = 0,
    stratify: bool = True,
    gold_dir: str | os.PathLike[str] | None = None,
    claims: str | os.PathLike[str] | None = None,
    payer: str = "medicare",
    recursive: bool = False,
    max_bytes: int | None = None,
    answers: str | None = None,
) -> AuditRun:
    """Read, extract, sample, compare and score. Raises AuditError / ClaimsError on bad inputs.

    ``answers`` applies the clinician answers saved by ``scribe review`` (``"auto"``: the store beside each
    note; else a store path), matched by note identity; stale answers are not applied (flag ``stale_answers``).
    """
    from scribe.api import extract_note
    from scribe.coding import payer_names
    from scribe.coding.billing import read_claims
    from scribe.notes import DEFAULT_MAX_BYTES, NoteError
    from scribe.sources import error_note_id, iter_items, iter_sources, label, load, source_file

    if payer not in payer_names():
        raise AuditError(f"unknown payer {payer!r} (known: {', '.join(payer_names())})")
    gold_path = Path(gold_dir) if gold_dir is not None else None
    if gold_path is not None and not gold_path.is_dir():
        raise AuditError(f"{gold_path}: gold folder not found (not a directory)")
    claim_rows = _with_claims_evidence(read_claims(claims), Path(claims).name) if claims is not None else {}

    read: list[tuple[Any, Extraction]] = []
    unreadable: list[ReadError] = []
    seen: set[str] = set()
    limit = max_bytes or DEFAULT_MAX_BYTES
    for item in iter_items(_note_paths(inputs, recursive, iter_sources), limit):  # text, FHIR and HL7 inputs
        try:
            note = load(item, limit)
        except NoteError as err:
            unreadable.append(ReadError(note_id=error_note_id(err), source=label(item), error=str(err)))
            continue
        if note.note_id in seen:  # two notes of one name (recursive): the audit keys by note_id
            unreadable.append(ReadError(note_id=note.note_id, source=note.source,
                                        error=f"{note.source}: duplicate note_id {note.note_id!r}, skipped"))
            continue
        seen.add(note.note_id)
        ex = extract_note(note, payer=payer)
        if answers:
            import sqlite3

            from scribe.identity import identity_of
            from scribe.store import default_store_path, with_saved_answers

            store = default_store_path(source_file(note)) if answers == "auto" else Path(answers)
            try:
                ex = with_saved_answers(ex, identity_of(note), store, payer)[0]
            except sqlite3.Error as exc:
                from scribe.store import UnsafeStore

                why = str(exc) if isinstance(exc, UnsafeStore) else type(exc).__name__
                raise AuditError(f"{store}: cannot read the review store ({why})") from None
        read.append((note, ex))

    plan = sample_notes([(ex.note_id, ex.elements.procedure_type.value) for _, ex in read], sample, seed, stratify)
    chosen = set(plan.note_ids)
    audited: list[AuditedNote] = []
    without_gold: list[str] = []
    for note, ex in read:
        if ex.note_id not in chosen:
            continue
        done, billing_flags = apply_claims(ex, claim_rows.get(ex.note_id, []))
        gold = gold_src = None
        if gold_path is not None:
            candidate = gold_path / f"{ex.note_id}.gold.json"
            if candidate.is_file():
                gold, gold_src = _load_gold(candidate), str(candidate)
            else:
                without_gold.append(ex.note_id)
        audited.append(AuditedNote(note_id=ex.note_id, source=ex.source, stratum=stratum_of(
            ex.elements.procedure_type.value), text=note.text, extraction=done, billing_flags=billing_flags,
            gold=gold, gold_source=gold_src))
    metrics = None
    if gold_path is not None:
        metrics = compute_metrics([(n.extraction, n.gold) for n in audited if n.gold is not None])
    return AuditRun(plan=plan, notes=audited, unreadable=unreadable, metrics=metrics,
                    gold_dir=str(gold_path) if gold_path else None, without_gold=without_gold,
                    claims=str(claims) if claims is not None else None, payer=payer)
