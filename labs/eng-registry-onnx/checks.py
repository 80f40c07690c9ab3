"""Data, set-up and ground truth for the lab eng-registry-onnx.

Everything is regenerated from the lab's seed: the churn data (``make_classification``), the
four candidates (defined once, in ``starter/train_candidates.py`` of the lab folder — never the
learner's copy), which candidate is best by ``val_auc``, and 256 hidden rows the learner never
sees, on which the ONNX export must agree with the refitted champion. Nothing expected is
stored. The learner's MLflow store is read through ``MlflowClient(tracking_uri=...)`` and never
created; anything missing or broken is a failed check with its reason.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import threading
import types
from pathlib import Path
from typing import Any

EXPERIMENT = "churn-candidates"
MODEL_NAME = "churn-classifier"
METRIC = "val_auc"
LABEL = "churned"
FEATURES = [
    "tenure",
    "monthly_charges",
    "total_charges",
    "support_calls",
    "contract_length",
    "data_usage",
    "late_payments",
    "num_products",
    "satisfaction",
    "discount",
]
# rows of the generated data set, in order
SPLITS = {"train": 1200, "valid": 400, "eval": 400, "hidden": 256}

_lock = threading.Lock()
_cache: dict[tuple[str, int], Any] = {}


class LabCheckError(Exception):
    """The learner's work cannot be graded; the message says why."""


def _fail(message: str) -> Any:
    """Raise the grader's SourceError (a failed check with a reason) with ``message``."""
    try:
        from grader.checks.sources.base import SourceError
    except ImportError:  # used outside certlab
        raise LabCheckError(message) from None
    raise SourceError(message)


# data --------------------------------------------------------------------------------------


