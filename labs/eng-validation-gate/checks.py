"""eng-validation-gate: seeded batches, and a grader that runs the learner's gate on hidden ones.

``setup`` writes two sample batches into the workspace for the learner to try. At check time
``gate_results`` generates, from the lab's seed, batches the learner has never seen (one good
batch and one batch per kind of violation) into a temporary folder outside the workspace, runs
``python validate.py BATCH --report REPORT`` on each, and returns one document::

    {"good": {"exit": 0, "accepted": true, "report": "ok", "violations": [...], ...},
     "missing_column": {...}, "wrong_type": {...}, ...}

Every expected count is recomputed here from the generated rows, never stored. The results are
cached for a short while, keyed by the workspace's code and contract, so the lab's checks share
one run of the gate.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

COLUMNS = [
    "order_id",
    "customer_id",
    "amount",
    "quantity",
    "currency",
    "channel",
    "customer_age",
]
CURRENCIES = ["EUR", "USD", "GBP"]
CHANNELS = ["web", "store", "app", "phone"]
RULES = ["missing_column", "type", "not_null", "range", "allowed_values", "row_count"]
RUN_TIMEOUT_S = 15
CACHE_TTL_S = 120

# ---------------------------------------------------------------------------------------------
# Seeded batches
# ---------------------------------------------------------------------------------------------


def _rng(seed: int, stream: int) -> Any:
    import numpy as np

    return np.random.default_rng([seed, stream])


def good_rows(rng: Any, n: int, start_id: int = 1) -> list[dict[str, str]]:
    """``n`` rows that meet the contract, with its boundary values and legal nulls in them."""
    rows = []
    for i in range(n):
        amount = float(min(max(rng.gamma(2.0, 45.0), 0.01), 5000.0))
        age = "" if rng.random() < 0.08 else str(int(rng.integers(18, 101)))
        rows.append(
            {
                "order_id": str(start_id + i),
                "customer_id": f"C{int(rng.integers(0, 100000)):05d}",
                "amount": f"{amount:.2f}",
                "quantity": str(int(rng.integers(1, 51))),
                "currency": str(rng.choice(CURRENCIES)),
                "channel": str(rng.choice(CHANNELS)),
                "customer_age": age,
            }
        )
    # the inclusive bounds must be accepted: put every boundary value in somewhere
    picks = rng.choice(n, size=6, replace=False)
    for (column, value), at in zip(
        [
            ("amount", "0.01"),
            ("amount", "5000.00"),
            ("quantity", "1"),
            ("quantity", "50"),
            ("customer_age", "18"),
            ("customer_age", "100"),
        ],
        picks,
        strict=True,
    ):
        rows[int(at)][column] = value
    return rows


def _spoil(rng: Any, rows: list[dict[str, str]], column: str, values: list[str]) -> int:
    """Overwrite ``column`` in distinct random rows with ``values``; returns how many."""
    at = rng.choice(len(rows), size=len(values), replace=False)
    for i, value in zip(at, values, strict=True):
        rows[int(i)][column] = value
    return len(values)


def _count(rng: Any) -> int:
    return int(rng.integers(3, 10))


def hidden_batches(seed: int) -> dict[str, dict[str, Any]]:
    """The batches the learner has not seen: name -> {header, rows, expected, contract}.

    ``expected`` lists the (column, rule) -> count that the batch breaks; ``contract`` is
    "variant" for a batch to be validated against the variant contract.
    """
    batches: dict[str, dict[str, Any]] = {}

    def add(name: str, rows: list[dict[str, str]], expected: dict, header=None, **extra) -> None:
        batches[name] = {
            "header": list(COLUMNS if header is None else header),
            "rows": rows,
            "expected": expected,
            **extra,
        }

    rng = _rng(seed, 101)
    add("good", good_rows(rng, 320), {})

    rng = _rng(seed, 102)
    rows = good_rows(rng, 240)
    add(
        "missing_column",
        rows,
        {("channel", "missing_column"): len(rows)},
        header=[c for c in COLUMNS if c != "channel"],
    )

    rng = _rng(seed, 103)
    rows = good_rows(rng, 260)
    k = _count(rng)
    values = [f"{int(rng.integers(1, 300))},{int(rng.integers(0, 100)):02d}" for _ in range(k)]
    add("wrong_type", rows, {("amount", "type"): _spoil(rng, rows, "amount", values)})

    rng = _rng(seed, 104)
    rows = good_rows(rng, 230)
    k = _count(rng)
    values = [f"{int(rng.integers(1, 20))}.5" for _ in range(k)]
    add("fractional_integer", rows, {("quantity", "type"): _spoil(rng, rows, "quantity", values)})

    rng = _rng(seed, 105)
    rows = good_rows(rng, 250)
    k = _count(rng)
    values = [
        f"-{rng.uniform(1, 80):.2f}" if j % 2 == 0 else f"{rng.uniform(5000.5, 9000):.2f}"
        for j in range(k)
    ]
    add("out_of_range", rows, {("amount", "range"): _spoil(rng, rows, "amount", values)})

    rng = _rng(seed, 106)
    rows = good_rows(rng, 270)
    k = _count(rng)
    add("nulls", rows, {("customer_id", "not_null"): _spoil(rng, rows, "customer_id", [""] * k)})

    rng = _rng(seed, 107)
    rows = good_rows(rng, 280)
    k = _count(rng)
    values = [str(rng.choice(["JPY", "eur", "CHF", "usd"])) for _ in range(k)]
    add(
        "unknown_category",
        rows,
        {("currency", "allowed_values"): _spoil(rng, rows, "currency", values)},
    )

    rng = _rng(seed, 108)
    rows = good_rows(rng, int(rng.integers(30, 90)))
    add("too_few_rows", rows, {(None, "row_count"): len(rows)})

    rng = _rng(seed, 109)
    rows = good_rows(rng, 300)
    k1, k2 = _count(rng), _count(rng)
    qty = [str(int(v)) for v in rng.choice([0, 51, 60, 75, 99], size=k1)]
    chan = [str(rng.choice(["fax", "Web", "kiosk"])) for _ in range(k2)]
    add(
        "combined",
        rows,
        {
            ("quantity", "range"): _spoil(rng, rows, "quantity", qty),
            ("channel", "allowed_values"): _spoil(rng, rows, "channel", chan),
        },
    )

    add("empty_file", [], {(None, "row_count"): 0}, header=[], raw="")
    add("header_only", [], {(None, "row_count"): 0})

    # The same rows judged by two contracts: the variant allows JPY and amounts up to 10000.
    rng = _rng(seed, 110)
    rows = good_rows(rng, 200)
    k1, k2 = _count(rng), _count(rng)
    n_jpy = _spoil(rng, rows, "currency", ["JPY"] * k1)
    big = [f"{rng.uniform(5200, 9900):.2f}" for _ in range(k2)]
    n_big = _spoil(rng, rows, "amount", big)
    add("variant_contract", rows, {}, contract="variant")
    add(
        "variant_rows_original_contract",
        rows,
        {("currency", "allowed_values"): n_jpy, ("amount", "range"): n_big},
    )
    return batches


def write_batch(path: Path, batch: dict[str, Any]) -> None:
    """Write a batch as CSV (``raw`` text as is, when given)."""
    if "raw" in batch:
        path.write_text(batch["raw"], encoding="utf-8")
        return
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(batch["header"])
        for row in batch["rows"]:
            writer.writerow([row[c] for c in batch["header"]])


def variant_contract(original: Any) -> Any:
    """The contract with JPY allowed and the amount ceiling raised to 10000."""
    import copy

    contract = copy.deepcopy(original)
    for column in contract["columns"]:
        if column["name"] == "currency":
            column["allowed"] = [*column["allowed"], "JPY"]
        if column["name"] == "amount":
            column["max"] = 10000.0
    return contract


# ---------------------------------------------------------------------------------------------
# Hooks
# ---------------------------------------------------------------------------------------------


def setup(ctx: Any) -> None:
    """Two sample batches for the learner: one good, one with two kinds of violation."""
    folder = Path(ctx.workspace) / "batches"
    folder.mkdir(parents=True, exist_ok=True)
    rng = _rng(ctx.seed, 1)
    write_batch(folder / "sample_good.csv", {"header": COLUMNS, "rows": good_rows(rng, 150)})
    rng = _rng(ctx.seed, 2)
    rows = good_rows(rng, 180, start_id=5001)
    _spoil(rng, rows, "customer_age", ["7", "130", "0"])
    _spoil(rng, rows, "channel", ["", ""])
    write_batch(folder / "sample_bad.csv", {"header": COLUMNS, "rows": rows})


# ---------------------------------------------------------------------------------------------
# Running the learner's gate
# ---------------------------------------------------------------------------------------------

_cache_lock = threading.Lock()
_cache: dict[tuple[str, int, str], tuple[float, dict[str, Any]]] = {}


def _fingerprint(workspace: Path) -> str:
    """A digest of the learner's code and contract: a change to any of them reruns the gate."""
    digest = hashlib.sha256()
    skip = {".grader", "reports", "batches", "__pycache__", ".git", ".venv", "venv"}
    for path in sorted(workspace.rglob("*")):
        rel = path.relative_to(workspace)
        if skip & set(rel.parts) or not path.is_file():
            continue
        if path.suffix not in {".py", ".yaml", ".yml", ".json", ".toml", ".cfg", ".ini"}:
            continue
        digest.update(str(rel).encode())
        try:
            stat = path.stat()
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
            if stat.st_size < 1_000_000:
                digest.update(path.read_bytes())
        except OSError:
            continue
    return digest.hexdigest()


