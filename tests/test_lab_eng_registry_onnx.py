"""Lab eng-registry-onnx: a fresh start fails, the solution scores full marks, the ground truth
(the refitted champion) is the model the registry holds, and broken work — wrong or equal
aliases, a float64 or fixed-batch input, ZipMap, the wrong model exported, a corrupt file, a
stale or malformed parity report, a crashing export — fails the right check with a readable
reason.

Setup and solve run once per module (MLflow and four fits make them slow); each broken variant
works on a copy of the solved workspace (MLflow's artifact paths stay absolute into the
original workspace, which the module keeps).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from grader.content import load_content
from grader.labs.model import Lab
from grader.labs.runner import CheckResult, run_check, run_checks
from grader.labs.workspace import solve, start
from grader.store.db import open_store

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LAB_ID = "eng-registry-onnx"
MODEL = "churn-classifier"
ONNX_CHECKS = ("onnx-input", "onnx-no-zipmap", "onnx-parity")


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_content(questions=False).lab(LAB_ID)


@pytest.fixture(scope="module")
def lifecycle(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Start the lab (and grade it), run the skeletons, then solve it (and grade it)."""
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
            starter_exit = {
                name: subprocess.run(
                    [sys.executable, name], cwd=workspace, capture_output=True, text=True
                ).returncode
                for name in ("register.py", "export_onnx.py")
            }
            after_starter = run_checks(lab, workspace, row["seed"])
            solve(store, lab, "tester")
            solved = run_checks(lab, workspace, row["seed"])
        finally:
            store.close()
    yield {
        "fresh": fresh,
        "after_starter": after_starter,
        "starter_exit": starter_exit,
        "solved": solved,
        "workspace": workspace,
        "seed": row["seed"],
        "home": home,
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

    uri = f"sqlite:///{workspace / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _checks_module(lab: Lab) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_test_registry_onnx_checks", lab.folder / "checks.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def truth(lab: Lab, lifecycle: dict[str, Any]) -> dict[str, Any]:
    """The refitted candidates, best val_auc first."""
    module = _checks_module(lab)
    ctx = SimpleNamespace(workspace=lifecycle["workspace"], lab_dir=lab.folder, seed=lab.seed)
    fitted = sorted(module.fitted_candidates(ctx), key=lambda c: -c["metrics"]["val_auc"])
    return {"module": module, "ctx": ctx, "fitted": fitted}


def _export(
    model: Any, path: Path, *, double: bool = False, zipmap: bool = False, batch: int | None = None
) -> None:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    kind = DoubleTensorType if double else FloatTensorType
    options = {} if zipmap else {"zipmap": False}
    onx = convert_sklearn(
        model,
        initial_types=[("input", kind([batch, 10]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
        options=options,
    )
    path.write_bytes(onx.SerializeToString())


# the lab itself ----------------------------------------------------------------------------


def test_lab_is_well_formed(lab: Lab) -> None:
    assert lab.level == "engineer" and lab.domains == ("versioning", "serving")
    assert lab.requires == () and lab.setup and lab.solve
    assert len(lab.checks) >= 5
    assert any(not c.required for c in lab.checks)
    for task in lab.tasks:
        assert 2 <= len(task.hints) <= 4


def test_fresh_start_fails_every_required_check(lifecycle: dict[str, Any]) -> None:
    workspace = lifecycle["workspace"]
    for name in ("train.csv", "valid.csv", "eval.csv"):
        assert (workspace / "data" / name).is_file()
    assert not list(workspace.rglob("hidden*"))  # the hidden rows never reach the learner
    assert lifecycle["starter_exit"] == {"register.py": 0, "export_onnx.py": 0}
    for run in (lifecycle["fresh"], lifecycle["after_starter"]):
        assert not run.passed and run.score == 0
        for result in run.results:
            assert result.status == "failed", (result.check_id, result.message)
            assert "no registered model" in result.message or "does not exist" in result.message, (
                result.message
            )


def test_solution_scores_full_marks(lifecycle: dict[str, Any], lab: Lab) -> None:
    run = lifecycle["solved"]
    assert [(r.check_id, r.message) for r in run.results if not r.passed] == []
    assert run.passed and run.score == run.max_score == lab.max_score


def test_setup_logged_the_candidates_the_grader_refits(
    lifecycle: dict[str, Any], truth: dict[str, Any]
) -> None:
    import mlflow.sklearn

    client = _client(lifecycle["workspace"])
    experiment = client.get_experiment_by_name("churn-candidates")
    runs = client.search_runs([experiment.experiment_id], order_by=["metrics.val_auc DESC"])
    assert [r.info.status for r in runs] == ["FINISHED"] * 4
    fitted = truth["fitted"]
    # the same ranking, the same metric values, and val_f1 disagrees on the winner
    assert [r.data.tags["candidate"] for r in runs] == [c["name"] for c in fitted]
    for run, candidate in zip(runs, fitted, strict=True):
        assert run.data.metrics["val_auc"] == candidate["metrics"]["val_auc"]
    assert max(fitted, key=lambda c: c["metrics"]["val_f1"])["name"] != fitted[0]["name"]
    # the champion is not the latest run trained
    assert fitted[0]["name"] != "gboost-d3"
    # the registered champion predicts exactly like the refitted reference
    X = truth["module"].parity_rows(truth["ctx"])
    champion = mlflow.sklearn.load_model(
        client.get_logged_model(runs[0].outputs.model_outputs[0].model_id).artifact_location
    )
    reference = truth["module"].reference_model(truth["ctx"])
    assert (champion.predict_proba(X) == reference.predict_proba(X)).all()
    assert len(X) == 656


# broken learner work: the registry ---------------------------------------------------------


def test_aliases_swapped(lifecycle: dict[str, Any], lab: Lab, broken: Path) -> None:
    # also what ranking by val_f1 gives: gradient boosting wins on F1, the forest on AUC
    client = _client(broken)
    aliases = client.get_registered_model(MODEL).aliases
    client.set_registered_model_alias(MODEL, "champion", aliases["challenger"])
    client.set_registered_model_alias(MODEL, "challenger", aliases["champion"])
    seed = lifecycle["seed"]
    _failed(lab, broken, seed, "champion-is-best", "champion is gboost-d3")
    _failed(lab, broken, seed, "challenger-is-runner-up", "challenger is forest-d6")
    # parity.json was written for the old champion
    _failed(lab, broken, seed, "parity-version", "champion is")
    assert _check(lab, broken, seed, "aliases-set").passed
    assert _check(lab, broken, seed, "model-registered").passed


def test_challenger_is_the_champion(lifecycle: dict[str, Any], lab: Lab, broken: Path) -> None:
    client = _client(broken)
    aliases = client.get_registered_model(MODEL).aliases
    client.set_registered_model_alias(MODEL, "challenger", aliases["champion"])
    _failed(lab, broken, lifecycle["seed"], "challenger-is-runner-up", "same version")
    assert _check(lab, broken, lifecycle["seed"], "champion-is-best").passed


def test_alias_missing(lifecycle: dict[str, Any], lab: Lab, broken: Path) -> None:
    _client(broken).delete_registered_model_alias(MODEL, "challenger")
    _failed(lab, broken, lifecycle["seed"], "aliases-set", "$.aliases.challenger")
    _failed(lab, broken, lifecycle["seed"], "challenger-is-runner-up", "no alias 'challenger'")


# broken learner work: the ONNX file --------------------------------------------------------


def test_float64_input(lifecycle: dict[str, Any], lab: Lab, broken: Path, truth: dict) -> None:
    _export(truth["fitted"][0]["model"], broken / "model.onnx", double=True)
    seed = lifecycle["seed"]
    _failed(lab, broken, seed, "onnx-input", "tensor(double)")
    _failed(lab, broken, seed, "onnx-parity", "$.parity.ran")
    assert _check(lab, broken, seed, "onnx-no-zipmap").passed


def test_fixed_batch(lifecycle: dict[str, Any], lab: Lab, broken: Path, truth: dict) -> None:
    _export(truth["fitted"][0]["model"], broken / "model.onnx", batch=1)
    _failed(lab, broken, lifecycle["seed"], "onnx-input", "$.inputs[0].shape[0]")


def test_zipmap_left_on(lifecycle: dict[str, Any], lab: Lab, broken: Path, truth: dict) -> None:
    _export(truth["fitted"][0]["model"], broken / "model.onnx", zipmap=True)
    seed = lifecycle["seed"]
    _failed(lab, broken, seed, "onnx-no-zipmap", "$.zipmap")
    _failed(lab, broken, seed, "onnx-parity", "$.parity.allclose")
    assert _check(lab, broken, seed, "onnx-input").passed


def test_challenger_exported(
    lifecycle: dict[str, Any], lab: Lab, broken: Path, truth: dict
) -> None:
    _export(truth["fitted"][1]["model"], broken / "model.onnx")
    seed = lifecycle["seed"]
    _failed(lab, broken, seed, "onnx-parity", "$.parity.labels_equal")
    for check_id in ("onnx-input", "onnx-no-zipmap"):
        assert _check(lab, broken, seed, check_id).passed


def test_corrupt_onnx(lifecycle: dict[str, Any], lab: Lab, broken: Path) -> None:
    (broken / "model.onnx").write_bytes(b"\x08\x07garbage" * 50)
    for check_id in (*ONNX_CHECKS, "onnx-opset"):
        _failed(lab, broken, lifecycle["seed"], check_id, "model.onnx")


def test_export_script_crashes(lifecycle: dict[str, Any], lab: Lab, broken: Path) -> None:
    (broken / "model.onnx").unlink()
    (broken / "parity.json").unlink()
    script = (lab.solution / "export_onnx.py").read_text()
    (broken / "export_onnx.py").write_text(script.replace("@{ALIAS}", "@best"))
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    done = subprocess.run(
        [sys.executable, "export_onnx.py"], cwd=broken, capture_output=True, text=True, env=env
    )
    assert done.returncode != 0
    for check_id in (*ONNX_CHECKS, "parity-file", "parity-version"):
        _failed(lab, broken, lifecycle["seed"], check_id, "does not exist")


# broken learner work: the parity report ----------------------------------------------------


def test_parity_report_wrong_fields(lifecycle: dict[str, Any], lab: Lab, broken: Path) -> None:
    report = json.loads((broken / "parity.json").read_text())
    report["labels_match"] = report.pop("labels_equal")
    report["version"] = str(report["version"])
    (broken / "parity.json").write_text(json.dumps(report))
    seed = lifecycle["seed"]
    _failed(lab, broken, seed, "parity-file", "$.version", "$.labels_equal")
    _failed(lab, broken, seed, "parity-version", "champion's version number")


def test_parity_report_on_train_rows(lifecycle: dict[str, Any], lab: Lab, broken: Path) -> None:
    report = json.loads((broken / "parity.json").read_text())
    (broken / "parity.json").write_text(json.dumps({**report, "rows": 1200}))
    _failed(lab, broken, lifecycle["seed"], "parity-file", "$.rows")
    _failed(lab, broken, lifecycle["seed"], "parity-version", "400 rows")


def test_corrupt_parity_report(lifecycle: dict[str, Any], lab: Lab, broken: Path) -> None:
    (broken / "parity.json").write_text("labels_equal: yes\n")
    _failed(lab, broken, lifecycle["seed"], "parity-file", "not valid JSON")
    _failed(lab, broken, lifecycle["seed"], "parity-version", "not valid JSON")


def test_corrupt_store(lifecycle: dict[str, Any], lab: Lab, broken: Path) -> None:
    (broken / "mlflow.db").write_bytes(b"\x00" * 4096)
    run = run_checks(lab, broken, lifecycle["seed"])
    results = {r.check_id: r for r in run.results}
    for check_id in ("model-registered", "champion-is-best", "challenger-is-runner-up"):
        assert results[check_id].status == "failed"
        assert "not a SQLite database" in results[check_id].message
    # the ONNX file does not depend on the store: the refit is the ground truth
    assert results["onnx-parity"].passed
