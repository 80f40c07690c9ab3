"""pro-drift-detection: seeded reference/current data, and ground truth recomputed by the grader.

``setup`` writes ``data/reference.csv`` (2000 rows) and ``data/current.csv`` (1500 rows) from
the lab's seed. ``drift_comparison`` regenerates the same data from the seed (so an edited CSV
changes nothing), recomputes PSI, KS and Wasserstein per feature with exactly the conventions
stated in the lab, and returns how far the learner's ``reports/drift.json`` is from them::

    {"schema_problem": null, "missing": "", "unexpected": "", "duplicates": "",
     "features": {"age": {"psi_error": 0.0, "ks_statistic_error": 0.0, ...}, ...},
     "alpha": {...}, "drifted": {"missing": "", "unexpected": "", "flags_agree": true}}

No expected number is stored anywhere: every one is computed here from the seed.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

REFERENCE_ROWS = 2000
CURRENT_ROWS = 1500
FAMILY_ALPHA = 0.05
PSI_BINS = 10
PSI_EPSILON = 1e-6
REPORT = "reports/drift.json"

# name -> (decimals written to the CSV, reference sampler, current sampler)
# Each sampler takes (rng, n). Stable features draw both samples from one distribution.


def _features() -> dict[str, tuple[int, Any, Any]]:
    def normal(mu: float, sd: float):
        return lambda rng, n: rng.normal(mu, sd, n)

    def lognormal(mu: float, sigma: float):
        return lambda rng, n: rng.lognormal(mu, sigma, n)

    def exponential(scale: float):
        return lambda rng, n: rng.exponential(scale, n)

    def poisson(lam: float):
        return lambda rng, n: rng.poisson(lam, n).astype(float)

    def gamma(shape: float, scale: float, shift: float = 0.0):
        return lambda rng, n: rng.gamma(shape, scale, n) + shift

    return {
        "age": (1, normal(41, 11), normal(41, 11)),  # stable
        "income": (2, lognormal(10.8, 0.45), lognormal(10.92, 0.45)),  # +12.7% median
        "credit_score": (0, normal(680, 55), normal(680, 55)),  # stable, integer: ties
        "tenure_months": (1, exponential(24), exponential(24)),  # stable
        "num_logins": (0, poisson(4.0), poisson(4.9)),  # drifted, counts: ties
        "session_minutes": (2, gamma(2, 7), gamma(2, 9)),  # drifted spread
        "basket_value": (2, normal(55, 18), normal(55, 18)),  # stable
        "latency_ms": (1, gamma(9, 12), gamma(9, 12, 3.0)),  # a small shift
        "shipping_days": (2, normal(5.0, 1.2), normal(8.5, 1.2)),  # a new carrier: empty bins
    }


def generate(seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(reference, current): feature name -> numpy array, exactly as written to the CSVs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    reference: dict[str, Any] = {}
    current: dict[str, Any] = {}
    for name, (decimals, ref_draw, cur_draw) in _features().items():
        reference[name] = _as_written(ref_draw(rng, REFERENCE_ROWS), decimals)
        current[name] = _as_written(cur_draw(rng, CURRENT_ROWS), decimals)
    return reference, current


def _as_written(values: Any, decimals: int) -> Any:
    """The values as the CSV holds them: rounded text, read back with Python's float()."""
    import numpy as np

    return np.array([float(_text(v, decimals)) for v in values])


def _text(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}" if decimals else str(round(value))


def _write_csv(path: Path, data: dict[str, Any]) -> None:
    decimals = {name: spec[0] for name, spec in _features().items()}
    names = list(data)
    lines = [",".join(names)]
    for i in range(len(data[names[0]])):
        lines.append(",".join(_text(data[n][i], decimals[n]) for n in names))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Ground truth, with exactly the conventions the lab states
# ---------------------------------------------------------------------------------------------


def psi(reference: Any, current: Any) -> float:
    """PSI over 10 reference-decile bins, outer edges ±inf, left-closed bins, zero shares 1e-6."""
    import numpy as np

    inner = np.quantile(reference, np.linspace(0.1, 0.9, PSI_BINS - 1))
    edges = np.concatenate([[-np.inf], inner, [np.inf]])
    ref = np.histogram(reference, bins=edges)[0] / len(reference)
    cur = np.histogram(current, bins=edges)[0] / len(current)
    ref = np.where(ref == 0, PSI_EPSILON, ref)
    cur = np.where(cur == 0, PSI_EPSILON, cur)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


@functools.lru_cache(maxsize=4)
def ground_truth(seed: int) -> dict[str, Any]:
    """Per-feature PSI, KS statistic and p-value, Wasserstein distance, and the drifted set.

    Cached per seed (the checks of one run share it); callers must not modify the result.
    """
    from scipy import stats

    reference, current = generate(seed)
    m = len(reference)
    alpha_per_test = FAMILY_ALPHA / m
    features = {}
    for name in reference:
        ks = stats.ks_2samp(reference[name], current[name])
        features[name] = {
            "psi": psi(reference[name], current[name]),
            "ks_statistic": float(ks.statistic),
            "ks_pvalue": float(ks.pvalue),
            "wasserstein": float(stats.wasserstein_distance(reference[name], current[name])),
            "drifted": bool(ks.pvalue < alpha_per_test),
        }
    return {
        "alpha": FAMILY_ALPHA,
        "alpha_per_test": alpha_per_test,
        "features": features,
        "drifted": sorted(n for n, f in features.items() if f["drifted"]),
    }


