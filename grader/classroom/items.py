"""Item analysis (classical test theory, as in Moodle's quiz statistics).

For every question of a form sat by ``n`` candidates:

- facility ``p``: the share answering correctly (useful items sit between 0.3 and 0.7);
- discrimination: the point-biserial correlation between the item score (0/1) and the
  rest-of-test score (the candidate's total minus this item), population formulas;
  ≥ 0.25 is good, negative means a suspect key;
- upper-lower index ``D``: facility in the upper 27% minus facility in the lower 27%, the
  groups ranked by total score (ties broken by candidate name), each
  ``max(1, floor(0.27 n + 0.5))`` candidates (at most half of ``n``);
- distractor analysis: the share choosing each option overall and in the two groups. A
  distractor chosen by nobody is *dead*; a distractor chosen more by the upper group than the
  lower is a possible second key, and flags the item's key as *suspect*.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

GOOD_DISCRIMINATION = 0.25
USEFUL_FACILITY = (0.3, 0.7)
GROUP_SHARE = 0.27


@dataclass(frozen=True)
class ItemSpec:
    """One question of the form: its options (choice kinds) and key."""

    question_id: str
    domain: str
    kind: str
    options: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    texts: dict[str, str] = field(default_factory=dict)
    position: int = 0


@dataclass(frozen=True)
class Response:
    """One candidate's answer to one question; ``chosen`` is None when left blank."""

    candidate: str
    question_id: str
    correct: bool
    chosen: tuple[str, ...] | None


@dataclass(frozen=True)
class OptionStats:
    id: str
    text: str
    key: bool
    count: int
    share: float
    upper_share: float | None
    lower_share: float | None
    dead: bool
    suspect: bool


@dataclass(frozen=True)
class ItemStats:
    question_id: str
    domain: str
    kind: str
    position: int
    n: int
    facility: float | None
    discrimination: float | None
    upper_lower: float | None
    blank_share: float
    options: list[OptionStats]
    flags: list[str]
    notes: list[str]

    @property
    def band(self) -> str:
        """``hard`` below 0.3, ``easy`` above 0.7, else ``useful``."""
        if self.facility is None:
            return "-"
        low, high = USEFUL_FACILITY
        return "hard" if self.facility < low else "easy" if self.facility > high else "useful"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["band"] = self.band
        return data


def group_size(n: int) -> int:
    """How many candidates each of the upper and lower groups holds."""
    if n < 2:
        return 0
    return min(n // 2, max(1, math.floor(GROUP_SHARE * n + 0.5)))


def point_biserial(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson correlation of ``x`` and ``y`` (population); None when either is constant."""
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / n
    vx = sum((a - mx) ** 2 for a in x) / n
    vy = sum((b - my) ** 2 for b in y) / n
    if vx <= 1e-12 or vy <= 1e-12:
        return None
    return cov / math.sqrt(vx * vy)


def analyse(specs: Sequence[ItemSpec], responses: Iterable[Response]) -> list[ItemStats]:
    """Statistics for every item in ``specs``; a candidate with no response to an item scores
    0 on it (blank)."""
    table: dict[str, dict[str, Response]] = {}
    for r in responses:
        table.setdefault(r.candidate, {})[r.question_id] = r
    candidates = sorted(table)
    n = len(candidates)
    ids = [s.question_id for s in specs]

    def score(c: str, qid: str) -> int:
        r = table[c].get(qid)
        return int(bool(r and r.correct))

    totals = {c: sum(score(c, q) for q in ids) for c in candidates}
    ranked = sorted(candidates, key=lambda c: (-totals[c], c))
    g = group_size(n)
    upper, lower = ranked[:g], ranked[n - g :] if g else []
    out = []
    for spec in specs:
        q = spec.question_id
        x = [score(c, q) for c in candidates]
        rest = [totals[c] - xi for c, xi in zip(candidates, x, strict=True)]
        facility = sum(x) / n if n else None
        r = point_biserial(x, rest)
        d = None
        if g:
            d = (sum(score(c, q) for c in upper) - sum(score(c, q) for c in lower)) / g
        blank = sum(1 for c in candidates if (table[c].get(q) or _BLANK).chosen is None)
        options = _options(spec, table, candidates, upper, lower)
        flags, notes = _flags(r, options)
        out.append(
            ItemStats(
                question_id=q,
                domain=spec.domain,
                kind=spec.kind,
                position=spec.position,
                n=n,
                facility=facility,
                discrimination=r,
                upper_lower=d,
                blank_share=blank / n if n else 0.0,
                options=options,
                flags=flags,
                notes=notes,
            )
        )
    return out


_BLANK = Response("", "", False, None)


def _chose(table: dict[str, dict[str, Response]], c: str, q: str, option: str) -> bool:
    chosen = (table[c].get(q) or _BLANK).chosen
    return chosen is not None and option in chosen


def _options(
    spec: ItemSpec,
    table: dict[str, dict[str, Response]],
    candidates: list[str],
    upper: list[str],
    lower: list[str],
) -> list[OptionStats]:
    if spec.kind not in ("single", "multiple"):
        return []
    n = len(candidates)
    out = []
    for option in spec.options:
        count = sum(_chose(table, c, spec.question_id, option) for c in candidates)
        up = (
            sum(_chose(table, c, spec.question_id, option) for c in upper) / len(upper)
            if upper
            else None
        )
        low = (
            sum(_chose(table, c, spec.question_id, option) for c in lower) / len(lower)
            if lower
            else None
        )
        is_key = option in spec.key
        out.append(
            OptionStats(
                id=option,
                text=spec.texts.get(option, ""),
                key=is_key,
                count=count,
                share=count / n if n else 0.0,
                upper_share=up,
                lower_share=low,
                dead=not is_key and n > 0 and count == 0,
                suspect=not is_key and up is not None and low is not None and up > low,
            )
        )
    return out


def _flags(r: float | None, options: list[OptionStats]) -> tuple[list[str], list[str]]:
    flags: list[str] = []
    notes: list[str] = []
    suspects = [o for o in options if o.suspect]
    if (r is not None and r < 0) or suspects:
        flags.append("suspect_key")
        if r is not None and r < 0:
            notes.append(
                f"negative discrimination ({r:.2f}): weaker candidates get it right more often"
            )
        for o in suspects:
            notes.append(
                f"distractor {o.id} is chosen more by the upper group ({o.upper_share:.0%}) than "
                f"the lower ({o.lower_share:.0%}): a possible second key"
            )
    dead = [o.id for o in options if o.dead]
    if dead:
        flags.append("dead_distractor")
        notes.append(f"nobody chose {', '.join(dead)}: replace or remove")
    if r is not None and 0 <= r < GOOD_DISCRIMINATION:
        flags.append("low_discrimination")
        notes.append(f"discrimination {r:.2f} is below {GOOD_DISCRIMINATION}")
    return flags, notes


def chosen_options(kind: str, response: Any) -> tuple[str, ...] | None:
    """The option ids a stored response chose (None when blank; () for numeric/ordering)."""
    if response is None:
        return None
    if kind == "single":
        return (str(response),)
    if kind == "multiple":
        return tuple(str(r) for r in response)
    return ()
