"""`scribe audit NOTE_OR_DIR...`: a coder spot-audit of a reproducible sample of notes.

The work is done by :func:`scribe.audit.run_audit`; this module parses options and renders a
rich table (default) or JSON lines (the extraction contract object plus an ``audit`` key), and
writes the HTML report with ``--html``. See docs/audit.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scribe.commands import UsageCommand
from scribe.display import visible
from scribe.notes import DEFAULT_MAX_BYTES

if TYPE_CHECKING:
    from scribe.audit import AuditedNote, AuditRun
    from scribe.audit.metrics import AuditMetrics

EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE = 0, 2, 64
FORMATS = ("table", "jsonl")

HELP = (
    "Spot-audit a reproducible sample of notes: how each element was decided, codes, flags, billed vs "
    "documented, and accuracy against gold files.\n\n"
    "Each sampled note shows every element's value, status, evidence (quote and offsets), the rule that "
    "matched and the context cues of discarded mentions, the proposed codes with their rationale and the "
    "flags. See docs/audit.md.\n\n"
    "\b\n"
    "Exit codes:\n"
    "  0   audit done\n"
    "  2   some note file could not be read (reported on stderr)\n"
    "  64  bad usage (bad option, claims or gold file, unknown payer, no notes)\n"
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"scribe audit: {visible(message)}", err=True)
    return typer.Exit(EXIT_USAGE)


def audit_command(
    inputs: Annotated[list[Path], typer.Argument(
        help="Note files (text, FHIR JSON/NDJSON, HL7 v2) or directories of notes.")],
    sample: Annotated[int | None, typer.Option("--sample", "-n", help="Notes to draw (default: all).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed draws the same sample.")] = 0,
    stratify: Annotated[bool, typer.Option("--stratify/--no-stratify",
                                           help="Allocate the sample over procedure types.")] = True,
    gold: Annotated[Path | None, typer.Option(help="Folder of NAME.gold.json files: score the sample.")] = None,
    claims: Annotated[Path | None, typer.Option(help="Claims CSV: note_id,code,units,modifiers.")] = None,
    payer: Annotated[str, typer.Option(help="Payer profile for codes and flags.")] = "medicare",
    html: Annotated[Path | None, typer.Option(help="Write a self-contained HTML report here.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or jsonl.")] = "table",
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders.")] = False,
    max_bytes: Annotated[int, typer.Option(help="Reject notes larger than this.")] = DEFAULT_MAX_BYTES,
    with_answers: Annotated[bool, typer.Option(
        "--with-answers", help="Apply the clinician answers saved by `scribe review` (.scribe/reviews.sqlite3 "
                               "beside each note); every value then shows its provenance.")] = False,
    store: Annotated[Path | None, typer.Option(
        help="Apply the answers saved in this review store (implies --with-answers).")] = None,
) -> None:
    from scribe.audit import AuditError, run_audit
    from scribe.coding.billing import ClaimsError

    if fmt not in FORMATS:
        raise _fail(f"unknown --format {fmt!r} (table or jsonl)")
    if store is not None and not store.is_file():
        raise _fail(f"{store}: no such review store (--store)")
    if sample is not None and sample < 0:
        raise _fail("--sample must be >= 0")
    try:
        run = run_audit(inputs, sample=sample, seed=seed, stratify=stratify, gold_dir=gold, claims=claims,
                        payer=payer, recursive=recursive, max_bytes=max_bytes,
                        answers=str(store) if store is not None else ("auto" if with_answers else None))
    except (AuditError, ClaimsError) as err:
        raise _fail(str(err)) from None
    for bad in run.unreadable:
        typer.echo(f"scribe audit: {visible(bad.error)}", err=True)
    for note in run.notes:
        for flag in note.extraction.flags:
            if flag.id == "stale_answers":
                typer.echo(f"scribe audit: {visible(note.source)}: {visible(flag.message)}", err=True)
    if not run.notes and not run.unreadable:
        raise _fail("no notes found in " + ", ".join(str(p) for p in inputs))
    if fmt == "jsonl":
        for note in run.notes:
            sys.stdout.write(json.dumps(note.to_json(), ensure_ascii=False) + "\n")
        typer.echo(summary_line(run), err=True)
        if run.metrics is not None:
            typer.echo(metrics_line(run.metrics), err=True)
    else:
        render_table(run)
    if html is not None:
        from scribe.audit.report import write_report

        try:
            write_report(html, run)
        except OSError as exc:
            raise _fail(f"{html}: cannot write the HTML report ({exc.strerror or type(exc).__name__})") from None
        typer.echo(f"scribe audit: HTML report written to {visible(str(html))}", err=True)
    if run.unreadable:
        raise typer.Exit(EXIT_UNREADABLE)


def summary_line(run: AuditRun) -> str:
    total = sum(run.plan.population.values())
    alloc = ", ".join(f"{k} {v}/{run.plan.population.get(k, 0)}" for k, v in run.plan.allocation.items())
    kind = "stratified" if run.plan.stratified else "simple random"
    return f"audit: {len(run.notes)} of {total} notes ({kind} sample, seed {run.plan.seed}): {alloc}"


def metrics_line(m: AuditMetrics) -> str:
    return (f"gold: {m.notes} notes, mean element accuracy {m.mean_accuracy:.3f}, levels F1 {m.levels.f1:.3f}, "
            f"biopsy sites F1 {m.biopsy_sites.f1:.3f}, CPT exact match {m.cpt_exact:.3f}, "
            f"{len(m.disagreements)} disagreement(s)")


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "[]"
    if isinstance(value, dict):
        return ", ".join(f"{k}={'null' if v is None else _value(v)}" for k, v in value.items())
    return str(value)


def _note_tables(note: AuditedNote) -> list[Any]:
    from rich.table import Table

    from scribe.acts_view import acts_by_level, document_line
    from scribe.display import plain_text as Text  # note ids, names and quotes: control characters shown

    ex = note.extraction
    out: list[Any] = [Text(f"{note.note_id}: {document_line(ex)}")]
    acts = Table(title=Text(f"{note.note_id}: what was done, level by level"), title_justify="left", expand=True)
    for col in ("level", "done today", "set aside", "coded as (why)"):
        acts.add_column(col, overflow="fold")
    for row in acts_by_level(ex):
        acts.add_row(Text(row.level), Text("; ".join(row.done) or "-"), Text("; ".join(row.set_aside) or "-"),
                     Text(f"{row.billed} ({row.why})" if row.billed else "not treated"))
    if ex.acts or ex.treated:
        out.append(acts)
    checklist = Table(title=Text(f"{note.note_id}  ({note.stratum})  {note.source}"), title_justify="left",
                      show_lines=True, expand=True)
    for col in ("element", "value", "status", "provenance", "evidence @offsets", "rule / context cue", "set aside"):
        checklist.add_column(col, overflow="fold", no_wrap=col in ("element", "status"))
    for v in note.elements():
        ev = "\n".join(f"\"{q.text}\" @{q.start}-{q.end} [{q.section or '-'}]" for q in v.evidence[:4])
        if len(v.evidence) > 4:
            ev += f"\n(+{len(v.evidence) - 4} more)"
        rules = ", ".join(v.rules) or "-"
        if v.cues:
            rules += "\ncues: " + ", ".join(f"{c.category} '{c.cue}'" for c in v.cues)
        aside = "\n".join(
            f"\"{d.text}\" @{d.start}" + (": " + ", ".join(f"{c.category} '{c.cue}'" for c in d.cues) if d.cues else "")
            for d in v.discarded[:4])
        if len(v.discarded) > 4:
            aside += f"\n(+{len(v.discarded) - 4} more)"
        status = v.status + (" (missing)" if v.missing and v.status != "missing" else "")
        checklist.add_row(Text(v.name), Text(_value(v.value)), Text(status), Text(v.provenance), Text(ev or "-"),
                          Text(rules),
                          Text(aside or "-"))
    out.append(checklist)
    codes = Table(title=Text(f"{note.note_id}: proposed codes"), title_justify="left", expand=True)
    for col in ("code", "units", "modifiers", "rationale"):
        codes.add_column(col, overflow="fold")
    for c in ex.codes:
        codes.add_row(Text(c.code), Text(str(c.units)), Text(",".join(c.modifiers) or "-"), Text(c.rationale))
    for d in ex.diagnoses:
        codes.add_row(Text(d.code), Text("dx"), Text("-"), Text(d.rationale or d.description))
    if not ex.codes and not ex.diagnoses:
        codes.add_row(Text("-"), Text("-"), Text("-"), Text("no codes supported yet"))
    out.append(codes)
    if ex.flags:
        flags = Table(title=Text(f"{note.note_id}: flags"), title_justify="left", expand=True)
        for col in ("severity", "id", "message", "evidence"):
            flags.add_column(col, overflow="fold")
        for f in ex.flags:
            ev = "; ".join(f"\"{e.text}\" " + (f"({e.rule})" if e.section == "claims" and e.start == e.end
                                                 else f"@{e.start} ({e.rule or e.section or 'note'})")
                           for e in f.evidence[:4])
            fid = f.id + (" [billed]" if f in note.billing_flags else "")
            flags.add_row(Text(f.severity), Text(fid), Text(f.message), Text(ev or "-"))
        out.append(flags)
    if note.gold is not None and not note.disagreements:
        out.append(Text(f"{note.note_id}: agrees with the gold file on every scored field"))
    elif note.gold is not None:
        dis = note.disagreements
        g = Table(title=Text(f"{note.note_id}: against gold ({len(dis)} disagreement(s))"), title_justify="left")
        for col in ("field", "predicted", "gold"):
            g.add_column(col, overflow="fold")
        for d in dis:
            g.add_row(Text(d.field), Text(json.dumps(d.predicted)), Text(json.dumps(d.expected)))
        out.append(g)
    return out


def metrics_tables(m: AuditMetrics) -> list[Any]:
    from rich.table import Table

    from scribe.audit.metrics import confusion_labels
    from scribe.display import plain_text as Text  # note ids, names and quotes: control characters shown

    acc = Table(title=Text(metrics_line(m)), title_justify="left")
    acc.add_column("figure")
    acc.add_column("value", justify="right")
    for field, value in m.accuracy.items():
        acc.add_row(f"accuracy {field}", f"{value:.3f}")
    acc.add_row("accuracy mean", f"{m.mean_accuracy:.3f}")
    for label, prf in (("levels", m.levels), ("biopsy sites", m.biopsy_sites)):
        acc.add_row(f"{label} P / R / F1", f"{prf.precision:.3f} / {prf.recall:.3f} / {prf.f1:.3f}")
        acc.add_row(f"{label} TP / FP / FN", f"{prf.tp} / {prf.fp} / {prf.fn}")
    acc.add_row("CPT exact match", f"{m.cpt_exact:.3f}")
    labels = confusion_labels(m.procedure_confusion)
    conf = Table(title="procedure_type confusion (rows: gold, columns: predicted)", title_justify="left")
    conf.add_column("gold \\ predicted")
    for lab in labels:
        conf.add_column(lab, justify="right")
    for row in labels:
        if row in m.procedure_confusion:
            conf.add_row(row, *[str(m.procedure_confusion[row].get(c, 0)) for c in labels])
    out: list[Any] = [acc, conf]
    if m.disagreements:
        dis = Table(title="disagreements with gold", title_justify="left")
        for col in ("note", "field", "predicted", "gold"):
            dis.add_column(col, overflow="fold")
        for d in m.disagreements:
            dis.add_row(Text(d.note_id), Text(d.field), Text(json.dumps(d.predicted)), Text(json.dumps(d.expected)))
        out.append(dis)
    return out


def render_table(run: AuditRun) -> None:
    from scribe.display import plain_text as Text  # note ids, names and quotes: control characters shown
    from scribe.render import console_for

    console = console_for(sys.stdout)  # the terminal's width; piped: $COLUMNS, else 120
    for note in run.notes:
        for table in _note_tables(note):
            console.print(table)
        console.print()
    console.print(Text(summary_line(run)))
    if run.without_gold:
        console.print(Text(f"no gold file for: {', '.join(run.without_gold)}"))
    if run.metrics is not None:
        for table in metrics_tables(run.metrics):
            console.print(table)


def register(app: typer.Typer) -> None:
    app.command("audit", help=HELP, cls=UsageCommand)(audit_command)
