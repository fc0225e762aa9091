"""Vertebral level mentions: "T12", "t twelve", "lumbar four", "twelfth thoracic", ranges
("T11-L1", "t twelve through l two", "L4-5", "T5 to T7") expanded across regions.
Sets ``doc.user_data["levels"]`` (list of LevelMention, in text order).
"""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc

from scribe.nlp.types import LEVEL_INDEX, LEVEL_ORDER, TRANSITIONAL, LevelMention

_ONE = re.compile(r"^([ctls])(\d{1,2})$")
_RANGE_TOKEN = re.compile(r"^([ctls])-?(\d{1,2})[-–/]([ctls])?-?(\d{1,2})$")
_RANGE_WORDS = {"-", "–", "to", "through", "thru"}
_MRI_FOLLOW = {"weighted", "hypointense", "hyperintense", "signal", "images", "image", "sequence",
               "sequences", "hypointensity", "hyperintensity", "score", "scores", "bright", "dark"}
_LIMITS = {"c": 7, "t": 12, "l": 5, "s": 5}


def _level(letter: str, num: int) -> str | None:
    name = f"{letter.upper()}{num}"
    if name in LEVEL_INDEX or name in TRANSITIONAL:
        return name
    return None


def expand(a: str, b: str) -> list[str]:
    """Expand a range in spinal order ("T11", "L1" -> T11, T12, L1)."""
    ia, ib = LEVEL_INDEX.get(a), LEVEL_INDEX.get(b)
    if ia is None or ib is None:
        return [x for x in (a, b) if x]
    if ia > ib:
        ia, ib = ib, ia
    return list(LEVEL_ORDER[ia : ib + 1])


class LevelFinder:
    """Pipeline component ``scribe_levels``."""

    def _single(self, doc: Doc, i: int) -> tuple[str | None, list[str]] | None:
        tok = doc[i]
        m = _ONE.match(tok.norm_)
        if not m:
            return None
        letter, num = m.group(1), int(m.group(2))
        nxt = doc[i + 1] if i + 1 < len(doc) else None
        if letter == "t" and num <= 2 and nxt is not None:
            after = doc[i + 2].lower_ if i + 2 < len(doc) else ""
            if nxt.lower_ in _MRI_FOLLOW or (nxt.text == "-" and after in _MRI_FOLLOW):
                return None
        name = _level(letter, num)
        if name is None:
            return (None, [f"{letter.upper()}{num}"])
        return (name, [])

    def __call__(self, doc: Doc) -> Doc:
        out: list[LevelMention] = []
        n = len(doc)
        i = 0
        while i < n:
            tok = doc[i]
            rm = _RANGE_TOKEN.match(tok.norm_ if tok.norm_ != tok.lower_ else tok.lower_)
            if rm and not _ONE.match(tok.norm_):
                l1, n1 = rm.group(1), int(rm.group(2))
                l2, n2 = (rm.group(3) or l1), int(rm.group(4))
                a, b = _level(l1, n1), _level(l2, n2)
                if a and b:
                    out.append(LevelMention(expand(a, b), i, i + 1, tok.idx, tok.idx + len(tok.text),
                                            tok.text, is_range=True))
                i += 1
                continue
            single = self._single(doc, i)
            if single is None:
                i += 1
                continue
            name, invalid = single
            end = i + 1
            levels = [name] if name else []
            is_range = False
            # a range: X - Y, X to Y, X through Y (Y may be a bare number of the same region)
            if name and i + 2 < n and doc[i + 1].lower_ in _RANGE_WORDS:
                nxt = doc[i + 2]
                m2 = _ONE.match(nxt.norm_)
                other = None
                if m2:
                    other = _level(m2.group(1), int(m2.group(2)))
                elif nxt.text.isdigit() and doc[i + 1].lower_ in {"-", "–"}:
                    other = _level(name[0].lower(), int(nxt.text))
                if other:
                    levels = expand(name, other)
                    end = i + 3
                    is_range = True
            span = doc[i:end]
            out.append(LevelMention(levels, i, end, span.start_char, span.end_char, span.text,
                                    is_range=is_range, invalid=invalid))
            i = end
        doc.user_data["levels"] = out
        return doc


@Language.factory("scribe_levels", assigns=["doc.user_data"], requires=["token.norm"])
def make_levels(nlp: Language, name: str) -> LevelFinder:
    return LevelFinder()
