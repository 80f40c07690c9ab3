"""Ground truth for the lab pro-drift-retraining.

Everything the grader compares with is recomputed from the lab's seed: the reference data,
the holdout and three hidden batches (stable, drifted with a useful new concept, drifted
without one), the max PSI of each batch (10 reference-decile bins, empty bins 1e-6) and the
F1 of the champion and of the challenger trained by the stated recipe. Nothing expected is
stored.

The learner's ``retrain.py`` is run three times, each in its own scratch copy of the
workspace whose MLflow store is a fresh copy of the registry exactly as setup left it
(champion = version 1), so the three outcomes are independent of each other and of whatever
the learner did to their own registry. The runs are made once per check run and shared by
the checks (cached on the content of the workspace's code).

Run as a script (``python checks.py seed-registry SEED`` in the workspace) it creates the
MLflow store; setup does that in a subprocess so MLflow's default artifact root is the
workspace, not the grader's working directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

FEATURES = [
    "tenure_months",
    "monthly_charges",
    "support_minutes",
    "data_usage_gb",
    "days_since_upgrade",
]
LABEL = "churned"
MODEL_NAME = "churn-classifier"
EXPERIMENT = "churn-retraining"
PSI_THRESHOLD = 0.25
PSI_BINS = 10
PSI_EPS = 1e-6
MARGIN = 0.02
PSI_TOL = 1e-4
F1_TOL = 0.005
N_REFERENCE, N_HOLDOUT, N_BATCH = 2000, 1000, 2000

# The population: standard-normal z scores turned into feature units; churn follows a
# logistic model of z. The "new world" shifts two features and changes the concept.
_MU = (30.0, 70.0, 25.0, 12.0, 200.0)
_SD = (12.0, 18.0, 9.0, 4.0, 80.0)
_SHIFT = (0.0, 1.1, 0.9, 0.0, 0.0)
_OLD = ((-1.3, 0.9, 1.1, 0.0, 0.4), -0.4)
_NEW = ((0.6, 0.9, 0.4, -1.8, 0.4), -1.2)

# rng streams: np.random.default_rng([seed, stream])
STREAMS = {
    "reference": 1,
    "holdout": 2,
    "sample_stable": 3,
    "sample_drift": 4,
    "stable": 11,
    "gain": 12,
    "nogain": 13,
}
#: what each batch is: (features shifted?, concept)
KINDS = {
    "sample_stable": (False, "old"),
    "sample_drift": (True, "new"),
    "stable": (False, "old"),
    "gain": (True, "new"),
    "nogain": (True, "old"),
}
BASELINE = Path(".certlab") / "registry-baseline"
RUN_TIMEOUT = 240.0
SKIP = {".certlab", "mlruns", "mlartifacts", "__pycache__", ".git", ".venv", "venv", "incoming"}


class LabCheckError(Exception):
    """The learner's work cannot be graded; the message says why."""


def _fail(message: str) -> Any:
    try:
        from grader.checks.sources.base import SourceError
    except ImportError:  # used outside certlab
        raise LabCheckError(message) from None
    raise SourceError(message)


# data --------------------------------------------------------------------------------------


def _make(seed: int, stream: int, n: int, shifted: bool, concept: str) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng([seed, stream])
    z = rng.standard_normal((n, len(FEATURES)))
    if shifted:
        z = z + np.asarray(_SHIFT)
    weights, bias = _OLD if concept == "old" else _NEW
    logit = bias + z @ np.asarray(weights)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(np.asarray(_MU) + np.asarray(_SD) * z, columns=FEATURES)
    frame[LABEL] = y
    return frame


def reference(seed: int) -> Any:
    return _make(seed, STREAMS["reference"], N_REFERENCE, False, "old")


def holdout(seed: int) -> Any:
    """The latest labelled production sample: the new world."""
    return _make(seed, STREAMS["holdout"], N_HOLDOUT, True, "new")


def batch(seed: int, name: str) -> Any:
    shifted, concept = KINDS[name]
    return _make(seed, STREAMS[name], N_BATCH, shifted, concept)


def psi(ref: Any, cur: Any) -> float:
    """PSI of one feature: 10 reference-decile bins, upper bin on ties, empty bins 1e-6."""
    import numpy as np

    ref = np.asarray(ref, dtype=float)
    cur = np.asarray(cur, dtype=float)
    edges = np.quantile(ref, np.linspace(0, 1, PSI_BINS + 1))[1:-1]
    r = np.bincount(np.digitize(ref, edges), minlength=PSI_BINS) / len(ref)
    c = np.bincount(np.digitize(cur, edges), minlength=PSI_BINS) / len(cur)
    r = np.clip(r, PSI_EPS, None)
    c = np.clip(c, PSI_EPS, None)
    return float(np.sum((c - r) * np.log(c / r)))


