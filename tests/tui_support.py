"""Helpers the review-app tests share: wait for the queue to load, and record what the app tells the user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # no Textual at import: the tests that use these skip themselves without it
    from textual.app import App
    from textual.pilot import Pilot


async def wait_loaded(pilot: Pilot[Any]) -> None:
    """Pause until the app has loaded its notes (at most 12 s)."""
    app = pilot.app
    for _ in range(600):
        if getattr(app, "loaded", False):
            break
        await pilot.pause(0.02)


async def ready(pilot: Pilot[Any]) -> None:
    """The notes loaded (asserted), and one more pause for the screen to settle."""
    await wait_loaded(pilot)
    assert pilot.app.loaded, "the notes were not loaded in time"  # type: ignore[attr-defined]
    await pilot.pause()


def record_notifications(app: App[Any], shown: list[str]) -> None:
    """Append every message the app notifies to ``shown``, and still show it."""
    real = app.notify

    def spy(message: str, **kw: Any) -> None:
        shown.append(message)
        real(message, **kw)

    app.notify = spy  # type: ignore[method-assign]
