"""A data validation gate: check one CSV batch against contract.yaml.

Usage (this is exactly how the pipeline, and the grader, run it):

    python validate.py BATCH.csv --report REPORT.json [--contract contract.yaml]

Exit status: 0 when the batch is accepted, 1 when it is rejected.
The report format is described in README.md and in report.schema.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from pathlib import Path

import yaml

RULES = ("missing_column", "type", "not_null", "range", "allowed_values", "row_count")
INTEGER = re.compile(r"^[+-]?\d+$")


def load_contract(path: str) -> dict:
    """The contract as a dict: {"name", "version", "rows": {min, max}, "columns": [...]}."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def read_batch(path: str) -> tuple[list[str], list[dict[str, str]]]:
    """The batch's header (column names) and its data rows, each a {column: cell text} dict."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:  # a 0-byte file: no header, no rows
            return [], []
        header = [name.strip() for name in header]
        rows = []
        for cells in reader:
            if not cells:  # a blank line is not a row
                continue
            rows.append(
                {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header)}
            )
    return header, rows


def parse(text: str, kind: str) -> float | int | str | None:
    """The cell as a value of ``kind``, or None when it is not one."""
    if kind == "string":
        return text
    if kind == "integer":
        return int(text) if INTEGER.match(text.strip()) else None
    if kind == "float":
        try:
            value = float(text)
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    raise ValueError(f"unknown column type {kind!r} in the contract")


def violation(column: str | None, rule: str, count: int, example: str | None) -> dict:
    return {"column": column, "rule": rule, "count": count, "example": example}


def check_batch(contract: dict, header: list[str], rows: list[dict[str, str]]) -> list[dict]:
    """Every violation of the contract, as {"column", "rule", "count", "example"} dicts."""
    found: list[dict] = []
    bounds = contract.get("rows") or {}
    low, high = bounds.get("min"), bounds.get("max")
    if (low is not None and len(rows) < low) or (high is not None and len(rows) > high):
        found.append(violation(None, "row_count", len(rows), None))

    present = set(header)
    for column in contract["columns"]:
        name, kind = column["name"], column["type"]
        if name not in present:
            found.append(violation(name, "missing_column", len(rows), None))
            continue
        nulls = 0
        bad: dict[str, list[str]] = {"type": [], "range": [], "allowed_values": []}
        for row in rows:
            cell = row[name]
            if cell == "":
                nulls += 1
                continue
            value = parse(cell, kind)
            if value is None:
                bad["type"].append(cell)
                continue
            numeric = kind in ("integer", "float")
            if numeric and (
                ("min" in column and value < column["min"])
                or ("max" in column and value > column["max"])
            ):
                bad["range"].append(cell)
            if "allowed" in column and cell not in column["allowed"]:
                bad["allowed_values"].append(cell)
        if nulls and not column.get("nullable", False):
            found.append(violation(name, "not_null", nulls, None))
        for rule, cells in bad.items():
            if cells:
                found.append(violation(name, rule, len(cells), cells[0]))
    return found


def write_report(path: str, report: dict) -> None:
    """Write the report as JSON (create the parent folder if needed)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("batch", help="the CSV batch to validate")
    parser.add_argument("--report", required=True, help="where to write the JSON report")
    parser.add_argument("--contract", default="contract.yaml", help="the data contract (YAML)")
    args = parser.parse_args(argv)

    contract = load_contract(args.contract)
    header, rows = read_batch(args.batch)
    violations = check_batch(contract, header, rows)
    report = {
        "batch": args.batch,
        "accepted": not violations,
        "rows": len(rows),
        "violations": violations,
    }
    write_report(args.report, report)
    status = "ACCEPTED" if report["accepted"] else f"REJECTED ({len(violations)} violation(s))"
    print(f"{args.batch}: {len(rows)} rows, {status}")
    for v in violations:
        print(
            f"  {v['rule']:<15} {v['column'] or '-':<14} count={v['count']} example={v['example']}"
        )
    return 0 if report["accepted"] else 1


if __name__ == "__main__":
    sys.exit(main())
