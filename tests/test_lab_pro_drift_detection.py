"""Lab pro-drift-detection: a fresh start fails, the solution scores full marks, the ground truth
is meaningful, and broken drift reports fail the right checks with a readable reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.content import load_content
from grader.labs.model import Lab
from grader.labs.runner import LabRun, run_checks
from grader.labs.workspace import solve, start
from grader.store.db import Store

LAB_ID = "pro-drift-detection"
SOLUTION = Path(__file__).resolve().parents[1] / "labs" / LAB_ID / "solution" / "drift.py"


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_content(questions=False).lab(LAB_ID)


def _lab_function(lab: Lab, name: str):
    from grader.checks.sources.labcode import load_function

    return load_function(lab.folder, f"checks.py:{name}")


def _run(lab: Lab, row: dict) -> LabRun:
    return run_checks(lab, Path(row["workspace"]), row["seed"])


def _by_id(run: LabRun) -> dict:
    return {r.check_id: r for r in run.results}


@pytest.fixture(scope="module")
def solved_report(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The solution's reports/drift.json, computed once for the broken-report tests."""
    import shutil
    from types import SimpleNamespace

    workspace = tmp_path_factory.mktemp("drift-solved")
    shutil.copytree(lab.starter, workspace, dirs_exist_ok=True)
    ctx = SimpleNamespace(workspace=workspace, lab_dir=lab.folder, seed=lab.seed, lab=lab)
    _lab_function(lab, "setup")(ctx)
    shutil.copytree(lab.solution, workspace, dirs_exist_ok=True)
    _lab_function(lab, "solve")(ctx)
    return (workspace / "reports" / "drift.json").read_text()


def _solved(store: Store, lab: Lab, report: str) -> tuple[dict, Path]:
    """A started workspace holding the solution and its report (without rerunning it)."""
    import shutil

    row, _ = start(store, lab, "tester")
    workspace = Path(row["workspace"])
    shutil.copytree(lab.solution, workspace, dirs_exist_ok=True)
    (workspace / "reports").mkdir(exist_ok=True)
    (workspace / "reports" / "drift.json").write_text(report)
    return row, workspace


def _report(workspace: Path) -> dict:
    return json.loads((workspace / "reports" / "drift.json").read_text())


def _write(workspace: Path, report: dict) -> None:
    (workspace / "reports" / "drift.json").write_text(json.dumps(report))


def _entry(report: dict, name: str) -> dict:
    return next(f for f in report["features"] if f["feature"] == name)


def _rerun_patched(workspace: Path, *replacements: tuple[str, str]) -> None:
    text = SOLUTION.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, f"the solution no longer contains {old!r}"
        text = text.replace(old, new, 1)
    (workspace / "drift.py").write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "drift.py"], cwd=workspace, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def _failed(run: LabRun, check_id: str, *words: str) -> str:
    result = _by_id(run)[check_id]
    assert result.status == "failed", (check_id, result.message)
    for word in words:
        assert word in result.message, (check_id, word, result.message)
    return result.message


def test_lab_loads_with_enough_checks(lab: Lab) -> None:
    assert lab.level == "professional" and lab.domains == ("monitoring",)
    assert len(lab.checks) >= 5
    assert {c.id for c in lab.checks if c.partial} >= {"psi-values", "ks-values"}
    for task in lab.tasks:
        assert 2 <= len(task.hints) <= 4


def test_fresh_start_fails_every_required_check(store: Store, lab: Lab) -> None:
    row, created = start(store, lab, "tester")
    assert created
    workspace = Path(row["workspace"])
    assert (workspace / "data" / "reference.csv").is_file()
    done = subprocess.run([sys.executable, "drift.py"], cwd=workspace, capture_output=True)
    assert done.returncode == 1  # the skeleton runs, and says it is not done
    run = _run(lab, row)
    assert not run.passed and run.score == 0
    for result in run.results:
        if result.required:
            assert result.status == "failed", result.check_id
            assert "does not exist" in result.message


def test_solution_scores_full_marks(store: Store, lab: Lab) -> None:
    row = solve(store, lab, "tester")
    run = _run(lab, row)
    failed = [(r.check_id, r.message) for r in run.results if not r.passed]
    assert failed == []
    assert run.passed and run.score == run.max_score == lab.max_score


def test_the_data_and_the_ground_truth_teach_something(store: Store, lab: Lab) -> None:
    import numpy as np
    import pandas as pd

    row, _ = start(store, lab, "tester")
    workspace = Path(row["workspace"])
    reference, current = _lab_function(lab, "generate")(row["seed"])
    # the CSVs hold exactly the values the grader regenerates, whatever reader is used
    ref_csv = pd.read_csv(workspace / "data" / "reference.csv")
    cur_csv = pd.read_csv(workspace / "data" / "current.csv")
    assert ref_csv.shape == (2000, len(reference)) and cur_csv.shape == (1500, len(current))
    for name in reference:
        assert np.array_equal(ref_csv[name].to_numpy(float), reference[name])
        assert np.array_equal(cur_csv[name].to_numpy(float), current[name])
    truth = _lab_function(lab, "ground_truth")(row["seed"])
    m = len(reference)
    assert truth["alpha_per_test"] == pytest.approx(0.05 / m)
    pvalues = {n: f["ks_pvalue"] for n, f in truth["features"].items()}
    naive = {n for n, p in pvalues.items() if p < 0.05}
    # Bonferroni matters: some feature alarms at 0.05 but not at 0.05 / m
    assert naive - set(truth["drifted"])
    assert 2 <= len(truth["drifted"]) < m
    # no p-value sits near the threshold, so the drifted set is not fragile
    for p in pvalues.values():
        assert not (truth["alpha_per_test"] / 2 < p < truth["alpha_per_test"] * 2)
    # the epsilon matters: some feature has an empty current bin
    assert max(f["psi"] for f in truth["features"].values()) > 1.0