def _outcome(
    name: str, batch: dict[str, Any], result: Any, report_path: Path, schema: Any
) -> dict[str, Any]:
    """What one run of the gate did, as a plain document."""
    stderr = result.stderr or ""
    doc: dict[str, Any] = {
        "exit": result.exit_code,
        "timed_out": bool(result.timed_out),
        "traceback": "Traceback (most recent call last)" in stderr,
        "stderr": stderr.strip()[-400:],
        "report": "ok",
        "schema_problem": None,
        "accepted": None,
        "rows": None,
        "violations": [],
        "found": [],
        "count_problem": None,
    }

    def without_report(reason: str) -> dict[str, Any]:
        doc["report"] = doc["schema_problem"] = reason
        if batch["expected"]:
            doc["count_problem"] = reason
        return doc

    if result.timed_out:
        return without_report(f"validate.py did not finish within {RUN_TIMEOUT_S} s")
    try:
        text = report_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        last = stderr.strip().splitlines()[-1:]
        return without_report("no report written" + (f" ({last[0][:120]})" if last else ""))
    except (OSError, UnicodeDecodeError) as exc:
        return without_report(f"report unreadable: {exc}")
    try:
        report = json.loads(text)
    except ValueError as exc:
        return without_report(f"report is not valid JSON: {exc}")
    if not isinstance(report, dict):
        return without_report("report is not a JSON object")
    errors = sorted(schema.iter_errors(report), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top)"
        doc["schema_problem"] = f"{where}: {first.message}"[:200]
    accepted = report.get("accepted")
    doc["accepted"] = accepted if isinstance(accepted, bool) else None
    doc["rows"] = report.get("rows")
    violations = report.get("violations")
    if isinstance(violations, list):
        doc["violations"] = violations[:500]
        doc["found"] = sorted(
            f"{v.get('column')}/{v.get('rule')}" for v in violations[:500] if isinstance(v, dict)
        )
    else:
        violations = []
    problems = []
    for (column, rule), want in batch["expected"].items():
        hits = [
            v
            for v in violations
            if isinstance(v, dict) and v.get("column") == column and v.get("rule") == rule
        ]
        label = f"{column or 'batch'}/{rule}"
        if not hits:
            problems.append(f"{label}: not reported")
        elif hits[0].get("count") != want:
            problems.append(f"{label}: count {hits[0].get('count')!r}, should be {want}")
    doc["count_problem"] = "; ".join(problems) or None
    return doc


