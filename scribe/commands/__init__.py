"""Sub-commands of `scribe`; each module exposes ``register(app: typer.Typer)``."""
