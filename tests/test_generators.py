"""Tests for the parametric question generators.

Every answer is re-derived here from ``params`` with an independent formula (numpy, scipy or
exact fractions), never by calling the generators' own helpers.
"""

from __future__ import annotations

import functools
import json
import math
import re
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import special, stats

from grader.exams.generators import Generated, generate, names

SEEDS = range(200)
WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


@functools.cache
def cases(name: str) -> tuple[Generated, ...]:
    """The generator's questions for every seed (generated once per test session)."""
    return tuple(generate(name, seed) for seed in SEEDS)


def smallest(ok: Callable[[int], bool], start: int = 0) -> int:
    """The smallest integer from ``start`` for which ``ok`` holds (a brute-force ceiling)."""
    n = start
    while not ok(n):
        n += 1
    return n


def frac(x: float) -> Fraction:
    """The decimal number as written, exactly."""
    return Fraction(str(x))


# --- independent answers for numeric generators: params -> exact (unrounded) answer ----------


def psi_np(ref: Any, cur: Any) -> float:
    r, c = np.asarray(ref, dtype=float), np.asarray(cur, dtype=float)
    return float(np.sum((c - r) * np.log(c / r)))


def canary_replicas(p: dict[str, Any]) -> float:
    share = Fraction(p["target_pct"], 100)
    if "stable_replicas" in p:
        s = p["stable_replicas"]
        return smallest(lambda c: Fraction(c, s + c) >= share, 1)
    t = p["total_replicas"]
    return smallest(lambda c: Fraction(c, t) >= share, 1)


def error_budget_minutes(p: dict[str, Any]) -> float:
    budget = (1 - frac(p["slo_pct"]) / 100) * p["days"] * 24 * 60
    return float(budget - sum(p.get("incidents_min", [])))


def burn(p: dict[str, Any]) -> float:
    return float(Fraction(p["errors"], p["requests"]) / (1 - frac(p["slo_pct"]) / 100))


def gpus_for_llm(p: dict[str, Any]) -> float:
    weights = p["params_b"] * 10**9 * p["weight_bytes"]
    kv = int(np.prod([2, p["layers"], p["hidden"], p["kv_bytes"], p["tokens"], p["batch"]]))
    need = (weights + kv) * Fraction(100 + p["headroom_pct"], 100)
    return smallest(lambda g: g * p["gpu_mem_gb"] * 10**9 >= need, 1)


def kv_cache_gb(p: dict[str, Any]) -> float:
    dims = [2, p["layers"], p["hidden"], p["kv_bytes"], p["tokens"], p["batch"]]
    ratio = p.get("kv_heads", p["heads"]) / p["heads"]
    return float(np.prod(np.array(dims, dtype=float))) * ratio / 1e9


def replicas_for_throughput(p: dict[str, Any]) -> float:
    usable = p["per_replica_rps"] * Fraction(p["target_util_pct"], 100)
    return smallest(lambda n: n * usable >= p["peak_rps"], 1) + p.get("spare_replicas", 0)


def timeslicing(p: dict[str, Any]) -> float:
    sliced = p.get("sliced_nodes", p["nodes"])
    per_node = np.array([p["replicas"]] * sliced + [1] * (p["nodes"] - sliced))
    return float(np.sum(per_node * p["gpus_per_node"]))


def mig(p: dict[str, Any]) -> float:
    free = np.full(p["nodes"], p["gpus_per_node"] * p["instances_per_gpu"])
    return float(np.sum(np.floor_divide(free, p["instances_per_pod"])))


def ab_sample_size(p: dict[str, Any]) -> float:
    z = frac(p["z_alpha"]) + frac(p["z_beta"])
    p1, p2 = frac(p["p1"]), frac(p["p2"])
    need = z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2
    return smallest(lambda n: n >= need, 1)


def batching_gain(p: dict[str, Any]) -> float:
    sizes = np.array([1, p["max_batch"]], dtype=float)
    rps = sizes / (p["overhead_ms"] + p["per_item_ms"] * sizes)
    return float(rps[1] / rps[0])


