"""Drift statistics: PSI, KL divergence, Wasserstein distance and the two-sample KS test."""

from __future__ import annotations

import math
import random

from grader.exams.generators import Generated, register
from grader.exams.generators._util import (
    composition,
    fix,
    num,
    numeric,
    perturb,
    places,
    signed_sum,
    single,
)

FEATURES = [
    "transaction_amount",
    "session_length_s",
    "account_age_days",
    "basket_size",
    "credit_utilisation",
    "days_since_last_login",
    "pages_per_visit",
    "merchant_risk_score",
]

PSI_STABLE = 0.1
PSI_MAJOR = 0.25


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def psi(ref: list[float], cur: list[float]) -> float:
    """PSI = Σ (cur − ref) · ln(cur / ref)."""
    return sum((c - r) * math.log(c / r) for r, c in zip(ref, cur, strict=True))


def psi_band(value: float) -> str:
    """The conventional PSI band name."""
    if value < PSI_STABLE:
        return "stable"
    return "moderate" if value <= PSI_MAJOR else "major"


def psi_working(ref: list[float], cur: list[float]) -> list[str]:
    """Explanation steps: a per-bin table of the PSI terms and their sum."""
    rows = []
    terms = []
    for i, (r, c) in enumerate(zip(ref, cur, strict=True), start=1):
        term = (c - r) * math.log(c / r)
        terms.append(term)
        rows.append(
            [str(i), fix(r, 4), fix(c, 4), fix(c - r, 4), fix(math.log(c / r), 4), fix(term, 4)]
        )
    head = ["Bin", "ref", "cur", "cur − ref", "ln(cur / ref)", "term"]
    total = sum(terms)
    return [
        "Each bin contributes (cur − ref) · ln(cur / ref). Both factors always share a sign, "
        "so every term is non-negative:",
        table(head, rows),
        "PSI = " + " + ".join(fix(t, 4) for t in terms) + f" = {fix(total, 4)}",
    ]


def _psi_data(rng: random.Random, spread: int) -> tuple[list[int], list[int]]:
    k = rng.choice([4, 5, 6])
    while True:
        ref = composition(rng, k, 100, 4)
        cur = perturb(rng, ref, spread, 2)
        if cur != ref:
            return ref, cur


@register("psi_from_bins")
def psi_from_bins(rng: random.Random) -> Generated:
    """PSI from reference and current bin shares."""
    feature = rng.choice(FEATURES)
    ref_parts, cur_parts = _psi_data(rng, rng.choice([2, 3, 5, 7, 9, 12]))
    ref = [p / 100 for p in ref_parts]
    cur = [p / 100 for p in cur_parts]
    value = psi(ref, cur)
    rows = [
        [str(i), fix(r, 2), fix(c, 2)]
        for i, (r, c) in enumerate(zip(ref, cur, strict=True), start=1)
    ]
    stem = "\n\n".join(
        [
            f"The feature `{feature}` was split into {len(ref)} bins on the training "
            "(reference) data. The share of rows in each bin, in the reference window and in "
            "last week's production traffic (current), is:",
            table(["Bin", "Reference share", "Current share"], rows),
            "Compute the Population Stability Index with the convention "
            "PSI = Σ (cur − ref) · ln(cur / ref), summed over the bins, with shares as "
            f"fractions and the natural logarithm. Give the PSI {places(3)}.",
        ]
    )
    steps = psi_working(ref, cur)
    steps.append(
        f"Rounded {places(3)}: {fix(value, 3)}. By the usual bands (< 0.1 stable, 0.1–0.25 "
        f"moderate, > 0.25 major) this is a **{psi_band(value)}** population."
    )
    params = {"feature": feature, "ref_shares": ref, "cur_shares": cur}
    return numeric(stem, steps, value, 3, params)


_BAND_TEXT = {
    "stable": "Stable (PSI < 0.1): no action beyond routine monitoring",
    "moderate": "Moderate shift (0.1 ≤ PSI ≤ 0.25): investigate the feature before acting",
    "major": "Major shift (PSI > 0.25): treat as significant drift; investigate and "
    "consider retraining",
}
_BAND_SPREAD = {"stable": [1, 2, 3], "moderate": [5, 6, 8], "major": [11, 14, 17]}
_PSI_DISTRACTORS = [
    (
        "No conclusion: PSI must first be converted into a p-value",
        "Wrong: PSI is a descriptive index read against conventional bands; it is not a test "
        "statistic and has no p-value.",
    ),
    (
        "No conclusion: the two windows have different row counts, so PSI cannot be compared",
        "Wrong: PSI compares shares, not counts, so windows of different sizes are fine once "
        "each count is divided by its window's total.",
    ),
]


