"""Normalisation into ``token.norm_``: joined words, spoken levels, misspellings, fuzzy hits.

The note text is never rewritten. Split words ("kypho plasty") and spoken levels ("t twelve",
"lumbar four", "twelfth thoracic") are merged into one token whose text is still the words as
dictated; only ``norm_`` carries the correction ("kyphoplasty", "t12"). Exact matches win;
joined words next; rapidfuzz last, with a length-aware cut-off, and the token is marked fuzzy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from rapidfuzz import fuzz, process
from spacy.attrs import IDX, NORM, ORTH, SPACY
from spacy.language import Language
from spacy.tokens import Doc, Token

from scribe.lexicon import Lexicon, Normalization, default_lexicon
from scribe.nlp.table import TokenTable
from scribe.numbers import ORDINALS, UNITS

if not Token.has_extension("fuzzy"):
    Token.set_extension("fuzzy", default=False)

_LEVEL_TOKEN = re.compile(r"^([ctls])-?(\d{1,2})$", re.IGNORECASE)
_LEVEL_LETTERS = {"c", "t", "l", "s"}
_NUM_WORDS = {k: v for k, v in UNITS.items() if 1 <= v <= 13}
_ORD_WORDS = {k: v for k, v in ORDINALS.items() if 1 <= v <= 12}
_ORD_WORDS.update({f"{v}{'st' if v == 1 else 'nd' if v == 2 else 'rd' if v == 3 else 'th'}": v
                   for v in range(1, 13)})  # "1st lumbar", "12th thoracic"
_LEVEL_FOLLOW_BLOCK = {"weeks", "week", "months", "month", "days", "day", "years", "year", "cc", "ml",
                       "percent", "%", "gauge", "minutes", "hours", "mg", "times", "x"}


_CACHE_MAX = 200_000  # distinct words remembered across notes
_RETOKENIZE_MAX = 2  # up to this many merges, Doc.retokenize is cheaper than building a new Doc
_REGION_FOLLOW_BLOCK = _LEVEL_FOLLOW_BLOCK | {"levels", "level", "vertebrae", "fractures", "bodies"}


class Normalizer:
    """Pipeline component ``scribe_normalize``."""

    def __init__(self, norm: Normalization, vocabulary: set[str]) -> None:
        self.norm = norm
        self.joined = {tuple(k.split()): v for k, v in norm.joined.items()}
        self.join_max = max((len(k) for k in self.joined), default=1)
        self.concat_targets = set(norm.fuzzy_targets) | set(norm.joined.values()) | {
            "carm", "oarm", "spinejack", "kyphoplasty", "vertebroplasty", "sacroplasty"
        }
        self.vocabulary = vocabulary | set(norm.fuzzy_targets)
        self.targets = list(norm.fuzzy_targets)
        self.joined_first = {k[0] for k in self.joined}
        self.concat_prefixes = {target[:k] for target in self.concat_targets for k in range(1, len(target))}
        self.concat_any = self.concat_targets | self.concat_prefixes
        # words that start a merge other than a split word; a split word needs its next word to continue it
        self.direct_starters = self.joined_first | _LEVEL_LETTERS | set(norm.letter_words) | \
            set(norm.region_words) | set(_ORD_WORDS)
        self.starters: set[str] = self.direct_starters | self.concat_prefixes
        # the words that may follow each starter in a merge other than a split word (steps 1-4 of
        # _match_at), and the starters a written number may follow ("t 12", "lumbar 4")
        self.follow: dict[str, set[str]] = {}
        for key in self.joined:
            self.follow.setdefault(key[0], set()).add(key[1])
        for w in _LEVEL_LETTERS | set(norm.letter_words):
            nxt = set(_NUM_WORDS) | ({"-", "."} if w in _LEVEL_LETTERS else set()) | \
                (set(norm.level_number_homophones) if w in norm.letter_words else set())
            self.follow.setdefault(w, set()).update(nxt)
        for w in norm.region_words:
            self.follow.setdefault(w, set()).update(_NUM_WORDS)
        for w in _ORD_WORDS:
            self.follow.setdefault(w, set()).update(norm.region_words)
        self.number_led = _LEVEL_LETTERS | set(norm.letter_words) | set(norm.region_words)
        self._fuzzy = lru_cache(maxsize=50_000)(self._fuzzy_uncached)
        self._word_norms: dict[str, tuple[str, bool] | None] = {}
        self._clean: set[str] = set()  # words seen that need no correction

    # -- fuzzy ---------------------------------------------------------------------------
    def _fuzzy_uncached(self, word: str) -> str | None:
        if len(word) < self.norm.fuzzy_min_length or not word.isalpha():
            return None
        if word in self.vocabulary:
            return None
        # length-aware cut-off: short words need a closer match
        cutoff = self.norm.fuzzy_cutoff + (4.0 if len(word) < 9 else 0.0)
        hit = process.extractOne(word, self.targets, scorer=fuzz.ratio, score_cutoff=cutoff)
        if hit is None:
            return None
        target = hit[0]
        if abs(len(target) - len(word)) > 3:
            return None
        return target

    # -- merging -------------------------------------------------------------------------
    def _merges(self, lowers: list[str], gaps: TokenTable) -> list[tuple[int, int, str]]:
        """Spans to merge into one token, with the norm they get. Non-overlapping, in order."""
        out: list[tuple[int, int, str]] = []
        end = 0
        n = len(lowers)
        concat_any, follow, number_led, starters = self.concat_any, self.follow, self.number_led, self.starters
        # one pass over the words, not ``gaps.positions``: a note holds several starters ("a", "t", "lumbar"),
        # and a note with merges gets a new table, so a set of this one's words would serve once
        for i in [k for k, w in enumerate(lowers) if w in starters]:
            if i < end:
                continue
            if i + 1 >= n:
                continue  # every merge joins two tokens or more
            w, nxt = lowers[i], lowers[i + 1]
            if w + nxt not in concat_any and nxt not in follow.get(w, ()) and \
                    not (w in number_led and nxt.isdecimal()):
                continue  # the next word continues no merge that could start here
            merged = self._match_at(lowers, gaps, i)
            if merged is not None:
                end, norm = merged
                out.append((i, end, norm))
        return out

    @staticmethod
    def _adjacent(tab: TokenTable, i: int, j: int) -> bool:
        """Tokens i..j-1 are separated by at most one space (no line breaks): the whitespace after each but the
        last (``tab.gap(k)``) is "" or " ", read from the offsets (a loop, not a generator: most spans are two
        tokens)."""
        idx, ends, text = tab.idx, tab.ends, tab.text
        for k in range(i, j - 1):
            e = ends[k]
            d = idx[k + 1] - e
            if d > 1 or (d == 1 and text[e] != " "):
                return False
        return True

    def _match_at(self, lowers: list[str], gaps: TokenTable, i: int) -> tuple[int, str] | None:
        n = len(lowers)
        w = lowers[i]
        # 1. explicit joined phrases ("vertebral plasty")
        if w in self.joined_first:
            for size in range(min(self.join_max, n - i), 1, -1):
                key = tuple(lowers[i : i + size])
                if key in self.joined and self._adjacent(gaps, i, i + size):
                    return i + size, self.joined[key]
        nxt = lowers[i + 1] if i + 1 < n else ""
        # 2. spoken levels: letter + number ("t twelve", "l 1", "el one")
        spoken_letter = self.norm.letter_words.get(w)
        letter = spoken_letter or (w if w in _LEVEL_LETTERS else None)
        if letter is not None and nxt and self._adjacent(gaps, i, i + 2):
            num = _NUM_WORDS.get(nxt) or (int(nxt) if nxt.isdecimal() and 0 < int(nxt) < 14 else None)
            if num is None and spoken_letter is not None:
                num = self.norm.level_number_homophones.get(nxt)
            if num is not None and not (i + 2 < n and lowers[i + 2] in _LEVEL_FOLLOW_BLOCK):
                return i + 2, f"{letter}{num}"
        # 2b. hyphenated level written without spaces ("T-12", "L-1")
        if w in _LEVEL_LETTERS and nxt == "-" and i + 2 < n and lowers[i + 2].isdecimal() and \
                0 < int(lowers[i + 2]) < 14 and gaps.idx[i + 1] == gaps.ends[i] and gaps.idx[i + 2] == gaps.ends[i + 1]:
            return i + 3, f"{w}{int(lowers[i + 2])}"
        # 2c. speech recognition's dotted letter ("L. 1", "T. 12", "L. two")
        if w in _LEVEL_LETTERS and nxt == "." and i + 2 < n:
            third = lowers[i + 2]
            num = (int(third) if third.isdecimal() and 0 < int(third) < 14 else None) if third[:1].isdecimal() \
                else _NUM_WORDS.get(third)
            if num is not None and gaps.idx[i + 1] == gaps.ends[i] and \
                    gaps.idx[i + 2] - gaps.ends[i + 1] <= 1 and gaps.gap(i + 1) in ("", " ") and \
                    not (i + 3 < n and lowers[i + 3] in _LEVEL_FOLLOW_BLOCK):
                return i + 3, f"{w}{num}"
        # 3. region word + number ("lumbar four", "thoracic 12")
        region = self.norm.region_words.get(w)
        if region is not None and nxt and self._adjacent(gaps, i, i + 2):
            num = _NUM_WORDS.get(nxt) or (int(nxt) if nxt.isdecimal() and 0 < int(nxt) < 14 else None)
            if num is not None and not (i + 2 < n and lowers[i + 2] in _REGION_FOLLOW_BLOCK):
                return i + 2, f"{region}{num}"
        # 4. ordinal + region ("twelfth thoracic", "first lumbar")
        if w in _ORD_WORDS and nxt in self.norm.region_words and self._adjacent(gaps, i, i + 2):
            return i + 2, f"{self.norm.region_words[nxt]}{_ORD_WORDS[w]}"
        # 5. split words whose concatenation is a domain word ("spine jack", "c arm"), longest first;
        # a concatenation that begins no target cannot grow into one
        cat = w
        sizes: list[int] = []
        for size in range(2, min(4, n - i) + 1):
            cat += lowers[i + size - 1]
            if cat in self.concat_targets:
                sizes.append(size)
            elif cat not in self.concat_prefixes:
                break
        for size in reversed(sizes):
            parts = lowers[i : i + size]
            if all(p.isalpha() for p in parts) and self._adjacent(gaps, i, i + size):
                return i + size, "".join(parts)
        return None

    def __call__(self, doc: Doc) -> Doc:
        text = doc.user_data.get("text")
        tab = TokenTable.from_doc(doc, text, fresh=True)
        lowers = tab.lowers
        merges = self._merges(lowers, tab)
        merged_at: set[int] = set()
        if merges:
            if len(merges) <= _RETOKENIZE_MAX:
                with doc.retokenize() as retok:
                    for start, end, norm in merges:
                        retok.merge(doc[start:end], attrs={"NORM": norm})
            else:  # retokenize costs O(n) per merge, and more per merge: rebuild the Doc instead
                doc = self._merged(doc, tab, merges)
            tab, at = tab.merged(merges)
            lowers = tab.lowers
            merged_at = set(at)
        # each distinct word once: words known to need no correction are skipped in one set operation
        fixes: dict[str, tuple[str, bool]] = {}
        cache, clean = self._word_norms, self._clean
        if len(clean) > _CACHE_MAX:
            clean.clear()
            cache.clear()
        for low in tab.unique_lowers - clean:
            if low in cache:
                fix = cache[low]
            else:
                fix = cache[low] = self._word_norm(low)
            if fix is None or (fix[0] == low and not fix[1]):  # "t12" is already its own norm
                clean.add(low)
            else:
                fixes[low] = fix
        fuzzy_idx: set[int] = set()
        if fixes:
            norms = tab.norms
            for i in tab.positions(fixes.keys()):
                if i in merged_at:
                    continue
                target, fuzzy = fixes[lowers[i]]
                tok = doc[i]
                tok.norm_ = target
                norms[i] = target
                if fuzzy:
                    tok._.fuzzy = True
                    fuzzy_idx.add(i)
        doc.user_data["fuzzy"] = fuzzy_idx
        doc.user_data["assigned_norms"] = {fix[0] for fix in fixes.values()} | {m[2] for m in merges} \
            if fixes or merges else set()
        if tab.assigned is not None and fixes:
            tab.assigned.update(fix[0] for fix in fixes.values())
        doc.user_data["table"] = tab
        return doc

    @staticmethod
    def _merged(doc: Doc, tab: TokenTable, merges: list[tuple[int, int, str]]) -> Doc:
        """A new Doc with each merge span as one token (``Doc.retokenize`` costs O(n) per merge, so
        many merges in a long note were quadratic, and even a few cost more than this); the text and
        every offset stay the same. The tokens left whole are given by their ORTH ids, which ``Doc``
        looks up without hashing their text again."""
        rows = doc.to_array([ORTH, SPACY])
        orths: list[int] = rows[:, 0].tolist()
        spaces: list[int] = rows[:, 1].tolist()
        words: list[int | str] = []
        flags: list[int] = []
        norms: list[tuple[int, str]] = []
        text, idx, ends = tab.text, tab.idx, tab.ends
        i = 0
        for start, end, norm in merges:
            words += orths[i:start]
            flags += spaces[i:start]
            norms.append((len(words), norm))
            words.append(text[idx[start] : ends[end - 1]])
            flags.append(spaces[end - 1])
            i = end
        words += orths[i:]
        flags += spaces[i:]
        new = Doc(doc.vocab, words=words, spaces=flags, user_data=dict(doc.user_data))  # type: ignore[arg-type]
        for k, norm in norms:
            new[k].norm_ = norm
        return new

    def _word_norm(self, low: str) -> tuple[str, bool] | None:
        """The corrected norm of one word (and whether it is a fuzzy hit), or None."""
        if low[:1] in "ctls" and len(low) <= 4:
            m = _LEVEL_TOKEN.match(low)
            if m:
                return f"{m.group(1)}{int(m.group(2))}", False
        fix = self.norm.misspellings.get(low)
        if fix is not None:
            return fix, False
        if len(low) >= self.norm.fuzzy_min_length and low not in self.vocabulary and low.isalpha():
            target = self._fuzzy(low)
            if target is not None:
                return target, True
        return None


_PATTERN_GAP = "\n\n"  # between two phrases: a whitespace token of its own, which no merge crosses


def pattern_docs(nlp: Language, normalizer: Callable[[Doc], Doc] | None, phrases: list[str]) -> list[Doc]:
    """Each phrase as a Doc whose tokens carry the norms the phrase would get made into a Doc and normalised
    on its own, for the matcher's patterns: from one Doc of all the phrases (one tokenizer and normaliser
    call instead of one per phrase, the slow part of building the pipeline)."""
    joined = _PATTERN_GAP.join(phrases)
    doc = nlp.make_doc(joined)
    doc.user_data["text"] = joined  # read by the normaliser instead of Doc.text (a Token object per token)
    if normalizer is not None:
        doc = normalizer(doc)
    rows = doc.to_array([IDX, NORM])  # plain arrays: iterating the Doc makes a Token per token, twice
    strings = doc.vocab.strings
    idx: list[int] = rows[:, 0].tolist()
    norms: list[str] = [strings[h] for h in rows[:, 1].tolist()]
    out: list[Doc] = []
    k, start = 0, 0
    for phrase in phrases:
        end = start + len(phrase)
        while k < len(idx) and idx[k] < start:
            k += 1
        words: list[str] = []
        while k < len(idx) and idx[k] < end:
            words.append(norms[k])
            k += 1
        out.append(Doc(nlp.vocab, words=words))
        start = end + len(_PATTERN_GAP)
    return out


def vocabulary_of(lexicon: Lexicon) -> set[str]:
    words: set[str] = set()
    for term in lexicon.terms:
        words.update(term.pattern.lower().split())
    for rule in lexicon.context:
        words.update(rule.literal.lower().split())
    return words


@Language.factory(
    "scribe_normalize",
    assigns=["token.norm", "token._.fuzzy"],
    requires=[],
)
def make_normalizer(nlp: Language, name: str) -> Normalizer:
    lex = default_lexicon()
    return Normalizer(lex.normalization, vocabulary_of(lex))
