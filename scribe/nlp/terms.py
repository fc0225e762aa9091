"""Term matching: every lexicon phrase (procedures, devices, guidance, biopsy, indications,
therapies…) matched on ``token.norm_`` with one PhraseMatcher. Sets ``doc.user_data["terms"]``.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from scribe.lexicon import Lexicon, TermPattern, default_lexicon
from scribe.nlp.context import context_rules
from scribe.nlp.normalize import pattern_docs
from scribe.nlp.table import table
from scribe.nlp.types import Term


def _plural(word: str) -> str:
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


class TermMatcher:
    """Pipeline component ``scribe_terms``."""

    def __init__(self, nlp: Language, lexicon: Lexicon) -> None:
        self.matcher = PhraseMatcher(nlp.vocab, attr="NORM")
        self.entries: dict[str, TermPattern] = {}
        normalizer = nlp.get_pipe("scribe_normalize") if "scribe_normalize" in nlp.pipe_names else None
        keys: list[str] = []
        phrases: list[str] = []
        for term in lexicon.terms:
            key = f"{term.label}|{term.value or ''}|{term.pattern}"
            self.entries[key] = term
            variants = [term.pattern]
            if term.plural and term.pattern[-1:].isalpha():
                words = term.pattern.split()
                variants.append(" ".join([*words[:-1], _plural(words[-1])]))
            keys += [key] * len(variants)
            phrases += variants
        # the ConText cues ride in the same matcher (one pass over the note); their matches are left in
        # doc.user_data["cue_matches"] for scribe_context
        for key, rule in context_rules(lexicon).items():
            keys.append(key)
            phrases.append(rule.literal)
        by_key: dict[str, list[Doc]] = {}
        for key, d in zip(keys, pattern_docs(nlp, normalizer, phrases), strict=True):
            by_key.setdefault(key, []).append(d)
        for key, docs in by_key.items():
            self.matcher.add(key, docs)
        # the matcher reports each key by its string hash: label, value and rule by that hash
        strings = nlp.vocab.strings
        self.by_id: dict[int, tuple[str, str | None, str]] = {
            strings.add(key): (entry.label, entry.value, f"{entry.label}:{entry.pattern}")
            for key, entry in self.entries.items()
        }

    def __call__(self, doc: Doc) -> Doc:
        tab = table(doc)
        by_id = self.by_id
        # per label its spans as (start - end, start, match number, end, info): sorted as they are, longest
        # first, then leftmost, then in the matcher's order (the number keeps the info from being compared)
        by_label: dict[str, list[tuple[int, int, int, int, tuple[str, str | None, str]]]] = {}
        cue_matches: list[tuple[int, int, int]] = []
        for k, match in enumerate(self.matcher(doc)):
            match_id, start, end = match
            info = by_id.get(match_id)
            if info is None:
                cue_matches.append(match)
                continue
            got = by_label.get(info[0])
            if got is None:
                by_label[info[0]] = [(start - end, start, k, end, info)]
            else:
                got.append((start - end, start, k, end, info))
        # kept spans as (start, -end, number, end, info): sorted as they are, by start, longer first, then in
        # the order kept (label by label); a Term is made for each in that order
        kept: list[tuple[int, int, int, int, tuple[str, str | None, str]]] = []
        for spans in by_label.values():
            if len(spans) == 1:
                _, start, _, end, info = spans[0]
                kept.append((start, -end, len(kept), end, info))
                continue
            # keep spans that overlap nothing kept (as filter_spans). Kept spans are at least as long as any
            # later one, so a later span overlaps a kept one exactly when its first or last token is taken.
            spans.sort()
            taken: set[int] = set()
            for _, start, _, end, info in spans:
                if start in taken or end - 1 in taken:
                    continue
                if end - start == 1:
                    taken.add(start)
                else:
                    taken.update(range(start, end))
                kept.append((start, -end, len(kept), end, info))
        kept.sort()
        fuzzy_idx: set[int] = doc.user_data.get("fuzzy", set())
        any_fuzzy = bool(fuzzy_idx)
        text, idx, ends = tab.text, tab.idx, tab.ends
        terms: list[Term] = []
        for start, _, _, end, (label, value, rule) in kept:
            s_char, e_char = idx[start], ends[end - 1]
            terms.append(Term(
                label, value, start, end, s_char, e_char, text[s_char:e_char],
                any_fuzzy and any(i in fuzzy_idx for i in range(start, end)), rule,
            ))
        doc.user_data["terms"] = terms
        doc.user_data["cue_matches"] = cue_matches
        return doc


@Language.factory("scribe_terms", assigns=["doc.user_data"], requires=["token.norm"])
def make_terms(nlp: Language, name: str) -> TermMatcher:
    return TermMatcher(nlp, default_lexicon())