@register("psi_band_decision")
def psi_band_decision(rng: random.Random) -> Generated:
    """Compute PSI from bin counts and choose the conventional band."""
    feature = rng.choice(FEATURES)
    target = rng.choice(list(_BAND_SPREAD))
    ref_total = rng.choice([5_000, 10_000, 20_000, 50_000])
    cur_total = rng.choice([1_000, 2_000, 4_000, 5_000, 8_000])
    while True:
        ref_parts, cur_parts = _psi_data(rng, rng.choice(_BAND_SPREAD[target]))
        value = psi([p / 100 for p in ref_parts], [p / 100 for p in cur_parts])
        clear = min(abs(value - PSI_STABLE), abs(value - PSI_MAJOR)) >= 0.01
        if psi_band(value) == target and clear:
            break
    ref_counts = [p * ref_total // 100 for p in ref_parts]
    cur_counts = [p * cur_total // 100 for p in cur_parts]
    ref = [c / ref_total for c in ref_counts]
    cur = [c / cur_total for c in cur_counts]
    rows = [
        [str(i), num(r), num(c)]
        for i, (r, c) in enumerate(zip(ref_counts, cur_counts, strict=True), start=1)
    ]
    rows.append(["Total", num(ref_total), num(cur_total)])
    stem = "\n\n".join(
        [
            f"A drift monitor bins the feature `{feature}` into {len(ref)} bins fixed on the "
            "training data. Row counts per bin in the reference window and in the current "
            "production window:",
            table(["Bin", "Reference rows", "Current rows"], rows),
            "Convert the counts to shares, compute PSI = Σ (cur − ref) · ln(cur / ref) with the "
            "natural logarithm, and choose what the conventional PSI bands say.",
        ]
    )
    steps = [
        f"Shares: divide each reference count by {num(ref_total)} and each current count by "
        f"{num(cur_total)}.",
        *psi_working(ref, cur),
        f"PSI ≈ {fix(value, 3)}, which falls in the **{psi_band(value)}** band "
        "(< 0.1 stable, 0.1–0.25 moderate, > 0.25 major; a credit-scoring convention, not a "
        "statistical test).",
    ]
    options: list[tuple[str, bool, str]] = []
    for band, text in _BAND_TEXT.items():
        if band == psi_band(value):
            why = f"Right: PSI = {fix(value, 3)} lies in this band."
        else:
            why = f"Wrong: PSI = {fix(value, 3)} lies in the {psi_band(value)} band, not this one."
        options.append((text, band == psi_band(value), why))
    distractors = _PSI_DISTRACTORS if ref_total != cur_total else _PSI_DISTRACTORS[:1]
    text, why = rng.choice(distractors)
    options.append((text, False, why))
    params = {
        "feature": feature,
        "ref_counts": ref_counts,
        "cur_counts": cur_counts,
        "ref_total": ref_total,
        "cur_total": cur_total,
    }
    return single(rng, stem, steps, params, options)


@register("kl_divergence")
def kl_divergence(rng: random.Random) -> Generated:
    """KL(P‖Q) from two binned distributions, in nats."""
    feature = rng.choice(FEATURES)
    while True:
        ref_parts, cur_parts = _psi_data(rng, rng.choice([4, 6, 9, 12]))
        ref = [p / 100 for p in ref_parts]
        cur = [p / 100 for p in cur_parts]
        if psi(ref, cur) >= 0.02:
            break
    if rng.random() < 0.5:
        p_name, q_name, p, q = "current", "reference", cur, ref
    else:
        p_name, q_name, p, q = "reference", "current", ref, cur
    value = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    rows = [
        [str(i), fix(r, 2), fix(c, 2)]
        for i, (r, c) in enumerate(zip(ref, cur, strict=True), start=1)
    ]
    stem = "\n\n".join(
        [
            f"Bin shares of the feature `{feature}` in the reference and current windows:",
            table(["Bin", "Reference share", "Current share"], rows),
            f"Take P = the {p_name} distribution and Q = the {q_name} distribution. Compute "
            "the Kullback–Leibler divergence KL(P‖Q) = Σ p · ln(p / q) in nats (natural "
            f"logarithm). Give it {places(3)}.",
        ]
    )
    rows2 = []
    terms = []
    for i, (pi, qi) in enumerate(zip(p, q, strict=True), start=1):
        term = pi * math.log(pi / qi)
        terms.append(term)
        rows2.append([str(i), fix(pi, 2), fix(qi, 2), fix(math.log(pi / qi), 4), fix(term, 4)])
    steps = [
        f"P is the {p_name} column, Q the {q_name} column. Each bin contributes p · ln(p / q); "
        "terms can be negative, the sum cannot:",
        table(["Bin", "p", "q", "ln(p / q)", "p · ln(p / q)"], rows2),
        f"KL(P‖Q) = {signed_sum(terms, 4)} = {fix(value, 4)}",
        "KL is asymmetric: swapping P and Q gives a different number, and an empty Q bin "
        "would make it infinite without an epsilon.",
    ]
    params = {"feature": feature, "p_name": p_name, "q_name": q_name, "p": p, "q": q}
    return numeric(stem, steps, value, 3, params)


@register("wasserstein_1d")
def wasserstein_1d(rng: random.Random) -> Generated:
    """Wasserstein-1 distance between two small samples of equal size."""
    n = rng.choice([5, 6, 8])
    base = rng.randint(40, 90)
    shift = rng.randint(-15, 25)
    ref = [base + rng.randint(-25, 25) for _ in range(n)]
    cur = [max(1, base + shift + rng.randint(-25, 25)) for _ in range(n)]
    rs, cs = sorted(ref), sorted(cur)
    diffs = [abs(a - b) for a, b in zip(rs, cs, strict=True)]
    value = sum(diffs) / n
    stem = (
        f"p95 latency samples (ms) of a model endpoint, {n} from the reference week and {n} "
        "from this week:\n\n"
        f"- reference: {', '.join(str(v) for v in ref)}\n"
        f"- current: {', '.join(str(v) for v in cur)}\n\n"
        "For two samples of equal size, the 1-D Wasserstein (earth mover's) distance is the "
        "mean absolute difference between the sorted samples, paired rank by rank. Compute it "
        f"in milliseconds, {places(2)}."
    )
    steps = [
        f"Sort both samples: reference {', '.join(map(str, rs))}; "
        f"current {', '.join(map(str, cs))}.",
        "Absolute differences rank by rank: "
        + ", ".join(map(str, diffs))
        + f" (sum {sum(diffs)}).",
        f"W₁ = {sum(diffs)} / {n} = {fix(value, 4)} ms.",
        "Unlike PSI or KS, the Wasserstein distance is in the feature's own units.",
    ]
    return numeric(stem, steps, value, 2, {"ref": ref, "cur": cur}, unit="ms")


def _ecdf(sample: list[int], x: int) -> float:
    return sum(v <= x for v in sample) / len(sample)


@register("ks_statistic_small")
def ks_statistic_small(rng: random.Random) -> Generated:
    """Two-sample KS statistic D from two small samples, by the empirical CDFs."""
    n, m = rng.choice([5, 6, 8]), rng.choice([4, 5, 8])
    shift = rng.randint(0, 6)
    while True:
        a = sorted(rng.randint(1, 12) for _ in range(n))
        b = sorted(rng.randint(1, 12) + shift for _ in range(m))
        xs = sorted(set(a) | set(b))
        gaps = [abs(_ecdf(a, x) - _ecdf(b, x)) for x in xs]
        value = max(gaps)
        if value > 0:
            break
    stem = (
        f"Number of items per basket in {n} reference orders and {m} current orders:\n\n"
        f"- reference (n = {n}): {', '.join(map(str, a))}\n"
        f"- current (m = {m}): {', '.join(map(str, b))}\n\n"
        "Compute the two-sample Kolmogorov–Smirnov statistic D = maxₓ |F_ref(x) − F_cur(x)|, "
        "where F is each sample's empirical CDF (share of values ≤ x). Give D "
        f"{places(3)}."
    )
    rows = [
        [str(x), fix(_ecdf(a, x), 4), fix(_ecdf(b, x), 4), fix(g, 4)]
        for x, g in zip(xs, gaps, strict=True)
    ]
    at = xs[gaps.index(value)]
    steps = [
        "The ECDFs only change at observed values, so evaluate both at every distinct value:",
        table(["x", "F_ref(x)", "F_cur(x)", "gap"], rows),
        f"The largest gap is at x = {at}: D = {fix(value, 4)}.",
    ]
    return numeric(stem, steps, value, 3, {"ref": a, "cur": b})


def ks_c(alpha: float) -> float:
    """Asymptotic KS coefficient c(α) = √(−ln(α/2)/2)."""
    return math.sqrt(-math.log(alpha / 2) / 2)


@register("ks_decision")
def ks_decision(rng: random.Random) -> Generated:
    """Decide a two-sample KS test from D, the sample sizes and α."""
    feature = rng.choice(FEATURES)
    alpha = rng.choice([0.01, 0.05, 0.1])
    n = rng.choice([500, 1_000, 2_000, 5_000, 10_000])
    m = rng.choice([200, 300, 500, 1_000, 2_000])
    c = ks_c(alpha)
    root = math.sqrt((n + m) / (n * m))
    crit = c * root
    wrong_one_sample = c / math.sqrt(m)
    wrong_alpha = math.sqrt(-math.log(alpha) / 2) * root
    while True:
        factor = rng.uniform(0.55, 0.92) if rng.random() < 0.5 else rng.uniform(1.08, 1.8)
        d_stat = round(crit * factor, 3)
        if abs(d_stat - crit) / crit >= 0.05:
            break
    reject = d_stat > crit

    def statement(value: float) -> str:
        above = d_stat > value
        verb = "Reject H₀" if above else "Do not reject H₀"
        rel = "above" if above else "below"
        return f"{verb}: the critical value is {fix(value, 4)} and D = {num(d_stat)} is {rel} it"

    flipped = (
        f"{'Do not reject H₀' if reject else 'Reject H₀'}: the critical value is "
        f"{fix(crit, 4)} and D = {num(d_stat)} is {'below' if reject else 'above'} it"
    )
    options = [
        (
            statement(crit),
            True,
            f"Right: c({num(alpha)}) = {fix(c, 4)}, and {fix(c, 4)} · √(({num(n)} + {num(m)}) / "
            f"({num(n)} · {num(m)})) = {fix(crit, 4)}; D = {num(d_stat)} is "
            f"{'above' if reject else 'below'} it.",
        ),
        (
            flipped,
            False,
            f"Wrong: the critical value {fix(crit, 4)} is right, but D = {num(d_stat)} is "
            f"{'above' if reject else 'below'} it, not {'below' if reject else 'above'}.",
        ),
        (
            statement(wrong_one_sample),
            False,
            f"Wrong: {fix(wrong_one_sample, 4)} = c(α)/√m is the one-sample critical value; two "
            "samples need the factor √((n + m)/(n · m)).",
        ),
        (
            statement(wrong_alpha),
            False,
            f"Wrong: {fix(wrong_alpha, 4)} uses √(−ln(α)/2); the two-sided coefficient is "
            "c(α) = √(−ln(α/2)/2).",
        ),
    ]
    stem = (
        f"A two-sample Kolmogorov–Smirnov test compares the feature `{feature}` in a reference "
        f"sample of n = {num(n)} rows with a production sample of m = {num(m)} rows. The "
        f"statistic is D = {num(d_stat)}. At significance level α = {num(alpha)}, use the "
        "asymptotic critical value c(α) · √((n + m) / (n · m)) with c(α) = √(−ln(α/2) / 2), "
        f"computed {places(4)}. Which statement is right?"
    )
    steps = [
        f"c({num(alpha)}) = √(−ln({num(alpha)}/2) / 2) = √(−ln({num(alpha / 2)}) / 2) "
        f"= {fix(c, 4)}.",
        f"√(({num(n)} + {num(m)}) / ({num(n)} · {num(m)})) = √({num(n + m)} / {num(n * m)}) "
        f"= {fix(root, 5)}.",
        f"Critical value = {fix(c, 4)} · {fix(root, 5)} = {fix(crit, 4)}.",
        f"D = {num(d_stat)} is {'above' if reject else 'below'} {fix(crit, 4)}, so "
        + (
            "**reject** H₀: the samples are unlikely to share one distribution."
            if reject
            else "**do not reject** H₀: no evidence of drift at this level."
        ),
    ]
    params = {"feature": feature, "d_stat": d_stat, "n": n, "m": m, "alpha": alpha}
    return single(rng, stem, steps, params, options)
