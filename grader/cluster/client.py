"""Talking to a cluster through the official ``kubernetes`` client, with errors in plain words.

Everything here imports ``kubernetes`` inside functions. Every failure becomes a
:class:`ClusterError` (or its subclasses :class:`Forbidden`, :class:`Unreachable`,
:class:`NotFound`) whose message a learner can act on.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from grader.cluster.errors import ClusterError, Forbidden, NotFound, Unreachable

T = TypeVar("T")

#: (connect, read) seconds for every request the grader makes
REQUEST_TIMEOUT = (3.0, 15.0)
RBAC_HINT = "the grader's identity needs read access (see grader/cluster/rbac/grader-readonly.yaml)"

_clients: dict[tuple[str, str | None, float], Any] = {}
_lock = threading.Lock()


def _kubernetes() -> Any:
    try:
        import kubernetes
    except ImportError as exc:  # pragma: no cover - installed with certlab[cluster]
        raise ClusterError(
            "the kubernetes Python client is not installed: pip install kubernetes"
        ) from exc
    return kubernetes


def read_kubeconfig(path: str | Path) -> dict[str, Any]:
    """The parsed kubeconfig file; ClusterError when missing or not a kubeconfig."""
    import yaml

    file = Path(path).expanduser()
    if not file.is_file():
        raise ClusterError(f"kubeconfig {file} does not exist")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ClusterError(f"kubeconfig {file} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("contexts"), list):
        raise ClusterError(f"{file} is not a kubeconfig file (it has no contexts)")
    return data


def check_context(path: str | Path, context: str | None) -> str:
    """The context that will be used (``context`` or the file's current one); ClusterError if
    it is not in the file."""
    data = read_kubeconfig(path)
    names = [c.get("name") for c in data["contexts"] if isinstance(c, dict)]
    chosen = context or data.get("current-context")
    if not chosen:
        raise ClusterError(
            f"kubeconfig {path} has no current context; pass --context "
            f"(its contexts: {', '.join(map(str, names)) or 'none'})"
        )
    if chosen not in names:
        raise ClusterError(
            f"context {chosen!r} is not in kubeconfig {path} "
            f"(its contexts: {', '.join(map(str, names)) or 'none'})"
        )
    return str(chosen)


def api_client(kubeconfig: str | Path, context: str | None = None) -> Any:
    """A ``kubernetes.client.ApiClient`` for ``context`` of ``kubeconfig`` (one retry, short
    timeouts)."""
    k = _kubernetes()
    import urllib3

    check_context(kubeconfig, context)
    cfg = k.client.Configuration()
    try:
        k.config.load_kube_config(
            config_file=str(Path(kubeconfig).expanduser()),
            context=context,
            client_configuration=cfg,
            persist_config=False,
        )
    except (k.config.ConfigException, OSError, ValueError, TypeError) as exc:
        raise ClusterError(f"kubeconfig {kubeconfig}: {exc}") from exc
    cfg.retries = urllib3.Retry(total=1, connect=1, read=0, status=0, redirect=0, backoff_factor=0)
    return k.client.ApiClient(cfg)


def dynamic_client(kubeconfig: str | Path, context: str | None = None) -> Any:
    """A cached ``DynamicClient`` (API discovery cached under the certlab data dir)."""
    _kubernetes()
    file = Path(kubeconfig).expanduser()
    try:
        mtime = file.stat().st_mtime
    except OSError as exc:
        raise ClusterError(f"kubeconfig {file} does not exist") from exc
    key = (str(file), context, mtime)
    with _lock:
        if key in _clients:
            return _clients[key]
    client = api_client(file, context)
    digest = hashlib.sha1(f"{file}:{context}:{client.configuration.host}".encode()).hexdigest()
    from grader.cluster.state import cluster_dir

    cache = cluster_dir() / "discovery" / f"{digest[:16]}.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    from kubernetes.dynamic import DynamicClient

    dyn = call(
        lambda: DynamicClient(client, cache_file=str(cache)),
        "discover the cluster's API resources",
        client,
    )
    with _lock:
        if len(_clients) >= 16:  # kubeconfigs come and go (tests, classrooms): stay small
            _clients.clear()
        _clients[key] = dyn
    return dyn


def forget_clients() -> None:
    """Drop cached clients (after ``cluster down`` or a kubeconfig change)."""
    with _lock:
        _clients.clear()


def _status_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.strip().startswith("{"):
        try:
            message = json.loads(body).get("message")
        except ValueError:
            message = None
        if message:
            return str(message)
    reason = getattr(exc, "reason", None)
    return f"{getattr(exc, 'status', '?')} {reason or ''}".strip()


def _root_cause(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)  # urllib3 MaxRetryError keeps the cause here
    inner = reason if isinstance(reason, BaseException) else exc.__cause__ or exc
    text = str(inner)
    for marker in (
        "Connection refused",
        "timed out",
        "Name or service not known",
        "CERTIFICATE_VERIFY_FAILED",
        "Connection reset",
        "Remote end closed",
    ):
        if marker.lower() in text.lower():
            return marker.lower()
    return text.split(": ", 1)[-1][:160] or type(inner).__name__


def explain(exc: BaseException, doing: str, host: str | None = None) -> ClusterError:
    """Translate a client, HTTP or connection exception into a ClusterError."""
    if isinstance(exc, ClusterError):
        return exc
    k = _kubernetes()
    import urllib3

    where = f" at {host}" if host else ""
    if isinstance(exc, k.client.exceptions.ApiException):
        status = getattr(exc, "status", None)
        message = _status_message(exc)
        if status == 403:
            return Forbidden(f"forbidden: {message} — {RBAC_HINT}")
        if status == 401:
            return ClusterError(
                f"the API server{where} rejected the credentials (401 Unauthorized) while trying "
                f"to {doing}; check the kubeconfig's user or token"
            )
        if status == 404:
            return NotFound(message)
        if status in (0, None) or (isinstance(status, int) and status >= 500):
            return Unreachable(f"the API server{where} failed to {doing}: {message}")
        return ClusterError(f"could not {doing}: {message}")
    if isinstance(exc, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError, OSError)):
        return Unreachable(
            f"the Kubernetes API server{where} is unreachable ({_root_cause(exc)}) "
            f"while trying to {doing}"
        )
    if type(exc).__name__ == "ResourceNotFoundError":
        return NotFound(str(exc))
    return ClusterError(f"could not {doing}: {type(exc).__name__}: {exc}")


def call(fn: Callable[[], T], doing: str, client: Any = None) -> T:
    """``fn()``, with any failure translated by :func:`explain`."""
    try:
        return fn()
    except ClusterError:
        raise
    except Exception as exc:
        host = None
        cfg = getattr(client, "configuration", None) or getattr(
            getattr(client, "client", None), "configuration", None
        )
        if cfg is not None:
            host = getattr(cfg, "host", None)
        raise explain(exc, doing, host) from exc


def server_version(client: Any) -> str:
    """The API server's gitVersion (raises Unreachable when it does not answer)."""
    k = _kubernetes()
    info = call(
        lambda: k.client.VersionApi(client).get_code(_request_timeout=REQUEST_TIMEOUT),
        "read the server version",
        client,
    )
    return str(info.git_version)


def plain(client: Any, obj: Any) -> Any:
    """A typed client object as plain JSON data (camelCase keys, as in manifests)."""
    return client.sanitize_for_serialization(obj)
