"""Set-up, solve and live probes for the lab eng-k8s-inference-service.

The learner's work is the manifests under ``k8s/``; the checks grade them offline (the
``manifests`` source) and, with a cluster up, the live objects in the lab's namespace (the
``k8s`` source). ``setup`` creates that namespace, ``solve`` applies the workspace's manifests
there (nothing when no cluster is up), and ``probe_service`` sends a bounded number of real
requests through the API server's service proxy — only where containers really run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.cluster.labspace import (
    cluster_state,
)

# the lab's hooks (lab.yaml: setup/solve: checks.py:...) are certlab's own
from grader.cluster.labspace import setup as setup
from grader.cluster.labspace import solve as solve

LAB_ID = "eng-k8s-inference-service"
SERVICE = "sentiment-api"

# -- the cluster side is certlab's: grader/cluster/labspace.py ---------------------------------


def lab_namespace(state: Any, workspace: Path) -> str:
    """This lab's namespace for the learner whose workspace this is."""
    from grader.cluster import labspace

    return labspace.lab_namespace(state, LAB_ID, workspace)


# -- end of the cluster side ------------------------------------------------------------------


# -- real traffic (needs running containers) ---------------------------------------------------
def service_get(state: Any, namespace: str, service: str, port: str, path: str) -> tuple[int, str]:
    """GET ``path`` on ``service:port`` through the API server's service proxy, which sends
    each request to one ready endpoint. Returns (status, body); status 0 when unreachable."""
    from kubernetes import client as k
    from kubernetes.client.rest import ApiException

    from grader.cluster import client as kc

    core = k.CoreV1Api(kc.api_client(state.kubeconfig, state.context))
    try:
        response = core.connect_get_namespaced_service_proxy_with_path(
            f"{service}:{port}",
            namespace,
            path.lstrip("/"),
            _preload_content=False,
            _request_timeout=(3.0, 5.0),
        )
    except ApiException as exc:
        return int(exc.status or 0), str(exc.body or exc.reason or "")
    except Exception as exc:  # connection refused, timeouts
        return 0, f"{type(exc).__name__}: {exc}"
    data = getattr(response, "data", response)
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    return int(getattr(response, "status", 200)), text


def probe_service(ctx: Any, requests: int = 20) -> dict[str, Any]:
    """``requests`` GETs of /healthz and one GET of / through the Service; the answer of /
    parsed as JSON (the stand-in server answers with the text built from the ConfigMap)."""
    from grader.checks.sources.base import NotGradable

    state = cluster_state()
    if state is None:
        from grader.cluster import NO_CLUSTER

        raise NotGradable(NO_CLUSTER)
    namespace = lab_namespace(state, ctx.workspace)
    codes = [service_get(state, namespace, SERVICE, "http", "/healthz")[0] for _ in range(requests)]
    status, text = service_get(state, namespace, SERVICE, "http", "/predict")
    try:
        body = json.loads(text)
    except ValueError:
        body = text[:200]
    return {
        "requests": requests,
        "healthz_failures": sum(1 for c in codes if c != 200),
        "healthz_codes": sorted(set(codes)),
        "status": status,
        "body": body,
    }
