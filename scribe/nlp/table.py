"""A per-Doc table of token attributes as plain Python lists, filled with one ``to_array``
call: components and resolvers read it instead of creating Token objects over and over."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property

from spacy.attrs import IDX, NORM, SPACY
from spacy.tokens import Doc

# ``TokenTable.positions`` looks for up to this many distinct words with one C scan (``list.index``) each
_INDEX_SCANS = 2


@dataclass
class TokenTable:
    text: str
    idx: list[int]
    ends: list[int]
    lowers: list[str]
    norms: list[str]
    # ``text.lower()``, made once per note (its offsets equal the text's unless a rare Unicode character
    # changes length when lower-cased: callers check)
    lower_text: str
    # when known, a set holding every norm that is not its token's lower-case form (the norms the normaliser
    # assigned, and maybe more): ``positions`` over the norms then needs no set of the distinct norms
    assigned: set[str] | None = None

    @classmethod
    def from_doc(cls, doc: Doc, text: str | None = None, fresh: bool = False) -> TokenTable:
        """``fresh``: no token norm has been set yet, so each norm is its lexeme's default (the lower
        case form, but for a few non-ASCII characters and the backtick spaCy normalises)."""
        text = doc.text if text is None else text
        lower_text = text.lower()
        if not len(doc):
            return cls(text, [], [], [], [], lower_text)
        lexeme_norms = fresh and text.isascii() and "`" not in text
        # IDX and SPACY are fields of the token itself (LENGTH is the lexeme's, twice as slow to read); a
        # token ends where the next begins, less the one space it may carry (unsigned arithmetic: the next
        # token starts after this one, so no difference is negative)
        rows = doc.to_array([IDX, SPACY] if lexeme_norms else [IDX, SPACY, NORM])
        idx: list[int] = rows[:, 0].tolist()
        ends: list[int] = (rows[1:, 0] - rows[:-1, 1]).tolist()
        ends.append(len(text) - int(rows[-1, 1]))
        if len(lower_text) == len(text) and "\u03a3" not in text:
            # lower-casing went character by character (no final sigma, no length change): each token's
            # lower-case form is the same slice of the lower-cased text
            lowers = [lower_text[s:e] for s, e in zip(idx, ends, strict=True)]
        else:
            lowers = [text[s:e].lower() for s, e in zip(idx, ends, strict=True)]
        if lexeme_norms:
            norms = lowers.copy()
        else:
            strings = doc.vocab.strings
            norms = [strings[h] for h in rows[:, 2].tolist()]
        return cls(text, idx, ends, lowers, norms, lower_text, set() if lexeme_norms else None)

    def merged(self, merges: list[tuple[int, int, str]]) -> tuple[TokenTable, list[int]]:
        """The table of the Doc after each ``(start, end, norm)`` span (sorted, disjoint) became one token
        with that norm, and the new index of each merged token: the same as ``from_doc`` on the merged Doc,
        without reading it again."""
        idx: list[int] = []
        ends: list[int] = []
        lowers: list[str] = []
        norms: list[str] = []
        at: list[int] = []
        lower_text = self.lower_text
        same_case = len(lower_text) == len(self.text)
        i = 0
        for start, end, norm in merges:
            idx += self.idx[i:start]
            ends += self.ends[i:start]
            lowers += self.lowers[i:start]
            norms += self.norms[i:start]
            at.append(len(idx))
            s, e = self.idx[start], self.ends[end - 1]
            idx.append(s)
            ends.append(e)
            lowers.append(lower_text[s:e] if same_case else self.text[s:e].lower())
            norms.append(norm)
            i = end
        idx += self.idx[i:]
        ends += self.ends[i:]
        lowers += self.lowers[i:]
        norms += self.norms[i:]
        assigned = None if self.assigned is None else self.assigned | {m[2] for m in merges}
        return TokenTable(self.text, idx, ends, lowers, norms, lower_text, assigned), at

    @cached_property
    def words(self) -> list[str]:
        """Each token's text as written (made on first use)."""
        return [self.text[s:e] for s, e in zip(self.idx, self.ends, strict=True)]

    def word(self, i: int) -> str:
        return self.text[self.idx[i] : self.ends[i]]

    @cached_property
    def unique_lowers(self) -> set[str]:
        """The distinct lower-case words of the note (made once)."""
        return set(self.lowers)

    @cached_property
    def unique_norms(self) -> set[str]:
        """The distinct norms (made once: only read after normalisation, which sets them)."""
        return set(self.norms)

    def positions(self, words: AbstractSet[str], norms: bool = False) -> list[int]:
        """Indices of the tokens whose lower-case form (or norm) is one of ``words``, in order.

        Only the words the note holds are looked for (over the norms, when ``assigned`` is known, the words
        among the lower-case forms and ``assigned``: a few more maybe, never fewer). One or two of them (most
        calls) are found with repeated ``list.index`` (a scan in C, one per word, then one sort to merge
        two); more are found in one Python pass over the tokens, which costs about what three C scans do."""
        if not norms:
            seq = self.lowers
            present = self.unique_lowers & words
        elif self.assigned is not None:
            seq = self.norms
            present = (self.unique_lowers & words) | (self.assigned & words)
        else:
            seq = self.norms
            present = self.unique_norms & words
        if not present:
            return []
        if len(present) > _INDEX_SCANS:
            return [i for i, w in enumerate(seq) if w in present]
        out: list[int] = []
        index = seq.index
        for w in present:
            i = -1
            try:
                while True:
                    i = index(w, i + 1)
                    out.append(i)
            except ValueError:
                pass
        if len(present) > 1:
            out.sort()
        return out

    def past_space(self, j: int) -> int:
        """The first token from ``j`` that is not whitespace within the line: tabs, no-break spaces and
        runs of spaces are tokens of their own, skipped inside "T11 through L1" or "6 weeks"."""
        lowers = self.lowers
        while j < len(lowers) and lowers[j].isspace() and "\n" not in lowers[j]:
            j += 1
        return j

    def __len__(self) -> int:
        return len(self.idx)

    def gap(self, i: int) -> str:
        """The whitespace after token i (up to the next token)."""
        nxt = self.idx[i + 1] if i + 1 < len(self.idx) else len(self.text)
        return self.text[self.ends[i] : nxt]

    def token_at(self, char: int) -> int:
        """Index of the token containing (or nearest before) character offset ``char``."""
        return max(bisect_right(self.idx, char) - 1, 0)


def table(doc: Doc) -> TokenTable:
    t = doc.user_data.get("table")
    if t is None:
        t = TokenTable.from_doc(doc, doc.user_data.get("text"))
        doc.user_data["table"] = t
    return t
