"""Vertebral level mentions: "T12", "t twelve", "lumbar four", "twelfth thoracic", ranges
("T11-L1", "t twelve through l two", "L4-5", "T5 to T7") expanded across regions.
Sets ``doc.user_data["levels"]`` (list of LevelMention, in text order).
"""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc

from scribe.nlp.table import TokenTable, table
from scribe.nlp.types import LEVEL_INDEX, LEVEL_ORDER, TRANSITIONAL, LevelMention

LEVEL_NORM = re.compile(r"^([ctls])(\d{1,2})$")  # the norm of one level ("t12")
_RANGE_TOKEN = re.compile(r"^([ctls])-?(\d{1,2})[-–/]([ctls])?-?(\d{1,2})$")
_RANGE_WORDS = {"-", "–", "to", "through", "thru"}
_MRI_FOLLOW = {"weighted", "hypointense", "hyperintense", "signal", "images", "image", "sequence",
               "sequences", "hypointensity", "hyperintensity", "score", "scores", "bright", "dark"}
_LIST_JOIN = {",", "and", "&"}
# every norm ``LEVEL_NORM`` matches with ASCII digits ("t12", "l05")
_LEVELISH = frozenset(f"{c}{d}" for c in "ctls" for d in [*map(str, range(10)), *(f"{a}{b}" for a in range(10)
                                                                                    for b in range(10))])
_RANGE_CHARS = frozenset("-–/")
_UNIT_AFTER = {"cc", "ml", "mm", "cm", "%", "percent", "weeks", "week", "months", "month", "days", "years",
               "mg", "g", "gauge", "minutes", "min", "hours", "levels", "level", "times", "x", "-", "/"}

_SPOKEN_NUMBERS = {w: k for k, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                                "nine", "ten", "eleven", "twelve"]) if k}
_SPOKEN_LIST_END = {".", ",", ";", ":", "and", "&", "period", "comma", "vertebrae", "vertebral", "bodies", "\n",
                    "with", "under", "using", "for", "were", "was", "on", "today"}


def _level(letter: str, num: int) -> str | None:
    name = f"{letter.upper()}{num}"
    if name in LEVEL_INDEX or name in TRANSITIONAL:
        return name
    return None


