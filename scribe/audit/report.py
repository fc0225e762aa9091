"""The audit as ONE self-contained HTML file: inline CSS, no script, no external asset.

Every piece of text that comes from a note, a file name, a gold file or a claims file goes
through :func:`html.escape`; a Content-Security-Policy meta tag forbids scripts and every load
(``default-src 'none'; style-src 'unsafe-inline'``), so even a note that contains markup renders
as text and the page never touches the network. Written atomically, owner-only (0600).
"""

from __future__ import annotations

import html
import itertools
import json
import os
from collections.abc import Iterable
from typing import Any

from scribe.audit import CLAIMS_SECTION, AuditedNote, AuditRun, ElementView
from scribe.audit.metrics import AuditMetrics, confusion_labels
from scribe.fsutil import atomic_write_text
from scribe.models import ELEMENT_NAMES, BilledLine, Evidence, Flag

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'"

# one colour per element (light enough for black text)
COLOURS: dict[str, str] = {
    "procedure_type": "#ffc98b",
    "cavity_creation": "#f4f07a",
    "levels": "#a8ecb0",
    "guidance": "#8fe3ef",
    "biopsy": "#a9c8ff",
    "laterality": "#cdbfff",
    "conservative_therapy": "#f7b8f0",
    "indication": "#ffa8a8",
}
SEVERITY_ORDER = {"hard-stop": 0, "warning": 1, "info": 2}


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _css() -> str:
    rules = [
        "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1b1f24;"
        "background:#f6f7f9}",
        "main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}",
        "h1{margin:0 0 4px;font-size:24px}h2{margin:28px 0 8px;font-size:19px}h3{margin:16px 0 6px;font-size:15px}",
        "section,article{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:12px 16px;"
        "margin:14px 0}",
        "table{border-collapse:collapse;width:100%;margin:6px 0}",
        "table.accuracy,table.prf,table.allocation,table.confusion{width:auto;min-width:420px}",
        "th,td{border:1px solid #d8dde3;padding:4px 6px;text-align:left;vertical-align:top}",
        "th{background:#eef1f4;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}",
        ".figures{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}",
        ".figure{border:1px solid #d8dde3;border-radius:6px;padding:6px 12px;min-width:120px;background:#fbfcfd}",
        ".figure b{display:block;font-size:20px}",
        ".muted{color:#5b6570;font-size:12px}",
        "pre.note-text{white-space:pre-wrap;word-wrap:break-word;font:13px/1.5 ui-monospace,Menlo,Consolas,"
        "monospace;background:#fcfcfd;border:1px solid #e1e5ea;padding:10px}",
        "mark{color:inherit;border-radius:2px;padding:0 1px}",
        "mark.aside{background:transparent;border-bottom:2px dashed #8a939c;color:#4f5861}",
        "mark.aside.negated{text-decoration:line-through;text-decoration-color:#c0392b}",
        ".legend{display:flex;flex-wrap:wrap;gap:8px;align-items:center}",
        ".legend span{padding:1px 6px;border-radius:3px}",
        ".swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;"
        "border:1px solid #0003}",
        ".badge{display:inline-block;white-space:nowrap;padding:0 6px;border-radius:9px;font-size:12px;"
        "border:1px solid #0002}",
        ".s-found{background:#dff5e3}.s-missing{background:#ffe3c2}.s-conflict{background:#ffd0d0}",
        ".s-not_applicable{background:#eceff2}.s-answered{background:#dde8ff}",
        ".sev-hard-stop{background:#c0392b;color:#fff}.sev-warning{background:#f5b041}.sev-info{background:#d6eaf8}",
        ".quote{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}",
        ".ok{color:#1e7d34}.bad{color:#b03a2e}",
        "a{color:#1f5fa8}",
    ]
    for name, colour in COLOURS.items():
        rules.append(f"mark.ev.el-{name}{{background:{colour}}}")
        rules.append(f"mark.aside.el-{name}{{border-bottom-color:{colour};border-bottom-width:3px}}")
        rules.append(f".legend .el-{name},.swatch.el-{name}{{background:{colour}}}")
    return "\n".join(rules)


# --- highlighting ---------------------------------------------------------------------------