def test_psi_with_right_closed_bins_loses_some_features(
    store: Store, lab: Lab, solved_report: str
) -> None:
    row, workspace = _solved(store, lab, solved_report)
    _rerun_patched(
        workspace,
        (
            "    ref = np.histogram(reference, bins=edges)[0] / len(reference)\n"
            "    cur = np.histogram(current, bins=edges)[0] / len(current)\n",
            "    def counts(x):\n"
            "        return np.bincount(np.searchsorted(inner, x, side='left'), minlength=10)\n"
            "    ref = counts(reference) / len(reference)\n"
            "    cur = counts(current) / len(current)\n",
        ),
    )
    run = _run(lab, row)
    result = _by_id(run)["psi-values"]
    assert result.status == "failed"
    assert 0 < result.points < result.max_points  # partial: only the tied features are off
    assert "num_logins.psi_error" in result.message
    assert _by_id(run)["ks-values"].passed


def test_psi_with_another_epsilon(store: Store, lab: Lab, solved_report: str) -> None:
    row, workspace = _solved(store, lab, solved_report)
    _rerun_patched(workspace, ("PSI_EPSILON = 1e-6", "PSI_EPSILON = 1e-4"))
    run = _run(lab, row)
    _failed(run, "psi-values", "shipping_days.psi_error")


def test_naive_alpha_flags_a_false_alarm(store: Store, lab: Lab, solved_report: str) -> None:
    row, workspace = _solved(store, lab, solved_report)
    report = _report(workspace)
    report["alpha_per_test"] = 0.05
    for f in report["features"]:
        f["drifted"] = f["ks_pvalue"] < 0.05
    report["drifted_features"] = [f["feature"] for f in report["features"] if f["drifted"]]
    _write(workspace, report)
    run = _run(lab, row)
    _failed(run, "drifted-set", "unexpected", "latency_ms")
    _failed(run, "alpha-per-test", "alpha_per_test_error")
    assert _by_id(run)["psi-values"].passed


def test_flags_and_list_disagree(store: Store, lab: Lab, solved_report: str) -> None:
    row, workspace = _solved(store, lab, solved_report)
    report = _report(workspace)
    for f in report["features"]:
        f["drifted"] = False
    _write(workspace, report)
    run = _run(lab, row)
    _failed(run, "drifted-set", "flags_agree")


def test_nan_in_the_report(store: Store, lab: Lab, solved_report: str) -> None:
    row, workspace = _solved(store, lab, solved_report)
    text = (workspace / "reports" / "drift.json").read_text()
    report = _report(workspace)
    psi = _entry(report, "shipping_days")["psi"]
    (workspace / "reports" / "drift.json").write_text(text.replace(json.dumps(psi), "Infinity", 1))
    run = _run(lab, row)
    assert not run.passed and run.score == 0
    for result in run.results:
        assert "not valid JSON" in result.message


def test_corrupt_report(store: Store, lab: Lab, solved_report: str) -> None:
    row, workspace = _solved(store, lab, solved_report)
    (workspace / "reports" / "drift.json").write_text('{"features": [')
    run = _run(lab, row)
    assert all(r.status == "failed" and "not valid JSON" in r.message for r in run.results)


def test_missing_feature_and_renamed_field(store: Store, lab: Lab, solved_report: str) -> None:
    row, workspace = _solved(store, lab, solved_report)
    report = _report(workspace)
    report["features"] = [f for f in report["features"] if f["feature"] != "age"]
    entry = _entry(report, "income")
    entry["ks_p"] = entry.pop("ks_pvalue")
    _write(workspace, report)
    run = _run(lab, row)
    _failed(run, "every-feature", "missing", "age")
    _failed(run, "report-valid", "ks_pvalue")
    ks = _by_id(run)["ks-values"]
    assert ks.status == "failed" and 0 < ks.points < ks.max_points


def test_normalised_wasserstein(store: Store, lab: Lab, solved_report: str) -> None:
    row, workspace = _solved(store, lab, solved_report)
    _rerun_patched(
        workspace,
        (
            "    return float(stats.wasserstein_distance(reference, current))",
            "    return float(stats.wasserstein_distance(reference, current))"
            " / max(float(np.std(reference)), 0.001)",
        ),
    )
    run = _run(lab, row)
    result = _failed(run, "wasserstein-values", "wasserstein_error")
    assert _by_id(run)["wasserstein-values"].points == 0, result
    assert _by_id(run)["psi-values"].passed


def test_a_report_that_is_not_an_object(store: Store, lab: Lab, solved_report: str) -> None:
    row, workspace = _solved(store, lab, solved_report)
    (workspace / "reports" / "drift.json").write_text("[1, 2, 3]")
    run = _run(lab, row)
    assert not run.passed and run.score == 0
    _failed(run, "report-valid", "schema_problem")
