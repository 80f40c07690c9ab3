"""Experiment statistics: A/B sample size, Bonferroni thresholds and false-alarm rates."""

from __future__ import annotations

import random

from grader.exams.generators import Generated, register
from grader.exams.generators._util import (
    ceil_safe,
    fix,
    near_int,
    num,
    numeric,
    pct,
    places,
)
from grader.exams.generators.drift import FEATURES, table

Z_ALPHA = 1.96  # two-sided α = 0.05
Z_BETA = 0.8416  # power 0.8


@register("ab_sample_size")
def ab_sample_size(rng: random.Random) -> Generated:
    """Per-arm sample size to detect a change between two proportions."""
    while True:
        p1 = rng.choice([2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30]) / 100
        lift = rng.choice([0.5, 1, 1.5, 2, 3, 4, 5]) / 100
        p2 = round(p1 + lift, 4)
        var = p1 * (1 - p1) + p2 * (1 - p2)
        raw = (Z_ALPHA + Z_BETA) ** 2 * var / (p2 - p1) ** 2
        if 300 <= raw <= 150_000 and not near_int(raw, 1e-6):
            break
    n = ceil_safe(raw)
    stem = (
        f"A recommender's click-through rate is p₁ = {num(p1)} ({pct(p1 * 100)}). The team "
        f"wants to detect a rise to p₂ = {num(p2)} ({pct(p2 * 100)}) in an A/B test with "
        f"two-sided α = 0.05 (z = {num(Z_ALPHA)}) and power 0.8 (z = {num(Z_BETA)}). Using "
        "n = (z_α + z_β)² · (p₁(1 − p₁) + p₂(1 − p₂)) / (p₁ − p₂)², how many users are needed "
        "in each arm? Round up to a whole number."
    )
    steps = [
        f"(z_α + z_β)² = ({num(Z_ALPHA)} + {num(Z_BETA)})² = {fix(Z_ALPHA + Z_BETA, 4)}² "
        f"= {fix((Z_ALPHA + Z_BETA) ** 2, 4)}.",
        f"p₁(1 − p₁) + p₂(1 − p₂) = {num(p1)} · {num(round(1 - p1, 4))} + {num(p2)} · "
        f"{num(round(1 - p2, 4))} = {fix(var, 6)}.",
        f"(p₁ − p₂)² = ({num(round(p2 - p1, 4))})² = {fix((p2 - p1) ** 2, 6)}.",
        f"n = {fix((Z_ALPHA + Z_BETA) ** 2, 4)} · {fix(var, 6)} / {fix((p2 - p1) ** 2, 6)} "
        f"= {fix(raw, 2)}, rounded up to {n:,} per arm ({2 * n:,} users in total).",
        "Smaller effects cost quadratically more users: halving the lift roughly quadruples n.",
    ]
    params = {"p1": p1, "p2": p2, "alpha": 0.05, "power": 0.8, "z_alpha": Z_ALPHA, "z_beta": Z_BETA}
    return numeric(stem, steps, n, None, params, unit="users per arm")


_ALPHAS = [0.05, 0.01, 0.1]
_TEST_COUNTS = [10, 12, 16, 20, 25, 30, 40, 50, 64, 80, 100, 120, 200]


@register("bonferroni_threshold")
def bonferroni_threshold(rng: random.Random) -> Generated:
    """Per-test significance threshold under the Bonferroni correction."""
    alpha = rng.choice(_ALPHAS)
    m = rng.choice(_TEST_COUNTS)
    value = alpha / m
    stem = (
        f"A drift monitor runs one KS test per feature on {m} features every day. The team "
        f"wants the family-wise false-alarm rate to stay at or below {num(alpha)}. With the "
        "Bonferroni correction, what threshold should each feature's p-value be compared "
        f"with? Give it {places(6)}."
    )
    steps = [
        "Bonferroni divides the family-wise level by the number of tests: α_per_test = α / m.",
        f"α_per_test = {num(alpha)} / {m} = {fix(value, 8)}.",
        f"A feature is flagged only when its p-value is below {fix(value, 6)}; the correction "
        "is conservative when the tests are correlated.",
    ]
    return numeric(stem, steps, value, 6, {"alpha": alpha, "m": m})


