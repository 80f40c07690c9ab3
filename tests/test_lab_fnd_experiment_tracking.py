"""Lab fnd-experiment-tracking: a fresh start fails, the solution scores full marks, and broken
tracking (missing models, wrong metric names, dishonest metrics, wrong best run, stray tags, a
corrupt store, a crashed forest run) fails the right check with a readable reason.

The solution is applied once per module (MLflow makes it slow); each broken variant works on a
copy of the solved workspace. Copies keep their models: MLflow stores absolute artifact paths
into the original workspace, which the module keeps.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.content import load_content
from grader.labs.model import Lab
from grader.labs.runner import CheckResult, LabRun, run_check, run_checks
from grader.labs.workspace import solve, start
from grader.store.db import open_store

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LAB_ID = "fnd-experiment-tracking"
LAB_DIR = Path(__file__).resolve().parents[1] / "labs" / LAB_ID


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_content(questions=False).lab(LAB_ID)


@pytest.fixture(scope="module")
def lifecycle(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Start the lab (and grade it), then solve it (and grade it), in a home of its own."""
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
            starter_runs = {
                name: subprocess.run(
                    [sys.executable, name], cwd=workspace, capture_output=True, text=True
                ).returncode
                for name in ("train.py", "pick_best.py")
            }
            after_starter = run_checks(lab, workspace, row["seed"])
            solve(store, lab, "tester")
            solved = run_checks(lab, workspace, row["seed"])
        finally:
            store.close()
    yield {
        "fresh": fresh,
        "after_starter": after_starter,
        "starter_exit": starter_runs,
        "solved": solved,
        "workspace": workspace,
        "seed": row["seed"],
    }


@pytest.fixture
def broken(lifecycle: dict[str, Any], tmp_path: Path) -> Path:
    """A copy of the solved workspace to break."""
    copy = tmp_path / "ws"
    shutil.copytree(lifecycle["workspace"], copy)
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


def _client(workspace: Path) -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{workspace / 'mlflow.db'}")


def _runs(workspace: Path) -> list[Any]:
    client = _client(workspace)
    experiment = client.get_experiment_by_name("cancer-baselines")
    return client.search_runs([experiment.experiment_id], order_by=["metrics.f1 DESC"])


def _by_id(run: LabRun) -> dict[str, CheckResult]:
    return {r.check_id: r for r in run.results}


# the lab itself ----------------------------------------------------------------------------


def test_lab_is_well_formed(lab: Lab) -> None:
    assert lab.level == "foundation" and lab.domains == ("versioning",)
    assert lab.requires == ()
    assert len(lab.checks) >= 5
    assert any(not c.required for c in lab.checks)
    for task in lab.tasks:
        assert 2 <= len(task.hints) <= 4
    # the split the instructions state is the one the starter uses and the grader recomputes
    starter = (LAB_DIR / "starter" / "train.py").read_text()
    assert f"RANDOM_STATE = {lab.seed}" in starter and "TEST_SIZE = 0.25" in starter
    assert f"random_state={lab.seed}" in lab.tasks[0].instructions


def test_fresh_start_fails_every_required_check(lifecycle: dict[str, Any], lab: Lab) -> None:
    for run in (lifecycle["fresh"], lifecycle["after_starter"]):
        assert not run.passed and run.score == 0
        for result in run.results:
            assert result.status == "failed", (result.check_id, result.message)
            assert "does not exist" in result.message or "no MLflow database" in result.message
    # the skeleton runs without doing the work
    assert lifecycle["starter_exit"] == {"train.py": 0, "pick_best.py": 0}


def test_solution_scores_full_marks(lifecycle: dict[str, Any], lab: Lab) -> None:
    run = lifecycle["solved"]
    assert [(r.check_id, r.message) for r in run.results if not r.passed] == []
    assert run.passed and run.score == run.max_score == lab.max_score


def test_the_ground_truth_recomputes_the_best_run(lifecycle: dict[str, Any]) -> None:
    workspace = lifecycle["workspace"]
    runs = _runs(workspace)
    assert len(runs) == 3
    best = json.loads((workspace / "best_run.json").read_text())
    assert best["run_id"] == runs[0].info.run_id
    # the candidates do not tie, and the best is neither the first nor the last trained
    f1s = [r.data.metrics["f1"] for r in runs]
    assert len(set(f1s)) == 3
    assert runs[0].info.run_name == "logreg-c1"


# broken learner work -----------------------------------------------------------------------


def test_dishonest_metric(lifecycle: dict[str, Any], lab: Lab, broken: Path) -> None:
    forest = next(r for r in _runs(broken) if r.info.run_name == "forest-200")
    _client(broken).log_metric(forest.info.run_id, "f1", 0.999, step=1)
    short = forest.info.run_id[:8]
    message = _failed(lab, broken, lifecycle["seed"], "metrics-honest", short, "real 0.967")
    assert "logged 0.999" in message
    _failed(lab, broken, lifecycle["seed"], "best-is-best", "the best is 0.9990")
    _failed(lab, broken, lifecycle["seed"], "best-tagged", "not the highest f1")