# by norm in _LEVELISH ("t12", "l05"): the level's name (None when impossible or transitional), the name as
# written ("T12", "L5": the invalid one), and whether it is a "T1"/"T2" an MRI word after it may claim; what
# ``LevelFinder._single_level`` finds for it, without building names at every mention
_LEVEL_OF: dict[str, tuple[str | None, str, bool]] = {
    w: (_level(w[0], int(w[1:])), f"{w[0].upper()}{int(w[1:])}", w[0] == "t" and int(w[1:]) <= 2) for w in _LEVELISH}


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

    @staticmethod
    def _single(tab: TokenTable, i: int) -> tuple[str | None, list[str]] | None:
        m = LEVEL_NORM.match(tab.norms[i])
        if not m:
            return None
        return LevelFinder._single_level(tab, i, m.group(1), int(m.group(2)))

    @staticmethod
    def _single_level(tab: TokenTable, i: int, letter: str, num: int) -> tuple[str | None, list[str]] | None:
        """The level of token i, whose norm is ``letter`` and ``num`` ("t12"), or None for MRI's "T1"/"T2"
        before "weighted"; an impossible or transitional level comes as the invalid name."""
        n = len(tab.idx)
        if letter == "t" and num <= 2 and i + 1 < n:
            nxt = tab.lowers[i + 1]
            after = tab.lowers[i + 2] if i + 2 < n else ""
            if nxt in _MRI_FOLLOW or (nxt == "-" and after in _MRI_FOLLOW):
                return None
        name = _level(letter, num)
        if name is None:
            return (None, [f"{letter.upper()}{num}"])
        return (name, [])

    def __call__(self, doc: Doc) -> Doc:
        tab = table(doc)
        out: list[LevelMention] = []
        norms, lowers = tab.norms, tab.lowers
        n = len(tab)
        i = 0
        # a level is a norm like "t12"; a range is one token only where normalisation gave a norm its dash
        # or slash ("t11-l1"): only norms the normaliser assigned can be such (the tokenizer splits "-")
        assigned = doc.user_data.get("assigned_norms")
        ranged = {w for w in (set(norms) if assigned is None else assigned)
                  if w[:1] in "ctls" and _RANGE_CHARS & set(w)}
        candidates = tab.positions(_LEVELISH, norms=True)
        if ranged:
            candidates = sorted(candidates + tab.positions(ranged, norms=True))
        for k in candidates:
            if k < i:
                continue
            i = k
            norm = norms[i]
            known = _LEVEL_OF.get(norm)
            if known is not None:  # the common case: a level ("t12"), no range, read from the table
                name_of, written, mri = known
                if mri and i + 1 < n:  # "T1"/"T2" before "weighted": MRI, no level (as _single_level)
                    nxt = lowers[i + 1]
                    if nxt in _MRI_FOLLOW or (nxt == "-" and i + 2 < n and lowers[i + 2] in _MRI_FOLLOW):
                        i += 1
                        continue
                single = (name_of, []) if name_of is not None else (None, [written])
            elif len(norm) > 12:
                continue
            elif (rm := _RANGE_TOKEN.match(norm)) and not LEVEL_NORM.match(norm):
                l1, n1 = rm.group(1), int(rm.group(2))
                l2, n2 = (rm.group(3) or l1), int(rm.group(4))
                a, b = _level(l1, n1), _level(l2, n2)
                if a and b:
                    slash = "/" in norm  # "T10/L2" lists two levels; "T11-L1" is a range
                    out.append(LevelMention([a, b] if slash else expand(a, b), i, i + 1, tab.idx[i], tab.ends[i],
                                            tab.word(i), is_range=not slash))
                i += 1
                continue
            else:
                single = self._single(tab, i)
                if single is None:
                    i += 1
                    continue
            name, invalid = single
            end = i + 1
            levels = [name] if name else []
            is_range = False
            # a range: X - Y, X to Y, X through Y (Y may be a bare number of the same region)
            # (tabs, no-break spaces and runs of spaces are tokens of their own: skipped)
            r = i + 1 if i + 1 >= n or not lowers[i + 1].isspace() else tab.past_space(i + 1)
            y = r + 1 if r + 1 >= n or not lowers[r + 1].isspace() else tab.past_space(r + 1)
            if name and y < n and lowers[r] in _RANGE_WORDS:
                m2 = LEVEL_NORM.match(norms[y])
                other = None
                if m2:
                    other = _level(m2.group(1), int(m2.group(2)))
                elif lowers[y].isdecimal() and lowers[r] in {"-", "–"}:
                    other = _level(name[0].lower(), int(lowers[y]))
                elif (bare := int(lowers[y]) if lowers[y].isdecimal() else _SPOKEN_NUMBERS.get(lowers[y])) and \
                        bare > int(name[1:]) and not (y + 1 < n and lowers[y + 1] in _UNIT_AFTER):
                    other = _level(name[0].lower(), bare)  # "L1 through 3", "T11 to 12", "lumbar one through three"
                if other:
                    levels = expand(name, other)
                    end = y + 1
                    is_range = True
            s_char, e_char = tab.idx[i], tab.ends[end - 1]
            out.append(LevelMention(levels, i, end, s_char, e_char, tab.text[s_char:e_char], is_range, invalid))
            i = end
            # a list continued with bare numbers of the same region: "L2, 3 and 4"
            while name and i + 1 < n and lowers[i] in _LIST_JOIN:
                k = i + 1
                if lowers[i] == "," and lowers[k] == "and" and k + 1 < n:
                    k += 1  # "L1, 2, and 3"
                spoken = _SPOKEN_NUMBERS.get(lowers[k])
                if spoken is not None:  # "lumbar one and two": a spoken number only where the list ends
                    if k + 1 < n and lowers[k + 1] not in _SPOKEN_LIST_END:
                        break
                elif not lowers[k].isdecimal() or (k + 1 < n and lowers[k + 1] in _UNIT_AFTER):
                    break
                more = _level(name[0].lower(), spoken if spoken is not None else int(lowers[k]))
                if more is None:
                    break
                out.append(LevelMention([more], k, k + 1, tab.idx[k], tab.ends[k], tab.word(k)))
                i = k + 1
        doc.user_data["levels"] = out
        return doc


@Language.factory("scribe_levels", assigns=["doc.user_data"], requires=["token.norm"])
def make_levels(nlp: Language, name: str) -> LevelFinder:
    return LevelFinder()