def _run_all(ctx: Any) -> dict[str, Any]:
    from concurrent.futures import ThreadPoolExecutor

    import jsonschema
    import yaml

    from grader.checks.sources.base import SourceError
    from grader.checks.sources.command import argv_of, run

    workspace = Path(ctx.workspace)
    script = workspace / "validate.py"
    if not script.is_file():
        raise SourceError("validate.py is missing from the workspace")
    schema_path = Path(ctx.lab_dir) / "starter" / "report.schema.json"
    schema = jsonschema.Draft202012Validator(json.loads(schema_path.read_text(encoding="utf-8")))
    original = yaml.safe_load((Path(ctx.lab_dir) / "starter" / "contract.yaml").read_text())
    batches = hidden_batches(ctx.seed)
    tmp = Path(tempfile.mkdtemp(prefix="certlab-gate-"))
    try:
        variant = tmp / "contract-variant.yaml"
        variant.write_text(yaml.safe_dump(variant_contract(original), sort_keys=False))

        def one(name: str) -> tuple[str, dict[str, Any]]:
            batch = batches[name]
            folder = tmp / name
            folder.mkdir()
            csv_path = folder / "batch.csv"
            write_batch(csv_path, batch)
            report = folder / "report.json"
            argv = ["python", "validate.py", str(csv_path), "--report", str(report)]
            if batch.get("contract") == "variant":
                argv += ["--contract", str(variant)]
            result = run(argv_of(argv, ctx), ctx, timeout=RUN_TIMEOUT_S)
            return name, _outcome(name, batch, result, report, schema)

        # the good batch first: a gate that hangs on it is not run on the others
        name, first = one("good")
        if first["timed_out"]:
            hung = SimpleNamespace(exit_code=None, timed_out=True, stderr="")
            missing = tmp / "not-run.json"
            return {
                n: first if n == name else _outcome(n, batches[n], hung, missing, schema)
                for n in batches
            }
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = {name: first, **dict(pool.map(one, [n for n in batches if n != name]))}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def gate_results(ctx: Any) -> dict[str, Any]:
    """Run validate.py on every hidden batch; one document for all the lab's checks."""
    key = (str(Path(ctx.workspace).resolve()), int(ctx.seed), _fingerprint(Path(ctx.workspace)))
    now = time.monotonic()
    with _cache_lock:
        for stale in [k for k, (at, _) in _cache.items() if now - at > CACHE_TTL_S]:
            del _cache[stale]
        hit = _cache.get(key)
    if hit is not None:
        return hit[1]
    results = _run_all(ctx)
    with _cache_lock:
        _cache[key] = (time.monotonic(), results)
    return results