def psi_max(ref_frame: Any, cur_frame: Any) -> float:
    return max(psi(ref_frame[f], cur_frame[f]) for f in FEATURES)


def recipe() -> Any:
    """The model recipe of champion and challenger alike."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))])


def _f1(model: Any, frame: Any) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(frame[LABEL], model.predict(frame[FEATURES])))


_truth_cache: dict[tuple[int, str], dict[str, Any]] = {}


def truth(seed: int, name: str) -> dict[str, Any]:
    """The correct outcome for the hidden batch ``name``."""
    key = (seed, name)
    if key not in _truth_cache:
        import pandas as pd

        ref, hold, cur = reference(seed), holdout(seed), batch(seed, name)
        value = psi_max(ref, cur)
        champion = recipe().fit(ref[FEATURES], ref[LABEL])
        out: dict[str, Any] = {
            "psi_max": value,
            "drifted": value >= PSI_THRESHOLD,
            "f1_champion": _f1(champion, hold),
        }
        if out["drifted"]:
            both = pd.concat([ref, cur], ignore_index=True)
            challenger = recipe().fit(both[FEATURES], both[LABEL])
            out["f1_challenger"] = _f1(challenger, hold)
            out["promote"] = out["f1_challenger"] - out["f1_champion"] >= MARGIN
        _truth_cache[key] = out
    return _truth_cache[key]


# lifecycle ---------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", PYTHONUNBUFFERED="1")
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def setup(ctx: Any) -> None:
    """Write the data, seed the registry with champion v1 and keep a pristine copy of it."""
    ws = Path(ctx.workspace)
    (ws / "data").mkdir(exist_ok=True)
    (ws / "incoming").mkdir(exist_ok=True)
    reference(ctx.seed).to_csv(ws / "data" / "reference.csv", index=False)
    holdout(ctx.seed).to_csv(ws / "data" / "holdout.csv", index=False)
    batch(ctx.seed, "sample_stable").to_csv(ws / "incoming" / "sample_stable.csv", index=False)
    batch(ctx.seed, "sample_drift").to_csv(ws / "incoming" / "sample_drift.csv", index=False)
    for name in ("mlflow.db", "mlruns"):
        target = ws / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "seed-registry", str(ctx.seed)],
        cwd=ws,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"seeding the MLflow registry failed:\n{tail}")
    baseline = ws / BASELINE
    if baseline.exists():
        shutil.rmtree(baseline)
    baseline.mkdir(parents=True)
    shutil.copy2(ws / "mlflow.db", baseline / "mlflow.db")
    shutil.copytree(ws / "mlruns", baseline / "mlruns")
    (baseline / "root.json").write_text(json.dumps({"root": proc.stdout.strip().splitlines()[-1]}))


def _seed_registry(seed: int) -> None:
    """Run in the workspace: champion v1 trained on the reference data, alias champion."""
    import warnings

    warnings.filterwarnings("ignore")
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    mlflow.set_experiment(EXPERIMENT)
    ref, hold = reference(seed), holdout(seed)
    model = recipe().fit(ref[FEATURES], ref[LABEL])
    f1 = _f1(model, hold)
    with mlflow.start_run(run_name="champion-v1") as run:
        mlflow.log_params({"training_rows": len(ref), "trigger": "initial"})
        mlflow.log_metric("f1_holdout", f1)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=MODEL_NAME,
            pip_requirements=["scikit-learn", "pandas"],
        )
    client = MlflowClient()
    version = str(info.registered_model_version)
    client.set_registered_model_alias(MODEL_NAME, "champion", version)
    for key, value in {
        "trigger": "initial",
        "validation": "passed",
        "f1_holdout": f"{f1:.6f}",
        "run": run.info.run_id,
    }.items():
        client.set_model_version_tag(MODEL_NAME, version, key, value)
    print(os.getcwd())


# running the learner's script -------------------------------------------------------------


def _code_key(ws: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(ws.rglob("*")):
        rel = path.relative_to(ws)
        if not path.is_file() or rel.parts[0] in SKIP or path.name.startswith("mlflow.db"):
            continue
        if path.suffix not in (".py", ".yaml", ".yml", ".json", ".toml", ".cfg", ".txt"):
            continue
        digest.update(str(rel).encode())
        digest.update(path.read_bytes())
    base = ws / BASELINE / "mlflow.db"
    if base.is_file():
        digest.update(str(base.stat().st_mtime_ns).encode())
    return digest.hexdigest()


def _rewrite_paths(db: Path, old: str, new: str) -> None:
    """Point every path the copied store holds at the scratch copy."""
    from urllib.parse import quote

    pairs = []
    for a, b in ((old, new), (quote(old), quote(new))):
        pairs += [("file://" + a + "/", "file://" + b + "/"), (a + "/", b + "/")]
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cols = [
                r[1]
                for r in conn.execute(f'PRAGMA table_info("{table}")')
                if "CHAR" in (r[2] or "").upper() or "TEXT" in (r[2] or "").upper()
            ]
            for col in cols:
                for a, b in pairs:
                    conn.execute(
                        f'UPDATE "{table}" SET "{col}" = REPLACE("{col}", ?, ?) '
                        f'WHERE "{col}" LIKE ?',
                        (a, b, "%" + a.replace("%", "\\%") + "%"),
                    )
        conn.commit()
    finally:
        conn.close()


def _scratch(ws: Path, seed: int, name: str, parent: Path) -> Path:
    """A copy of the workspace's code with the pristine registry and fresh data."""
    target = parent / name / "workspace"
    shutil.copytree(
        ws,
        target,
        ignore=lambda d, names: (
            [n for n in names if n in SKIP or n.startswith("mlflow.db")]
            if Path(d) == ws
            else [n for n in names if n == "__pycache__"]
        ),
        symlinks=True,
    )
    baseline = ws / BASELINE
    shutil.copy2(baseline / "mlflow.db", target / "mlflow.db")
    shutil.copytree(baseline / "mlruns", target / "mlruns")
    root = json.loads((baseline / "root.json").read_text())["root"]
    new_root = os.path.realpath(target)
    for old in {root, str(ws), os.path.realpath(ws)}:
        _rewrite_paths(target / "mlflow.db", old, new_root)
    (target / "data").mkdir(exist_ok=True)
    reference(seed).to_csv(target / "data" / "reference.csv", index=False)
    holdout(seed).to_csv(target / "data" / "holdout.csv", index=False)
    (target / "incoming").mkdir(exist_ok=True)
    batch(seed, name).to_csv(target / "incoming" / "batch.csv", index=False)
    return target