def _spans(note: AuditedNote, views: list[ElementView]) -> list[tuple[int, int, str, str, str]]:
    """(start, end, element, kind, label) with kind ``ev``, ``aside`` or ``negated``."""
    n = len(note.text)
    out: list[tuple[int, int, str, str, str]] = []
    for v in views:
        for q in v.evidence:
            out.append((q.start, q.end, v.name, "ev", f"{v.name}: evidence" + (f" ({q.rule})" if q.rule else "")))
        for d in v.discarded:
            cues = ", ".join(f"{c.category} '{c.cue}'" for c in d.cues)
            kind = "negated" if d.negated else "aside"
            out.append((d.start, d.end, v.name, kind, f"{v.name}: set aside" + (f" ({cues})" if cues else "")))
    return [(max(0, s), min(n, e), el, k, lab) for s, e, el, k, lab in out if 0 <= s < e and s < n]


def highlight(note: AuditedNote, views: list[ElementView] | None = None) -> str:
    """The note text, escaped, with ``<mark>`` around evidence (by element) and set-aside mentions."""
    text = note.text
    spans = _spans(note, views if views is not None else note.elements())
    bounds = sorted({0, len(text), *(s for s, *_ in spans), *(e for _, e, *_ in spans)})
    starts: dict[int, list[int]] = {}
    for i, (s, *_rest) in enumerate(spans):
        starts.setdefault(s, []).append(i)
    active: set[int] = set()
    parts: list[str] = []
    for a, b in itertools.pairwise(bounds):
        active = {i for i in active if spans[i][1] > a}
        active.update(starts.get(a, []))
        chunk = esc(text[a:b])
        if not active:
            parts.append(chunk)
            continue
        cover = [spans[i] for i in sorted(active)]
        evidence = [c for c in cover if c[3] == "ev"]
        chosen = evidence or cover
        elements = [name for name in ELEMENT_NAMES if any(c[2] == name for c in chosen)]
        labels = "; ".join(dict.fromkeys(c[4] for c in cover))
        classes = ["ev"] if evidence else ["aside"] + (["negated"] if any(c[3] == "negated" for c in cover) else [])
        classes += [f"el-{name}" for name in elements]
        style = ""
        if evidence and len(elements) > 1:
            step = 100 / len(elements)
            stops = ",".join(f"{COLOURS[name]} {i * step:.0f}% {(i + 1) * step:.0f}%" for i, name in
                             enumerate(elements))
            style = f' style="background:linear-gradient(180deg,{stops})"'
            classes.append("multi")
        parts.append(f'<mark class="{" ".join(classes)}" data-elements="{" ".join(elements)}" '
                     f'title="{esc(labels)}"{style}>{chunk}</mark>')
    return "".join(parts)


# --- pieces ---------------------------------------------------------------------------------