NUMERIC: dict[str, Callable[[dict[str, Any]], float]] = {
    "psi_from_bins": lambda p: psi_np(p["ref_shares"], p["cur_shares"]),
    "kl_divergence": lambda p: float(stats.entropy(p["p"], p["q"])),
    "wasserstein_1d": lambda p: float(stats.wasserstein_distance(p["ref"], p["cur"])),
    "ks_statistic_small": lambda p: float(
        stats.ks_2samp(p["ref"], p["cur"], method="asymp").statistic
    ),
    "ab_sample_size": ab_sample_size,
    "bonferroni_threshold": lambda p: float(Fraction(frac(p["alpha"]), p["m"])),
    "bonferroni_significant_count": lambda p: float(
        np.count_nonzero(np.array(p["p_values"]) < p["alpha"] / p["m"])
    ),
    "family_wise_false_alarm": lambda p: 100 * float(stats.binom.sf(0, p["m"], p["alpha"])),
    "canary_replicas": canary_replicas,
    "canary_traffic_share": lambda p: (
        100
        * (p["canary_replicas"] - p.get("canary_not_ready", 0))
        / (p["stable_replicas"] + p["canary_replicas"] - p.get("canary_not_ready", 0))
    ),
    "error_budget_minutes": error_budget_minutes,
    "error_budget_burn_rate": burn,
    "error_budget_exhaustion_hours": lambda p: p["remaining_pct"] / 100 * p["days"] * 24 / burn(p),
    "gpus_for_llm": gpus_for_llm,
    "kv_cache_gb": kv_cache_gb,
    "quantisation_memory_saved": lambda p: float(
        frac(p["params_b"]) * (frac(p["from_bytes"]) - frac(p["to_bytes"]))
    ),
    "littles_law_concurrency": lambda p: p["rate_rps"] * p["latency_ms"] / 1000,
    "replicas_for_throughput": replicas_for_throughput,
    "batching_added_latency": lambda p: p["max_delay_ms"] + p["per_item_ms"] * (p["max_batch"] - 1),
    "batching_throughput_gain": batching_gain,
    "timeslicing_allocatable": timeslicing,
    "mig_instances": mig,
    "cost_per_thousand_inferences": lambda p: (
        p["price_per_gpu_hour"]
        * p["gpus_per_replica"]
        / (p["throughput_rps"] * p["utilisation_pct"] / 100 * 3600)
        * 1000
    ),
    "cost_per_million_tokens": lambda p: (
        p["price_per_gpu_hour"]
        * p["gpus_per_replica"]
        / (p["tokens_per_s"] * p["utilisation_pct"] / 100 * 3600)
        * 1e6
    ),
}


# --- independent keys for single-choice generators: (params, options) -> the correct option ---


def psi_band_key(p: dict[str, Any]) -> Callable[[str], bool]:
    ref = np.array(p["ref_counts"]) / p["ref_total"]
    cur = np.array(p["cur_counts"]) / p["cur_total"]
    value = psi_np(ref, cur)
    assert min(abs(value - 0.1), abs(value - 0.25)) > 0.005, "PSI too close to a band edge"
    band = "Stable" if value < 0.1 else "Moderate" if value <= 0.25 else "Major"
    return lambda text: text.startswith(band)


def ks_key(p: dict[str, Any]) -> Callable[[str], bool]:
    n, m, alpha, d = p["n"], p["m"], p["alpha"], p["d_stat"]
    root = np.sqrt((n + m) / (n * m))
    crit_exact = special.kolmogi(alpha) * root  # the exact asymptotic Kolmogorov quantile
    crit_closed = np.sqrt(-np.log(alpha / 2) / 2) * root
    assert abs(d - crit_exact) / crit_exact > 0.03, "D too close to the critical value"
    verb = "Reject" if d > crit_exact else "Do not reject"

    def ok(text: str) -> bool:
        found = re.search(r"critical value is ([0-9.]+)", text)
        return (
            text.startswith(verb)
            and found is not None
            and abs(float(found.group(1)) - crit_closed) < 6e-5
            and ("above" if d > crit_exact else "below") in text
        )

    return ok


SINGLE: dict[str, Callable[[dict[str, Any]], Callable[[str], bool]]] = {
    "psi_band_decision": psi_band_key,
    "ks_decision": ks_key,
}


# --- helpers for wording checks --------------------------------------------------------------