def _run(argv: list[str], cwd: Path, cancel: Any, timeout: float) -> dict[str, Any]:
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        except OSError as exc:
            return {"exit_code": None, "stdout": "", "stderr": str(exc), "timed_out": False}
        timed_out = False
        while True:
            try:
                proc.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            if (cancel is not None and cancel.is_set()) or time.monotonic() - started > timeout:
                timed_out = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers
        out.seek(0)
        err.seek(0)
        return {
            "exit_code": None if timed_out else proc.returncode,
            "stdout": out.read(1 << 20).decode("utf-8", errors="replace"),
            "stderr": err.read(1 << 20).decode("utf-8", errors="replace"),
            "timed_out": timed_out,
            "seconds": round(time.monotonic() - started, 2),
        }


def _summary_json(stdout: str) -> Any:
    text = stdout.strip()
    if not text:
        return None
    with contextlib.suppress(ValueError):
        return json.loads(text)
    for line in reversed(text.splitlines()):
        with contextlib.suppress(ValueError):
            value = json.loads(line)
            if isinstance(value, dict):
                return value
    return None


def _registry(db: Path) -> dict[str, Any]:
    """The registry as a plain dict: {models: {name: {aliases, versions: {v: tags}}}}."""
    import warnings

    warnings.filterwarnings("ignore")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{db}", registry_uri=f"sqlite:///{db}")
    models: dict[str, Any] = {}
    for listed in client.search_registered_models(max_results=1000):
        model = client.get_registered_model(listed.name)  # aliases come from here
        escaped = model.name.replace("'", "\\'")
        versions = client.search_model_versions(f"name = '{escaped}'", max_results=1000)
        models[model.name] = {
            "aliases": {a: int(v) for a, v in (model.aliases or {}).items()},
            "versions": {int(v.version): dict(v.tags or {}) for v in versions},
        }
    return {"models": models}


_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()


