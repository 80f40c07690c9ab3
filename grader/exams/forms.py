"""Drawing an exam form from the bank: allocation by weight, a seeded draw, seeded ordering.

The same content, seed and arguments always give the same form, which is how a classroom
sits one exam. Case-study questions are drawn and shown together, in their authored order.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable

from grader.content.loader import Content
from grader.content.model import Question
from grader.exams.blueprint import allocate

Unit = list[Question]  # one standalone question, or a case study's questions


def _units(questions: Iterable[Question]) -> list[Unit]:
    units: dict[str, Unit] = {}
    for q in questions:
        units.setdefault(q.case.id if q.case else q.id, []).append(q)
    return list(units.values())


def _fill(
    units: list[Unit],
    wanted: int,
    avoid: Collection[str],
    rng: random.Random,
    prefer_case_studies: bool,
) -> list[Unit]:
    """Pick units adding up to ``wanted`` questions, fresh ones first."""
    fresh = [u for u in units if not any(q.id in avoid for q in u)]
    seen = [u for u in units if any(q.id in avoid for q in u)]
    rng.shuffle(fresh)
    rng.shuffle(seen)
    if prefer_case_studies:  # stable sort keeps the shuffled order inside each group
        fresh.sort(key=lambda u: len(u) == 1)
        seen.sort(key=lambda u: len(u) == 1)
    picked: list[Unit] = []
    left = wanted
    pool = fresh + seen
    for unit in pool:
        if 0 < len(unit) <= left:
            picked.append(unit)
            left -= len(unit)
    if left > 0:  # only case studies larger than the gap remain: take the start of one
        for unit in pool:
            if not any(unit is p for p in picked) and len(unit) > left:
                picked.append(unit[:left])
                left = 0
                break
    return picked


def draw(
    content: Content,
    level: str,
    count: int,
    seed: int,
    *,
    domain: str | None = None,
    avoid: Collection[str] = frozenset(),
    only: Collection[str] | None = None,
    prefer_case_studies: bool = False,
) -> list[Question]:
    """Draw ``count`` questions of ``level`` for ``seed``.

    Counts per domain come from the level's weights by largest remainder (or all from
    ``domain``). Inside each domain the draw is seeded and prefers questions not in ``avoid``
    (the learner's recent attempts). ``only`` limits the pool (a drill of missed questions).
    A domain short of questions hands its gap to the others. The result is shuffled by the
    seed with case studies kept together.
    """
    lvl = content.level(level)
    pool = [q for q in content.questions_for(level, domain) if only is None or q.id in only]
    by_domain: dict[str, list[Question]] = {}
    for q in pool:
        by_domain.setdefault(q.domain, []).append(q)
    if domain is not None:
        weights = {domain: 1.0}
    else:
        weights = {d.id: d.weight for d in lvl.domains}
    wanted = allocate(min(count, len(pool)), weights) if pool else {}
    picked: list[Unit] = []
    remaining: dict[str, list[Unit]] = {}
    shortfall = 0
    for dom, n in wanted.items():
        rng = random.Random(f"{seed}:{level}:{dom}")
        units = _units(by_domain.get(dom, []))
        chosen = _fill(units, n, avoid, rng, prefer_case_studies)
        got = sum(len(u) for u in chosen)
        shortfall += n - got
        picked += chosen
        taken = {q.id for u in chosen for q in u}
        # a case study drawn in part leaves its tail available to fill other gaps
        remaining[dom] = [rest for u in units if (rest := [q for q in u if q.id not in taken])]
    if shortfall > 0:
        rng = random.Random(f"{seed}:{level}:spill")
        spare = [u for dom in wanted for u in remaining[dom]]
        picked += _fill(spare, shortfall, avoid, rng, prefer_case_studies)
    # Parts of one case study drawn separately are shown together, in authored order.
    merged: dict[str, Unit] = {}
    for unit in picked:
        merged.setdefault(unit[0].case.id if unit[0].case else unit[0].id, []).extend(unit)
    order = {q.id: i for i, q in enumerate(pool)}
    units = [sorted(u, key=lambda q: order[q.id]) for u in merged.values()]
    random.Random(f"{seed}:{level}:order").shuffle(units)
    return [q for unit in units for q in unit]