def spellings(value: Any) -> set[str]:
    """Ways a stated parameter may be written in a stem."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, int):
        return {str(value), f"{value:,}"}
    out = {str(value), f"{value:,}", format(Decimal(repr(value)), "f")}
    if float(value).is_integer():
        out |= {str(int(value)), f"{int(value):,}"}
    out |= {f"{value:,.{k}f}" for k in range(1, 9) if round(value, k) == value}
    return out


def stated(value: Any, stem: str) -> bool:
    if isinstance(value, str):
        return value in stem
    for text in spellings(value):
        pattern = r"(?<!\d)(?<!\d[.,])" + re.escape(text) + r"(?!\d|[.,]\d)"
        if re.search(pattern, stem):
            return True
    return False


def rounding(stem: str) -> int | None:
    """Decimals the stem asks for, or None for a whole number."""
    found = re.search(r"to (one|two|three|four|five|six) decimal places?", stem)
    if found:
        return WORDS[found.group(1)]
    assert "whole number" in stem, "the stem must state the rounding"
    return None


def shown(answer: float, decimals: int | None) -> str:
    return f"{int(answer):,}" if decimals is None else f"{answer:,.{decimals}f}"


ALL = sorted(names())
NUMERIC_NAMES = sorted(NUMERIC)
SINGLE_NAMES = sorted(SINGLE)


# --- the registry -----------------------------------------------------------------------------


def test_registry_lists_enough_generators() -> None:
    assert len(ALL) >= 15
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in ALL)


def test_unknown_generator_raises_key_error() -> None:
    with pytest.raises(KeyError):
        generate("nope", 1)


def test_every_generator_has_an_independent_check() -> None:
    assert set(NUMERIC) | set(SINGLE) == set(ALL)
    assert not set(NUMERIC) & set(SINGLE)


def test_generators_import_without_numpy_or_scipy() -> None:
    code = (
        "import sys; from grader.exams.generators import names; names(); "
        "bad = [m for m in ('numpy', 'scipy') if m in sys.modules]; "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=False
    )
    assert result.returncode == 0, result.stderr


# --- every generator ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_question(name: str) -> None:
    for seed in range(0, 200, 7):
        assert generate(name, seed) == generate(name, seed)
    assert len({g.stem for g in cases(name)}) > 20, "seeds should give varied questions"


@pytest.mark.parametrize("name", ALL)
def test_params_are_json_and_stated_in_the_stem(name: str) -> None:
    for g in cases(name):
        assert g.params
        json.dumps(g.params)
        for key, value in g.params.items():
            values = value if isinstance(value, list) else [value]
            for v in values:
                assert stated(v, g.stem), f"{name}: {key}={v!r} missing from stem:\n{g.stem}"


@pytest.mark.parametrize("name", ALL)
def test_explanation_present(name: str) -> None:
    for g in cases(name):
        assert g.stem.strip()
        assert g.explanation.strip()
        assert "\n\n" in g.explanation, "the working should come in steps"


# --- numeric generators -------------------------------------------------------------------------


@pytest.mark.parametrize("name", NUMERIC_NAMES)
def test_numeric_answer_matches_independent_formula(name: str) -> None:
    for seed, g in zip(SEEDS, cases(name), strict=True):
        assert g.kind == "numeric" and g.answer is not None and not g.options
        exact = NUMERIC[name](g.params)
        decimals = rounding(g.stem)
        if decimals is None:
            assert g.answer == exact, f"{name} seed {seed}: {g.answer} != {exact}"
        else:
            assert abs(g.answer - exact) <= g.tolerance / 2 + 1e-9, (
                f"{name} seed {seed}: {g.answer} vs {exact}"
            )


@pytest.mark.parametrize("name", NUMERIC_NAMES)
def test_tolerance_suits_the_rounding(name: str) -> None:
    for g in cases(name):
        assert g.answer is not None
        decimals = rounding(g.stem)
        if decimals is None:
            assert g.tolerance == 0
            assert float(g.answer).is_integer()
        else:
            assert math.isclose(g.tolerance, 10.0**-decimals)
            assert round(g.answer, decimals) == g.answer


@pytest.mark.parametrize("name", NUMERIC_NAMES)
def test_explanation_contains_the_answer(name: str) -> None:
    for g in cases(name):
        assert g.answer is not None
        text = shown(g.answer, rounding(g.stem))
        assert text in g.explanation, f"{name}: {text} not in explanation"
        assert g.explanation.rstrip().endswith("**")


@pytest.mark.parametrize("name", NUMERIC_NAMES)
def test_answers_vary(name: str) -> None:
    assert len({g.answer for g in cases(name)}) >= 5


def test_ab_sample_size_z_values_match_scipy() -> None:
    for g in cases("ab_sample_size"):
        p = g.params
        z_a = stats.norm.ppf(1 - p["alpha"] / 2)
        z_b = stats.norm.ppf(p["power"])
        assert abs(z_a - p["z_alpha"]) < 5e-5 and abs(z_b - p["z_beta"]) < 5e-5
        var = p["p1"] * (1 - p["p1"]) + p["p2"] * (1 - p["p2"])
        n = (z_a + z_b) ** 2 * var / (p["p1"] - p["p2"]) ** 2
        assert abs(g.answer - math.ceil(n)) <= 1


def test_ks_closed_form_agrees_with_kolmogorov_distribution() -> None:
    for alpha in (0.01, 0.05, 0.1):
        c = math.sqrt(-math.log(alpha / 2) / 2)
        assert abs(special.kolmogorov(c) - alpha) < 1e-3


# --- single-choice generators -------------------------------------------------------------------


@pytest.mark.parametrize("name", SINGLE_NAMES)
def test_single_choice_has_one_correct_option(name: str) -> None:
    positions = set()
    for seed, g in zip(SEEDS, cases(name), strict=True):
        assert g.kind == "single" and g.answer is None and g.tolerance == 0
        assert [o["id"] for o in g.options] == ["a", "b", "c", "d"]
        assert all(o["text"].strip() and o["explanation"].strip() for o in g.options)
        assert len({o["text"] for o in g.options}) == 4
        correct = [o for o in g.options if o["correct"] is True]
        assert len(correct) == 1
        assert all(o["correct"] is False for o in g.options if o is not correct[0])
        positions.add(correct[0]["id"])
        key = SINGLE[name](g.params)
        assert key(correct[0]["text"]), f"{name} seed {seed}: wrong key {correct[0]['text']}"
        assert not any(key(o["text"]) for o in g.options if not o["correct"])
        assert correct[0]["text"] in g.explanation
    assert positions == {"a", "b", "c", "d"}