# ---------------------------------------------------------------------------------------------
# Hooks
# ---------------------------------------------------------------------------------------------


def setup(ctx: Any) -> None:
    """data/reference.csv and data/current.csv from the lab's seed."""
    reference, current = generate(ctx.seed)
    folder = Path(ctx.workspace) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    _write_csv(folder / "reference.csv", reference)
    _write_csv(folder / "current.csv", current)


def solve(ctx: Any) -> None:
    """Run the reference solution's drift.py in the workspace."""
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, "drift.py"],
        cwd=ctx.workspace,
        check=True,
        capture_output=True,
        timeout=120,
    )


# ---------------------------------------------------------------------------------------------
# Comparing the learner's report with the ground truth
# ---------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (a value was not a finite number)")


def _load_report(ctx: Any) -> Any:
    from grader.checks.sources.base import SourceError

    path = Path(ctx.workspace) / REPORT
    if not path.is_file():
        raise SourceError(f"{REPORT} does not exist: run `python drift.py` to write it")
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise SourceError(f"{REPORT} is not UTF-8 text: {exc}") from None
    except ValueError as exc:
        raise SourceError(f"{REPORT} is not valid JSON: {exc}") from None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _abs_error(found: Any, expected: float) -> float | None:
    value = _number(found)
    return None if value is None else abs(value - expected)


def _rel_error(found: Any, expected: float, floor: float) -> float | None:
    value = _number(found)
    return None if value is None else abs(value - expected) / max(abs(expected), floor)


def _names(items: Any) -> str:
    return ", ".join(sorted(items))


def drift_comparison(ctx: Any) -> dict[str, Any]:
    """How the learner's reports/drift.json compares with the recomputed ground truth."""
    import jsonschema

    report = _load_report(ctx)
    schema_path = Path(ctx.lab_dir) / "starter" / "drift-report.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(report),
        key=lambda e: list(map(str, e.absolute_path)),
    )
    schema_problem = None
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top)"
        schema_problem = f"{where}: {errors[0].message}"[:200]

    truth = ground_truth(ctx.seed)
    doc: dict[str, Any] = {
        "schema_problem": schema_problem,
        "schema_errors": len(errors),
        "missing": "",
        "unexpected": "",
        "duplicates": "",
        "features": {},
        "alpha": {},
        "drifted": {},
    }
    entries = report.get("features") if isinstance(report, dict) else None
    entries = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    by_name: dict[str, dict[str, Any]] = {}
    duplicates = set()
    for entry in entries:
        name = entry.get("feature")
        if not isinstance(name, str):
            continue
        if name in by_name:
            duplicates.add(name)
        by_name.setdefault(name, entry)
    doc["missing"] = _names(set(truth["features"]) - set(by_name))
    doc["unexpected"] = _names(set(by_name) - set(truth["features"]))
    doc["duplicates"] = _names(duplicates)

    for name, want in truth["features"].items():
        got = by_name.get(name, {})
        doc["features"][name] = {
            "psi": got.get("psi"),
            "psi_expected": want["psi"],
            "psi_error": _abs_error(got.get("psi"), want["psi"]),
            "ks_statistic": got.get("ks_statistic"),
            "ks_statistic_expected": want["ks_statistic"],
            "ks_statistic_error": _abs_error(got.get("ks_statistic"), want["ks_statistic"]),
            "ks_pvalue": got.get("ks_pvalue"),
            "ks_pvalue_expected": want["ks_pvalue"],
            "ks_pvalue_error": _rel_error(got.get("ks_pvalue"), want["ks_pvalue"], 1e-12),
            "wasserstein": got.get("wasserstein"),
            "wasserstein_expected": want["wasserstein"],
            "wasserstein_error": _rel_error(got.get("wasserstein"), want["wasserstein"], 1e-9),
        }

    top = report if isinstance(report, dict) else {}
    doc["alpha"] = {
        "alpha": top.get("alpha"),
        "alpha_per_test": top.get("alpha_per_test"),
        "alpha_per_test_expected": truth["alpha_per_test"],
        "alpha_per_test_error": _rel_error(
            top.get("alpha_per_test"), truth["alpha_per_test"], 1e-12
        ),
    }

    listed = top.get("drifted_features")
    listed = {n for n in listed if isinstance(n, str)} if isinstance(listed, list) else None
    flagged = {n for n, e in by_name.items() if e.get("drifted") is True}
    expected = set(truth["drifted"])
    doc["drifted"] = {
        "listed": sorted(listed) if listed is not None else None,
        "missing": _names(expected - listed) if listed is not None else "no drifted_features list",
        "unexpected": _names(listed - expected) if listed is not None else "",
        "flags_agree": listed is not None and flagged == listed,
    }
    return doc
