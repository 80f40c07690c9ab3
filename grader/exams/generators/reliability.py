"""Reliability: SLO error budgets and burn rates."""

from __future__ import annotations

import random

from grader.exams.generators import Generated, register
from grader.exams.generators._util import fix, num, numeric, pct, places

_SLOS = [99.0, 99.5, 99.9, 99.95, 99.99]


def _budget_fraction(slo_pct: float) -> float:
    return (100 - slo_pct) / 100


@register("error_budget_minutes")
def error_budget_minutes(rng: random.Random) -> Generated:
    """Allowed downtime minutes for an availability SLO over a window (optionally what remains)."""
    slo = rng.choice(_SLOS)
    days = rng.choice([7, 28, 30, 90])
    minutes = days * 24 * 60
    budget = _budget_fraction(slo) * minutes
    incidents: list[int] = []
    if budget >= 20 and rng.random() < 0.5:
        while not incidents or sum(incidents) >= budget:
            incidents = [rng.randint(2, max(3, int(budget / 2))) for _ in range(rng.randint(1, 3))]
    steps = [
        f"The window has {days} · 24 · 60 = {minutes:,} minutes.",
        f"The error budget is the share the SLO allows to fail: 100% − {num(slo)}% = "
        f"{num(round(100 - slo, 4))}% = {num(round(_budget_fraction(slo), 6))}.",
        f"Budget = {num(round(_budget_fraction(slo), 6))} · {minutes:,} = {fix(budget, 2)} "
        "minutes.",
    ]
    stem = (
        f"An online inference API has an availability SLO of {pct(slo)} measured over a "
        f"rolling {days}-day window (time-based: each minute is either up or down). "
    )
    if incidents:
        used = sum(incidents)
        answer = budget - used
        listed = ", ".join(f"{d} min" for d in incidents)
        stem += (
            f"In the current window it has already been down for {listed}. How many minutes of "
            f"error budget remain? Give the answer {places(2)}."
        )
        spent = " + ".join(map(str, incidents)) + (f" = {used}" if len(incidents) > 1 else "")
        steps.append(
            f"Already used: {spent} minutes; remaining {fix(budget, 2)} − {used} = "
            f"{fix(answer, 2)} minutes."
        )
        params: dict[str, object] = {"slo_pct": slo, "days": days, "incidents_min": incidents}
    else:
        answer = budget
        stem += f"How many minutes of downtime does the error budget allow? Give it {places(2)}."
        params = {"slo_pct": slo, "days": days}
    return numeric(stem, steps, answer, 2, params, unit="min")


def _errors_for(rng: random.Random, slo: float, low: float, high: float) -> tuple[int, int]:
    while True:
        requests = rng.randint(50, 2_000) * 1_000
        errors = round(rng.uniform(low, high) * _budget_fraction(slo) * requests)
        if errors >= 3:
            return requests, errors


@register("error_budget_burn_rate")
def error_budget_burn_rate(rng: random.Random) -> Generated:
    """Burn rate from an observed error ratio and the SLO."""
    slo = rng.choice(_SLOS[:4])
    requests, errors = _errors_for(rng, slo, 0.3, 20)
    ratio = errors / requests
    burn = ratio / _budget_fraction(slo)
    stem = (
        f"A model endpoint has a request-success SLO of {pct(slo)}. In the last hour it served "
        f"{requests:,} requests, of which {errors:,} failed. What is the error-budget burn "
        f"rate over that hour? Give it {places(2)}."
    )
    steps = [
        f"Observed error ratio = {errors:,} / {requests:,} = {fix(ratio, 6)}.",
        f"Allowed error ratio = 100% − {num(slo)}% = {num(round(_budget_fraction(slo), 6))}.",
        f"Burn rate = observed / allowed = {fix(ratio, 6)} / "
        f"{num(round(_budget_fraction(slo), 6))} = {fix(burn, 4)}.",
        "A burn rate of 1 spends exactly the budget over the SLO window; the SRE workbook pages "
        "at 14.4 over one hour (2% of a 30-day budget gone in an hour).",
    ]
    params = {"slo_pct": slo, "requests": requests, "errors": errors}
    return numeric(stem, steps, burn, 2, params)


@register("error_budget_exhaustion_hours")
def error_budget_exhaustion_hours(rng: random.Random) -> Generated:
    """Hours until the remaining error budget is gone at the current burn rate."""
    slo = rng.choice(_SLOS[:4])
    days = rng.choice([28, 30])
    remaining = rng.choice([100, 80, 60, 50, 25])
    requests, errors = _errors_for(rng, slo, 1.5, 30)
    ratio = errors / requests
    burn = ratio / _budget_fraction(slo)
    window_h = days * 24
    hours = remaining / 100 * window_h / burn
    stem = (
        f"A serving platform has a {pct(slo)} request-success SLO over a {days}-day window, and "
        f"{remaining}% of this window's error budget is left. Over the last hour {errors:,} of "
        f"{requests:,} requests failed. If failures continue at that rate, in how many hours "
        f"is the remaining budget exhausted? Give it {places(1)}."
    )
    steps = [
        f"Burn rate = ({errors:,} / {requests:,}) / {num(round(_budget_fraction(slo), 6))} "
        f"= {fix(ratio, 6)} / {num(round(_budget_fraction(slo), 6))} = {fix(burn, 4)}.",
        f"At burn rate 1 the whole budget lasts the window, {days} · 24 = {window_h} hours; at "
        f"burn rate {fix(burn, 4)} it lasts {window_h} / {fix(burn, 4)} = "
        f"{fix(window_h / burn, 2)} hours.",
        f"Only {remaining}% is left: {remaining / 100:g} · {fix(window_h / burn, 2)} = "
        f"{fix(hours, 2)} hours.",
    ]
    params = {
        "slo_pct": slo,
        "days": days,
        "remaining_pct": remaining,
        "requests": requests,
        "errors": errors,
    }
    return numeric(stem, steps, hours, 1, params, unit="h")
