"""Widgets of the review app: the highlighted note, the checklist and the codes panel."""
