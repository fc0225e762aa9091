"""scribe: a documentation prompter for spine cement-augmentation procedure notes."""

from scribe import _native

BUILD = _native.install()  # "compiled", "pure" or "stale": which modules of the hot path run
