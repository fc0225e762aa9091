"""Screens of the review app: the review layout, the prompt modal, help and confirmation."""
