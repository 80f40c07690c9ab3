"""Check sources: each turns learner work into a document, or fails with a reason they can read."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.checks.sources import (
    SOURCES,
    Cancelled,
    NotGradable,
    SourceContext,
    SourceError,
    load_document,
    resolve,
    substitute,
)
from grader.checks.sources import command as command_source
from grader.checks.sources import file as file_source
from grader.checks.sources.http_source import free_port, percentile

LAB_CHECKS = '''
"""A lab's own code: ground truth computed from the lab's data."""
import functools

import numpy as np


def data(ctx):
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)[0]


@functools.cache
def _fitted():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from threadpoolctl import threadpool_limits

    x, y = load_iris(return_X_y=True)
    with threadpool_limits(1):
        return LogisticRegression(max_iter=1000).fit(x, y)


def reference(ctx):
    return _fitted()


def seeded(ctx, n=3):
    rng = np.random.default_rng(ctx.seed)
    return {"seed": ctx.seed, "values": rng.random(n), "nan": float("nan")}


def broken(ctx):
    return 1 / 0


def quits(ctx):
    raise SystemExit(2)


NOT_A_FUNCTION = 42
'''


def make_ctx(root: Path, *, checks: str | None = LAB_CHECKS, **kw: Any) -> SourceContext:
    workspace, lab = root / "ws", root / "lab"
    workspace.mkdir(parents=True, exist_ok=True)
    lab.mkdir(parents=True, exist_ok=True)
    checks_py = lab / "checks.py"
    if checks is not None and not (checks_py.exists() and checks_py.read_text() == checks):
        checks_py.write_text(checks)  # unchanged files keep the loaded module
    return SourceContext(workspace=workspace, lab_dir=lab, seed=7, **kw)


@pytest.fixture
def ctx(tmp_path: Path) -> SourceContext:
    return make_ctx(tmp_path)


def write(ctx: SourceContext, rel: str, content: str | bytes) -> Path:
    path = ctx.workspace / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def fails(spec: dict[str, Any], ctx: SourceContext, *fragments: str) -> str:
    """The source fails with a SourceError whose message holds every fragment."""
    with pytest.raises(SourceError) as info:
        load_document(spec, ctx)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


# base and dispatch --------------------------------------------------------------------------


def test_substitute_replaces_placeholders_recursively_and_leaves_other_braces(ctx):
    value = {"a": ["{workspace}/x", "{seed}"], "b": "{lab}", "c": "{port} {}", "d": 3}
    out = substitute(value, ctx)
    assert out == {
        "a": [f"{ctx.workspace}/x", "7"],
        "b": str(ctx.lab_dir),
        "c": "{port} {}",
        "d": 3,
    }


def test_resolve_allows_workspace_and_lab_paths_and_refuses_escapes(ctx, tmp_path):
    assert resolve("reports/a.json", ctx) == (ctx.workspace / "reports/a.json").resolve()
    assert resolve("{lab}/checks.py", ctx) == (ctx.lab_dir / "checks.py").resolve()
    for bad in ("../outside.json", "/etc/passwd", "reports/../../x"):
        with pytest.raises(SourceError, match="outside the workspace"):
            resolve(bad, ctx)


def test_unknown_source_type_is_a_source_error(ctx):
    fails({"type": "ftp"}, ctx, "unknown source type 'ftp'", "file")


def test_source_needing_a_missing_capability_is_not_gradable(ctx):
    with pytest.raises(NotGradable, match="running-containers"):
        load_document({"type": "file", "path": "x", "needs": ["running-containers"]}, ctx)


def test_unexpected_loader_exception_becomes_a_source_error(ctx, monkeypatch):
    def boom(spec, ctx):
        raise KeyError("surprise")

    monkeypatch.setitem(SOURCES, "boom", boom)
    fails({"type": "boom"}, ctx, "boom source failed", "KeyError", "surprise")


def test_importing_sources_pulls_in_no_heavy_library():
    code = (
        "import sys, grader.checks.sources as s; "
        "heavy = {'mlflow', 'pandas', 'numpy', 'onnxruntime', 'onnx', 'sklearn', 'scipy'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# file ---------------------------------------------------------------------------------------


def test_file_json_yaml_text_and_jsonl_are_parsed(ctx):
    write(ctx, "reports/drift.json", '{"features": [{"name": "a", "psi": 0.12}]}')
    write(ctx, "conf/params.yml", "C: 1.0\nmodels:\n  - lr\n")
    write(ctx, "notes.md", "line one\nline two\n")
    write(ctx, "log.jsonl", '{"i": 1}\n\n{"i": 2}\n')
    assert load_document({"type": "file", "path": "reports/drift.json"}, ctx) == {
        "features": [{"name": "a", "psi": 0.12}]
    }
    assert load_document({"type": "file", "path": "conf/params.yml"}, ctx) == {
        "C": 1.0,
        "models": ["lr"],
    }
    assert load_document({"type": "file", "path": "notes.md"}, ctx) == {
        "text": "line one\nline two\n",
        "lines": 2,
    }
    assert load_document({"type": "file", "path": "log.jsonl"}, ctx) == [{"i": 1}, {"i": 2}]


def test_file_format_overrides_the_suffix_and_seed_is_substituted(ctx):
    write(ctx, "out/result-7.txt", '{"ok": true}')
    doc = load_document({"type": "file", "path": "out/result-{seed}.txt", "format": "json"}, ctx)
    assert doc == {"ok": True}


def test_file_csv_gives_columns_rows_and_count_with_nan_as_none(ctx):
    write(ctx, "data/scores.csv", "feature,psi,flag\na,0.1,true\nb,,false\n")
    doc = load_document({"type": "file", "path": "data/scores.csv"}, ctx)
    assert doc["columns"] == ["feature", "psi", "flag"]
    assert doc["count"] == 2
    assert doc["rows"] == [
        {"feature": "a", "psi": 0.1, "flag": True},
        {"feature": "b", "psi": None, "flag": False},
    ]
    json.dumps(doc)  # JSON-safe all the way down


def test_file_parquet_gives_a_table(ctx):
    import pandas as pd

    path = ctx.workspace / "data" / "ref.parquet"
    path.parent.mkdir(parents=True)
    pd.DataFrame({"x": [1, 2, 3], "y": [0.5, float("nan"), 1.5]}).to_parquet(path)
    doc = load_document({"type": "file", "path": "data/ref.parquet"}, ctx)
    assert doc["count"] == 3
    assert doc["rows"][1] == {"x": 2, "y": None}
    json.dumps(doc)


def test_file_missing_names_the_file_and_near_misses(ctx):
    write(ctx, "reports/drift.yaml", "a: 1\n")
    fails(
        {"type": "file", "path": "reports/drift.json"},
        ctx,
        "reports/drift.json",
        "does not exist",
        "drift.yaml",
    )


def test_file_in_a_missing_folder(ctx):
    fails({"type": "file", "path": "nowhere/x.json"}, ctx, "does not exist")


def test_file_that_is_a_directory(ctx):
    (ctx.workspace / "reports").mkdir()
    fails({"type": "file", "path": "reports"}, ctx, "reports is a directory")


def test_file_invalid_json_reports_line_and_column(ctx):
    write(ctx, "r.json", '{\n  "a": 1,\n  "b": \n}\n')
    fails({"type": "file", "path": "r.json"}, ctx, "r.json is not valid JSON", "line 4")


def test_file_invalid_yaml_reports_the_line(ctx):
    write(ctx, "p.yaml", "a: 1\nb: [1, 2\nc: 3\n")
    fails({"type": "file", "path": "p.yaml"}, ctx, "p.yaml is not valid YAML", "line")


def test_file_yaml_with_tabs_is_invalid(ctx):
    write(ctx, "p.yaml", "a:\n\t- 1\n")
    fails({"type": "file", "path": "p.yaml"}, ctx, "not valid YAML", "line 2")


def test_file_empty_json(ctx):
    write(ctx, "r.json", "")
    fails({"type": "file", "path": "r.json"}, ctx, "r.json is empty")


def test_file_whitespace_only_json_is_empty(ctx):
    write(ctx, "r.json", "  \n\n")
    fails({"type": "file", "path": "r.json"}, ctx, "is empty")


def test_file_yaml_with_only_comments_is_empty(ctx):
    write(ctx, "p.yaml", "# nothing yet\n")
    fails({"type": "file", "path": "p.yaml"}, ctx, "empty")


def test_file_path_escaping_the_workspace_is_refused(ctx, tmp_path):
    (tmp_path / "secret.json").write_text("{}")
    fails({"type": "file", "path": "../secret.json"}, ctx, "outside the workspace")


def test_file_symlink_escaping_the_workspace_is_refused(ctx, tmp_path):
    (tmp_path / "secret.json").write_text("{}")
    (ctx.workspace / "link.json").symlink_to(tmp_path / "secret.json")
    fails({"type": "file", "path": "link.json"}, ctx, "outside the workspace")


def test_file_corrupt_csv_with_ragged_rows(ctx):
    write(ctx, "d.csv", "a,b\n1,2\n3,4,5,6\n")
    fails({"type": "file", "path": "d.csv"}, ctx, "d.csv is not a valid CSV file", "Expected 2")


def test_file_csv_that_is_binary(ctx):
    write(ctx, "d.csv", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\xfa")
    fails({"type": "file", "path": "d.csv"}, ctx, "d.csv is not a valid CSV file")


def test_file_csv_with_only_blank_lines_has_no_columns(ctx):
    write(ctx, "d.csv", "\n\n")
    fails({"type": "file", "path": "d.csv"}, ctx, "d.csv has no columns")


def test_file_corrupt_parquet(ctx):
    write(ctx, "d.parquet", b"this is not parquet at all")
    fails({"type": "file", "path": "d.parquet"}, ctx, "d.parquet is not a valid Parquet file")


def test_file_binary_as_text(ctx):
    write(ctx, "model.bin", b"\xff\xfe\x00\x81binary")
    fails({"type": "file", "path": "model.bin"}, ctx, "not UTF-8 text")


def test_file_too_large(ctx, monkeypatch):
    monkeypatch.setattr(file_source, "MAX_BYTES", 100)
    write(ctx, "big.json", "[" + "1," * 100 + "1]")
    fails({"type": "file", "path": "big.json"}, ctx, "big.json is too large")


def test_file_unknown_format_and_missing_path(ctx):
    write(ctx, "a.txt", "x")
    fails({"type": "file", "path": "a.txt", "format": "xml"}, ctx, "unknown file format 'xml'")
    fails({"type": "file"}, ctx, "needs `path`")


# command ------------------------------------------------------------------------------------


def test_command_captures_exit_code_stdout_and_json(ctx):
    write(ctx, "train.py", "import json, os\nprint(json.dumps({'cwd': os.getcwd(), 'f1': 0.9}))\n")
    doc = load_document({"type": "command", "run": ["python", "train.py"]}, ctx)
    assert doc["exit_code"] == 0
    assert doc["timed_out"] is False
    assert doc["json"] == {"cwd": str(ctx.workspace), "f1": 0.9}
    assert doc["stderr"] == ""


def test_command_string_stdin_and_env(ctx):
    spec = {
        "type": "command",
        "run": "python -c 'import os, sys; print(sys.stdin.read().upper() + os.environ[\"LAB\"])'",
        "stdin": "hello ",
        "env": {"LAB": "seed-{seed}"},
    }
    assert load_document(spec, ctx)["stdout"].strip() == "HELLO seed-7"


def test_command_exit_1_is_a_document_not_an_error(ctx):
    spec = {"type": "command", "run": ["python", "-c", "import sys; sys.exit('bad input')"]}
    doc = load_document(spec, ctx)
    assert doc["exit_code"] == 1
    assert "bad input" in doc["stderr"]


def test_command_printing_non_json_has_json_none(ctx):
    doc = load_document({"type": "command", "run": ["python", "-c", "print('{not json')"]}, ctx)
    assert doc["exit_code"] == 0
    assert doc["json"] is None
    assert doc["stdout"] == "{not json\n"


def test_command_not_found(ctx):
    fails(
        {"type": "command", "run": ["no-such-tool-xyz", "--help"]},
        ctx,
        "command not found: no-such-tool-xyz",
    )


def test_command_script_not_executable(ctx):
    write(ctx, "run.sh", "#!/bin/sh\necho hi\n")
    fails({"type": "command", "run": ["./run.sh"]}, ctx, "permission denied")


def test_command_that_hangs_times_out_fast_and_kills_its_children(ctx):
    started = time.monotonic()
    message = fails(
        {
            "type": "command",
            "run": ["sh", "-c", "echo started >&2; sleep 30 & sleep 30"],
            "timeout": 1,
        },
        ctx,
        "command timed out after 1 s",
        "started",
    )
    assert "sleep 30" in message
    assert time.monotonic() - started < 15


def test_command_cancelled_via_ctx_cancel(tmp_path):
    cancel = threading.Event()
    ctx = make_ctx(tmp_path, cancel=cancel)
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(Cancelled, match="cancelled"):
        load_document({"type": "command", "run": ["sleep", "30"], "timeout": 60}, ctx)
    assert time.monotonic() - started < 15
    timer.cancel()


def test_command_output_is_truncated(ctx, monkeypatch):
    monkeypatch.setattr(command_source, "MAX_OUTPUT", 1000)
    doc = load_document({"type": "command", "run": ["python", "-c", "print('x' * 5000)"]}, ctx)
    assert len(doc["stdout"]) == 1000
    assert doc["truncated"] is True


def test_command_unbalanced_quotes_and_empty_run(ctx):
    fails({"type": "command", "run": "python -c 'oops"}, ctx, "cannot split the command")
    fails({"type": "command", "run": []}, ctx, "command is empty")


# mlflow -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlflow_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace whose mlflow.db holds an experiment, a run, a logged model and a registry."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    root = tmp_path_factory.mktemp("mlflow")
    ws = root / "ws"
    ws.mkdir()
    uri = f"sqlite:///{ws / 'mlflow.db'}"
    x, y = load_iris(return_X_y=True)
    mlflow.set_tracking_uri(uri)
    try:
        exp_id = mlflow.create_experiment("iris-lab", artifact_location=(root / "art").as_uri())
        with mlflow.start_run(experiment_id=exp_id, run_name="baseline"):
            mlflow.log_params({"C": 1.0, "solver": "lbfgs"})
            mlflow.log_metric("f1", 0.91)
            mlflow.set_tag("lab", "tracking")
            with threadpool_limits(1):  # BLAS threads crawl on a small, busy machine
                model = LogisticRegression(max_iter=500).fit(x, y)
            info = mlflow.sklearn.log_model(model, name="clf", pip_requirements=["scikit-learn"])
        with mlflow.start_run(experiment_id=exp_id, run_name="tuned"):
            mlflow.log_params({"C": 0.5, "solver": "lbfgs"})
            mlflow.log_metric("f1", 0.95)
        client = MlflowClient(tracking_uri=uri)
        for _ in range(2):
            mlflow.register_model(info.model_uri, "iris-clf")
        client.set_registered_model_alias("iris-clf", "champion", "1")
        client.set_registered_model_alias("iris-clf", "challenger", "2")
        client.set_model_version_tag("iris-clf", "2", "validated", "yes")
    finally:
        mlflow.set_tracking_uri(None)
    yield ws


@pytest.fixture
def mctx(mlflow_ws: Path, tmp_path: Path) -> SourceContext:
    lab = tmp_path / "lab"
    lab.mkdir()
    return SourceContext(workspace=mlflow_ws, lab_dir=lab, seed=1)


def test_mlflow_experiment(mctx):
    doc = load_document({"type": "mlflow", "query": "experiment", "experiment": "iris-lab"}, mctx)
    assert doc["name"] == "iris-lab"
    assert doc["lifecycle_stage"] == "active"
    assert doc["id"]


def test_mlflow_runs_with_params_metrics_tags_filter_and_order(mctx):
    spec = {
        "type": "mlflow",
        "query": "runs",
        "experiment": "iris-lab",
        "order_by": ["metrics.f1 DESC"],
    }
    runs = load_document(spec, mctx)
    assert [r["run_name"] for r in runs] == ["tuned", "baseline"]
    baseline = runs[1]
    assert baseline["params"] == {"C": "1.0", "solver": "lbfgs"}  # params are strings
    assert baseline["metrics"] == {"f1": 0.91}
    assert baseline["tags"]["lab"] == "tracking"
    assert baseline["status"] == "FINISHED"
    assert baseline["model_ids"] and baseline["model_ids"][0].startswith("m-")
    json.dumps(runs)
    spec["filter"] = "params.C = '1.0' and tags.lab = 'tracking'"
    assert [r["run_name"] for r in load_document(spec, mctx)] == ["baseline"]


def test_mlflow_logged_models(mctx):
    models = load_document(
        {"type": "mlflow", "query": "logged_models", "experiment": "iris-lab"}, mctx
    )
    assert len(models) == 1
    model = models[0]
    assert model["name"] == "clf"
    assert model["model_id"].startswith("m-")
    assert model["metrics"] == {"f1": 0.91}
    assert model["params"]["C"] == "1.0"
    runs = load_document({"type": "mlflow", "query": "runs", "experiment": "iris-lab"}, mctx)
    assert model["source_run_id"] in {r["run_id"] for r in runs}


def test_mlflow_registered_model_reads_aliases_from_the_model(mctx):
    doc = load_document({"type": "mlflow", "query": "registered_model", "model": "iris-clf"}, mctx)
    assert doc["aliases"] == {"champion": 1, "challenger": 2}
    assert [v["version"] for v in doc["versions"]] == [1, 2]
    v1, v2 = doc["versions"]
    assert v1["aliases"] == ["champion"]
    assert v2["aliases"] == ["challenger"]
    assert v2["tags"] == {"validated": "yes"}
    assert v1["source"].startswith("models:/m-")
    assert v1["model_id"] == v1["source"].removeprefix("models:/")
    assert v1["status"] == "READY"
    assert doc["latest_version"] == 2


def test_mlflow_alias(mctx):
    doc = load_document(
        {"type": "mlflow", "query": "alias", "model": "iris-clf", "alias": "challenger"}, mctx
    )
    assert doc["version"] == 2
    assert doc["aliases"] == ["challenger"]
    assert doc["run_id"]


def test_mlflow_sees_a_database_replaced_after_a_reset(mlflow_ws, tmp_path):
    """MLflow pools connections per URI; a replaced file must not be read through stale ones."""
    import shutil
    import sqlite3

    ws = tmp_path / "ws2"
    ws.mkdir()
    shutil.copy(mlflow_ws / "mlflow.db", ws / "mlflow.db")
    ctx = SourceContext(workspace=ws, lab_dir=tmp_path, seed=1)
    spec = {"type": "mlflow", "query": "experiment", "experiment": "iris-lab"}
    assert load_document(spec, ctx)["name"] == "iris-lab"
    fresh = tmp_path / "fresh.db"
    shutil.copy(mlflow_ws / "mlflow.db", fresh)
    conn = sqlite3.connect(fresh)
    conn.execute("UPDATE experiments SET name = 'iris-lab-v2' WHERE name = 'iris-lab'")
    conn.commit()
    conn.close()
    os.replace(fresh, ws / "mlflow.db")
    assert load_document({**spec, "experiment": "iris-lab-v2"}, ctx)["name"] == "iris-lab-v2"


def test_mlflow_database_missing_is_reported_and_not_created(ctx):
    fails({"type": "mlflow", "query": "runs"}, ctx, "no MLflow database at mlflow.db")
    assert not (ctx.workspace / "mlflow.db").exists()


def test_mlflow_experiment_missing_lists_the_known_ones(mctx):
    fails(
        {"type": "mlflow", "query": "runs", "experiment": "iris"},
        mctx,
        "no MLflow experiment named 'iris'",
        "iris-lab",
    )


def test_mlflow_registered_model_missing(mctx):
    fails(
        {"type": "mlflow", "query": "registered_model", "model": "wine"},
        mctx,
        "no registered model named 'wine'",
        "iris-clf",
    )


def test_mlflow_alias_missing(mctx):
    fails(
        {"type": "mlflow", "query": "alias", "model": "iris-clf", "alias": "prod"},
        mctx,
        "has no alias 'prod'",
        "champion",
    )


def test_mlflow_invalid_filter(mctx):
    fails(
        {"type": "mlflow", "query": "runs", "experiment": "iris-lab", "filter": "params.C ="},
        mctx,
        "cannot search MLflow runs",
    )


def test_mlflow_corrupt_database(ctx):
    write(ctx, "mlflow.db", b"garbage" * 100)
    fails({"type": "mlflow", "query": "runs"}, ctx, "mlflow.db is not a SQLite database")


def test_mlflow_sqlite_file_without_mlflow_tables(ctx):
    import sqlite3

    conn = sqlite3.connect(ctx.workspace / "other.db")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    fails(
        {"type": "mlflow", "query": "runs", "tracking_uri": "sqlite:///other.db"},
        ctx,
        "not an MLflow database",
    )


def test_mlflow_tracking_server_not_running(ctx):
    port = free_port()
    fails(
        {"type": "mlflow", "tracking_uri": f"http://127.0.0.1:{port}"},
        ctx,
        "no MLflow tracking server is answering",
    )


def test_mlflow_remote_tracking_server_is_refused(ctx):
    fails(
        {"type": "mlflow", "tracking_uri": "http://mlflow.example.com:5000"},
        ctx,
        "not on this machine",
    )


# onnx ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def onnx_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ONNX exports of the lab's reference model: float32 tensor, float64 input, ZipMap."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    root = tmp_path_factory.mktemp("onnx")
    ws = root / "ws" / "models"
    ws.mkdir(parents=True)
    x, y = load_iris(return_X_y=True)
    with threadpool_limits(1):  # BLAS threads crawl on a small, busy machine
        good = LogisticRegression(max_iter=1000).fit(x, y)
        other = LogisticRegression(C=0.01, max_iter=1000).fit(x, y)
    opset = {"": 17, "ai.onnx.ml": 3}
    no_zipmap = {LogisticRegression: {"zipmap": False}}
    exports = {
        "f32.onnx": (good, FloatTensorType([None, 4]), no_zipmap),
        "f64.onnx": (good, DoubleTensorType([None, 4]), no_zipmap),
        "zipmap.onnx": (good, FloatTensorType([None, 4]), None),
        "other.onnx": (other, FloatTensorType([None, 4]), no_zipmap),
    }
    for name, (model, kind, options) in exports.items():
        onx = convert_sklearn(
            model, initial_types=[("input", kind)], target_opset=opset, options=options
        )
        (ws / name).write_bytes(onx.SerializeToString())
    return root


@pytest.fixture
def octx(onnx_root: Path) -> SourceContext:
    return make_ctx(onnx_root)


PARITY = {"reference": "checks.py:reference", "data": "checks.py:data"}


def test_onnx_metadata_without_parity(octx):
    doc = load_document({"type": "onnx", "path": "models/f32.onnx"}, octx)
    assert doc["inputs"] == [{"name": "input", "type": "tensor(float)", "shape": [None, 4]}]
    assert [o["name"] for o in doc["outputs"]] == ["label", "probabilities"]
    assert doc["output_types"] == ["tensor(int64)", "tensor(float)"]
    assert doc["opsets"]["ai.onnx"] >= 9
    assert doc["producer"] == "skl2onnx"
    assert doc["providers"] == ["CPUExecutionProvider"]
    assert doc["accepts_float32"] is True
    assert doc["zipmap"] is False
    assert doc["parity"] is None
    json.dumps(doc)


def test_onnx_float32_export_has_parity(octx):
    doc = load_document({"type": "onnx", "path": "models/f32.onnx", **PARITY}, octx)
    parity = doc["parity"]
    assert parity["ran"] is True
    assert parity["ok"] is True, parity
    assert parity["labels_equal"] is True
    assert parity["allclose"] is True
    assert parity["rows"] == 150
    assert parity["max_abs_diff"] < 1e-4


def test_onnx_float64_input_reports_parity_not_run(octx):
    doc = load_document({"type": "onnx", "path": "models/f64.onnx", **PARITY}, octx)
    assert doc["accepts_float32"] is False
    assert doc["inputs"][0]["type"] == "tensor(double)"
    parity = doc["parity"]
    assert parity["ran"] is False
    assert parity["ok"] is False
    assert "tensor(double)" in parity["error"]


def test_onnx_zipmap_output_fails_parity_with_a_reason(octx):
    doc = load_document({"type": "onnx", "path": "models/zipmap.onnx", **PARITY}, octx)
    assert doc["zipmap"] is True
    assert doc["output_types"][1].startswith("seq(map(")
    parity = doc["parity"]
    assert parity["ran"] is True
    assert parity["zipmap"] is True
    assert parity["ok"] is False
    assert parity["allclose"] is False
    assert "ZipMap" in parity["reason"]
    assert parity["labels_equal"] is True


def test_onnx_different_model_fails_parity(octx):
    parity = load_document({"type": "onnx", "path": "models/other.onnx", **PARITY}, octx)["parity"]
    assert parity["ran"] is True
    assert parity["ok"] is False
    assert parity["allclose"] is False
    assert parity["max_abs_diff"] > 0.01
    assert parity["reason"]


def test_onnx_missing_file(octx):
    fails({"type": "onnx", "path": "models/model.onnx"}, octx, "models/model.onnx does not exist")


def test_onnx_corrupt_file(ctx):
    write(ctx, "model.onnx", b"hello world, this is not a model")
    fails({"type": "onnx", "path": "model.onnx"}, ctx, "model.onnx is not a valid ONNX model")


def test_onnx_empty_file(ctx):
    write(ctx, "model.onnx", b"")
    fails({"type": "onnx", "path": "model.onnx"}, ctx, "model.onnx is empty")


def test_onnx_pickle_saved_with_onnx_suffix(ctx):
    import pickle

    write(ctx, "model.onnx", pickle.dumps({"not": "onnx"}))
    fails({"type": "onnx", "path": "model.onnx"}, ctx, "model.onnx")


def test_onnx_reference_without_data(octx):
    fails(
        {"type": "onnx", "path": "models/f32.onnx", "reference": "checks.py:reference"},
        octx,
        "needs both `reference` and `data`",
    )


# http ---------------------------------------------------------------------------------------

SERVER = """
import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

