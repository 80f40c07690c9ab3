"""``type: mlflow`` — experiments, runs, logged models and the model registry.

Reads through ``MlflowClient(tracking_uri=...)`` (never the global tracking URI), so checks on
different workspaces can run side by side. The default store is ``sqlite:///mlflow.db`` in the
workspace; a missing database is reported, never created.

Queries and documents:

- ``experiment`` (``experiment``): ``{name, id, lifecycle_stage, tags, artifact_location}``
- ``runs`` (``experiment``, ``filter``, ``order_by``, ``max_results``): a list of
  ``{run_id, run_name, status, params, metrics, tags, start_time, end_time, experiment_id,
  model_ids}``
- ``logged_models`` (``experiment``): a list of ``{model_id, name, source_run_id, metrics,
  params, tags, status, model_uri}``
- ``registered_model`` (``model``): ``{name, aliases: {alias: version}, versions, tags,
  description}``; each version ``{version, run_id, source, model_id, tags, status, aliases}``
- ``alias`` (``model``, ``alias``): that version
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from grader.checks.sources.base import (
    SourceContext,
    SourceError,
    display,
    jsonable,
    number,
    require,
    resolve,
)

QUERIES = ("experiment", "runs", "logged_models", "registered_model", "alias")
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

_files: dict[str, tuple[int, int]] = {}  # sqlite URI -> (device, inode) last seen
_files_lock = threading.Lock()


def load(spec: dict[str, Any], ctx: SourceContext) -> Any:
    """The document for ``spec["query"]``."""
    query = spec.get("query", "runs")
    if query not in QUERIES:
        raise SourceError(f"unknown mlflow query {query!r} (use one of {', '.join(QUERIES)})")
    uri, where = tracking_uri(spec.get("tracking_uri"), ctx)
    client = _client(uri, where)
    try:
        if query == "experiment":
            return _experiment_doc(_experiment(client, require(spec, "experiment"), where))
        if query == "runs":
            return _runs(client, spec, where)
        if query == "logged_models":
            return _logged_models(client, spec, where)
        if query == "registered_model":
            return _registered_model(client, require(spec, "model"), where)
        return _alias(client, require(spec, "model"), require(spec, "alias"), where)
    except SourceError:
        raise
    except Exception as exc:
        raise SourceError(f"cannot read MLflow data from {where}: {_reason(exc)}") from exc


def tracking_uri(value: Any, ctx: SourceContext) -> tuple[str, str]:
    """``(uri, label)``: a SQLite file checked to exist and hold MLflow tables, or loopback HTTP."""
    if value is None:
        value = "sqlite:///mlflow.db"
    if not isinstance(value, str) or not value.strip():
        raise SourceError("the check's mlflow source field `tracking_uri` must be a string")
    value = value.strip()
    if value.startswith("sqlite:"):
        if not value.startswith("sqlite:///"):
            raise SourceError(f"unsupported SQLite URI {value!r}: use sqlite:///path/to/mlflow.db")
        raw = value[len("sqlite:///") :].split("?", 1)[0]
        if not raw or raw == ":memory:":
            raise SourceError(f"unsupported SQLite URI {value!r}: name a database file")
        path = resolve(raw, ctx)  # "sqlite:////abs" gives "/abs"; "sqlite:///rel" is relative
        label = display(path, ctx)
        _check_database(path, label)
        uri = f"sqlite:///{path}"
        _forget_if_replaced(uri, path)
        return uri, label
    parts = urlsplit(value)
    if parts.scheme in ("http", "https"):
        host = (parts.hostname or "").lower()
        if host not in LOOPBACK:
            raise SourceError(f"tracking server {value} is not on this machine (use 127.0.0.1)")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:  # MLflow's own client retries for minutes before giving up
            socket.create_connection((host, port), timeout=2).close()
        except OSError as exc:
            raise SourceError(
                f"no MLflow tracking server is answering at {value} ({exc.strerror or exc})"
            ) from exc
        return value, value
    raise SourceError(f"unsupported tracking URI {value!r}: use sqlite:///mlflow.db or a server")


def _check_database(path: Path, label: str) -> None:
    """Refuse a missing, empty, corrupt or non-MLflow SQLite file without writing to it."""
    if not path.exists():
        raise SourceError(f"no MLflow database at {label} (has anything been logged yet?)")
    if path.is_dir():
        raise SourceError(f"{label} is a directory, not an MLflow database")
    if path.stat().st_size == 0:
        raise SourceError(f"the MLflow database {label} is empty")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(16)
    except OSError as exc:
        raise SourceError(f"cannot read the MLflow database {label}: {exc.strerror}") from exc
    if magic != b"SQLite format 3\x00":
        raise SourceError(f"{label} is not a SQLite database (corrupt or a different file)")
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise SourceError(f"the MLflow database {label} cannot be read: {exc}") from exc
    tables = {row[0] for row in rows}
    if not {"experiments", "runs"} <= tables:
        raise SourceError(f"{label} is a SQLite file but not an MLflow database")


def _forget_if_replaced(uri: str, path: Path) -> None:
    """Drop MLflow's cached store for ``uri`` when the file is new to us or was replaced.

    MLflow keeps one SQLAlchemy engine (with pooled connections) and one store per URI for the
    life of the process. After a workspace reset deletes and recreates ``mlflow.db``, those
    pooled connections still read the deleted file, so checks would see stale runs.
    """
    stat = path.stat()
    identity = (stat.st_dev, stat.st_ino)
    with _files_lock:
        if _files.get(uri) == identity:
            return
        _files[uri] = identity
    _forget_store(uri)


def _forget_store(uri: str) -> None:
    """Dispose of MLflow's cached engines and stores for ``uri`` (best effort: private API)."""
    try:
        from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as Registry
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as Tracking
        from mlflow.tracking._model_registry.registry import ModelRegistryStoreRegistry
        from mlflow.tracking._tracking_service.registry import TrackingStoreRegistry
    except ImportError:  # pragma: no cover - a different MLflow layout
        return
    for store in (Tracking, Registry):
        engines = getattr(store, "_engine_map", None)
        if not isinstance(engines, dict):
            continue
        with getattr(store, "_engine_map_lock", None) or contextlib.nullcontext():
            engine = engines.pop(uri, None)
        if engine is not None:
            with contextlib.suppress(Exception):
                engine.dispose()
    for registry in (TrackingStoreRegistry, ModelRegistryStoreRegistry):
        cached = getattr(registry, "_get_store_with_resolved_uri", None)
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()


