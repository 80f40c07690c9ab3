"""Set-up, solve and the traffic probe for the lab pro-canary-rollout.

The learner's work is the manifests under ``k8s/``; the checks grade them offline (the
``manifests`` source) and, with a cluster up, the live Deployments, Pods and EndpointSlices in
the lab's namespace (the ``k8s`` source). ``setup`` creates the namespace, ``solve`` applies
the workspace's manifests there (nothing offline), and ``traffic_split`` sends a bounded number
of real requests through the Service — only where containers really run.
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

LAB_ID = "pro-canary-rollout"

# -- the cluster side is certlab's: grader/cluster/labspace.py ---------------------------------


def lab_namespace(state: Any, workspace: Path) -> str:
    """This lab's namespace for the learner whose workspace this is."""
    from grader.cluster import labspace

    return labspace.lab_namespace(state, LAB_ID, workspace)


# -- end of the cluster side ------------------------------------------------------------------


# -- real traffic (needs running containers) ---------------------------------------------------
def service_get(state: Any, namespace: str, service: str, port: str, path: str) -> tuple[int, str]:
    """GET ``path`` on ``service:port`` through the API server's service proxy, which picks a
    ready endpoint at random for each request. Returns (status, body); 0 when unreachable."""
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


def traffic_split(ctx: Any, service: str = "ranker", requests: int = 300) -> dict[str, Any]:
    """Send ``requests`` GETs through ``service`` and count which version answered each.

    ``canary_share`` is the share of successful answers from version v2."""
    from grader.checks.sources.base import NotGradable

    state = cluster_state()
    if state is None:
        from grader.cluster import NO_CLUSTER

        raise NotGradable(NO_CLUSTER)
    namespace = lab_namespace(state, ctx.workspace)
    versions: dict[str, int] = {}
    errors = 0
    for _ in range(int(requests)):
        status, text = service_get(state, namespace, service, "http", "/predict")
        if status != 200:
            errors += 1
            continue
        try:
            version = str(json.loads(text).get("version"))
        except (ValueError, AttributeError):
            version = "unreadable"
        versions[version] = versions.get(version, 0) + 1
    answered = int(requests) - errors
    return {
        "requests": int(requests),
        "errors": errors,
        "versions": versions,
        "canary_share": round(versions.get("v2", 0) / answered, 4) if answered else None,
    }