def test_wrong_metric_name_and_missing_model(
    lifecycle: dict[str, Any], lab: Lab, broken: Path
) -> None:
    client = _client(broken)
    experiment = client.get_experiment_by_name("cancer-baselines")
    run = client.create_run(experiment.experiment_id, run_name="sloppy")
    client.log_param(run.info.run_id, "model_type", "random_forest")
    client.log_metric(run.info.run_id, "accuracy", 0.95)
    client.log_metric(run.info.run_id, "f1_score", 0.96)  # not `f1`
    client.set_terminated(run.info.run_id, "FINISHED")
    seed = lifecycle["seed"]
    _failed(lab, broken, seed, "runs-logged", "metrics.f1", "it to be present")
    _failed(lab, broken, seed, "runs-tagged", "tags")
    _failed(lab, broken, seed, "models-logged", "model_ids")
    _failed(lab, broken, seed, "metrics-honest", "no logged model")
    assert _check(lab, broken, seed, "experiment-exists").passed


def test_missing_tag(lifecycle: dict[str, Any], lab: Lab, broken: Path) -> None:
    run = _runs(broken)[1]
    _client(broken).delete_tag(run.info.run_id, "purpose")
    _failed(lab, broken, lifecycle["seed"], "runs-tagged", "purpose", "it to be present")
    assert _check(lab, broken, lifecycle["seed"], "runs-logged").passed


def test_best_run_file_names_the_wrong_run(
    lifecycle: dict[str, Any], lab: Lab, broken: Path
) -> None:
    runs = _runs(broken)
    worst = runs[-1]
    (broken / "best_run.json").write_text(
        json.dumps({"run_id": worst.info.run_id, "metric": "f1", "f1": worst.data.metrics["f1"]})
    )
    _failed(lab, broken, lifecycle["seed"], "best-is-best", "that run's f1 is 0.95")
    assert _check(lab, broken, lifecycle["seed"], "best-file").passed


def test_best_run_file_rounded_or_wrongly_named(
    lifecycle: dict[str, Any], lab: Lab, broken: Path
) -> None:
    best = json.loads((broken / "best_run.json").read_text())
    seed = lifecycle["seed"]
    (broken / "best_run.json").write_text(json.dumps({**best, "f1": round(best["f1"], 2)}))
    _failed(lab, broken, seed, "best-is-best", "f1 in the file should be")
    (broken / "best_run.json").write_text(
        json.dumps({"run": best["run_id"], "f1": str(best["f1"])})
    )
    _failed(lab, broken, seed, "best-file", "$.run_id", "a number")
    _failed(lab, broken, seed, "best-is-best", "not a finished run")


def test_corrupt_best_run_file(lifecycle: dict[str, Any], lab: Lab, broken: Path) -> None:
    (broken / "best_run.json").write_text('{"run_id": "abc", ')
    _failed(lab, broken, lifecycle["seed"], "best-file", "not valid JSON")
    _failed(lab, broken, lifecycle["seed"], "best-is-best", "not valid JSON")


def test_two_runs_tagged_best(lifecycle: dict[str, Any], lab: Lab, broken: Path) -> None:
    runs = _runs(broken)
    _client(broken).set_tag(runs[2].info.run_id, "best", "true")
    _failed(lab, broken, lifecycle["seed"], "best-tagged", "2 runs have best=true")
    assert _check(lab, broken, lifecycle["seed"], "best-is-best").passed


def test_corrupt_store(lifecycle: dict[str, Any], lab: Lab, broken: Path) -> None:
    (broken / "mlflow.db").write_bytes(b"this is not a database" * 100)
    run = run_checks(lab, broken, lifecycle["seed"])
    results = _by_id(run)
    assert not run.passed
    for check_id in ("experiment-exists", "runs-logged", "metrics-honest", "best-tagged"):
        assert results[check_id].status == "failed"
        assert "not a SQLite database" in results[check_id].message, results[check_id].message
    assert results["best-file"].passed  # the JSON file itself is still fine


def test_forest_without_trusted_types_leaves_a_failed_run(
    lifecycle: dict[str, Any], lab: Lab, tmp_path: Path
) -> None:
    workspace = tmp_path / "fresh"
    workspace.mkdir()
    script = (LAB_DIR / "solution" / "train.py").read_text()
    assert "skops_trusted_types=TRUSTED_TYPES," in script
    (workspace / "train.py").write_text(script.replace("skops_trusted_types=TRUSTED_TYPES,", ""))
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    done = subprocess.run(
        [sys.executable, "train.py"], cwd=workspace, capture_output=True, text=True, env=env
    )
    assert done.returncode != 0 and "untrusted types" in done.stderr
    statuses = sorted(r.info.status for r in _runs(workspace))
    assert statuses == ["FAILED", "FINISHED", "FINISHED"]
    seed = lifecycle["seed"]
    _failed(lab, workspace, seed, "runs-logged", "random_forest")
    # the failed run is not graded: the two finished runs are honest and tagged
    assert _check(lab, workspace, seed, "runs-tagged").passed
    assert _check(lab, workspace, seed, "models-logged").passed
    _failed(lab, workspace, seed, "metrics-honest", "checked")