def _client(uri: str, where: str) -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    try:
        from mlflow import MlflowClient
    except ImportError as exc:
        raise SourceError(f"MLflow is not installed in the grader's environment: {exc}") from exc
    try:
        return MlflowClient(tracking_uri=uri, registry_uri=uri)
    except Exception as exc:
        raise SourceError(f"cannot open the MLflow store {where}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message).strip().splitlines()[0]


def _not_found(exc: BaseException) -> bool:
    code = getattr(exc, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND")


# experiments -------------------------------------------------------------------------------


def _experiment(client: Any, name: Any, where: str) -> Any:
    name = str(name)
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        names = sorted(e.name for e in client.search_experiments(max_results=50))
        known = f" (experiments there: {', '.join(names)})" if names else ""
        raise SourceError(f"no MLflow experiment named {name!r} in {where}{known}")
    return experiment


def _experiment_doc(experiment: Any) -> dict[str, Any]:
    return {
        "name": experiment.name,
        "id": experiment.experiment_id,
        "lifecycle_stage": experiment.lifecycle_stage,
        "tags": dict(experiment.tags or {}),
        "artifact_location": experiment.artifact_location,
    }


def _experiment_ids(client: Any, spec: dict[str, Any], where: str) -> list[str]:
    name = spec.get("experiment")
    if name is None:
        return [e.experiment_id for e in client.search_experiments()]
    return [_experiment(client, name, where).experiment_id]


# runs --------------------------------------------------------------------------------------


def _runs(client: Any, spec: dict[str, Any], where: str) -> list[dict[str, Any]]:
    from mlflow.exceptions import MlflowException

    ids = _experiment_ids(client, spec, where)
    filter_string = spec.get("filter") or ""
    if not isinstance(filter_string, str):
        raise SourceError("the check's mlflow source field `filter` must be a string")
    order_by = spec.get("order_by")
    if isinstance(order_by, str):
        order_by = [order_by]
    if order_by is not None and not isinstance(order_by, list):
        raise SourceError("the check's mlflow source field `order_by` must be a list")
    limit = int(number(spec, "max_results", 1000, low=1, high=50000))
    try:
        runs = client.search_runs(
            ids, filter_string, max_results=limit, order_by=[str(o) for o in order_by or []]
        )
    except MlflowException as exc:
        raise SourceError(f"cannot search MLflow runs: {_reason(exc)}") from exc
    return [run_doc(run) for run in runs]


def run_doc(run: Any) -> dict[str, Any]:
    """One MLflow run as plain data."""
    info, data = run.info, run.data
    outputs = getattr(run, "outputs", None)
    model_outputs = getattr(outputs, "model_outputs", None) or []
    return {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "status": info.status,
        "experiment_id": info.experiment_id,
        "params": dict(data.params),
        "metrics": jsonable(dict(data.metrics)),
        "tags": dict(data.tags),
        "start_time": info.start_time,
        "end_time": info.end_time,
        "model_ids": [m.model_id for m in model_outputs],
    }


# logged models -----------------------------------------------------------------------------


def _logged_models(client: Any, spec: dict[str, Any], where: str) -> list[dict[str, Any]]:
    ids = _experiment_ids(client, spec, where)
    models: list[Any] = []
    token = None
    while True:
        page = client.search_logged_models(experiment_ids=ids, page_token=token)
        models.extend(page)
        token = getattr(page, "token", None)
        if not token or len(models) >= 10000:
            break
    return [logged_model_doc(model) for model in models]


def logged_model_doc(model: Any) -> dict[str, Any]:
    """One logged model (``m-<hex>``) as plain data; metrics keep the latest value per name."""
    latest: dict[str, tuple[tuple[int, int], float]] = {}
    for metric in model.metrics or []:
        order = (metric.step or 0, metric.timestamp or 0)
        if metric.key not in latest or order >= latest[metric.key][0]:
            latest[metric.key] = (order, metric.value)
    status = getattr(model, "status", None)
    return {
        "model_id": model.model_id,
        "name": model.name,
        "source_run_id": model.source_run_id,
        "experiment_id": model.experiment_id,
        "metrics": jsonable({key: value for key, (_, value) in latest.items()}),
        "params": dict(model.params or {}),
        "tags": dict(model.tags or {}),
        "status": getattr(status, "name", None) or (str(status) if status is not None else None),
        "model_uri": getattr(model, "model_uri", None),
        "model_type": getattr(model, "model_type", None),
    }


# registry ----------------------------------------------------------------------------------


def _get_registered(client: Any, name: Any, where: str) -> Any:
    from mlflow.exceptions import MlflowException

    name = str(name)
    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if not _not_found(exc):
            raise
        try:
            names = sorted(m.name for m in client.search_registered_models(max_results=50))
        except MlflowException:
            names = []
        known = f" (registered models: {', '.join(names)})" if names else ""
        raise SourceError(f"no registered model named {name!r} in {where}{known}") from exc


def _registered_model(client: Any, name: Any, where: str) -> dict[str, Any]:
    model = _get_registered(client, name, where)
    aliases = {alias: _version(v) for alias, v in (model.aliases or {}).items()}
    escaped = model.name.replace("'", "\\'")
    versions = client.search_model_versions(f"name = '{escaped}'")
    docs = sorted(
        (version_doc(v, aliases) for v in versions),
        key=lambda d: (not isinstance(d["version"], int), d["version"]),
    )
    return {
        "name": model.name,
        "description": model.description,
        "aliases": aliases,
        "tags": dict(model.tags or {}),
        "versions": docs,
        "latest_version": max(
            (d["version"] for d in docs if isinstance(d["version"], int)), default=None
        ),
    }


def _alias(client: Any, name: Any, alias: Any, where: str) -> dict[str, Any]:
    from mlflow.exceptions import MlflowException

    model = _get_registered(client, name, where)
    aliases = {a: _version(v) for a, v in (model.aliases or {}).items()}
    alias = str(alias)
    if alias not in aliases:
        known = f"; its aliases: {', '.join(sorted(aliases))}" if aliases else "; it has none"
        raise SourceError(f"registered model {model.name!r} has no alias {alias!r}{known}")
    try:
        version = client.get_model_version_by_alias(model.name, alias)
    except MlflowException as exc:
        raise SourceError(
            f"alias {alias!r} of {model.name!r} points to a missing version: {_reason(exc)}"
        ) from exc
    return version_doc(version, aliases)


def version_doc(version: Any, aliases: dict[str, Any]) -> dict[str, Any]:
    """One model version; ``aliases`` come from the registered model (never from the version)."""
    number_ = _version(version.version)
    source = version.source
    model_id = getattr(version, "model_id", None)
    if not model_id and isinstance(source, str) and source.startswith("models:/m-"):
        model_id = source[len("models:/") :].split("/", 1)[0]
    return {
        "name": version.name,
        "version": number_,
        "run_id": version.run_id,
        "source": source,
        "model_id": model_id,
        "tags": dict(version.tags or {}),
        "status": version.status,
        "description": version.description,
        "aliases": sorted(a for a, v in aliases.items() if v == number_),
    }


def _version(value: Any) -> Any:
    """Version numbers as ints (the registry mixes ``"1"`` and ``1``)."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value
