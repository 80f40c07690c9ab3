"""A data validation gate: check one CSV batch against contract.yaml.

Usage (this is exactly how the pipeline, and the grader, run it):

    python validate.py BATCH.csv --report REPORT.json [--contract contract.yaml]

Exit status: 0 when the batch is accepted, 1 when it is rejected.
The report format is described in README.md and in report.schema.json.
"""

from __future__ import annotations

import argparse
import sys

import yaml

RULES = ("missing_column", "type", "not_null", "range", "allowed_values", "row_count")


def load_contract(path: str) -> dict:
    """The contract as a dict: {"name", "version", "rows": {min, max}, "columns": [...]}."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def read_batch(path: str) -> tuple[list[str], list[dict[str, str]]]:
    """The batch's header (column names) and its data rows, each a {column: cell text} dict.

    TODO: read the CSV. Remember that a file can be completely empty (0 bytes).
    """
    raise NotImplementedError("read_batch")


def check_batch(contract: dict, header: list[str], rows: list[dict[str, str]]) -> list[dict]:
    """Every violation of the contract, as {"column", "rule", "count", "example"} dicts.

    TODO: row count, missing columns, then per column: not_null, type, range, allowed_values.
    """
    raise NotImplementedError("check_batch")


def write_report(path: str, report: dict) -> None:
    """Write the report as JSON (create the parent folder if needed)."""
    # TODO
    raise NotImplementedError("write_report")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("batch", help="the CSV batch to validate")
    parser.add_argument("--report", required=True, help="where to write the JSON report")
    parser.add_argument("--contract", default="contract.yaml", help="the data contract (YAML)")
    args = parser.parse_args(argv)

    contract = load_contract(args.contract)
    try:
        header, rows = read_batch(args.batch)
        violations = check_batch(contract, header, rows)
        report = {
            "batch": args.batch,
            "accepted": not violations,
            "rows": len(rows),
            "violations": violations,
        }
        write_report(args.report, report)
    except NotImplementedError as exc:
        print(f"validate.py: TODO: {exc} is not implemented yet", file=sys.stderr)
        return 3  # neither "accepted" (0) nor "rejected" (1): the gate is not built yet
    return 0 if report["accepted"] else 1


if __name__ == "__main__":
    sys.exit(main())