def _scenarios(ctx: Any) -> dict[str, Any]:
    """Run retrain.py on the three hidden batches (once per code version)."""
    ws = Path(ctx.workspace)
    if not (ws / "retrain.py").is_file():
        _fail("there is no retrain.py in the workspace")
    if not (ws / BASELINE / "mlflow.db").is_file() or not (ws / BASELINE / "root.json").is_file():
        _fail(
            f"the registry baseline {BASELINE}/ that setup made is missing; "
            "restore it with 'certlab lab reset' (keep a copy of retrain.py first)"
        )
    key = f"{ws}:{ctx.seed}:{_code_key(ws)}"
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        parent = Path(tempfile.mkdtemp(prefix="certlab-retrain-"))
        try:
            names = ("stable", "gain", "nogain")
            copies = {n: _scratch(ws, ctx.seed, n, parent) for n in names}
            before = _registry(copies["stable"] / "mlflow.db")

            def one(name: str) -> dict[str, Any]:
                target = copies[name]
                argv = [
                    sys.executable,
                    "retrain.py",
                    "--batch",
                    "incoming/batch.csv",
                    "--tracking-uri",
                    f"sqlite:///{target / 'mlflow.db'}",
                ]
                return _run(argv, target, getattr(ctx, "cancel", None), RUN_TIMEOUT)

            with ThreadPoolExecutor(max_workers=3) as pool:
                runs = dict(zip(names, pool.map(one, names), strict=True))
            result: dict[str, Any] = {"before": before}
            for name in names:
                run = runs[name]
                try:
                    after = _registry(copies[name] / "mlflow.db")
                    registry_error = None
                except Exception as exc:  # a learner who broke the store
                    after, registry_error = None, str(exc).splitlines()[0][:200]
                result[name] = {
                    **run,
                    "summary": _summary_json(run["stdout"]),
                    "after": after,
                    "registry_error": registry_error,
                    "truth": truth(ctx.seed, name),
                }
        finally:
            shutil.rmtree(parent, ignore_errors=True)
        if getattr(ctx, "cancel", None) is not None and ctx.cancel.is_set():
            return result  # never cache a cancelled run
        _cache.clear()
        _cache[key] = result
        return result


# verdicts ----------------------------------------------------------------------------------


def _short(text: str, limit: int = 56) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ran(run: dict[str, Any]) -> str:
    """'ok' when the script finished with exit 0, else why not."""
    if run["timed_out"]:
        return f"retrain.py ran longer than {RUN_TIMEOUT:g} s"
    if run["exit_code"] != 0:
        lines = [ln for ln in run["stderr"].strip().splitlines() if ln.strip()]
        last = lines[-1] if lines else "no error output"
        return _short(f"exit {run['exit_code']}: {last}")
    return "ok"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _close(found: Any, expected: float, tol: float, what: str) -> str:
    number = _number(found)
    if number is None:
        return _short(f"{what} missing or not a number ({found!r})")
    if abs(number - expected) > tol:
        return f"{what} {number:.4f}, expected {expected:.4f}"
    return "ok"


def _new_versions(before: dict[str, Any], after: dict[str, Any] | None) -> list[int]:
    if not after or MODEL_NAME not in after["models"]:
        return []
    old = set(before["models"].get(MODEL_NAME, {}).get("versions", {}))
    return sorted(v for v in after["models"][MODEL_NAME]["versions"] if v not in old)


def stable_outcome(ctx: Any) -> dict[str, Any]:
    """The stable batch: exit 0, a correct JSON summary, and a registry left alone."""
    data = _scenarios(ctx)
    run, t = data["stable"], data["stable"]["truth"]
    summary = run["summary"]
    doc: dict[str, Any] = {"ran": _ran(run), "psi_max_expected": round(t["psi_max"], 6)}
    if not isinstance(summary, dict):
        doc["summary"] = "stdout is not one JSON object"
    else:
        doc["summary"] = "ok"
        doc["drifted"] = summary.get("drifted")
        doc["trigger"] = summary.get("trigger")
        doc["promoted"] = summary.get("promoted")
        doc["psi_max"] = _close(summary.get("psi_max"), t["psi_max"], PSI_TOL, "psi_max")
    if run["registry_error"]:
        doc["registry"] = _short(f"registry unreadable: {run['registry_error']}")
    elif run["after"] != data["before"]:
        doc["registry"] = _registry_change(data["before"], run["after"])
    else:
        doc["registry"] = "ok"
    return doc


