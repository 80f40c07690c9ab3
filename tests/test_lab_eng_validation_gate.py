"""Lab eng-validation-gate: a fresh start fails, the solution scores full marks, and broken
gates fail the right checks with a readable reason (never an exception)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.content import load_content
from grader.labs.model import Lab
from grader.labs.runner import LabRun, run_checks
from grader.labs.workspace import solve, start
from grader.store.db import Store

LAB_ID = "eng-validation-gate"
SOLUTION = Path(__file__).resolve().parents[1] / "labs" / LAB_ID / "solution" / "validate.py"


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_content(questions=False).lab(LAB_ID)


def _run(lab: Lab, row: dict) -> LabRun:
    return run_checks(lab, Path(row["workspace"]), row["seed"])


def _by_id(run: LabRun) -> dict:
    return {r.check_id: r for r in run.results}


def _solved(store: Store, lab: Lab) -> tuple[dict, Path]:
    row = solve(store, lab, "tester")
    return row, Path(row["workspace"])


def _patch(workspace: Path, *replacements: tuple[str, str]) -> None:
    """Write validate.py as the solution with each (old, new) replaced once."""
    text = SOLUTION.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, f"the solution no longer contains {old!r}"
        text = text.replace(old, new, 1)
    (workspace / "validate.py").write_text(text, encoding="utf-8")


def test_lab_loads_with_enough_checks(lab: Lab) -> None:
    assert lab.level == "engineer" and lab.domains == ("cicd",)
    assert len(lab.checks) >= 5
    for check in lab.checks:
        assert check.points > 0 and check.message
    for task in lab.tasks:
        assert 2 <= len(task.hints) <= 4


def test_fresh_start_fails_every_required_check(store: Store, lab: Lab) -> None:
    row, created = start(store, lab, "tester")
    assert created
    workspace = Path(row["workspace"])
    assert (workspace / "batches" / "sample_good.csv").is_file()
    assert (workspace / "batches" / "sample_bad.csv").is_file()
    assert not (workspace / "solution").exists()
    run = _run(lab, row)
    assert not run.passed
    for result in run.results:
        if result.required:
            assert result.status == "failed", result.check_id
            assert result.points == 0, result.check_id


def test_solution_scores_full_marks(store: Store, lab: Lab) -> None:
    row, _ = _solved(store, lab)
    run = _run(lab, row)
    failed = [(r.check_id, r.message) for r in run.results if not r.passed]
    assert failed == []
    assert run.passed
    assert run.score == run.max_score == lab.max_score


def test_solution_handles_the_sample_batches(store: Store, lab: Lab) -> None:
    import json
    import subprocess
    import sys

    _, workspace = _solved(store, lab)
    for name, code in (("sample_good", 0), ("sample_bad", 1)):
        report = workspace / "reports" / f"{name}.json"
        done = subprocess.run(
            [sys.executable, "validate.py", f"batches/{name}.csv", "--report", str(report)],
            cwd=workspace,
            capture_output=True,
            text=True,
        )
        assert done.returncode == code, done.stderr
        data = json.loads(report.read_text())
        assert data["accepted"] is (code == 0)
    bad = json.loads((workspace / "reports" / "sample_bad.json").read_text())
    assert {(v["column"], v["rule"]) for v in bad["violations"]} == {
        ("customer_age", "range"),
        ("channel", "not_null"),
    }


def test_hidden_batches_are_seeded_and_stay_out_of_the_workspace(store: Store, lab: Lab) -> None:
    from grader.checks.sources.labcode import load_function

    row, workspace = _solved(store, lab)
    before = sorted(p.relative_to(workspace) for p in workspace.rglob("*"))
    hidden = load_function(lab.folder, "checks.py:hidden_batches")
    one, two = hidden(row["seed"]), hidden(row["seed"])
    assert one.keys() == two.keys() and all(one[k]["rows"] == two[k]["rows"] for k in one)
    assert hidden(row["seed"] + 1)["good"]["rows"] != one["good"]["rows"]
    _run(lab, row)
    after = sorted(p.relative_to(workspace) for p in workspace.rglob("*"))
    assert [p for p in after if "__pycache__" not in p.parts] == [
        p for p in before if "__pycache__" not in p.parts
    ]


# --- broken gates: each fails the right check, with a reason, and nothing raises ------------


def _failed(run: LabRun, check_id: str, *words: str) -> str:
    result = _by_id(run)[check_id]
    assert result.status == "failed", (check_id, result.message)
    for word in words:
        assert word in result.message, (check_id, word, result.message)
    return result.message


def test_exclusive_bounds_reject_the_good_batch(store: Store, lab: Lab) -> None:
    row, workspace = _solved(store, lab)
    _patch(
        workspace,
        ('value < column["min"]', 'value <= column["min"]'),
        ('value > column["max"]', 'value >= column["max"]'),
    )
    run = _run(lab, row)
    _failed(run, "accepts-good-batch", "exit", "expected 0, found 1")
    assert not run.passed


def test_a_gate_that_crashes_on_an_empty_file(store: Store, lab: Lab) -> None:
    row, workspace = _solved(store, lab)
    _patch(
        workspace,
        ("        header = next(reader, None)\n", "        header = next(reader)\n"),
    )
    run = _run(lab, row)
    message = _failed(run, "empty-file", "traceback")
    assert "no report written" in message
    assert _by_id(run)["accepts-good-batch"].passed


def test_exit_code_always_zero(store: Store, lab: Lab) -> None:
    row, workspace = _solved(store, lab)
    _patch(workspace, ('return 0 if report["accepted"] else 1', "return 0"))
    run = _run(lab, row)
    for check_id in ("rejects-missing-column", "rejects-nulls", "rejects-out-of-range"):
        _failed(run, check_id, "expected 1, found 0")
    assert _by_id(run)["accepts-good-batch"].passed


def test_wrong_rule_name(store: Store, lab: Lab) -> None:
    row, workspace = _solved(store, lab)
    _patch(
        workspace,
        ('violation(name, "not_null", nulls, None)', 'violation(name, "null", nulls, None)'),
    )
    run = _run(lab, row)
    _failed(run, "rejects-nulls", "not_null")
    # the schema names the allowed rules too, but this batch is not one the shape check reads
    assert _by_id(run)["rejects-missing-column"].passed


def test_report_that_is_not_json(store: Store, lab: Lab) -> None:
    row, workspace = _solved(store, lab)
    _patch(workspace, ("json.dumps(report, indent=2)", "repr(report)"))
    run = _run(lab, row)
    _failed(run, "report-shape", "not valid JSON")
    _failed(run, "accepts-good-batch", "not valid JSON")


def test_one_violation_per_row_breaks_the_counts(store: Store, lab: Lab) -> None:
    row, workspace = _solved(store, lab)
    _patch(
        workspace,
        (
            "                found.append(violation(name, rule, len(cells), cells[0]))",
            "                found.extend(violation(name, rule, 1, c) for c in cells)",
        ),
    )
    run = _run(lab, row)
    _failed(run, "reports-every-violation", "exactly two violations")
    result = _by_id(run)["exact-counts"]
    assert result.status == "failed" and 0 < result.points < result.max_points
    assert "count 1, should be" in result.message


def test_nulls_counted_as_type_errors(store: Store, lab: Lab) -> None:
    row, workspace = _solved(store, lab)
    _patch(
        workspace,
        (
            '            if cell == "":\n                nulls += 1\n                continue\n',
            '            if cell == "":\n                nulls += 1\n',
        ),
    )
    run = _run(lab, row)
    _failed(run, "accepts-good-batch", "expected 0, found 1")
    assert "customer_age/type" in str(_by_id(run)["accepts-good-batch"].evidence)


def test_hard_coded_contract_fails_the_optional_check(store: Store, lab: Lab) -> None:
    row, workspace = _solved(store, lab)
    _patch(
        workspace,
        ("contract = load_contract(args.contract)", 'contract = load_contract("contract.yaml")'),
    )
    run = _run(lab, row)
    result = _by_id(run)["reads-the-contract"]
    assert result.status == "failed" and not result.required
    assert "variant" in result.message
    assert run.passed  # every required check still passes
    assert run.score == run.max_score - result.max_points


def test_missing_script(store: Store, lab: Lab) -> None:
    row, workspace = _solved(store, lab)
    (workspace / "validate.py").unlink()
    run = _run(lab, row)
    assert all(r.status == "failed" for r in run.results)
    assert all("validate.py is missing" in r.message for r in run.results)


def test_script_with_a_syntax_error(store: Store, lab: Lab) -> None:
    row, workspace = _solved(store, lab)
    (workspace / "validate.py").write_text("def main(:\n", encoding="utf-8")
    run = _run(lab, row)
    assert not run.passed and run.score == 0
    assert "SyntaxError" in str(_by_id(run)["accepts-good-batch"].evidence)


def test_a_gate_that_hangs(store: Store, lab: Lab) -> None:
    row, workspace = _solved(store, lab)
    (workspace / "validate.py").write_text("import time\ntime.sleep(120)\n", encoding="utf-8")
    run = _run(lab, row)
    assert not run.passed and run.score == 0
    for result in run.results:
        assert result.status == "failed"
        assert "did not finish" in result.message, result.message
