"""Duration of failed conservative therapy, in weeks (months x 52/12, years x 52, days / 7; a
range gives its lower bound; "since <date>" counts days to the date of service), and the
modalities tried. How long the pain has lasted is not how long therapy was tried."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, timedelta

from scribe.models import Element, Evidence, Status
from scribe.nlp.types import Term
from scribe.numbers import NUMBER_STARTS, parse_date, parse_number, parse_spoken_date
from scribe.resolvers.view import View

UNIT_WEEKS = {
    "day": 1 / 7, "days": 1 / 7, "d": 1 / 7,
    "week": 1.0, "weeks": 1.0, "wk": 1.0, "wks": 1.0, "wk.": 1.0, "wks.": 1.0,
    "month": 52 / 12, "months": 52 / 12, "mo": 52 / 12, "mos": 52 / 12, "mo.": 52 / 12, "mths": 52 / 12,
    "year": 52.0, "years": 52.0, "yr": 52.0, "yrs": 52.0, "fortnight": 2.0, "fortnights": 2.0,
}
_PER_PERIOD = {"52": 1.0, "12": 52 / 12, "7": 1 / 7}  # "6/52", "3/12", "10/7"
_UNITS = frozenset(UNIT_WEEKS) | frozenset(_PER_PERIOD)
_SINCE = frozenset({"since"})
_SINCE_EVENT = re.compile(r"(?:then|that time|(?:the|her|his) (?:fall|injury|accident|event))\b", re.IGNORECASE)
_GLUED = re.compile(r"^x?(\d+(?:\.\d+)?)(days?|d|wks?|weeks?|mos?|months?|yrs?|years?)$")  # "6wks", "x10d"
_BEFORE_BLOCK = {"in", "within", "after", "every", "next", "q", "per", "last"}
_RANGE = {"-", "–", "to", "or"}
WINDOW = 14
_PAIN_AFTER = {"history", "pain", "symptoms", "back", "neck", "hx", "ache", "discomfort"}
# "4 weeks of radiation": the length of a cancer treatment, not of conservative care for the fracture
_ONCOLOGIC = frozenset({"radiation", "radiotherapy", "chemotherapy", "chemo", "xrt", "sbrt", "immunotherapy"})
_PAIN_LINK = {"for", "the", "past", "last", "over", "about", "approximately", "nearly", "almost", "around",
              "more", "than", "at", "least", "x", "of", "roughly", "some", "since", "lasting", "now",
              "started", "began", "begun", "start", "onset", "has", "had", "been", "present", "ongoing",
              "persisted", "persisting", "persists", "continued", "continuing", "lasted", "worsened", "worsening",
              "not", "improved", "resolved", "remained", "is", "was"}
_MONTH_DAY = re.compile(r"\s?(\d{1,2})/(\d{1,2})\b(?![/\d])")  # "since 9/1", no year
_X_NUM = re.compile(r"^x(\d+(?:\.\d+)?)$")


@dataclass
class Duration:
    weeks: float
    start: int  # token span
    end: int
    start_char: int
    end_char: int


_NOT_GLUED: set[str] = set()  # words seen that are no glued duration ("6wks"), across notes


def _glued(words: set[str]) -> set[str]:
    """The glued durations among ``words``; each distinct word is tested once per process."""
    if len(_NOT_GLUED) > 200_000:
        _NOT_GLUED.clear()
    out: set[str] = set()
    for w in words - _NOT_GLUED:
        if (w[:1].isdecimal() or (w[:1] == "x" and w[1:2].isdecimal())) and _GLUED.match(w):
            out.add(w)
        else:
            _NOT_GLUED.add(w)
    return out


def _durations(v: View) -> list[Duration]:
    tab = v.tab
    lowers = tab.lowers
    out: list[Duration] = []
    n = len(tab)
    # only the few tokens just before a unit word can start a duration: the union of [k - 8, k] over the unit
    # words k (in order, so each range starts past the one before: the union in order, without a set and a sort)
    wanted: list[int] = []
    glued = _glued(tab.unique_lowers)  # "6wks"
    past = 0
    for k in tab.positions(_UNITS | glued if glued else _UNITS):
        wanted.extend(range(max(past, k - 8), k + 1))
        past = k + 1
    skip_to = 0
    for i in wanted:
        if i < skip_to:
            continue
        low = lowers[i]
        first = low[:1]
        if not (first.isdecimal() or first == "x" or low in NUMBER_STARTS or low in glued):
            continue  # no branch below reads a number or a glued duration here (most tokens)
        g = _GLUED.match(low) if low in glued else None
        if g:
            w = float(g.group(1)) * UNIT_WEEKS[g.group(2)]
            out.append(Duration(w, i, i + 1, tab.idx[i], tab.ends[i]))
            skip_to = i + 1
            continue
        xm = _X_NUM.match(low) if first == "x" else None
        if xm:
            parsed: tuple[float, int] | None = (float(xm.group(1)), 1)
        elif first.isdecimal() or low in NUMBER_STARTS:  # the words parse_number can read
            parsed = parse_number(lowers[i : i + 7])  # "the last two and a half"
        else:
            parsed = None
        if parsed is None:
            continue
        value, used = parsed
        j = tab.past_space(i + used)  # "6\u00a0weeks", "6  weeks": a whitespace token between
        if j < n and lowers[j] in _RANGE and j + 1 < n:
            second = parse_number(lowers[j + 1 : j + 4])
            if second is not None:
                j = j + 1 + second[1]
        if j + 1 < n and lowers[j] in ("-", "+") and lowers[j + 1] in UNIT_WEEKS:
            j += 1  # "a six-week course", "6+ weeks"
        if j + 1 < n and lowers[j] == "/" and lowers[j + 1] in _PER_PERIOD and (j + 2 >= n or lowers[j + 2] != "/"):
            # British notation: "6/52" six weeks, "3/12" three months, "10/7" ten days (not a date "6/12/2025")
            out.append(Duration(value * _PER_PERIOD[lowers[j + 1]], i, j + 2, tab.idx[i], tab.ends[j + 1]))
            skip_to = j + 2
            continue
        if j < n and lowers[j] in UNIT_WEEKS:
            unit = lowers[j]
            end = j + 1
            if end + 2 < n and lowers[end] == "and" and lowers[end + 1] in ("a", "one") and \
                    lowers[end + 2] == "half":
                value += 0.5
                end += 3
            nxt = lowers[end : end + 2]
            aged = "old" in nxt or (nxt[:1] == ["-"] and "old" in lowers[end : end + 3])
            if unit.startswith(("year", "yr")) and aged:
                skip_to = end
                continue
            out.append(Duration(value * UNIT_WEEKS[unit], i, end, tab.idx[i], tab.ends[end - 1]))
            skip_to = end
    return out


_AGO = re.compile(r"\b(\d+(?:\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+"
                  r"(day|week|month|year)s?\s+ago\b", re.IGNORECASE)
_AGO_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
              "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_AGO_WEEKS = {"day": 1 / 7, "week": 1.0, "month": 52 / 12, "year": 52.0}


def _since_then(text: str, window_start: int, pos: int, dos: date | None) -> float | None:
    """Weeks meant by "since then": from the last date or "N weeks ago" named before it in the same
    section (within 300 characters); the date of service itself is not an anchor."""
    start = max(window_start, pos - 300)
    window = text[start:pos]
    best_at, weeks = -1, None
    for m in _AGO.finditer(window):
        n = m.group(1).lower()
        value = float(n) if n[0].isdecimal() else _AGO_WORDS[n]
        best_at, weeks = m.start(), value * _AGO_WEEKS[m.group(2).lower()]
    if dos is not None:
        offset = 0
        while (found := parse_date(window[offset:])) is not None:
            when, at = found[0], offset + found[1]
            offset += found[2]
            if at > best_at and when < dos and dos - when <= timedelta(days=3660):
                best_at, weeks = at, (dos - when).days / 7
    return weeks


def _since(v: View, dos: date | None) -> list[Duration]:
    out: list[Duration] = []
    tab = v.tab
    for k in tab.positions(_SINCE):
        start_char = tab.idx[k]
        tail = v.text[start_char + 6 : start_char + 60]
        event = _SINCE_EVENT.match(tail)
        if event:  # "since then", "since the fall": from the last date or "N weeks ago" named before it
            weeks = _since_then(v.text, v.section(k).body_start, start_char, dos)
            if weeks is not None:
                end_char = start_char + 6 + event.end()
                out.append(Duration(weeks, k, tab.token_at(end_char - 1) + 1, start_char, end_char))
            continue
        if dos is None:
            continue
        found = parse_date(tail)
        when: date | None = None
        end_char = 0
        if found is not None and found[1] <= 1:
            when, end_char = found[0], start_char + 6 + found[2]
        else:
            spoken = parse_spoken_date(tail, default_year=dos.year)
            if spoken is not None and spoken[1] <= 1:
                when, end_char = spoken[0], start_char + 6 + spoken[2]
            elif (md := _MONTH_DAY.match(tail)) is not None:  # "since 9/1": the date of service's year
                try:
                    when = date(dos.year, int(md.group(1)), int(md.group(2)))
                except ValueError:
                    continue
                end_char = start_char + 6 + md.end()
            if when is not None and when > dos:  # a date said without its year is the last one before
                when = when.replace(year=when.year - 1, day=min(when.day, 28) if when.month == 2 else when.day)
        if when is None or when > dos or dos - when > timedelta(days=3660):
            continue
        out.append(Duration((dos - when).days / 7, k, tab.token_at(end_char - 1) + 1, start_char, end_char))
    return out


_BARE_FAILED = {"failed", "fail", "despite", "tried"}
_AFTER_BLOCK = {"ago", "later", "after", "post", "postoperatively", "old"}
_ENDED = frozenset({"completed", "finished", "ended", "stopped", "discontinued", "concluded", "done"})


def _ended_ago(lowers: list[str], d: Duration) -> bool:
    """"radiation completed 3 weeks ago" dates the end of a therapy; it is not how long it lasted."""
    return d.end < len(lowers) and lowers[d.end] == "ago" and bool(_ENDED & set(lowers[max(0, d.start - 3) : d.start]))


_EVENT = frozenset({"fracture", "fractures", "fx", "fall", "fell", "injury", "injured", "accident", "trauma",
                    "diagnosed", "diagnosis", "collapse"})
_OUT_FROM = frozenset({"from", "since", "after", "post", "of"})


def _event_age(v: View, therapy_terms: list[Term], d: Duration) -> bool:
    """"fracture 10 weeks ago", "6 weeks out from her fall": how old the fracture is, not how long therapy was
    tried (an event word within the four words before "N ago", no therapy term between; "N weeks out from")"""
    lowers = v.tab.lowers
    after = lowers[d.end : d.end + 2]
    if after[:1] == ["out"] and after[1:2] and after[1] in _OUT_FROM:
        return True
    if after[:1] != ["ago"]:
        return False
    sid = v.sent_id[d.start]
    ev = [j for j in range(max(0, d.start - 4), d.start) if lowers[j] in _EVENT and v.sent_id[j] == sid]
    return bool(ev) and not any(ev[-1] < t.start < d.start for t in therapy_terms)


_SUCCESS = frozenset({"healed", "resolved", "successful", "successfully", "relieved", "effective", "recovered"})


def _succeeded(v: View, failed_at: _ByStart, d: Duration) -> bool:
    """"treated conservatively with a brace for 3 months in 2021, which healed": care that worked is no failed
    conservative therapy (a success word in the ten words after the duration, no failure word in the sentence)."""
    lowers = v.tab.lowers
    if _SUCCESS.isdisjoint(lowers[d.end : d.end + 10]):
        return False  # no success word in the ten words, in the sentence or not (most)
    sid = v.sent_id[d.start]
    after = [w for j, w in enumerate(lowers[d.end : d.end + 10], d.end) if v.sent_id[j] == sid]
    if not _SUCCESS.intersection(after):
        return False
    ids = v.sent_id
    lo, hi = bisect_left(ids, sid, 0, d.start), bisect_right(ids, sid, d.end)
    return not failed_at.starting(lo, hi - 1)


def _checked_failed_field(v: View, anchors: tuple[_ByStart, ...], d: Duration) -> bool:
    """A checked form option ("Duration failed:  ☐ < 4 weeks   ☒ > 6 weeks") on a line whose label names the
    failed or conservative care."""
    if not v.form.is_checked(d.start_char):
        return False
    line_start = v.text.rfind("\n", 0, d.start_char) + 1
    lo = v.tab.token_at(line_start)
    return any(line_start <= t.start_char < d.start_char for at in anchors for t in at.starting(lo, d.start))


def _failed_right_before(v: View, failed_terms: list[Term], d: Duration) -> bool:
    """A terse "failed 6 weeks." names the failed conservative care without naming a therapy."""
    lowers = v.tab.lowers
    if d.end < len(lowers) and lowers[d.end] in _AFTER_BLOCK:
        return False
    return any(f.end == d.start and f.text.lower() in _BARE_FAILED for f in failed_terms)


_STARTED = frozenset({"started", "began", "begun", "initiated", "commenced", "placed", "fitted", "prescribed"})
_ON = frozenset({"on"})


def _started_on(v: View, dos: date | None) -> list[Duration]:
    """"placed in a TLSO on 09/01/2025", "started physical therapy on 9/3/2025": a therapy begun on a dated
    day has lasted from then to the date of service (as "since <date>"); the start word within the six
    words before "on", in the same sentence."""
    if dos is None:
        return []
    out: list[Duration] = []
    tab = v.tab
    lowers = tab.lowers
    for k in tab.positions(_ON):
        if _STARTED.isdisjoint(lowers[max(0, k - 6) : k]):
            continue  # no start word before it (most): the sentence test below cannot pass
        sid = v.sent_id[k]
        if not any(lowers[j] in _STARTED and v.sent_id[j] == sid for j in range(max(0, k - 6), k)):
            continue
        start_char = tab.idx[k]
        tail = v.text[start_char + 2 : start_char + 40]
        found = parse_date(tail)
        if found is None or found[1] > 1:
            continue
        when, end_char = found[0], start_char + 2 + found[2]
        if when > dos or dos - when > timedelta(days=3660):
            continue
        out.append(Duration((dos - when).days / 7, k, tab.token_at(end_char - 1) + 1, start_char, end_char))
    return out


class _ByStart:
    """Terms in text order, found by where they start: each duration looks only at the terms near it (a
    scan of every term per duration is quadratic on a note of thousands of "6 weeks of bracing")."""

    def __init__(self, terms: list[Term]) -> None:
        self.terms = terms
        self.starts = [t.start for t in terms]
        self.longest = max([t.end - t.start for t in terms], default=0)

    def starting(self, lo: int, hi: int) -> list[Term]:
        """The terms starting at a token in [lo, hi], in order."""
        return self.terms[bisect_left(self.starts, lo) : bisect_right(self.starts, hi)]

    def ending(self, lo: int, hi: int) -> list[Term]:
        """The terms that may end at a token in [lo, hi] (a superset, in order: filter on ``end``)."""
        return self.starting(lo - self.longest, hi)


def resolve_therapy(v: View, dos: date | None) -> Element:
    candidates = _durations(v) + _since(v, dos) + _started_on(v, dos)
    best: tuple[int, float, int, Duration] | None = None
    lowers = v.tab.lowers
    therapy_terms = v.terms_of("THERAPY")
    failed_terms = v.terms_of("FAILED")
    followups = v.terms_of("FOLLOWUP")
    pains = v.terms_of("PAIN")
    form = v.form
    if candidates:  # (the indexes serve only the candidates)
        therapy_at, failed_at = _ByStart(therapy_terms), _ByStart(failed_terms)
        followup_at, pain_at = _ByStart(followups), _ByStart(pains)
    for d in candidates:
        sid = v.sent_id[d.start]
        if v.section_name(d.start) == "PLAN" or v.has(d.start, d.end, "hypothetical"):
            continue
        if form.void and form.is_void(d.start_char):
            continue  # "☐ 4–6 weeks": an unchecked option states nothing
        if _succeeded(v, failed_at, d):
            continue
        if form.checked and _checked_failed_field(v, (failed_at, therapy_at), d):
            best_checked = (9, round(d.weeks, 2), -d.start, d)
            if best is None or best_checked[:3] > best[:3]:
                best = best_checked
            continue
        # "2 months of pain medication", "6 weeks of a TLSO brace" (not "3 months of pain despite NSAIDs":
        # no pain word between "of" and the therapy)
        of_therapy = d.end < len(lowers) and lowers[d.end] == "of" and any(
            t.start in (d.end + 1, d.end + 2, d.end + 3) and not _PAIN_AFTER.intersection(lowers[d.end + 1 : t.start])
            for t in therapy_at.starting(d.end + 1, d.end + 3))
        if d.start > 0 and lowers[d.start - 1] in _BEFORE_BLOCK and not (
                lowers[d.start - 1] == "after" and of_therapy):  # "after 3 months of bracing" still counts
            continue
        if any(f.end <= d.start and d.start - f.end <= 4 and v.sent_id[f.start] == sid
               for f in followup_at.ending(d.start - 4, d.start)):
            continue
        if _ended_ago(lowers, d) or _event_age(v, therapy_at.starting(d.start - 4, d.start), d):
            continue
        near = [t for t in therapy_at.starting(d.start - WINDOW, d.start + WINDOW)
                if v.sent_id[t.start] == sid and abs(t.start - d.start) <= WINDOW]
        if not near and not _failed_right_before(v, failed_at.ending(d.start, d.start), d):
            continue
        after = lowers[d.end : d.end + 3]
        if after[:1] and (after[0] in _PAIN_AFTER or (after[0] in ("of", "-") and after[1:2]
                                                       and after[1] in _PAIN_AFTER)) and not of_therapy:
            continue  # "a 5-month history of pain", but "2 months of pain medication" is therapy
        if after[:1] == ["of"] and _ONCOLOGIC & set(lowers[d.end + 1 : d.end + 3]):
            continue
        pain_before = [p for p in pain_at.ending(d.start - 5, d.start)
                       if p.end <= d.start and d.start - p.end <= 5 and v.sent_id[p.start] == sid]
        if pain_before and not of_therapy and all(w in _PAIN_LINK for w in lowers[pain_before[-1].end : d.start]):
            continue  # "pain for more than 2 years", "symptomatic for 6 weeks despite a brace": how long the pain
            # lasted (not "the pain has not improved over 6 weeks of bracing")
        score = 1
        if any(v.sent_id[f.start] == sid and abs(f.start - d.start) <= WINDOW
               for f in failed_at.starting(d.start - WINDOW, d.start + WINDOW)):
            score += 2
        if d.end < len(lowers) and lowers[d.end] == "of" and any(t.start in (d.end + 1, d.end + 2, d.end + 3)
                                                               for t in near):
            score += 2
        if any(abs(t.start - d.end) <= 3 or abs(d.start - t.end) <= 3 for t in near):
            score += 1
        # equally well-anchored therapies: the longest one is how long conservative care lasted
        if best is None or (score, round(d.weeks, 2), -d.start) > best[:3]:
            best = (score, round(d.weeks, 2), -d.start, d)
    if best is None:
        modalities, ev = _modalities(v, None)
        el = Element.of(value=None, status=Status.MISSING, evidence=ev)
        el.detail["modalities"] = modalities
        therapy_sents = {v.sent_id[t.start] for t in therapy_terms}
        el.detail["failure_stated"] = any(v.sent_id[f.start] in therapy_sents for f in failed_terms)
        return el
    d = best[3]
    for c in candidates if v.keep_mentions else ():  # (batch output keeps none)
        v.record("conservative_therapy", round(c.weeks, 2), c.start_char, c.end_char, c.start, c.end,
                 c is d)
    modalities, ev = _modalities(v, d)
    evidence = [v.evidence(d.start_char, d.end_char, "duration", tok=d.start), *ev]  # (it starts at d.start)
    return Element.of(value={"weeks": round(d.weeks, 2), "modalities": modalities}, status=Status.FOUND,
                   evidence=evidence)


def _modalities(v: View, d: Duration | None) -> tuple[list[str], list[Evidence]]:
    order = ["analgesics", "opioids", "nsaids", "bracing", "bed_rest", "physical_therapy", "calcitonin",
             "activity_modification", "other"]
    found: dict[str, Evidence] = {}
    ids = v.sent_id
    # the therapy terms' own tests first (position, sentence), the section's last
    if d is not None:
        sid = ids[d.start]
        terms = [t for t in v.terms_of("THERAPY") if ids[t.start] == sid and abs(t.start - d.start) <= 2 * WINDOW]
    else:
        failed_sents = {ids[f.start] for f in v.terms_of("FAILED")}
        terms = [t for t in v.terms_of("THERAPY") if ids[t.start] in failed_sents]
    for t in terms:
        if not t.value or v.section_name(t.start) == "PLAN":
            continue
        if t.value not in found:
            found[t.value] = v.term_evidence(t)
    mods = [m for m in order if m in found]
    return mods, [found[m] for m in mods]
