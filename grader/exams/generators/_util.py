"""Helpers shared by the generators: number formatting, rounding words and question builders.

Standard library only: the exam screen imports the generators and must open fast.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal
from typing import Any

from grader.exams.generators import Generated

_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
OPTION_IDS = "abcd"


def places(d: int) -> str:
    """The rounding instruction for ``d`` decimals, e.g. ``to three decimal places``."""
    return f"to {_WORDS[d]} decimal place" + ("" if d == 1 else "s")


def tolerance(d: int) -> float:
    """Absolute tolerance for an answer rounded to ``d`` decimals: one unit in the last place."""
    return float(f"1e-{d}")


def num(x: float) -> str:
    """A stated number: thousands separators, no exponent, no trailing zeros."""
    if float(x).is_integer():
        return f"{int(x):,}"
    text = format(Decimal(repr(float(x))), "f")
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}.{frac}"


def fix(x: float, d: int) -> str:
    """``x`` with exactly ``d`` decimals and thousands separators."""
    return f"{x:,.{d}f}"


def pct(x: float) -> str:
    """A stated percentage, e.g. ``99.9%``."""
    return f"{num(x)}%"


def ceil_safe(x: float) -> int:
    """Ceiling that ignores floating-point noise just above an integer."""
    return math.ceil(x - 1e-9)


def near_int(x: float, margin: float) -> bool:
    """True when ``x`` is close to, but not exactly, an integer (an ambiguous ceiling)."""
    gap = abs(x - round(x))
    return 1e-9 < gap < margin


def composition(rng: random.Random, k: int, total: int = 100, minimum: int = 3) -> list[int]:
    """``k`` random positive integers, each at least ``minimum``, summing to ``total``."""
    while True:
        cuts = sorted(rng.sample(range(1, total), k - 1))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        if min(parts) >= minimum:
            return parts


def perturb(rng: random.Random, parts: list[int], spread: int, minimum: int = 2) -> list[int]:
    """Shift each part by up to ``spread`` (keeping the total and the minimum)."""
    total = sum(parts)
    new = [max(minimum, p + rng.randint(-spread, spread)) for p in parts]
    diff = total - sum(new)
    while diff:
        i = rng.randrange(len(new))
        step = 1 if diff > 0 else -1
        if new[i] + step >= minimum:
            new[i] += step
            diff -= step
    return new


def signed_sum(terms: list[float], d: int) -> str:
    """``a + b − c`` with proper minus signs, each term to ``d`` decimals."""
    out = fix(terms[0], d).replace("-", "−")
    for t in terms[1:]:
        out += f" {'−' if t < 0 else '+'} {fix(abs(t), d)}"
    return out


_SINGULAR = {
    "replicas": "replica",
    "GPUs": "GPU",
    "pods": "pod",
    "features": "feature",
    "requests": "request",
    "users per arm": "user per arm",
}


def answer_line(text: str, unit: str = "") -> str:
    """The closing line of an explanation, e.g. ``**Answer: 3 GPUs**``."""
    if text == "1":
        unit = _SINGULAR.get(unit, unit)
    return f"**Answer: {text}{' ' + unit if unit else ''}**"


def numeric(
    stem: str,
    steps: list[str],
    answer: float,
    decimals: int | None,
    params: dict[str, Any],
    unit: str = "",
) -> Generated:
    """A numeric question; ``decimals=None`` means an exact whole number (tolerance 0)."""
    if decimals is None:
        value, tol, shown = float(int(answer)), 0.0, f"{int(answer):,}"
    else:
        value, tol = float(round(answer, decimals)), tolerance(decimals)
        shown = fix(answer, decimals)
    explanation = "\n\n".join([*steps, answer_line(shown, unit)])
    return Generated(
        kind="numeric",
        stem=stem,
        explanation=explanation,
        params=params,
        answer=value,
        tolerance=tol,
        unit=unit,
    )


def single(
    rng: random.Random,
    stem: str,
    steps: list[str],
    params: dict[str, Any],
    options: list[tuple[str, bool, str]],
) -> Generated:
    """A single-choice question from ``(text, correct, explanation)`` tuples, shuffled by rng."""
    if len(options) != len(OPTION_IDS) or sum(ok for _, ok, _ in options) != 1:
        raise ValueError("a single-choice question needs four options, exactly one correct")
    order = list(options)
    rng.shuffle(order)
    opts = [
        {"id": oid, "text": text, "correct": ok, "explanation": why}
        for oid, (text, ok, why) in zip(OPTION_IDS, order, strict=True)
    ]
    right = next(o for o in opts if o["correct"])
    explanation = "\n\n".join([*steps, answer_line(right["text"])])
    return Generated(kind="single", stem=stem, explanation=explanation, params=params, options=opts)
