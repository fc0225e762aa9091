"""Reproducible, optionally stratified, sampling of notes for a coder spot-audit.

Pure functions over ``(note_id, procedure_type)`` pairs. The same items, size and seed always give
the same sample (``random.Random(seed)``; strata and items are visited in a fixed order).

Stratified sampling uses proportional allocation: each ``procedure_type`` (``None`` is the
stratum ``"none"``: notes that are not procedure notes) gets a share of the sample proportional
to its size, every stratum gets at least one note when the sample size allows it (``n`` at
least the number of strata), and no stratum is asked for more notes than it has.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

NONE_STRATUM = "none"


class SamplePlan(BaseModel):
    """What was drawn: the sampled ids (in input order) and the allocation per stratum."""

    model_config = ConfigDict(extra="forbid")

    seed: int
    requested: int | None
    stratified: bool
    population: dict[str, int]  # stratum -> notes available
    allocation: dict[str, int]  # stratum -> notes drawn
    note_ids: list[str]


def stratum_of(procedure_type: str | None) -> str:
    return procedure_type or NONE_STRATUM


def allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Proportional allocation of ``n`` draws over strata of the given sizes.

    Every non-empty stratum gets one draw first when ``n`` covers them all; the remaining draws
    go one at a time to the stratum furthest below its proportional share ``n * size / total``
    (ties: larger stratum, then name), never beyond a stratum's size.
    """
    strata = sorted(s for s, size in sizes.items() if size > 0)
    total = sum(sizes[s] for s in strata)
    n = max(0, min(n, total))
    alloc = dict.fromkeys(sorted(sizes), 0)
    if n == 0:
        return alloc
    if n >= len(strata):
        for s in strata:
            alloc[s] = 1
    while sum(alloc.values()) < n:
        open_strata = [s for s in strata if alloc[s] < sizes[s]]
        best = min(open_strata, key=lambda s: (-(n * sizes[s] / total - alloc[s]), -sizes[s], s))
        alloc[best] += 1
    return alloc


def sample_notes(
    items: Sequence[tuple[str, str | None]], n: int | None, seed: int = 0, stratify: bool = True
) -> SamplePlan:
    """Draw ``n`` note ids (all of them when ``n`` is None or at least the population).

    ``items`` are ``(note_id, procedure_type)`` pairs; note ids are expected to be unique. The
    returned ids keep the order of ``items``.
    """
    if n is not None and n < 0:
        raise ValueError("sample size must be >= 0")
    population: dict[str, int] = {}
    for _, proc in items:
        population[stratum_of(proc)] = population.get(stratum_of(proc), 0) + 1
    population = dict(sorted(population.items()))
    rng = random.Random(seed)
    if n is None or n >= len(items):
        chosen = {nid for nid, _ in items}
        alloc = dict(population)
    elif stratify:
        alloc = allocate(population, n)
        chosen = set()
        for s in sorted(alloc):
            ids = [nid for nid, proc in items if stratum_of(proc) == s]
            chosen.update(rng.sample(ids, alloc[s]))
    else:
        chosen = set(rng.sample([nid for nid, _ in items], n))
        alloc = dict.fromkeys(population, 0)
        for nid, proc in items:
            if nid in chosen:
                alloc[stratum_of(proc)] += 1
    return SamplePlan(seed=seed, requested=n, stratified=stratify, population=population,
                      allocation=alloc, note_ids=[nid for nid, _ in items if nid in chosen])
