"""Sentence and clause splitting that works on punctuated notes and on unpunctuated dictation.

Boundaries: sentence-final punctuation, paragraph breaks, line breaks between short lines or
template fields, section starts, and spoken punctuation ("period", "new paragraph") in notes
dictated without punctuation. Clauses further split sentences at terminators ("but", ";",
"however"…) from the ConText lexicon. Sets ``token.is_sent_start`` on sentence starts and
``doc.user_data["sent_id"]`` / ``doc.user_data["clause_id"]`` (one int per token).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from itertools import accumulate

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from scribe.lexicon import Lexicon, default_lexicon
from scribe.nlp.table import TokenTable, table

_FINAL = {".", "!", "?"}
_ABBREVIATIONS = {"dr", "mr", "mrs", "ms", "vs", "approx", "etc", "fig", "st"}


_PASSIVE = frozenset({"was", "were"})
_ARTICLES = frozenset({"a", "an", "the"})
_ITEM_NUMBERS = frozenset(str(k) for k in range(1, 10))
_PREVIOUS_ITEM = {str(k): str(k - 1) for k in range(2, 10)}
_ADVERBS = frozenset({"then", "not", "also", "again", "now", "subsequently"})


def is_dictation(tab: TokenTable) -> bool:
    """Few punctuation marks and mostly lower case: a speech-recognition transcript."""
    n = len(tab)
    if n < 20:
        return False  # fewer than 20 tokens hold fewer than 20 words
    if _has_at_least(tab.lowers, ".", math.ceil(0.02 * n)):
        return False  # punctuated even counted against every token (found without counting them all)
    unique = tab.unique_lowers
    punct = sum(tab.lowers.count(mark) for mark in _FINAL if mark in unique)  # a scan only for marks it holds
    if punct >= 0.02 * n:
        return False  # punctuated even counted against every token (the words are fewer)
    n_words, lower = _alpha_counts(tab, punct)
    if n_words < 20:
        return False
    return punct / n_words < 0.02 and lower / n_words > 0.85


_UPPER = re.compile(r"[A-Z]+")  # a run of capitals lies in one word token (a clitic split off it holds a "'")


def _alpha_counts(tab: TokenTable, punct: int | None = None) -> tuple[int, int]:
    """How many tokens are words (all letters) and how many of those are lower case. On ASCII text a word
    is lower case unless it holds a capital, so only the tokens at the (few, in a dictation) capitals are
    looked at; other text is counted word by word.

    Given ``punct`` (is_dictation's count of final punctuation), the capitals are not looked at when the
    words are too few or too punctuated for a dictation, and looking stops once the lower-case words are
    too few (at most 85 %): the lower-case count returned is then only as low as that, enough to say no."""
    if not tab.text.isascii():
        words = [w for w in tab.words if w.isalpha()]
        return len(words), sum(map(str.islower, words))
    lowers = tab.lowers
    n_words = sum(map(str.isalpha, lowers))
    if punct is not None and (n_words < 20 or punct / n_words >= 0.02):
        return n_words, n_words
    lower = n_words
    if tab.lower_text == tab.text:
        return n_words, lower  # no capital at all (most dictations): nothing to look for
    token_at = tab.token_at
    last = -1
    for m in _UPPER.finditer(tab.text):
        i = token_at(m.start())
        if i != last:  # capitals come in text order: a token's capitals in a row
            last = i
            if lowers[i].isalpha():
                lower -= 1
                if punct is not None and lower / n_words <= 0.85:
                    break
    return n_words, lower


def _has_at_least(seq: list[str], word: str, k: int) -> bool:
    """``seq.count(word) >= k``, scanning only as far as the k-th occurrence."""
    i = -1
    try:
        for _ in range(k):
            i = seq.index(word, i + 1)
    except ValueError:
        return False
    return True


class Splitter:
    """Pipeline component ``scribe_sentences``."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.spoken_breaks = {k for k, v in lexicon.normalization.spoken_punctuation.items()
                              if v in (".", "\n", ";") and " " not in k}
        self.spoken_multi = [tuple(k.split()) for k, v in lexicon.normalization.spoken_punctuation.items()
                             if v in (".", "\n") and " " in k]
        self.terminators = {r.literal for r in lexicon.context if r.direction == "terminate"}
        self.multi_terms = [tuple(t.split()) for t in self.terminators if " " in t]
        self.multi_first = {m[0] for m in self.multi_terms}
        # by first word, the words that follow it in a multi-word terminator ("and" -> ["then"])
        self.multi_rest: dict[str, list[list[str]]] = {}
        for m in self.multi_terms:
            self.multi_rest.setdefault(m[0], []).append(list(m[1:]))
        # of those, the two-word ones by first word: the second words, looked up without slicing the tokens
        self.multi_next: dict[str, frozenset[str]] = {
            w: frozenset(r[0] for r in rests if len(r) == 1) for w, rests in self.multi_rest.items()}
        self.multi_long: dict[str, list[list[str]]] = {
            w: long for w, rests in self.multi_rest.items() if (long := [r for r in rests if len(r) > 1])}
        self.spoken_multi_first = {m[0] for m in self.spoken_multi}
        self.clause_words = frozenset(self.terminators | self.multi_first)
        # the sentence breakers (a dictation's spoken ones too) and, with the clause words, the words looked up
        # in one pass over the tokens
        self.spoken_breakers = frozenset(_FINAL | {";"} | self.spoken_breaks)
        self.wanted = frozenset(_FINAL | self.clause_words)
        self.spoken_wanted = frozenset(self.spoken_breakers | self.clause_words)
        flat = lexicon.normalization.flat_sentences
        self.joiners = frozenset(flat.joiners)
        self.subjects = frozenset(flat.subjects)
        self.subject_verbs = frozenset(flat.subject_verbs)
        self.participles = frozenset(flat.participles)
        self.complements = frozenset(flat.complements)
        self.noun_modifiers = frozenset(flat.noun_modifiers)
        self.noun_subjects = frozenset(flat.noun_subjects)
        self.negated_subjects = frozenset(flat.negated_subjects)
        self.units = frozenset(flat.units)
        self.verb_led: dict[str, list[tuple[str, ...]]] = {}  # first word -> the phrases it opens
        for phrase in flat.verb_led:
            words = tuple(phrase.split())
            self.verb_led.setdefault(words[0], []).append(words)
        self.verb_led_first = frozenset(self.verb_led)

    def __call__(self, doc: Doc) -> Doc:
        tab = table(doc)
        n = len(tab)
        if n == 0:
            doc.user_data.update(sent_id=[], clause_id=[], dictation=False)
            return doc
        dictation = is_dictation(tab)
        lowers, text, idx = tab.lowers, tab.text, tab.idx
        starts = bytearray(n)
        starts[0] = 1
        # section starts: the first token of each section (where the token's section changes)
        tok_section = doc.user_data.get("tok_section")
        if tok_section:
            # (scribe_sections leaves the first tokens of its sections after the first; the first's is 0)
            firsts = doc.user_data.get("section_tokens")
            if firsts is None:
                firsts = [bisect_left(idx, sec.start) for sec in doc.user_data.get("sections", [])]
            for i in firsts:
                if 0 < i < n and tok_section[i] != tok_section[i - 1]:
                    starts[i] = 1
        # sentence-final punctuation (and spoken punctuation in dictation)
        breakers = self.spoken_breakers if dictation else _FINAL
        # the breakers' and the clause words' tokens in one lookup (one pass over the tokens, not two)
        hits = tab.positions(self.spoken_wanted if dictation else self.wanted)
        last = n - 1
        for i in hits:
            if i == last or lowers[i] not in breakers:
                continue
            if lowers[i] == "." and i > 0 and (lowers[i - 1] in _ABBREVIATIONS or
                                               (len(lowers[i - 1]) == 1 and lowers[i - 1].isalpha())):
                continue  # "e.g.", "Dr.", "approx."
            starts[i + 1] = 1
        # line breaks
        pos = text.find("\n")
        while pos != -1:
            nxt = max(bisect_right(idx, pos) - 1, 0)  # tab.token_at(pos)
            if idx[nxt] <= pos:
                nxt += 1  # the token at or before the break; the sentence starts after it
            while nxt < n and lowers[nxt].isspace():
                nxt += 1
            if 0 < nxt < n and not starts[nxt]:
                prev = nxt - 1
                while prev > 0 and lowers[prev].isspace():
                    prev -= 1
                between = text[tab.ends[prev] : idx[nxt]]
                if between.count("\n") >= 2 or self._line_break_is_boundary(text, tab, prev, nxt):
                    starts[nxt] = 1
            end = text.find("\n", idx[nxt]) if nxt < n else -1
            pos = end
        if doc.user_data.get("flat"):
            self._flat_starts(tab, starts)
        if dictation and self.spoken_multi:
            for i in tab.positions(self.spoken_multi_first):
                for multi in self.spoken_multi:
                    k = len(multi)
                    if tuple(lowers[i : i + k]) == multi and i + k < n:
                        starts[i + k] = 1
        clause_marks = bytearray(starts)
        terminators, multi_next, multi_long = self.terminators, self.multi_next, self.multi_long
        clause_words = self.clause_words
        for i in hits:
            w = lowers[i]
            if w not in clause_words:
                continue
            if w in terminators:
                clause_marks[i] = 1
                continue
            if i + 1 < n and lowers[i + 1] in multi_next.get(w, ()):  # "and then", "followed by"
                clause_marks[i] = 1
                continue
            for rest in multi_long.get(w, ()):
                if lowers[i + 1 : i + 1 + len(rest)] == rest:
                    clause_marks[i] = 1
                    break
        # the ids: running sums of the marks less one (the first token's mark, 1, left out of the sum instead)
        starts[0] = clause_marks[0] = 0
        sent_id = list(accumulate(starts))
        clause_id = list(accumulate(clause_marks))
        starts[0] = 1
        marks = numpy.frombuffer(starts, dtype=numpy.uint8)
        doc.from_array([SENT_START], marks.astype(numpy.uint64).reshape(-1, 1))  # type: ignore[arg-type]
        doc.user_data.update(sent_id=sent_id, clause_id=clause_id, dictation=dictation)
        return doc

    def _flat_starts(self, tab: TokenTable, starts: bytearray) -> None:
        """Sentence starts in a note flattened into one unpunctuated paragraph (no punctuation or line break
        tells them): after a passive clause ("cement was injected | biopsy was deferred", not before a complement:
        "was placed prone"), at a subject pronoun ("... without relief | she tried a brace"), and at a subject
        that a verb follows ("... into l2 | there was no leak", "| the patient was placed prone", "| no leak was
        seen", "| biopsy is planned"), and at each item of a numbered list; never after a joining word (a
        preposition, conjunction, determiner or auxiliary: "after she fell", "and the patient was"). Vocabulary:
        ``flat_sentences`` in lexicons/normalization.json."""
        lowers = tab.lowers
        n = len(lowers)
        joiners = self.joiners

        def opens(k: int) -> bool:
            return 0 < k < n and lowers[k - 1] not in joiners

        for i in tab.positions(self.subjects):
            if opens(i):
                starts[i] = 1
        for i in tab.positions(self.verb_led_first):
            for words in self.verb_led[lowers[i]]:
                k = i + len(words)
                if k < n and tuple(lowers[i:k]) == words and lowers[k] in self.subject_verbs and opens(i):
                    starts[i] = 1
        # a subject noun phrase opened by an article, its passive verb after it ("... of each vertebral body | a
        # bone biopsy was obtained"): the article opens the sentence
        for i in tab.positions(_ARTICLES):
            if not opens(i):
                continue
            for j in range(i + 2, min(i + 5, n - 1)):
                w = lowers[j]
                if w in _PASSIVE:
                    part = lowers[j + 1]
                    if (len(part) > 4 and part.endswith("ed")) or part in self.participles:
                        starts[i] = 1
                    break
                if not w.isalpha() or w in joiners:
                    break
        for i in tab.positions(self.noun_subjects):
            if i + 1 < n and lowers[i + 1] in self.subject_verbs and opens(i) and \
                    lowers[i - 1] not in self.noun_modifiers and not any(c.isdigit() for c in lowers[i - 1]):
                starts[i] = 1  # (not "bone biopsy was", "t12 biopsy was": a noun phrase)
        for i in tab.positions(_PASSIVE):
            j = i + 1
            if j < n and (lowers[j].endswith("ly") or lowers[j] in _ADVERBS):
                j += 1  # "was then injected", "were successfully placed"
            if j >= n - 1:
                continue
            part = lowers[j]
            if not ((len(part) > 4 and part.endswith("ed")) or part in self.participles):
                continue
            k = j + 1
            nxt = lowers[k]
            if nxt.isalpha() and nxt not in joiners and nxt not in self.complements and \
                    not nxt.endswith(("ly", "ing")):
                starts[k] = 1
        # a numbered list run into the paragraph ("impression 1 successful vertebroplasty at t12 2 chronic l1
        # deformity not treated"): a bare "k" (2 to 9) after a bare "k - 1" among the 80 tokens before it, before a
        # word, opens an item (a count or measure is followed by its unit: not "2 ml", "3 weeks")
        last: dict[str, int] = {}
        for i in tab.positions(_ITEM_NUMBERS):
            word = lowers[i]
            prev = _PREVIOUS_ITEM.get(word)
            if prev is not None and i - last.get(prev, -1000) <= 80 and i + 1 < n and lowers[i + 1].isalpha() \
                    and lowers[i + 1] not in self.units:
                starts[i] = 1
            last[word] = i
        for i in tab.positions(self.negated_subjects):
            if i + 2 < n and lowers[i + 1].isalpha() and lowers[i + 2] in self.subject_verbs and opens(i):
                starts[i] = 1

    @staticmethod
    def _line_break_is_boundary(text: str, tab: TokenTable, prev: int, cur: int) -> bool:
        """A single line break ends a sentence unless a long prose line wraps into lower case."""
        line_start = text.rfind("\n", 0, tab.idx[prev]) + 1
        line = text[line_start : tab.ends[prev]]
        last = tab.lowers[prev][-1:]
        if last in ".:;!?,":
            return last != ","
        return not (len(line) > 60 and text[tab.idx[cur]].islower())


@Language.factory("scribe_sentences", assigns=["token.is_sent_start", "doc.user_data"],
                  requires=["doc.user_data"])
def make_splitter(nlp: Language, name: str) -> Splitter:
    return Splitter(default_lexicon())
