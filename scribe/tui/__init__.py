"""The clinician review TUI (Textual). Imported only by ``scribe review``; the core never imports it."""
