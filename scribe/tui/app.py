"""``ReviewApp``: clinician review (and coder audit) of one note or a queue of notes.

Notes are read and extracted in a worker thread; stored answers are restored on the main thread
(SQLite connections stay on the thread that opened them). Every submitted answer is saved to the
store before its prompt closes, then ``scribe.prompts.complete`` re-runs and every panel updates.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.screen import ModalScreen, Screen
from textual.widget import Widget

from scribe.display import visible
from scribe.fsutil import atomic_write_text
from scribe.notes import Note, NoteError
from scribe.store import (
    ReviewStore,
    Superseded,
    addendum_path,
    current_addendum,
    default_store_path,
    is_attested,
)
from scribe.tui.bindings import THEMES, KeySpec, keys_for, spec_for_action, textual_bindings
from scribe.tui.screens.confirm import ConfirmScreen
from scribe.tui.screens.help import HelpScreen
from scribe.tui.screens.prompt import PromptScreen
from scribe.tui.screens.review import ReviewScreen
from scribe.tui.state import NoteState, make_answer, queue_order, read_and_extract
from scribe.tui.widgets.acts import ActsPanel
from scribe.tui.widgets.checklist import Checklist
from scribe.tui.widgets.codes import CodesPanel
from scribe.tui.widgets.note_view import NoteView

# Actions still available while a modal screen (prompt, help, confirm) is open.
_MODAL_SAFE = {"quit", "help", "cycle_theme"}
# Keys typed this soon after a prompt or a confirmation closes are stray typing, not commands.
KEY_GUARD_SECONDS = 0.3


class ReviewApp(App[None]):
    CSS_PATH = str(Path(__file__).with_name("scribe.tcss"))  # absolute: subclasses elsewhere still find it
    TITLE = "scribe review"
    BINDINGS = textual_bindings()

    def __init__(
        self,
        paths: Sequence[str | Path | Note | NoteError],  # notes of FHIR / HL7 files come as Note
        *,
        user: str,
        store_path: str | Path | None = None,
        payer: str = "medicare",
        audit: bool = False,
        theme: str = THEMES[0],
    ) -> None:
        super().__init__()
        self.paths = [p if isinstance(p, Note | NoteError) else Path(p) for p in paths]
        self.user = user
        self.store_path = Path(store_path) if store_path else None
        self.payer = payer
        self.audit = audit
        self.role = "coder" if audit else "clinician"
        self.initial_theme = theme
        self.states: list[NoteState] = []
        self.index = 0
        self.loaded = False
        self._stores: dict[Path, ReviewStore] = {}
        self.modal_closed_at = float("-inf")  # time.monotonic() when a prompt or confirmation last closed

    def _fatal_error(self) -> None:
        """An unhandled error: one line naming its class, never Textual's traceback with locals (locals can hold
        note text). Overrides ``App._fatal_error`` (Textual 8.2: it renders a ``rich.traceback`` with locals)."""
        from rich.text import Text

        self.bell()
        kind = type(self._exception).__name__ if self._exception is not None else "error"
        self._exit_renderables.append(Text(f"scribe review: internal error ({kind})"))
        self._close_messages_no_wait()

    def notify(self, message: str, *, title: str = "", severity: Any = "information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Messages here quote file names, note ids and error texts: plain text by default, never markup
        ("kp [time=10:32].txt" is a name, not a tag), with control characters shown as escapes."""
        super().notify(visible(message, lines=True), title=visible(title), severity=severity, timeout=timeout,
                       markup=markup)

    # ------------------------------------------------------------------ start-up
    def on_mount(self) -> None:
        self.theme = self.initial_theme
        self.push_screen(ReviewScreen())
        self.call_after_refresh(self._first_paint)

    async def _first_paint(self) -> None:
        """Show the note text at once (one note) while the pipeline loads in a worker."""
        note = self.query_one_safe(NoteView)
        if note is None:
            return
        if len(self.paths) == 1:
            from scribe.sources import load

            try:
                text = load(self.paths[0]).text
                await note.load(text)
            except NoteError as err:
                await note.load("", message=str(err))
        else:
            await note.load("", message=f"Reading {len(self.paths)} notes…")
        self.update_status("analysing…")
        # start the pipeline once the note is painted: its imports would hold the GIL meanwhile
        self.call_after_refresh(self.run_worker, self._extract_all, thread=True, exclusive=True, name="extract")

    def _extract_all(self) -> None:
        states = [read_and_extract(p, self.payer, self.audit) for p in self.paths]
        try:
            self.call_from_thread(self._loaded, states)
        except RuntimeError:  # the app was closed while the notes were being read
            pass

    async def _loaded(self, states: list[NoteState]) -> None:
        failed: list[NoteState] = []
        for s in states:
            if s.extraction is None:
                failed.append(s)
                continue
            try:
                s.load_answers(self.store_for(s))
            except Exception as err:  # an unreadable store: say so, keep reviewing
                s.error = f"{s.path.name}: cannot read the answer store: {err}"
            s.recompute(self.payer)
            if s.stale:
                self.notify(f"{s.note_id}: {len(s.stale_answers)} answer(s) were given for an earlier text of this "
                            "note; they are marked stale in the checklist and not applied.",
                            title="Stale answers", severity="warning", timeout=10)
        for s in failed:
            self.notify(s.error or f"{s.path.name}: unreadable", title="Skipped", severity="error")
        self.states = queue_order(states, self.audit)
        self.index = 0
        self.loaded = True
        await self.show_note()

    def query_one_safe(self, kind: type[Widget]) -> Any:
        try:
            return self.screen.query_one(kind)
        except Exception:
            return None

    @property
    def review_screen(self) -> ReviewScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, ReviewScreen):
                return screen
        return None

    def store_for(self, state: NoteState) -> ReviewStore:
        path = self.store_path or default_store_path(state.path)
        if path not in self._stores:
            self._stores[path] = ReviewStore(path)
        return self._stores[path]

    def on_unmount(self) -> None:
        for store in self._stores.values():
            store.close()

    # ------------------------------------------------------------------ display
    @property
    def current(self) -> NoteState | None:
        if not self.states:
            return None
        return self.states[self.index]

    async def show_note(self) -> None:
        screen = self.review_screen
        state = self.current
        if screen is None:
            return
        note = screen.query_one(NoteView)
        if state is None:
            await note.load("", message="No note to review.")
        else:
            await note.load(state.text, state.done, message=state.error)
        self.refresh_panels()
        checklist = screen.query_one(Checklist)
        if checklist.option_count:
            checklist.highlighted = 0
            checklist.focus()

    def refresh_panels(self) -> None:
        screen = self.review_screen
        state = self.current
        if screen is None:
            return
        screen.query_one(Checklist).set_rows(state.rows() if state else [])
        screen.query_one(CodesPanel).set_extraction(state.done if state else None)
        screen.query_one(ActsPanel).set_extraction(state.done if state else None)
        screen.query_one(NoteView).set_extraction(state.done if state else None)
        self.update_status()

    def update_status(self, extra: str = "") -> None:
        screen = self.review_screen
        if screen is None:
            return
        state = self.current
        parts: list[str] = []
        if state is not None:
            parts.append(visible(state.note_id))
            if len(self.states) > 1:
                parts.append(f"note {self.index + 1}/{len(self.states)}")
            ex = state.done
            if state.error:
                parts.append("unreadable")
            elif ex is not None and (ex.document.kind != "augmentation_procedure" or ex.document.discontinued):
                kind = "discontinued augmentation" if ex.document.discontinued else ex.document.kind.replace("_", " ")
                parts.append(f"{kind}: no codes")
            elif state.attested is not None:
                parts.append(f"attested by {state.attested['user']}")
            elif self.audit:
                parts.append(f"{len(state.coder)} correction(s)")
            else:
                parts.append(f"{len(state.prompts)} to answer" if state.prompts else "complete")
        elif self.paths:
            first = self.paths[0]
            one = first.note_id if isinstance(first, Note) else Path(getattr(first, "source", first)).stem
            parts.append(one if len(self.paths) == 1 else f"{len(self.paths)} notes")
        if extra:
            parts.append(extra)
        parts.append(f"{self.user} ({'coder audit' if self.audit else 'clinician'})")
        parts.append(f"payer {self.payer}")
        from rich.text import Text

        screen.query_one("#status").update(Text(" · ".join(parts)))  # type: ignore[attr-defined]

    def show_element(self, element: str) -> None:
        state = self.current
        screen = self.review_screen
        if state is None or screen is None:
            return
        ev = state.evidence_for(element)
        screen.query_one(NoteView).show_evidence(ev[0] if ev else None)

    def show_act(self, key: str) -> None:
        screen = self.review_screen
        if screen is None:
            return
        ev = screen.query_one(ActsPanel).evidence.get(key) or []
        screen.query_one(NoteView).show_evidence(ev[0] if ev else None)

    def show_code(self, key: str) -> None:
        screen = self.review_screen
        if screen is None:
            return
        ev = screen.query_one(CodesPanel).evidence.get(key) or []
        screen.query_one(NoteView).show_evidence(ev[0] if ev else None)

    # ------------------------------------------------------------------ prompts and answers
    def open_prompt(self, element: str, chain: bool = False) -> None:
        state = self.current
        if state is None or state.extraction is None or isinstance(self.screen, ModalScreen):
            return
        self.show_element(element)
        prompt = state.prompt_for(element, coder=self.audit)

        def after(saved: bool | None) -> None:
            if saved and chain and self.current is state and state.prompts:
                self.open_prompt(state.prompts[0].element, chain=True)
            elif saved and chain and not state.prompts:
                self.notify("Every question for this note is answered.", title=state.note_id)

        self.push_modal(PromptScreen(prompt, partial(self.submit_answer, state), coder=self.audit), after)

    def push_modal(self, screen: ModalScreen[Any], callback: Any = None) -> None:
        """Open a prompt or confirmation; when it closes, keys typed in the next 300 ms are ignored."""

        def closed(result: Any) -> None:
            self.modal_closed_at = time.monotonic()
            if callback is not None:
                callback(result)

        self.push_screen(screen, closed)

    def submit_answer(self, state: NoteState, element: str, value: Any, comment: str) -> str | None:
        """Save one answer (one transaction) then recompute. Returns an error message on failure."""
        answer = make_answer(element, value, self.user, comment)
        try:
            store = self.store_for(state)
            result = store.save(state.note_id, [answer], note_sha256=state.sha256, identity=state.identity,
                                role=self.role, seen_revision=state.revision)  # type: ignore[arg-type]
        except Exception as err:
            return f"not saved: {_reason(err)}"
        if result.changes:  # another reviewer answered meanwhile: show it and reload what the store holds
            self.notify("Saved. Meanwhile " + "; ".join(c.words() for c in result.changes) + ".",
                        title=state.note_id, severity="warning", timeout=10)
            self._reload(state, store)
        else:
            (state.coder if self.audit else state.clinician).append(answer)
            state.revision = result.revision
        state.recompute(self.payer)
        if not self.audit:
            self._regenerate_addendum(state)
        if state is self.current:
            self.refresh_panels()
        return None

    def _regenerate_addendum(self, state: NoteState) -> None:
        """An addendum already written follows every answer; an attested one is kept and a new version begins."""
        try:
            old = current_addendum(state.path)
            if old is None or state.extraction is None:
                return
            self.store_for(state).write_addendum(state.path, state.addendum(), identity=state.identity,
                                                 seen_revision=state.revision)  # type: ignore[arg-type]
        except Superseded as err:
            self._superseded(state, "Addendum not updated", err)
            return
        except Exception as err:
            self.notify(f"Addendum not updated: {_reason(err)}", severity="error")
            return
        if is_attested(old):
            state.attested = None
            self.notify("The attested addendum is kept; a new, unattested version was written.",
                        title=state.note_id)

    def _reload(self, state: NoteState, store: ReviewStore) -> None:
        """The store's answers for ``state`` (after another reviewer's change), then recompute and repaint."""
        try:
            state.load_answers(store)
        except Exception as err:
            self.notify(f"Answers not reloaded: {_reason(err)}", severity="error")
        state.recompute(self.payer)
        if state is self.current:
            self.refresh_panels()

    def _superseded(self, state: NoteState, what: str, err: Superseded) -> None:
        """Refused: another reviewer changed the note. Say what changed, in one line, and show it."""
        self.notify(f"{what}: {err}. The checklist now shows it; review and try again.", title=state.note_id,
                    severity="error", timeout=15)
        self._reload(state, self.store_for(state))

    # ------------------------------------------------------------------ actions (keys in bindings.py)
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        spec = spec_for_action(action)
        if spec is not None and not spec.applies(self.audit):
            return False
        if spec is not None and action not in _MODAL_SAFE and isinstance(self.screen, ModalScreen):
            return False
        if spec is not None and time.monotonic() - self.modal_closed_at < KEY_GUARD_SECONDS:
            return False  # stray typing right after Enter closed a prompt
        return True

    def action_answer_next(self) -> None:
        state = self.current
        if state is None or state.extraction is None:
            return
        if not state.prompts:
            self.notify("Nothing left to ask for this note.", title=state.note_id)
            return
        self.open_prompt(state.prompts[0].element, chain=True)

    def action_open_selected(self) -> None:
        screen = self.review_screen
        if screen is None:
            return
        element = screen.query_one(Checklist).selected_element
        if element:
            self.open_prompt(element)

    def action_mark_wrong(self) -> None:
        self.action_open_selected()

    async def action_next_note(self) -> None:
        if len(self.states) > 1 and self.index < len(self.states) - 1:
            self.index += 1
            await self.show_note()
        elif self.states:
            self.notify("This is the last note in the queue.")

    async def action_previous_note(self) -> None:
        if self.index > 0:
            self.index -= 1
            await self.show_note()
        elif self.states:
            self.notify("This is the first note in the queue.")

    def action_export_addendum(self) -> None:
        state = self.current
        if state is None or state.extraction is None:
            return
        if not state.clinician:
            self.notify("No answers yet: nothing to add to the note.", severity="warning")
            return
        text = state.addendum()
        target = addendum_path(state.path)
        seen = state.revision

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                path = self.store_for(state).write_addendum(state.path, text, identity=state.identity,
                                                            seen_revision=seen)  # type: ignore[arg-type]
            except Superseded as err:
                self._superseded(state, "Addendum not written", err)
                return
            except Exception as err:
                self.notify(f"Addendum not written: {_reason(err)}", severity="error")
                return
            self.notify(f"Addendum written to {path.name}", title=state.note_id)

        self.push_modal(ConfirmScreen("Write addendum", text, f"Write this addendum to {target.name}?"), confirmed)

    def action_attest(self) -> None:
        state = self.current
        if state is None or state.extraction is None:
            return
        if not state.clinician:
            self.notify("No answers yet: nothing to attest.", severity="warning")
            return
        text = state.addendum()
        seen = state.revision

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            from datetime import UTC, datetime

            at = datetime.now(UTC).replace(microsecond=0)
            try:
                path, signed, revision = self.store_for(state).attest_note(
                    state.path, state.note_id, self.user, text, identity=state.identity,  # type: ignore[arg-type]
                    seen_revision=seen, at=at)
            except Superseded as err:
                self._superseded(state, "Not attested", err)
                return
            except Exception as err:
                self.notify(f"Not attested: {_reason(err)}", severity="error")
                return
            state.revision = revision
            state.attested = {"user": self.user, "at": at.isoformat(), "addendum": signed}
            self.update_status()
            self.notify(f"Attested by {self.user}; addendum in {path.name} (locked)", title=state.note_id)

        self.push_modal(ConfirmScreen("Attest addendum", text,
                                      f"Attest this addendum as {self.user}? It is then locked."), confirmed)

    def action_export_gold(self) -> None:
        state = self.current
        if state is None or state.done is None:
            return
        try:
            from scribe.audit.gold import export_gold  # written separately; optional
        except ImportError:
            self.notify("Gold export is not available in this installation.", severity="warning")
            return
        notes = "; ".join(f"{a.element}: {a.comment}" for a in state.coder if a.comment)
        try:
            import inspect

            takes_notes = "notes" in inspect.signature(export_gold).parameters
            data = export_gold(state.done, notes=notes) if takes_notes else export_gold(state.done)
            target = state.path.with_name(f"{state.note_id}.gold.json")
            atomic_write_text(target, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
        except Exception as err:
            self.notify(f"Gold not exported: {err}", severity="error")
            return
        self.notify(f"Gold written to {target.name}", title=state.note_id)

    def action_focus_next_panel(self) -> None:
        screen = self.review_screen
        if screen is None:
            return
        order = [screen.query_one(NoteView), screen.query_one(Checklist), screen.query_one(ActsPanel),
                 screen.query_one(CodesPanel)]
        focused = self.focused
        i = next((n for n, w in enumerate(order) if w is focused), -1)
        order[(i + 1) % len(order)].focus()

    def action_cycle_theme(self) -> None:
        names = list(THEMES)
        i = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(i + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=1.5)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        title = "Keys (coder audit)" if self.audit else "Keys (clinician review)"
        self.push_screen(HelpScreen(self.keys, title))

    @property
    def keys(self) -> list[KeySpec]:
        return keys_for(self.audit)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette: one command per key in ``bindings.KEYS`` (same data as footer and help)."""
        titles: set[str] = set()
        for spec in self.keys:
            titles.add(spec.title)
            yield SystemCommand(spec.title, f"key: {spec.display_key}", partial(self.run_action, spec.action))
        for cmd in super().get_system_commands(screen):
            if cmd.title not in titles and cmd.title != "Quit":
                yield cmd


def _reason(err: BaseException) -> str:
    """One line for the screen: the OS reason or the store's refusal, never a traceback or note text."""
    if isinstance(err, OSError) and not isinstance(err, Superseded):
        return err.strerror or type(err).__name__
    from scribe.store import UnsafeStore

    if isinstance(err, UnsafeStore):
        return " ".join(str(err).split())
    return type(err).__name__
