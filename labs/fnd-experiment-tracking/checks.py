"""Ground truth for the lab fnd-experiment-tracking.

The grader recomputes every number it compares with from scikit-learn's bundled breast_cancer
data and the stated split (test_size 0.25, random_state = the lab's seed, stratified on the
label); nothing expected is stored. Every function reads the learner's MLflow store through
``MlflowClient(tracking_uri=...)`` and never creates it: a missing or broken store is a failed
check with its reason, never a crash.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

EXPERIMENT = "cancer-baselines"
METRICS = ("accuracy", "f1")
TEST_SIZE = 0.25
TOLERANCE = 1e-6  # logged metrics must equal the recomputed ones to this absolute tolerance


class LabCheckError(Exception):
    """The learner's work cannot be graded; the message says why."""


def _fail(message: str) -> Any:
    """Raise the grader's SourceError (a failed check with a reason) with ``message``."""
    try:
        from grader.checks.sources.base import SourceError
    except ImportError:  # used outside certlab
        raise LabCheckError(message) from None
    raise SourceError(message)


# lifecycle ---------------------------------------------------------------------------------


def solve(ctx: Any) -> None:
    """Run the reference solution's scripts in the workspace."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    for script in ("train.py", "pick_best.py"):
        subprocess.run(
            [sys.executable, script],
            cwd=ctx.workspace,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )


# data --------------------------------------------------------------------------------------


def test_split(seed: int) -> tuple[Any, Any]:
    """The stated test split: (X_test, y_test) of breast_cancer, 25 %, stratified, seeded."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    _, X_test, _, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, random_state=seed, stratify=y
    )
    return X_test, y_test


# the learner's store -----------------------------------------------------------------------


def _client(ctx: Any) -> Any:
    db = Path(ctx.workspace) / "mlflow.db"
    if not db.is_file() or db.stat().st_size == 0:
        _fail("no MLflow database mlflow.db in the workspace (has train.py logged anything?)")
    with open(db, "rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            _fail("mlflow.db is not a SQLite database")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{db.resolve()}")


def _finished_runs(ctx: Any) -> tuple[Any, list[Any]]:
    client = _client(ctx)
    try:
        experiment = client.get_experiment_by_name(EXPERIMENT)
    except Exception as exc:
        _fail(f"cannot read mlflow.db: {str(exc).splitlines()[0] if str(exc) else exc}")
    if experiment is None:
        _fail(f"no MLflow experiment named {EXPERIMENT!r}")
    runs = client.search_runs(
        [experiment.experiment_id], "attributes.status = 'FINISHED'", max_results=1000
    )
    return client, runs


def _short(run_id: str) -> str:
    return run_id[:8]


def _models_by_run(client: Any, runs: list[Any]) -> dict[str, list[Any]]:
    """Each run's logged models (``m-<hex>`` entities), found by their source run."""
    if not runs:
        return {}
    ids = sorted({r.info.experiment_id for r in runs})
    found: dict[str, list[Any]] = {r.info.run_id: [] for r in runs}
    for model in client.search_logged_models(experiment_ids=ids, max_results=1000):
        if model.source_run_id in found:
            found[model.source_run_id].append(model)
    return found


def _load_model(model: Any) -> Any:
    import mlflow.sklearn

    location = model.artifact_location
    if location.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        location = unquote(urlsplit(location).path)
    return mlflow.sklearn.load_model(location)


def honest_metrics(ctx: Any) -> dict[str, Any]:
    """Reload each finished run's model and recompute accuracy and f1 on the stated split.

    Returns ``{runs, checked, honest, dishonest, max_abs_diff, verdict}``; ``dishonest`` lists
    runs whose logged metrics differ from the recomputed ones (or whose model is missing or
    cannot predict), with the numbers.
    """
    import warnings

    from sklearn.metrics import accuracy_score, f1_score

    client, runs = _finished_runs(ctx)
    models = _models_by_run(client, runs)
    X_test, y_test = test_split(ctx.seed)
    dishonest: list[dict[str, Any]] = []
    checked = 0
    max_diff = 0.0
    for run in runs:
        run_id = run.info.run_id
        entry: dict[str, Any] = {"run_id": run_id, "run_name": run.info.run_name}
        if not models.get(run_id):
            dishonest.append({**entry, "problem": "no logged model"})
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                latest = max(models[run_id], key=lambda m: m.creation_timestamp or 0)
                predictions = _load_model(latest).predict(X_test)
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            dishonest.append({**entry, "problem": f"the model cannot predict: {reason[:200]}"})
            continue
        checked += 1
        try:
            truth = {
                "accuracy": float(accuracy_score(y_test, predictions)),
                "f1": float(f1_score(y_test, predictions)),
            }
        except Exception as exc:
            dishonest.append({**entry, "problem": f"bad predictions: {exc}"})
            continue
        logged = run.data.metrics
        for name, value in truth.items():
            got = logged.get(name)
            if got is None or not math.isfinite(got):
                dishonest.append({**entry, "metric": name, "logged": got, "recomputed": value})
                continue
            diff = abs(got - value)
            max_diff = max(max_diff, diff)
            if diff > TOLERANCE:
                dishonest.append({**entry, "metric": name, "logged": got, "recomputed": value})
    if not runs:
        verdict = "no finished runs"
    elif dishonest:
        first = dishonest[0]
        if "problem" in first:
            verdict = f"run {_short(first['run_id'])}: {first['problem']}"[:58]
        else:
            verdict = (
                f"run {_short(first['run_id'])} {first['metric']}: logged {first['logged']:.4g}"
                f", real {first['recomputed']:.4g}"
                if first["logged"] is not None
                else f"run {_short(first['run_id'])} has no {first['metric']} metric"
            )
    else:
        verdict = "ok"
    return {
        "runs": len(runs),
        "checked": checked,
        "dishonest": dishonest,
        "max_abs_diff": max_diff,
        "verdict": verdict,
    }


