"""Billed vs documented: billing lines found in a note or a claims CSV, compared with the proposal.

``find_billed(text)`` recognises codes of this family on billing lines ("CPT: 22514",
"22513-53", "22515 x2", deleted 2252x codes); ``read_claims(path)`` reads
``note_id,code,units,modifiers``; ``compare(extraction, billed)`` returns one flag per mismatch
listed in coding-rules.md ("Billed vs documented"), with the evidence on both sides.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from scribe.coding.rules import CodingRules, default_rules
from scribe.models import BilledLine, CodeLine, Evidence, Extraction, Flag

_CODE = (r"2251[0-5]|2252[0-5]|020[01]T|2022[05]|3822[0-2]|22899|7229[12]|7700[23]|77012|9915[23]")
_BILLED = re.compile(
    rf"(?<![\w.-])(?P<code>{_CODE})(?P<mods>(?:-[A-Z0-9]{{2}})*)"
    r"(?:\s*(?:x|×|\*)\s*(?P<units>\d{1,2})\b|\s*\((?P<units2>\d{1,2})\s*units?\)|\s+units?:?\s*(?P<units3>\d{1,2})\b)?",
    re.IGNORECASE,
)
_ANY_CODE = re.compile(_CODE, re.IGNORECASE)
_BILLING_LINE = re.compile(r"\b(?:cpt|hcpcs|codes?|bill(?:ed|ing)?|charges?|claim|coding)\b", re.IGNORECASE)
_PRIMARY_OF = {"22512": ("22510", "22511"), "22515": ("22513", "22514")}


class ClaimsError(ValueError):
    """A claims file that cannot be read (one line, names the file and the row)."""


def find_billed(text: str) -> list[BilledLine]:
    """Codes of this family written on billing lines of the note."""
    out: list[BilledLine] = []
    # most notes carry no billing line: one search for any code settles it (its alternatives all start with a
    # digit, so the regex engine skips to the digits; twelve substring searches took twice as long)
    if _ANY_CODE.search(text) is None:
        return out
    pos = 0
    for line in text.splitlines(keepends=True):
        billing = bool(_BILLING_LINE.search(line))
        for m in _BILLED.finditer(line):
            mods = [x.upper() for x in m.group("mods").split("-") if x]
            if not billing and not mods:
                continue
            units = int(m.group("units") or m.group("units2") or m.group("units3") or 1)
            start = pos + m.start()
            out.append(BilledLine(code=m.group("code").upper(), units=max(units, 1), modifiers=mods,
                                  evidence=[Evidence(start=start, end=pos + m.end(), text=m.group(0),
                                                     rule="billing line")], origin="note"))
        pos += len(line)
    return out


def parse_claims(text: str, source: str = "<claims>") -> dict[str, list[BilledLine]]:
    """``note_id,code,units,modifiers`` rows (header optional; modifiers split on space ; | or -)."""
    rows = list(csv.reader(io.StringIO(text)))
    out: dict[str, list[BilledLine]] = {}
    for n, row in enumerate(rows, 1):
        if not row or all(not c.strip() for c in row) or row[0].strip().startswith("#"):
            continue
        if n == 1 and row[0].strip().lower() == "note_id":
            continue
        if len(row) < 2:
            raise ClaimsError(f"{source}:{n}: expected note_id,code,units,modifiers")
        note_id, code = row[0].strip(), row[1].strip().upper()
        if not re.fullmatch(r"[0-9]{4}[0-9A-Z]", code):
            raise ClaimsError(f"{source}:{n}: {code[:12]!r} is not a CPT/HCPCS code")
        units_text = row[2].strip() if len(row) > 2 else ""
        try:
            units = int(units_text or 1)
        except ValueError:
            raise ClaimsError(f"{source}:{n}: units must be a whole number") from None
        mods = [m.upper() for m in re.split(r"[\s;|,-]+", row[3]) if m] if len(row) > 3 else []
        out.setdefault(note_id, []).append(BilledLine(code=code, units=units, modifiers=mods, origin="claims"))
    return out


def read_claims(path: str | Path) -> dict[str, list[BilledLine]]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ClaimsError(f"{p}: claims file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ClaimsError(f"{p}: cannot read claims file ({type(exc).__name__})") from None
    return parse_claims(text, str(p))


def _where(b: BilledLine) -> str:
    return "billing line in the note" if b.origin == "note" else "claims file"


def compare(ex: Extraction, billed: Sequence[BilledLine], proposed: Sequence[CodeLine] | None = None,
            rules: CodingRules | None = None) -> list[Flag]:
    """One flag per billed-vs-documented mismatch (coding-rules.md, "Billed vs documented")."""
    if not billed:
        return []
    rules = rules or default_rules()
    table = rules.table
    proposed = list(ex.codes if proposed is None else proposed)
    flags: list[Flag] = []
    prop_by_code = {c.code: c for c in proposed}
    flagged: set[str] = set()

    def add(fid: str, sev: str, msg: str, b: Iterable[BilledLine] = (), p: Iterable[CodeLine] = (),
            extra: Iterable[Evidence] = ()) -> None:
        b = list(b)
        flagged.update(x.code for x in b)
        ev = [e for x in b for e in x.evidence[:1]] + [e for x in p for e in x.evidence[:2]] + list(extra)
        flags.append(Flag(id=fid, severity=sev, message=msg, evidence=ev[:6]))  # type: ignore[arg-type]

    codes = {b.code for b in billed}
    proc_family = {b.code: table.codes[b.code].family for b in billed if b.code in table.codes}
    for b in billed:
        if b.code in table.deleted:
            add("deleted_code", "hard-stop", f"{b.code} on the {_where(b)} was deleted on 2014-12-31; its "
                f"replacement is {table.deleted[b.code]}", [b])
            continue
        fam = proc_family.get(b.code)
        if fam == "imaging":
            add("unbundled_imaging", "hard-stop", f"{b.code} (imaging) on the {_where(b)}: imaging guidance is "
                "included in 22510-22515 and 0200T/0201T for every payer (C7)", [b])
        if fam in ("vertebroplasty", "kyphoplasty", "sacroplasty"):
            bad = [m for m in b.modifiers if m in table.forbidden_modifiers]
            if bad:
                add("forbidden_modifier", "hard-stop", f"{b.code}-{'-'.join(bad)} on the {_where(b)}: one unit per "
                    "body, never modifier 50, RT or LT on these codes (C5)", [b])
            if table.codes[b.code].role == "addon":
                wrong = [m for m in b.modifiers if m in ("51", "59", "XS", "XU", "XE", "XP")]
                if wrong:
                    add("addon_modifier", "hard-stop", f"Add-on {b.code} carries {'/'.join(wrong)} on the "
                        f"{_where(b)}: add-ons never take 51 or 59/XS for being further levels (C9)", [b])
    # wrong family: augmentation billed but not documented (or the reverse)
    kp_billed = [b for b in billed if proc_family.get(b.code) == "kyphoplasty" and b.code != "22899"]
    vp_billed = [b for b in billed if proc_family.get(b.code) == "vertebroplasty"]
    kp_prop = [c for c in proposed if c.code in ("22513", "22514", "22515")]
    vp_prop = [c for c in proposed if c.code in ("22510", "22511", "22512")]
    if kp_billed and not kp_prop:
        cav = ex.elements.cavity_creation
        add("wrong_family", "hard-stop", f"Augmentation ({', '.join(b.code for b in kp_billed)}) billed but no "
            "mechanical cavity creation is documented: the documented procedure is "
            f"{'vertebroplasty' if vp_prop else 'not codable yet'} (C1)", kp_billed, vp_prop, cav.evidence[:1])
    if vp_billed and not vp_prop and kp_prop:
        add("wrong_family", "warning", f"Vertebroplasty ({', '.join(b.code for b in vp_billed)}) billed but the note "
            "documents cavity creation (augmentation) at those levels (C1)", vp_billed, kp_prop)
    # two primaries of one family
    for pair in (("22510", "22511"), ("22513", "22514")):
        if set(pair) <= codes:
            add("two_primaries", "hard-stop", f"{pair[0]} and {pair[1]} billed together: one primary per family, "
                "further levels as add-on units (C3)", [b for b in billed if b.code in pair])
    # add-on without its primary / with the other family's primary
    for addon, primaries in _PRIMARY_OF.items():
        if addon in codes and not (set(primaries) & codes):
            other = [c for c in codes if c in sum(_PRIMARY_OF.values(), ()) and c not in primaries]
            msg = (f"Add-on {addon} billed with {', '.join(other)} (the other family's primary)" if other
                   else f"Add-on {addon} billed without its primary ({'/'.join(primaries)})")
            add("addon_without_primary", "hard-stop", msg + " (C3, C6)", [b for b in billed if b.code == addon])
    # same-level biopsy billed separately
    treated = {t.level for t in ex.treated}
    sites = (ex.elements.biopsy.value or {}).get("sites", []) if isinstance(ex.elements.biopsy.value, dict) else []
    if "20225" in codes and "20225" not in prop_by_code and any(s in treated for s in sites):
        add("biopsy_included", "hard-stop", "20225 billed but the biopsy was taken at a treated level "
            f"({', '.join(s for s in sites if s in treated)}): included in the augmentation code (C8)",
            [b for b in billed if b.code == "20225"], extra=ex.elements.biopsy.evidence[:2])
    # units
    billed_units: dict[str, int] = {}
    for b in billed:
        billed_units[b.code] = billed_units.get(b.code, 0) + b.units
    for code, units in billed_units.items():
        fam = proc_family.get(code)
        if fam not in ("vertebroplasty", "kyphoplasty", "sacroplasty"):
            continue
        p = prop_by_code.get(code)
        if p is not None and units != p.units:
            add("units_mismatch", "warning", f"{code} billed with {units} unit(s) but the documented levels give "
                f"{p.units} (one unit per body; add-on units = levels - 1)", [b for b in billed if b.code == code], [p])
        elif p is None and table.codes[code].role == "primary" and units > 1:
            add("units_mismatch", "warning", f"{code} billed with {units} units: a primary takes one unit (C3)",
                [b for b in billed if b.code == code])
    # documented vs billed sets
    skip = set(table.deleted) | {c for c, d in table.codes.items() if d.family == "imaging"}
    not_documented = sorted(codes - set(prop_by_code) - skip - flagged)
    if not_documented:
        add("billed_not_documented", "warning", f"Billed but not supported by the documentation as coded: "
            f"{', '.join(not_documented)}", [b for b in billed if b.code in not_documented])
    not_billed = sorted(set(prop_by_code) - codes - {table.deleted.get(c, "") for c in codes})
    if not_billed:
        add("documented_not_billed", "info", f"Documented but not billed: {', '.join(not_billed)}",
            p=[prop_by_code[c] for c in not_billed])
    from scribe.coding.flags import for_coders

    return [for_coders(f) for f in flags]


def audit_billing(ex: Extraction, claims: Sequence[BilledLine] = ()) -> Extraction:
    """Add the claims-file lines to the note's own billing lines and flag the mismatches.

    The note's billing lines and the claims file are compared with the documentation separately
    (each is a claim on its own; adding their units together would invent a units mismatch).
    """
    flags: list[Flag] = []
    seen: set[tuple[str, str]] = set()
    for source in (list(ex.billed), list(claims)):
        for f in compare(ex, source):
            if (f.id, f.message) not in seen:
                seen.add((f.id, f.message))
                flags.append(f)
    return ex.model_copy(update={"billed": list(ex.billed) + list(claims), "flags": list(ex.flags) + flags})