open("server.pid", "w").write(str(os.getpid()))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, code, payload):
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Model-Version", "v1")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            self._send(200, {"status": "ok", "version": "v1"})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        data = json.loads(self.rfile.read(length))
        self._send(200, {"version": "v1", "echo": data})

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


@pytest.fixture
def hctx(ctx: SourceContext) -> SourceContext:
    write(ctx, "serve.py", SERVER)
    return ctx


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) is None


def test_http_starts_the_server_measures_latency_and_stops_it(hctx):
    spec = {
        "type": "http",
        "start": ["python", "serve.py", "{port}"],
        "url": "http://127.0.0.1:{port}/health",
        "requests": 30,
        "count_by": "version",
    }
    doc = load_document(spec, hctx)
    assert doc["status_codes"] == [200] * 30
    assert doc["ok"] == 30
    assert doc["errors"] == []
    latency = doc["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    assert doc["body"] == {"status": "ok", "version": "v1"}
    assert len(doc["bodies"]) == 30
    assert doc["counts"] == {"v1": 30}
    assert doc["headers"]["x-model-version"] == "v1"
    pid = int((hctx.workspace / "server.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_http_post_cycles_json_bodies_concurrently_and_paced(hctx):
    spec = {
        "type": "http",
        "start": "python serve.py {port}",
        "url": "http://localhost:{port}/predict",
        "json": [{"x": 1}, {"x": 2}],
        "requests": 6,
        "rate": 100,
        "count_by": "header:X-Model-Version",
    }
    doc = load_document(spec, hctx)
    assert doc["ok"] == 6
    assert [b["echo"] for b in doc["bodies"]] == [{"x": 1}, {"x": 2}] * 3
    assert doc["counts"] == {"v1": 6}
    assert doc["duration_s"] >= 0.04  # six requests paced at 100/s span at least 50 ms


def test_http_non_2xx_is_counted_not_raised(hctx):
    spec = {
        "type": "http",
        "start": ["python", "serve.py", "{port}"],
        "url": "http://127.0.0.1:{port}/missing",
        "requests": 3,
    }
    doc = load_document(spec, hctx)
    assert doc["status_codes"] == [404, 404, 404]
    assert doc["ok"] == 0
    assert doc["body"] == {"error": "not found"}


def test_http_nothing_listening(ctx):
    port = free_port()
    fails(
        {"type": "http", "url": f"http://127.0.0.1:{port}/health"},
        ctx,
        "nothing is listening",
        str(port),
    )


def test_http_non_loopback_url_is_refused(ctx):
    fails({"type": "http", "url": "http://example.com/predict"}, ctx, "refusing", "example.com")
    fails({"type": "http", "url": "http://10.0.0.5:8080/"}, ctx, "refusing")
    fails({"type": "http", "url": "ftp://127.0.0.1/x"}, ctx, "unsupported URL")


def test_http_server_that_exits_immediately_shows_its_stderr(ctx):
    write(ctx, "serve.py", "import sys\nsys.exit('boom: model.onnx not found')\n")
    fails(
        {"type": "http", "start": ["python", "serve.py", "{port}"]},
        ctx,
        "server exited (code 1)",
        "boom: model.onnx not found",
    )


def test_http_server_that_never_listens(ctx):
    write(ctx, "serve.py", "import sys, time\nprint('loading', file=sys.stderr)\ntime.sleep(30)\n")
    started = time.monotonic()
    fails(
        {"type": "http", "start": ["python", "serve.py"], "ready_timeout": 1},
        ctx,
        "did not accept connections",
        "within 1 s",
        "loading",
    )
    assert time.monotonic() - started < 15


def test_http_server_command_not_found(ctx):
    fails({"type": "http", "start": ["no-such-server-xyz"]}, ctx, "command not found")


def test_http_request_timeout_is_reported_per_request(ctx):
    # a socket that accepts but never answers
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        doc = load_document(
            {"type": "http", "url": f"http://127.0.0.1:{port}/", "timeout": 0.3, "requests": 2},
            ctx,
        )
    finally:
        listener.close()
    assert doc["ok"] == 0
    assert doc["failed"] == 2
    assert "timed out" in doc["errors"][0]


# python -------------------------------------------------------------------------------------


def test_python_function_gets_ctx_and_args_and_returns_plain_data(ctx):
    doc = load_document({"type": "python", "function": "checks.py:seeded", "args": {"n": 2}}, ctx)
    assert doc["seed"] == 7
    assert len(doc["values"]) == 2
    assert all(isinstance(v, float) for v in doc["values"])
    assert doc["nan"] is None


def test_python_function_raising_names_the_function(ctx):
    fails(
        {"type": "python", "function": "checks.py:broken"},
        ctx,
        "checks.py:broken failed",
        "ZeroDivisionError",
    )


def test_python_function_calling_sys_exit_is_caught(ctx):
    fails({"type": "python", "function": "checks.py:quits"}, ctx, "SystemExit")


def test_python_function_missing(ctx):
    fails({"type": "python", "function": "checks.py:nope"}, ctx, "has no function 'nope'")


def test_python_attribute_that_is_not_a_function(ctx):
    fails({"type": "python", "function": "checks.py:NOT_A_FUNCTION"}, ctx, "is not a function")


def test_python_checks_py_missing(tmp_path):
    ctx = make_ctx(tmp_path, checks=None)
    fails({"type": "python", "function": "checks.py:seeded"}, ctx, "this lab has no checks.py")


def test_python_checks_py_with_a_syntax_error(tmp_path):
    ctx = make_ctx(tmp_path, checks="def oops(:\n")
    fails(
        {"type": "python", "function": "checks.py:oops"},
        ctx,
        "checks.py failed to load",
        "SyntaxError",
    )


def test_python_bad_reference(ctx):
    fails({"type": "python", "function": "checks.py:"}, ctx, "invalid lab function reference")
    fails({"type": "python", "function": "../evil.py:f"}, ctx, "inside the lab folder")


def test_python_checks_py_edits_are_picked_up(tmp_path):
    ctx = make_ctx(tmp_path, checks="def answer(ctx):\n    return 1\n")
    assert load_document({"type": "python", "function": "answer"}, ctx) == 1
    time.sleep(0.01)
    (ctx.lab_dir / "checks.py").write_text(
        textwrap.dedent("""
        def answer(ctx):
            return 22
    """)
    )
    assert load_document({"type": "python", "function": "answer"}, ctx) == 22


def test_load_function_for_lab_hooks(ctx):
    from grader.checks.sources.labcode import load_function

    fn = load_function(ctx.lab_dir, "checks.py:seeded")
    assert fn(ctx, n=1)["seed"] == 7
    with pytest.raises(SourceError, match="has no function 'setup'"):
        load_function(ctx.lab_dir, "checks.py:setup")