def fmt_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(fmt_value(v) for v in value) or "[]"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {fmt_value(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _where(e: Evidence) -> str:
    if e.section == CLAIMS_SECTION and e.start == e.end:
        return "claims row"
    return f"note @{e.start}–{e.end}" + (f" · {esc(e.section)}" if e.section else "")


def _evidence_list(evs: Iterable[Evidence], limit: int = 6) -> str:
    evs = list(evs)
    items = [f'<span class="quote">“{esc(e.text)}”</span> <span class="muted">{_where(e)}'
             f'{" · " + esc(e.rule) if e.rule else ""}</span>' for e in evs[:limit]]
    if len(evs) > limit:
        items.append(f'<span class="muted">+{len(evs) - limit} more</span>')
    return "<br>".join(items) or '<span class="muted">—</span>'


def _checklist(views: list[ElementView]) -> str:
    rows = []
    for v in views:
        ev = "<br>".join(
            f'<span class="quote">“{esc(q.text)}”</span> <span class="muted">@{q.start}–{q.end}'
            f'{" · " + esc(q.section) if q.section else ""}</span><br><span class="muted">{esc(q.context)}</span>'
            for q in v.evidence[:4])
        if len(v.evidence) > 4:
            ev += f'<br><span class="muted">+{len(v.evidence) - 4} more (highlighted in the text)</span>'
        rule = "<br>".join(esc(r) for r in v.rules) or '<span class="muted">—</span>'
        if v.cues:
            rule += "<br>" + "<br>".join(f'<span class="muted">cue: {esc(c.category)} “{esc(c.cue)}”</span>'
                                         for c in v.cues)
        aside = "<br>".join(
            f'<span class="quote">“{esc(d.text)}”</span> <span class="muted">@{d.start}'
            + (": " + ", ".join(f"{esc(c.category)} “{esc(c.cue)}”" for c in d.cues) if d.cues else "")
            + "</span>" for d in v.discarded[:6])
        if len(v.discarded) > 6:
            aside += f'<br><span class="muted">+{len(v.discarded) - 6} more</span>'
        missing = ' <span class="badge s-missing">ask</span>' if v.missing and v.status != "missing" else ""
        rows.append(
            f'<tr class="row-{esc(v.name)}"><td><span class="swatch el-{esc(v.name)}"></span>{esc(v.name)}</td>'
            f"<td>{esc(fmt_value(v.value))}</td>"
            f'<td><span class="badge s-{esc(v.status)}">{esc(v.status)}</span>{missing}</td>'
            f"<td>{esc(v.provenance)}</td>"
            f"<td>{ev or '<span class=muted>—</span>'}</td><td>{rule}</td>"
            f"<td>{aside or '<span class=muted>—</span>'}</td></tr>")
    return ("<table class=\"checklist\"><thead><tr><th>element</th><th>value</th><th>status</th><th>provenance</th>"
            "<th>evidence (quote @offsets)</th><th>rule / context cue</th><th>set aside</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _codes(note: AuditedNote) -> str:
    ex = note.extraction
    if not ex.codes and not ex.diagnoses:
        return '<p class="muted">No code is supported by the documentation yet.</p>'
    rows = [f"<tr><td><b>{esc(c.code)}</b></td><td class=num>{c.units}</td><td>{esc(', '.join(c.modifiers) or '—')}"
            f"</td><td>{esc(c.description)}</td><td>{esc(c.rationale)}</td></tr>" for c in ex.codes]
    rows += [f"<tr><td>{esc(d.code)}</td><td class=num>dx</td><td>—</td><td>{esc(d.description)}</td>"
             f"<td>{esc(d.rationale)}</td></tr>" for d in ex.diagnoses]
    return ("<table class=\"codes\"><thead><tr><th>code</th><th>units</th><th>modifiers</th><th>description</th>"
            "<th>rationale</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _flags(flags: list[Flag], billing: list[Flag]) -> str:
    if not flags:
        return '<p class="muted">No flags.</p>'
    rows = []
    for f in sorted(flags, key=lambda f: SEVERITY_ORDER.get(f.severity, 3)):
        tag = ' <span class="badge">billed vs documented</span>' if f in billing else ""
        rows.append(f'<tr><td><span class="badge sev-{esc(f.severity)}">{esc(f.severity)}</span></td>'
                    f"<td>{esc(f.id)}{tag}</td><td>{esc(f.message)}</td><td>{_evidence_list(f.evidence)}</td></tr>")
    return ("<table class=\"flags\"><thead><tr><th>severity</th><th>id</th><th>message</th><th>evidence</th></tr>"
            "</thead><tbody>" + "".join(rows) + "</tbody></table>")


def _billed(lines: list[BilledLine]) -> str:
    if not lines:
        return ""
    rows = [f"<tr><td>{esc(b.code)}</td><td class=num>{b.units}</td><td>{esc(', '.join(b.modifiers) or '—')}</td>"
            f"<td>{'billing line in the note' if b.origin == 'note' else 'claims file'}</td>"
            f"<td>{_evidence_list(b.evidence)}</td></tr>" for b in lines]
    return ("<h3>Billed</h3><table class=\"billed\"><thead><tr><th>code</th><th>units</th><th>modifiers</th>"
            "<th>source</th><th>evidence</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _gold(note: AuditedNote) -> str:
    if note.gold is None:
        return ""
    dis = note.disagreements
    if not dis:
        return '<h3>Against gold</h3><p class="ok">Agrees with the gold file on every scored field.</p>'
    rows = [f"<tr><td>{esc(d.field)}</td><td class=bad>{esc(json.dumps(d.predicted))}</td>"
            f"<td>{esc(json.dumps(d.expected))}</td></tr>" for d in dis]
    notes = f'<p class="muted">Gold note: {esc(note.gold.notes)}</p>' if note.gold.notes else ""
    return (f"<h3>Against gold ({len(dis)} disagreement{'s' if len(dis) != 1 else ''})</h3>"
            "<table class=\"gold\"><thead><tr><th>field</th><th>predicted</th><th>gold</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>" + notes)


def _legend() -> str:
    items = "".join(f'<span class="el-{name}">{esc(name)}</span>' for name in ELEMENT_NAMES)
    return ('<div class="legend"><b>Legend</b>' + items
            + '<mark class="aside">set aside (not used)</mark>'
            + '<mark class="aside negated">negated</mark>'
            + '<span class="muted">Hover a highlight for its element and rule. Striped: evidence of several '
              "elements.</span></div>")


def _note_article(index: int, note: AuditedNote) -> str:
    views = note.elements()
    ex = note.extraction
    missing = ", ".join(ex.missing) or "nothing"
    return (
        f'<article class="note" id="note-{index}"><h2>{esc(note.note_id)} '
        f'<span class="muted">{esc(note.stratum)} · {esc(note.source)}</span></h2>'
        f"<p>Document: <b>{esc(ex.document.kind.replace('_', ' '))}</b> — {esc(ex.document.reason)}</p>"
        f"<p>Missing (to ask): <b>{esc(missing)}</b></p>"
        f"{_legend()}<pre class=\"note-text\">{highlight(note, views)}</pre>"
        f"<h3>Checklist</h3>{_checklist(views)}"
        f"<h3>What was done, level by level</h3>{_acts(ex)}"
        f"<h3>Proposed codes</h3>{_codes(note)}"
        f"<h3>Flags</h3>{_flags(ex.flags, note.billing_flags)}"
        f"{_billed(ex.billed)}{_gold(note)}"
        '<p class="muted"><a href="#top">back to summary</a></p></article>'
    )


def _acts(ex: Any) -> str:
    from scribe.acts_view import acts_by_level

    rows = "".join(
        f"<tr><td>{esc(r.level)}</td><td>{esc('; '.join(r.done) or '—')}</td>"
        f"<td>{esc('; '.join(r.set_aside) or '—')}</td>"
        f"<td>{esc(f'{r.billed} ({r.why})' if r.billed else 'not treated')}</td></tr>"
        for r in acts_by_level(ex))
    if not rows:
        return '<p class="muted">No act recorded.</p>'
    return ("<table class=\"acts\"><thead><tr><th>level</th><th>done today</th><th>set aside</th>"
            "<th>coded as (why)</th></tr></thead><tbody>" + rows + "</tbody></table>")


def _worst(flags: list[Flag]) -> str:
    if not flags:
        return "—"
    f = min(flags, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))
    return f'<span class="badge sev-{esc(f.severity)}">{esc(f.severity)}</span> {esc(f.id)}'


def _notes_table(run: AuditRun) -> str:
    rows = []
    for i, note in enumerate(run.notes):
        ex = note.extraction
        el = ex.elements
        codes = ", ".join(f"{c.code}×{c.units}" + "".join(f"-{m}" for m in c.modifiers) for c in ex.codes) or "—"
        gold = "—" if note.gold is None else (
            '<span class="ok">agrees</span>' if not note.disagreements
            else f'<span class="bad">{len(note.disagreements)} field(s)</span>')
        rows.append(
            f'<tr><td><a href="#note-{i}">{esc(note.note_id)}</a></td><td>{esc(note.stratum)}</td>'
            f"<td>{esc(ex.document.kind.replace('_', ' '))}</td>"
            f"<td>{esc(fmt_value(el.levels.value))}</td><td>{esc(', '.join(ex.missing) or '—')}</td>"
            f"<td>{esc(codes)}</td><td>{_worst(ex.flags)}</td><td>{len(note.billing_flags)}</td><td>{gold}</td></tr>")
    return ("<table class=\"sampled\"><thead><tr><th>note</th><th>stratum</th><th>document</th><th>levels</th>"
            "<th>missing</th>"
            "<th>proposed CPT</th><th>worst flag</th><th>billing flags</th><th>gold</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _metrics(m: AuditMetrics) -> str:
    acc = "".join(f"<tr><td>{esc(f)}</td><td class=num>{v:.3f}</td></tr>" for f, v in m.accuracy.items())
    acc += f"<tr><th>mean</th><th class=num>{m.mean_accuracy:.3f}</th></tr>"
    prf = "".join(
        f"<tr><td>{label}</td><td class=num>{p.tp}</td><td class=num>{p.fp}</td><td class=num>{p.fn}</td>"
        f"<td class=num>{p.precision:.3f}</td><td class=num>{p.recall:.3f}</td><td class=num>{p.f1:.3f}</td></tr>"
        for label, p in (("levels", m.levels), ("biopsy sites", m.biopsy_sites)))
    labels = confusion_labels(m.procedure_confusion)
    conf_rows = "".join(
        f"<tr><th>{esc(r)}</th>" + "".join(
            f"<td class=num>{m.procedure_confusion[r].get(c, 0) or ''}</td>" for c in labels) + "</tr>"
        for r in labels if r in m.procedure_confusion)
    conf = ("<table class=\"confusion\"><thead><tr><th>gold ↓ / predicted →</th>"
            + "".join(f"<th>{esc(c)}</th>" for c in labels) + "</tr></thead><tbody>" + conf_rows + "</tbody></table>")
    dis = "".join(f"<tr><td>{esc(d.note_id)}</td><td>{esc(d.field)}</td><td>{esc(json.dumps(d.predicted))}</td>"
                  f"<td>{esc(json.dumps(d.expected))}</td></tr>" for d in m.disagreements)
    dis_html = ('<p class="ok">No disagreement with gold.</p>' if not m.disagreements else
                "<table class=\"disagreements\"><thead><tr><th>note</th><th>field</th><th>predicted</th><th>gold</th>"
                "</tr></thead><tbody>" + dis + "</tbody></table>")
    return (
        f"<h2>Against gold ({m.notes} note{'s' if m.notes != 1 else ''})</h2>"
        '<div class="figures">'
        f'<div class="figure"><b>{m.mean_accuracy:.3f}</b>mean element accuracy</div>'
        f'<div class="figure"><b>{m.levels.f1:.3f}</b>levels F1</div>'
        f'<div class="figure"><b>{m.biopsy_sites.f1:.3f}</b>biopsy sites F1</div>'
        f'<div class="figure"><b>{m.cpt_exact:.3f}</b>CPT exact match</div>'
        f'<div class="figure"><b>{len(m.disagreements)}</b>disagreements</div></div>'
        "<h3>Accuracy per element</h3><table class=\"accuracy\"><thead><tr><th>field</th><th>accuracy</th></tr>"
        f"</thead><tbody>{acc}</tbody></table>"
        "<h3>Precision / recall (micro over notes)</h3><table class=\"prf\"><thead><tr><th></th><th>TP</th><th>FP</th>"
        f"<th>FN</th><th>precision</th><th>recall</th><th>F1</th></tr></thead><tbody>{prf}</tbody></table>"
        f"<h3>procedure_type confusion</h3>{conf}<h3>Disagreements</h3>{dis_html}"
    )


def render_html(run: AuditRun, title: str = "scribe audit") -> str:
    """The whole report as one HTML string."""
    plan = run.plan
    total = sum(plan.population.values())
    counts = run.flag_counts()
    alloc = "".join(f"<tr><td>{esc(s)}</td><td class=num>{plan.population.get(s, 0)}</td>"
                    f"<td class=num>{plan.allocation.get(s, 0)}</td></tr>" for s in plan.population)
    kind = "stratified by procedure type" if plan.stratified else "simple random"
    extra = []
    if run.unreadable:
        extra.append(f"<p class=bad>Unreadable: {esc('; '.join(r.error for r in run.unreadable))}</p>")
    if run.without_gold:
        extra.append(f"<p class=muted>No gold file for: {esc(', '.join(run.without_gold))}</p>")
    summary = (
        '<section id="summary"><h2>Summary</h2><div class="figures">'
        f'<div class="figure"><b>{len(run.notes)} / {total}</b>notes sampled</div>'
        f'<div class="figure"><b>{esc(plan.seed)}</b>seed</div>'
        f'<div class="figure"><b>{counts.get("hard-stop", 0)}</b>hard-stop flags</div>'
        f'<div class="figure"><b>{counts.get("warning", 0)}</b>warnings</div>'
        f'<div class="figure"><b>{sum(len(n.billing_flags) for n in run.notes)}</b>billed vs documented flags</div>'
        f'<div class="figure"><b>{sum(1 for n in run.notes if n.extraction.missing)}</b>notes needing prompts</div>'
        "</div>"
        f"<p>Sample: {esc(kind)}; payer profile <b>{esc(run.payer)}</b>"
        + (f"; claims file <b>{esc(run.claims)}</b>" if run.claims else "")
        + (f"; gold folder <b>{esc(run.gold_dir)}</b>" if run.gold_dir else "") + ".</p>"
        "<table class=\"allocation\"><thead><tr><th>stratum (procedure_type)</th><th>notes</th><th>sampled</th></tr>"
        f"</thead><tbody>{alloc}</tbody></table>" + "".join(extra)
        + (_metrics(run.metrics) if run.metrics is not None else "")
        + "</section>"
    )
    notes = "".join(_note_article(i, n) for i, n in enumerate(run.notes))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_css()}</style></head>"
        f'<body><main id="top"><h1>{esc(title)}</h1>'
        '<p class="muted">Coder spot-audit generated by scribe. Synthetic or protected data: keep this file '
        "private (written owner-only).</p>"
        f"{summary}<section id=\"sampled\"><h2>Sampled notes</h2>{_notes_table(run)}</section>"
        f"{notes}</main></body></html>\n"
    )


def write_report(path: str | os.PathLike[str], run: AuditRun, title: str = "scribe audit") -> None:
    """Write the report atomically, owner read/write only."""
    atomic_write_text(path, render_html(run, title))
