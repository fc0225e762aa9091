"""scribe: a documentation prompter for spine cement-augmentation procedure notes."""