def model_signatures(ctx: Any) -> dict[str, Any]:
    """Whether each finished run's logged model carries an input signature (its MLmodel)."""
    import yaml

    client, runs = _finished_runs(ctx)
    models = _models_by_run(client, runs)
    without: list[str] = []
    count = 0
    for run in runs:
        for model in models.get(run.info.run_id, []):
            count += 1
            location = model.artifact_location
            if location.startswith("file://"):
                from urllib.parse import unquote, urlsplit

                location = unquote(urlsplit(location).path)
            mlmodel = Path(location) / "MLmodel"
            try:
                meta = yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError):
                meta = {}
            signature = meta.get("signature") if isinstance(meta, dict) else None
            if not (isinstance(signature, dict) and signature.get("inputs")):
                without.append(run.info.run_id)
    return {"models": count, "without_signature": without}


def _best_runs(runs: list[Any]) -> tuple[float | None, set[str]]:
    scored = [
        (r.data.metrics["f1"], r.info.run_id)
        for r in runs
        if isinstance(r.data.metrics.get("f1"), float) and math.isfinite(r.data.metrics["f1"])
    ]
    if not scored:
        return None, set()
    top = max(f1 for f1, _ in scored)
    return top, {run_id for f1, run_id in scored if f1 == top}


def best_run_named(ctx: Any) -> dict[str, Any]:
    """Compare best_run.json with the finished run(s) holding the highest f1 (ties accepted)."""
    path = Path(ctx.workspace) / "best_run.json"
    if not path.is_file():
        _fail("best_run.json does not exist (run pick_best.py)")
    try:
        named = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"best_run.json is not valid JSON: {exc}")
    if not isinstance(named, dict):
        _fail("best_run.json must hold a JSON object")
    _, runs = _finished_runs(ctx)
    top, best_ids = _best_runs(runs)
    by_id = {r.info.run_id: r for r in runs}
    run_id = named.get("run_id")
    claimed = named.get("f1")
    doc: dict[str, Any] = {
        "named_run": run_id,
        "named_f1": claimed,
        "best_f1": top,
        "best_runs": sorted(best_ids),
    }
    if top is None:
        verdict = "no finished run has an f1 metric"
    elif not isinstance(run_id, str) or run_id not in by_id:
        verdict = "run_id is not a finished run of cancer-baselines"
    elif run_id not in best_ids:
        their = by_id[run_id].data.metrics.get("f1")
        if their is None:
            verdict = "that run has no f1 metric"
        else:
            verdict = f"that run's f1 is {their:.4f}; the best is {top:.4f}"
    elif (
        isinstance(claimed, bool)
        or not isinstance(claimed, int | float)
        or abs(claimed - top) > TOLERANCE
    ):
        verdict = f"f1 in the file should be the run's f1, {top:.6f}"
    else:
        verdict = "ok"
    doc["verdict"] = verdict
    return doc


def best_run_tagged(ctx: Any) -> dict[str, Any]:
    """Exactly one finished run carries tags.best = 'true', and it has the highest f1."""
    _, runs = _finished_runs(ctx)
    top, best_ids = _best_runs(runs)
    tagged = [r.info.run_id for r in runs if r.data.tags.get("best") == "true"]
    if not tagged:
        verdict = "no run has the tag best=true"
    elif len(tagged) > 1:
        verdict = f"{len(tagged)} runs have best=true; exactly one may"
    elif tagged[0] not in best_ids:
        verdict = "the run tagged best=true has not the highest f1"
    else:
        verdict = "ok"
    return {"tagged": tagged, "best_f1": top, "best_runs": sorted(best_ids), "verdict": verdict}
