"""Lab pro-drift-retraining: a fresh start fails, the solution scores full marks, the hidden
batches make the decision clear-cut, grading ignores the learner's own registry, and broken
retraining scripts (a crash, a wrong PSI binning, text on stdout, a stable run that writes to
the registry, a missing gate with the wrong training data, wrong alias and tag names) fail the
right check with a readable reason.

The lab is started and solved once per module (the MLflow store makes setup slow); every
broken variant is a patched copy of the reference retrain.py in a copy of the solved
workspace. Variants that only need to fail the stable path exit early on drifted batches, so
they never pay for MLflow.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from grader.content import load_content
from grader.labs.model import Lab
from grader.labs.runner import CheckResult, LabRun, run_check, run_checks
from grader.labs.workspace import solve, start
from grader.store.db import open_store

LAB_ID = "pro-drift-retraining"
LAB_DIR = Path(__file__).resolve().parents[1] / "labs" / LAB_ID
SOLUTION = (LAB_DIR / "solution" / "retrain.py").read_text()
EARLY_EXIT = (
    "    # Drifted: MLflow is imported only now, so a stable batch costs nothing.\n",
    "    # Drifted: MLflow is imported only now, so a stable batch costs nothing.\n"
    "    print('drift path disabled in this variant', file=sys.stderr)\n"
    "    return 3\n",
)


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_content(questions=False).lab(LAB_ID)


@pytest.fixture(scope="module")
def checks_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_drift_retraining_checks", LAB_DIR / "checks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lifecycle(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("certlab-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CERTLAB_HOME", str(home))
        mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        store = open_store(home / "certlab.db")
        try:
            row, created = start(store, lab, "tester")
            assert created
            workspace = Path(row["workspace"])
            fresh = run_checks(lab, workspace, row["seed"])
            solve(store, lab, "tester")
            solved = run_checks(lab, workspace, row["seed"])
        finally:
            store.close()
    yield {"fresh": fresh, "solved": solved, "workspace": workspace, "seed": row["seed"]}


def _variant(lifecycle: dict[str, Any], tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """A copy of the solved workspace whose retrain.py has ``edits`` applied."""
    copy = tmp_path / "ws"
    shutil.copytree(lifecycle["workspace"], copy, symlinks=True)
    script = SOLUTION
    for old, new in edits:
        assert old in script, old
        script = script.replace(old, new)
    (copy / "retrain.py").write_text(script)
    return copy


def _check(lab: Lab, workspace: Path, seed: int, check_id: str) -> CheckResult:
    check = next(c for c in lab.checks if c.id == check_id)
    return run_check(check, lab, workspace, seed)


def _failed(lab: Lab, workspace: Path, seed: int, check_id: str, *words: str) -> str:
    result = _check(lab, workspace, seed, check_id)
    assert result.status == "failed", (check_id, result.message)
    assert result.points == 0
    for word in words:
        assert word in result.message, (check_id, word, result.message)
    return result.message


def _by_id(run: LabRun) -> dict[str, CheckResult]:
    return {r.check_id: r for r in run.results}


def _client(workspace: Path) -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    uri = f"sqlite:///{workspace / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


# the lab itself ----------------------------------------------------------------------------


def test_lab_is_well_formed(lab: Lab) -> None:
    assert lab.level == "professional" and lab.domains == ("pipelines",)
    assert lab.requires == ()
    assert len(lab.checks) >= 5
    assert any(not c.required for c in lab.checks)
    for task in lab.tasks:
        assert 2 <= len(task.hints) <= 4
    text = "\n".join(t.instructions for t in lab.tasks)
    for convention in (
        "np.linspace(0, 1, 11)",
        "1e-6",
        ">= 0.25",
        "0.02",
        "churn-classifier",
        "challenger",
        "churn-retraining",
        "max_iter=1000",
        "within 1e-4",
    ):
        assert convention in text, convention


def test_fresh_start_fails_every_required_check(lifecycle: dict[str, Any]) -> None:
    run = lifecycle["fresh"]
    assert not run.passed and run.score == 0
    for result in run.results:
        assert result.status == "failed", (result.check_id, result.message)
    results = _by_id(run)
    # the skeleton runs: its PSI is 0, so every batch looks stable
    assert "psi_max 0.0000, expected" in results["stable-summary"].message
    assert "0 new versions" in results["challenger-registered"].message


def test_setup_seeds_champion_version_1(lifecycle: dict[str, Any]) -> None:
    baseline = lifecycle["workspace"] / ".certlab" / "registry-baseline"
    client = _client(baseline)
    model = client.get_registered_model("churn-classifier")
    assert {k: int(v) for k, v in model.aliases.items()} == {"champion": 1}
    version = client.get_model_version("churn-classifier", "1")
    assert version.tags["trigger"] == "initial"
    for name in ("data/reference.csv", "data/holdout.csv", "incoming/sample_drift.csv"):
        assert (lifecycle["workspace"] / name).is_file()


def test_solution_scores_full_marks(lifecycle: dict[str, Any], lab: Lab) -> None:
    run = lifecycle["solved"]
    assert [(r.check_id, r.message) for r in run.results if not r.passed] == []
    assert run.passed and run.score == run.max_score == lab.max_score


def test_hidden_batches_make_the_decision_clear_cut(checks_module: ModuleType, lab: Lab) -> None:
    truth = {name: checks_module.truth(lab.seed, name) for name in ("stable", "gain", "nogain")}
    assert truth["stable"]["psi_max"] < 0.1 and not truth["stable"]["drifted"]
    for name in ("gain", "nogain"):
        assert truth[name]["psi_max"] > 0.5 and truth[name]["drifted"]
    gain = truth["gain"]["f1_challenger"] - truth["gain"]["f1_champion"]
    nogain = truth["nogain"]["f1_challenger"] - truth["nogain"]["f1_champion"]
    assert gain >= 0.05 and truth["gain"]["promote"]
    assert nogain <= 0.01 and not truth["nogain"]["promote"]
    # the learner's example batches behave like the hidden ones
    assert not checks_module.truth(lab.seed, "sample_stable")["drifted"]
    assert checks_module.truth(lab.seed, "sample_drift")["promote"]


def test_grading_ignores_the_learners_own_registry(
    lifecycle: dict[str, Any], lab: Lab, tmp_path: Path
) -> None:
    copy = _variant(lifecycle, tmp_path)
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    done = subprocess.run(
        [sys.executable, "retrain.py", "--batch", "incoming/sample_drift.csv"],
        cwd=copy,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["promoted"] and summary["version"] == 2
    assert int(_client(copy).get_registered_model("churn-classifier").aliases["champion"]) == 2
    run = run_checks(lab, copy, lifecycle["seed"])
    assert [(r.check_id, r.message) for r in run.results if not r.passed] == []


# broken learner work -----------------------------------------------------------------------


def test_script_that_crashes(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            "    args = parser.parse_args(argv)\n",
            "    args = parser.parse_args(argv)\n    raise RuntimeError('boom')\n",
        ),
    )
    run = run_checks(lab, copy, lifecycle["seed"])
    assert not run.passed and run.score == 0
    for result in run.results:
        assert result.status == "failed"
        assert "RuntimeError: boom" in result.message, (result.check_id, result.message)


def test_wrong_psi_binning(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            "edges = np.quantile(ref, np.linspace(0, 1, PSI_BINS + 1))[1:-1]",
            "edges = np.linspace(ref.min(), ref.max(), PSI_BINS + 1)[1:-1]",
        ),
        EARLY_EXIT,
    )
    seed = lifecycle["seed"]
    _failed(lab, copy, seed, "stable-summary", "$.stable.psi_max", "expected 0.0132")
    _failed(lab, copy, seed, "stable-registry-untouched", "$.stable.psi_max")
    _failed(lab, copy, seed, "drift-detected", "exit 3: drift path disabled")


def test_summary_that_is_not_json(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            "        summary.update(promoted=False, version=None)\n"
            "        print(json.dumps(summary))",
            '        print(f"drifted: no (psi_max={psi_max:.4f})")',
        ),
        EARLY_EXIT,
    )
    message = _failed(lab, copy, lifecycle["seed"], "stable-summary", "stdout is not one JSON")
    assert "$.stable.summary" in message


def test_stable_run_that_writes_to_the_registry(
    lifecycle: dict[str, Any], lab: Lab, tmp_path: Path
) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            "    if not drifted:\n",
            "    if not drifted:\n"
            "        from mlflow import MlflowClient\n"
            "        MlflowClient(args.tracking_uri, args.tracking_uri).set_model_version_tag(\n"
            "            MODEL_NAME, '1', 'last_checked', 'today')\n",
        ),
        EARLY_EXIT,
    )
    seed = lifecycle["seed"]
    _failed(lab, copy, seed, "stable-registry-untouched", "the tags of version 1 changed")
    assert _check(lab, copy, seed, "stable-summary").passed


def test_no_gate_and_challenger_trained_on_the_batch_only(
    lifecycle: dict[str, Any], lab: Lab, tmp_path: Path
) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        ("    passed = f1_challenger - f1_champion >= MARGIN", "    passed = True  # no gate"),
        (
            "challenger = recipe().fit(both[FEATURES], both[LABEL])",
            "challenger = recipe().fit(cur[FEATURES], cur[LABEL])",
        ),
    )
    run = _by_id(run_checks(lab, copy, lifecycle["seed"]))
    assert run["stable-summary"].passed and run["challenger-registered"].passed
    assert run["gate-promotes"].passed  # the gain batch promotes either way
    held = run["gate-holds"]
    assert held.status == "failed"
    assert 'at $.nogain.champion: expected "old", found "new"' in held.message, held.message
    assert '$.nogain.tags.validation: expected "failed", found "passed"' in held.message
    evaluated = run["evaluation-tags"]
    assert evaluated.status == "failed" and "f1_challenger" in evaluated.message, evaluated.message


def test_wrong_alias_and_tag_names(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            'client.set_registered_model_alias(MODEL_NAME, "challenger", version)',
            'client.set_registered_model_alias(MODEL_NAME, "candidate", version)',
        ),
        ('"psi_max": f"{psi_max:.6f}",', '"psi": f"{psi_max:.6f}",'),
    )
    run = _by_id(run_checks(lab, copy, lifecycle["seed"]))
    registered = run["challenger-registered"]
    assert registered.status == "failed"
    assert "$.gain.tags.psi_max" in registered.message and "missing" in registered.message
    assert '$.gain.challenger: expected "new", found "none"' in registered.message
    assert run["gate-holds"].status == "failed"
    assert run["drift-detected"].passed and run["evaluation-tags"].passed


def test_missing_baseline_is_a_reason_not_a_crash(
    lifecycle: dict[str, Any], lab: Lab, tmp_path: Path
) -> None:
    copy = _variant(lifecycle, tmp_path)
    shutil.rmtree(copy / ".certlab")
    (copy / "retrain.py").unlink()
    message = _failed(lab, copy, lifecycle["seed"], "stable-summary", "no retrain.py")
    assert "Traceback" not in message
    (copy / "retrain.py").write_text(SOLUTION)
    _failed(lab, copy, lifecycle["seed"], "gate-promotes", "registry baseline", "lab reset")


def test_checks_module_outside_certlab(checks_module: ModuleType, tmp_path: Path) -> None:
    ctx = SimpleNamespace(workspace=tmp_path, seed=1, cancel=None)
    with pytest.raises(Exception, match=r"no retrain\.py"):
        checks_module.outcomes(ctx)
