"""A cheap test run before a slow case-insensitive regex search: whether the text can hold a match at all.

A pattern led by ``\\b`` or compiled with ``re.IGNORECASE`` has no literal first character for Python's
``re`` to scan for, so it is tried at every position of the text. When every match must contain one of a
few literal words, looking for those words first (plain substring searches) skips most searches.
"""

from __future__ import annotations


def may_contain(text: str, *groups: tuple[str, ...]) -> bool:
    """False only when, for some group, no word of it occurs in ``text`` (case-insensitively): a pattern
    whose every match holds a word of each group cannot match. The words are lower-case ASCII. A text
    with non-ASCII characters always passes (case-insensitive matching folds a few of them into ASCII
    letters, which ``str.lower`` does not)."""
    if not text.isascii():
        return True
    low = text.lower()
    for group in groups:  # plain loops: generator frames cost more than the substring searches
        for w in group:
            if w in low:
                break
        else:
            return False
    return True
