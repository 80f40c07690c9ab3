"""Lab pro-serving-sla: a fresh start fails, the solution scores full marks, the hidden rows are
unambiguous, and broken services (float64 input, wrong response fields, no input validation,
a slow handler, wrong histogram buckets, latency in milliseconds, a wrong counter, a server
that dies at start-up) fail the right check with a readable reason.

The lab is started and solved once per module; every broken variant is a patched copy of the
reference serve.py in a copy of the solved workspace, graded only on the checks it concerns.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from grader.content import load_content
from grader.labs.model import Lab
from grader.labs.runner import CheckResult, run_check, run_checks
from grader.labs.workspace import solve, start
from grader.store.db import open_store

LAB_ID = "pro-serving-sla"
LAB_DIR = Path(__file__).resolve().parents[1] / "labs" / LAB_ID
SOLUTION = (LAB_DIR / "solution" / "serve.py").read_text()


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_content(questions=False).lab(LAB_ID)


@pytest.fixture(scope="module")
def checks_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_serving_sla_checks", LAB_DIR / "checks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lifecycle(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("certlab-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CERTLAB_HOME", str(home))
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
    copy = tmp_path / "ws"
    shutil.copytree(lifecycle["workspace"], copy)
    script = SOLUTION
    for old, new in edits:
        assert old in script, old
        script = script.replace(old, new)
    (copy / "serve.py").write_text(script)
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


# the lab itself ----------------------------------------------------------------------------


def test_lab_is_well_formed(lab: Lab) -> None:
    assert lab.level == "professional" and lab.domains == ("inference",)
    assert lab.requires == ()
    assert len(lab.checks) >= 5
    for task in lab.tasks:
        assert 2 <= len(task.hints) <= 4
    text = "\n".join(t.instructions for t in lab.tasks)
    for convention in (
        "predict_latency_seconds",
        "0.001, 0.0025, 0.005, 0.01, 0.025, 0.05",
        'predict_requests_total{code="200"}',
        "50 requests per second",
        "300 requests",
        "below 50 ms",
        '{"instances"',
        '"probabilities"',
    ):
        assert convention in text, convention
    http_checks = [c for c in lab.checks if c.source["type"] == "http"]
    assert all(c.source["start"] == ["python", "serve.py", "--port", "{port}"] for c in http_checks)


def test_fresh_start_fails_every_required_check(lifecycle: dict[str, Any]) -> None:
    run = lifecycle["fresh"]
    assert not run.passed
    for result in run.results:
        if result.required:
            assert result.status == "failed", (result.check_id, result.message)
    results = {r.check_id: r for r in run.results}
    assert "answered 501" in results["predict-correct"].message
    assert "GET /metrics answered 404" in results["latency-histogram"].message
    assert results["healthz"].passed  # the starter's /healthz works; it is optional


def test_solution_scores_full_marks(lifecycle: dict[str, Any], lab: Lab) -> None:
    run = lifecycle["solved"]
    assert [(r.check_id, r.message) for r in run.results if not r.passed] == []
    assert run.passed and run.score == run.max_score == lab.max_score


def test_model_and_hidden_rows(lifecycle: dict[str, Any], checks_module: ModuleType) -> None:
    import numpy as np
    import onnxruntime as ort

    ctx = SimpleNamespace(workspace=lifecycle["workspace"], seed=lifecycle["seed"])
    session = ort.InferenceSession(
        str(lifecycle["workspace"] / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    (arg,) = session.get_inputs()
    assert (arg.name, arg.type, arg.shape) == ("input", "tensor(float)", [None, 8])
    assert [o.type for o in session.get_outputs()] == ["tensor(int64)", "tensor(float)"]
    rows = checks_module.hidden_rows(ctx)
    model = checks_module.reference_model(ctx)
    proba = model.predict_proba(rows)
    top2 = np.sort(proba, axis=1)[:, -2:]
    assert float(np.min(top2[:, 1] - top2[:, 0])) > 1e-3  # no label is a float32 coin toss
    assert len(set(model.predict(rows).tolist())) == 3  # every class is exercised
    labels, onnx_proba = session.run(None, {"input": rows.astype(np.float32)})
    assert (labels == model.predict(rows)).all()
    assert np.allclose(onnx_proba, proba, atol=1e-5)


# broken learner work -----------------------------------------------------------------------


def test_float64_input(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(lifecycle, tmp_path, ("np.asarray(rows, dtype=np.float32)", "np.asarray(rows)"))
    message = _failed(lab, copy, lifecycle["seed"], "predict-correct", "answered 500")
    assert "$.correct" in message


def test_wrong_response_fields(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        ('"predictions": [int(v) for v in labels],', '"predictions": [str(v) for v in labels],'),
    )
    _failed(lab, copy, lifecycle["seed"], "predict-correct", "predictions must be integers")
    copy2 = tmp_path / "second"
    shutil.copytree(copy, copy2)
    (copy2 / "serve.py").write_text(
        SOLUTION.replace('"probabilities": np.asarray', '"probs": np.asarray')
    )
    _failed(lab, copy2, lifecycle["seed"], "predict-correct", "`probabilities` is not a list")


def test_no_input_validation(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            '            code, payload = 400, {"error": str(exc)}',
            '            code, payload = 200, {"predictions": []}',
        ),
    )
    seed = lifecycle["seed"]
    message = _failed(lab, copy, seed, "predict-rejects-bad-input", "expected 400, found 200")
    assert "$.status_codes[0]" in message
    assert _check(lab, copy, seed, "predict-correct").passed


def test_slow_handler_misses_the_sla(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            "            x = parse_instances(self.rfile.read(length))\n",
            "            x = parse_instances(self.rfile.read(length))\n"
            "            time.sleep(0.08)\n",
        ),
    )
    _failed(lab, copy, lifecycle["seed"], "p99-under-50ms", "$.latency_ms.p99", "< 50")


def test_default_buckets(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            '"predict_latency_seconds", "Time spent handling POST /predict", buckets=BUCKETS',
            '"predict_latency_seconds", "Time spent handling POST /predict"',
        ),
    )
    seed = lifecycle["seed"]
    _failed(lab, copy, seed, "latency-histogram", "$.histogram.buckets", "le = 0.005")
    assert _check(lab, copy, seed, "metrics-count-requests").passed


def test_latency_in_milliseconds(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            "LATENCY.observe(time.perf_counter() - started)",
            "LATENCY.observe((time.perf_counter() - started) * 1000)",
        ),
    )
    _failed(lab, copy, lifecycle["seed"], "metrics-count-requests", "not seconds?")


def test_counter_without_code_label(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            '"POST /predict requests by status code", ["code"])',
            '"POST /predict requests")',
        ),
        ("REQUESTS.labels(code=str(code)).inc()", "REQUESTS.inc()"),
    )
    seed = lifecycle["seed"]
    _failed(lab, copy, seed, "metrics-count-requests", "no predict_requests_total{code=")
    _failed(lab, copy, seed, "errors-counted", "$.errors_counted")
    assert _check(lab, copy, seed, "latency-histogram").passed


def test_server_that_dies_at_start(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle, tmp_path, ('MODEL_PATH = "model.onnx"', 'MODEL_PATH = "missing.onnx"')
    )
    run = run_checks(lab, copy, lifecycle["seed"])
    assert not run.passed and run.score == 0
    for result in run.results:
        assert result.status == "failed", result.check_id
        assert "exited" in result.message, (result.check_id, result.message)