def csv_texts(seed: int) -> dict[str, str]:
    """The four splits as CSV text: train, valid and eval are written to data/ verbatim."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=sum(SPLITS.values()),
        n_features=len(FEATURES),
        n_informative=5,
        n_redundant=2,
        weights=[0.72],
        flip_y=0.03,
        class_sep=0.8,
        random_state=seed,
    )
    frame = pd.DataFrame(X.round(6), columns=FEATURES)
    frame[LABEL] = y
    texts: dict[str, str] = {}
    start = 0
    for name, size in SPLITS.items():
        texts[name] = frame.iloc[start : start + size].to_csv(index=False)
        start += size
    return texts


def frames(seed: int) -> dict[str, Any]:
    """The four splits as data frames, parsed from the very text written to data/*.csv."""
    import pandas as pd

    return {name: pd.read_csv(io.StringIO(text)) for name, text in csv_texts(seed).items()}


def write_data(workspace: Path, seed: int) -> None:
    data = Path(workspace) / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, text in csv_texts(seed).items():
        if name != "hidden":
            (data / f"{name}.csv").write_text(text, encoding="utf-8")


def _env() -> dict[str, str]:
    return {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def _run_script(workspace: Path, script: str) -> None:
    done = subprocess.run(
        [sys.executable, script],
        cwd=workspace,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{script} exited with {done.returncode}: {' | '.join(tail)}")


# lifecycle ---------------------------------------------------------------------------------


def setup(ctx: Any) -> None:
    """Write the seeded data and log the four candidates to mlflow.db in the workspace."""
    write_data(ctx.workspace, ctx.seed)
    _run_script(ctx.workspace, "train_candidates.py")


def solve(ctx: Any) -> None:
    """Run the reference solution's scripts in the workspace."""
    for script in ("register.py", "export_onnx.py"):
        _run_script(ctx.workspace, script)


# ground truth ------------------------------------------------------------------------------


def _candidates_module(ctx: Any) -> Any:
    """The lab's own starter/train_candidates.py (not the learner's copy).

    Compiled from its source (no ``__pycache__`` is written into starter/, which is copied
    to learners).
    """
    path = Path(ctx.lab_dir) / "starter" / "train_candidates.py"
    key = ("module", str(path), path.stat().st_mtime_ns)
    with _lock:
        if key not in _cache:
            module = types.ModuleType("_certlab_churn_candidates")
            module.__file__ = str(path)
            code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
            exec(code, module.__dict__)
            _cache[key] = module
        return _cache[key]


def fitted_candidates(ctx: Any) -> list[dict[str, Any]]:
    """Each candidate refitted on the seeded training data, with its validation metrics."""
    module = _candidates_module(ctx)
    key = ("fitted", ctx.seed, id(module))
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    data = frames(ctx.seed)
    X_train, y_train = module.split(data["train"])
    X_valid, y_valid = module.split(data["valid"])
    fitted = []
    for name, model_type, params, model in module.candidates():
        model.fit(X_train, y_train)
        metrics = module.validation_metrics(model, X_valid, y_valid)
        fitted.append(
            {
                "name": name,
                "model_type": model_type,
                "params": params,
                "model": model,
                "metrics": metrics,
            }
        )
    with _lock:
        _cache[key] = fitted
    return fitted


def reference_model(ctx: Any) -> Any:
    """The champion, refitted: the candidate with the highest val_auc on the seeded data."""
    return max(fitted_candidates(ctx), key=lambda c: c["metrics"][METRIC])["model"]


def parity_rows(ctx: Any) -> Any:
    """data/eval.csv's features plus 256 hidden rows, rounded to float32 for both sides."""
    import numpy as np
    import pandas as pd

    data = frames(ctx.seed)
    rows = pd.concat([data["eval"], data["hidden"]], ignore_index=True)[FEATURES]
    return rows.astype(np.float32).astype(np.float64)


# the learner's store -----------------------------------------------------------------------


def _client(ctx: Any) -> Any:
    db = Path(ctx.workspace) / "mlflow.db"
    if not db.is_file() or db.stat().st_size == 0:
        _fail("no MLflow database mlflow.db in the workspace (reset the lab to recreate it)")
    with open(db, "rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            _fail("mlflow.db is not a SQLite database")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    uri = f"sqlite:///{db.resolve()}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(text).strip().splitlines()[0][:200]


def _ranking(client: Any) -> tuple[list[tuple[float, str]], dict[str, Any]]:
    """Finished candidate runs as (val_auc, run_id), best first, and the runs by id."""
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        _fail(f"no experiment {EXPERIMENT!r} in mlflow.db (reset the lab to recreate it)")
    runs = client.search_runs(
        [experiment.experiment_id], "attributes.status = 'FINISHED'", max_results=1000
    )
    scored = [
        (r.data.metrics[METRIC], r.info.run_id)
        for r in runs
        if isinstance(r.data.metrics.get(METRIC), float) and math.isfinite(r.data.metrics[METRIC])
    ]
    if len({value for value, _ in scored}) < 2:
        _fail(f"{EXPERIMENT} needs at least two finished runs with different {METRIC}")
    scored.sort(reverse=True)
    return scored, {r.info.run_id: r for r in runs}


def _alias_run(client: Any, alias: str) -> tuple[int, str | None]:
    """(version, run id) behind ``alias`` of the registered model; SourceError when unset."""
    from mlflow.exceptions import MlflowException

    try:
        model = client.get_registered_model(MODEL_NAME)
    except MlflowException as exc:
        _fail(f"no registered model named {MODEL_NAME!r}: {_reason(exc)}")
    aliases = {a: int(v) for a, v in (model.aliases or {}).items()}
    if alias not in aliases:
        known = ", ".join(sorted(aliases)) or "none"
        _fail(f"{MODEL_NAME} has no alias {alias!r} (its aliases: {known})")
    version = client.get_model_version(MODEL_NAME, str(aliases[alias]))
    run_id = version.run_id
    source = version.source or ""
    if not run_id and source.startswith("models:/m-"):
        model_id = source[len("models:/") :].split("/", 1)[0]
        try:
            run_id = client.get_logged_model(model_id).source_run_id
        except MlflowException:
            run_id = None
    return aliases[alias], run_id


def _describe(run_id: str | None, runs: dict[str, Any]) -> str:
    run = runs.get(run_id or "")
    if run is None:
        return "a model that is not a finished churn-candidates run"
    name = run.data.tags.get("candidate") or run.info.run_name
    value = run.data.metrics.get(METRIC)
    return f"{name} ({METRIC} {value:.4f})" if value is not None else f"{name} (no {METRIC})"


def champion_alias(ctx: Any) -> dict[str, Any]:
    """The champion alias points to a version of the run with the highest val_auc."""
    client = _client(ctx)
    scored, runs = _ranking(client)
    top = scored[0][0]
    best = {run_id for value, run_id in scored if value == top}
    version, run_id = _alias_run(client, "champion")
    ok = run_id in best
    verdict = "ok" if ok else f"champion is {_describe(run_id, runs)}"[:58]
    return {
        "version": version,
        "run_id": run_id,
        "best_runs": sorted(best),
        "best_value": top,
        "champion": _describe(run_id, runs),
        "verdict": verdict,
    }


def challenger_alias(ctx: Any) -> dict[str, Any]:
    """The challenger alias is set, is another version, and holds the runner-up run."""
    client = _client(ctx)
    scored, runs = _ranking(client)
    values = sorted({value for value, _ in scored}, reverse=True)
    second = values[1]
    runner_up = {run_id for value, run_id in scored if value == second}
    champion_version, champion_run = _alias_run(client, "champion")
    version, run_id = _alias_run(client, "challenger")
    if version == champion_version:
        verdict = "challenger and champion are the same version"
    elif run_id == champion_run:
        verdict = "challenger holds the same run as the champion"
    elif run_id not in runner_up:
        verdict = f"challenger is {_describe(run_id, runs)}"[:58]
    else:
        verdict = "ok"
    return {
        "version": version,
        "champion_version": champion_version,
        "run_id": run_id,
        "runner_up_runs": sorted(runner_up),
        "runner_up_value": second,
        "challenger": _describe(run_id, runs),
        "verdict": verdict,
    }


def parity_report(ctx: Any) -> dict[str, Any]:
    """parity.json reports the champion version that the alias points to now, on eval.csv."""
    path = Path(ctx.workspace) / "parity.json"
    if not path.is_file():
        _fail("parity.json does not exist (run export_onnx.py)")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"parity.json is not valid JSON: {exc}")
    if not isinstance(report, dict):
        _fail("parity.json must hold a JSON object")
    client = _client(ctx)
    version, _ = _alias_run(client, "champion")
    reported = report.get("version")
    rows = SPLITS["eval"]
    if isinstance(reported, bool) or not isinstance(reported, int):
        verdict = "version must be the champion's version number"
    elif reported != version:
        verdict = f"parity.json is for version {reported}; champion is {version}"
    elif report.get("rows") != rows:
        verdict = f"rows should be the {rows} rows of data/eval.csv"
    else:
        verdict = "ok"
    return {"reported_version": reported, "champion_version": version, "verdict": verdict}