def _registry_change(before: dict[str, Any], after: dict[str, Any]) -> str:
    b, a = before["models"], after["models"]
    if set(a) != set(b):
        return _short(f"registered models changed: {sorted(a)}")
    for name in b:
        if a[name]["versions"].keys() != b[name]["versions"].keys():
            return _short(f"{name} has versions {sorted(a[name]['versions'])}, expected 1 only")
        if a[name]["aliases"] != b[name]["aliases"]:
            return _short(f"aliases changed to {a[name]['aliases']}")
        for v, tags in b[name]["versions"].items():
            if a[name]["versions"][v] != tags:
                return _short(f"the tags of version {v} changed")
    return "changed"


def drift_outcome(ctx: Any, batch: str = "gain") -> dict[str, Any]:
    """A drifted batch: the new version, its tags, the aliases and the JSON summary."""
    if batch not in ("gain", "nogain"):
        _fail(f"unknown batch {batch!r}")
    data = _scenarios(ctx)
    run, t = data[batch], data[batch]["truth"]
    before_champion = data["before"]["models"].get(MODEL_NAME, {}).get("aliases", {})
    before_champion = before_champion.get("champion")
    doc: dict[str, Any] = {
        "ran": _ran(run),
        "expected": {
            "psi_max": round(t["psi_max"], 6),
            "f1_champion": round(t["f1_champion"], 6),
            "f1_challenger": round(t["f1_challenger"], 6),
            "promote": t["promote"],
        },
    }
    summary = run["summary"]
    if not isinstance(summary, dict):
        doc["summary"] = "stdout is not one JSON object"
    else:
        doc["summary"] = "ok"
        doc["drifted"] = summary.get("drifted")
        doc["trigger"] = summary.get("trigger")
        doc["promoted"] = summary.get("promoted")
        doc["validation"] = summary.get("validation")
        doc["summary_psi_max"] = _close(summary.get("psi_max"), t["psi_max"], PSI_TOL, "psi_max")
        doc["summary_f1"] = _f1_verdict(summary, t)
    after = run["after"]
    if run["registry_error"] or after is None:
        doc["registry"] = _short(f"registry unreadable: {run['registry_error']}")
        return doc
    doc["registry"] = "ok"
    new = _new_versions(data["before"], after)
    doc["new_versions"] = len(new)
    if MODEL_NAME not in after["models"]:
        doc["version"] = _short(f"no registered model {MODEL_NAME!r}")
        return doc
    aliases = after["models"][MODEL_NAME]["aliases"]
    if len(new) != 1:
        doc["version"] = f"{len(new)} new versions of {MODEL_NAME}, expected 1"
        doc["champion"] = _alias_verdict(aliases.get("champion"), None, before_champion)
        return doc
    version = new[0]
    tags = after["models"][MODEL_NAME]["versions"][version]
    doc["version"] = "ok"
    doc["tags"] = {
        "trigger": tags.get("trigger"),
        "validation": tags.get("validation"),
        "psi_max": _close(tags.get("psi_max"), t["psi_max"], PSI_TOL, "psi_max"),
        "f1": _f1_verdict(tags, t),
    }
    doc["challenger"] = _alias_verdict(aliases.get("challenger"), version, before_champion)
    doc["champion"] = _alias_verdict(aliases.get("champion"), version, before_champion)
    if isinstance(summary, dict):
        doc["summary_version"] = (
            "ok"
            if _number(summary.get("version")) == version
            else _short(f"version {summary.get('version')!r}, expected {version}")
        )
    return doc


def outcomes(ctx: Any) -> dict[str, Any]:
    """What retrain.py did with each hidden batch: {stable, gain, nogain}."""
    return {
        "stable": stable_outcome(ctx),
        "gain": drift_outcome(ctx, "gain"),
        "nogain": drift_outcome(ctx, "nogain"),
    }


def _f1_verdict(values: dict[str, Any], t: dict[str, Any]) -> str:
    for key in ("f1_champion", "f1_challenger"):
        verdict = _close(values.get(key), t[key], F1_TOL, key)
        if verdict != "ok":
            return verdict
    return "ok"


def _alias_verdict(found: Any, new: int | None, old: Any) -> str:
    """'new' (the new version), 'old' (the previous champion), 'none' or 'version N'."""
    if found is None:
        return "none"
    if new is not None and found == new:
        return "new"
    if found == old:
        return "old"
    return f"version {found}"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "seed-registry":
        _seed_registry(int(sys.argv[2]))
    else:
        sys.exit("usage: python checks.py seed-registry SEED")