def _two_sig(x: float) -> float:
    return float(f"{x:.2g}")


@register("bonferroni_significant_count")
def bonferroni_significant_count(rng: random.Random) -> Generated:
    """How many listed p-values survive a Bonferroni correction."""
    alpha = 0.05
    m = rng.choice([20, 25, 30, 40, 50])
    k = rng.choice([6, 7, 8])
    threshold = alpha / m
    while True:
        hits = rng.randint(0, min(4, k))
        ps = [_two_sig(threshold * rng.uniform(0.03, 0.8)) for _ in range(hits)]
        ps += [_two_sig(threshold * rng.uniform(1.3, 60)) for _ in range(k - hits)]
        ps = [min(p, 0.2) for p in ps]
        clear = all(abs(p - threshold) / threshold >= 0.1 for p in ps)
        if clear and len(set(ps)) == k:
            break
    ps.sort()
    features = rng.sample(FEATURES, k)
    count = sum(p < threshold for p in ps)
    naive = sum(p < alpha for p in ps)
    stem = "\n\n".join(
        [
            f"A nightly job runs a KS drift test on each of {m} features. The {k} smallest "
            f"p-values are listed below; the other {m - k} features all have p > 0.2.",
            table(
                ["Feature", "p-value"],
                [[f"`{f}`", num(p)] for f, p in zip(features, ps, strict=True)],
            ),
            f"With a family-wise α = {num(alpha)} and the Bonferroni correction over all {m} "
            "tests, how many features are flagged as drifted? Answer as a whole number.",
        ]
    )
    rows = [
        [f"`{f}`", num(p), "yes" if p < threshold else "no"]
        for f, p in zip(features, ps, strict=True)
    ]
    steps = [
        f"Per-test threshold: {num(alpha)} / {m} = {fix(threshold, 6)}.",
        table(["Feature", "p-value", f"p < {fix(threshold, 6)}?"], rows),
        f"{count} feature{'s' if count != 1 else ''} pass the corrected threshold. Without "
        f"the correction {naive} would have been flagged at p < {num(alpha)} — with {m} tests "
        f"about {num(round(alpha * m, 2))} false alarms a night are expected even with no drift.",
    ]
    params = {"alpha": alpha, "m": m, "features": features, "p_values": ps}
    return numeric(stem, steps, count, None, params, unit="features")


@register("family_wise_false_alarm")
def family_wise_false_alarm(rng: random.Random) -> Generated:
    """Chance of at least one false alarm across m independent uncorrected tests."""
    alpha = rng.choice([0.05, 0.01, 0.1])
    m = rng.choice([5, 10, 15, 20, 30, 40, 60])
    value = 100 * (1 - (1 - alpha) ** m)
    stem = (
        f"A monitor runs {m} independent drift tests a day, each at α = {num(alpha)}, with no "
        "correction. If no feature has really drifted, what is the probability that at least "
        f"one test raises an alarm on a given day? Give it as a percentage {places(1)}."
    )
    steps = [
        f"Each test stays quiet with probability 1 − {num(alpha)} = {num(round(1 - alpha, 4))}.",
        f"All {m} stay quiet: {num(round(1 - alpha, 4))}^{m} = {fix((1 - alpha) ** m, 4)}.",
        f"At least one alarm: 1 − {fix((1 - alpha) ** m, 4)} = {fix(value / 100, 4)} "
        f"= {fix(value, 1)}%.",
        f"Bonferroni (α / m = {fix(alpha / m, 5)} per test) brings this back to at most "
        f"{num(alpha)}.",
    ]
    return numeric(stem, steps, value, 1, {"alpha": alpha, "m": m}, unit="%")
