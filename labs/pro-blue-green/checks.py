"""Set-up and solve for the lab pro-blue-green.

The learner's work is the manifests under ``k8s/``; the checks grade them offline (the
``manifests`` source) and, with a cluster up, the live Deployments, Service and EndpointSlices
in the lab's namespace (the ``k8s`` source) — including that the Service *keeps* pointing at
ready green endpoints for a while (a ``poll`` with ``hold``). ``setup`` creates the namespace;
``solve`` does the switch the way the lab teaches it: both Deployments first, wait until they
are fully ready, and only then the Service (nothing offline).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.cluster.labspace import (
    apply_objects,
    cluster_state,
    prepare_namespace,
    wait_ready,
)

# the lab's hooks (lab.yaml: setup/solve: checks.py:...) are certlab's own
from grader.cluster.labspace import setup as setup

LAB_ID = "pro-blue-green"
MANIFESTS = "k8s"
SERVICE = "scorer"

# -- the cluster side is certlab's: grader/cluster/labspace.py ---------------------------------


def lab_namespace(state: Any, workspace: Path) -> str:
    """This lab's namespace for the learner whose workspace this is."""
    from grader.cluster import labspace

    return labspace.lab_namespace(state, LAB_ID, workspace)


def workspace_objects(workspace: Path) -> list[dict[str, Any]]:
    """Every object in the workspace's manifests folder."""
    from grader.cluster import labspace

    return labspace.workspace_objects(workspace, MANIFESTS)


# -- end of the cluster side ------------------------------------------------------------------


def solve(ctx: Any) -> None:
    """Deployments first, wait for both to be fully ready, then flip the Service."""
    state = cluster_state()
    if state is None:
        return
    namespace = lab_namespace(state, ctx.workspace)
    prepare_namespace(state, namespace)
    objects = workspace_objects(ctx.workspace)
    services = [o for o in objects if o.get("kind") == "Service"]
    deployments = [o for o in objects if o.get("kind") == "Deployment"]
    apply_objects(state, [o for o in objects if o not in services], namespace)
    wait_ready(state, namespace, [d["metadata"]["name"] for d in deployments])
    apply_objects(state, services, namespace)


# -- real traffic (needs running containers) ---------------------------------------------------
def service_get(state: Any, namespace: str, service: str, port: str, path: str) -> tuple[int, str]:
    """GET ``path`` on ``service:port`` through the API server's service proxy, which picks a
    ready endpoint for each request. Returns (status, body); status 0 when unreachable."""
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


def traffic_versions(ctx: Any, requests: int = 50) -> dict[str, Any]:
    """Send ``requests`` GETs through the Service; count the versions that answered."""
    from grader.checks.sources.base import NotGradable

    state = cluster_state()
    if state is None:
        from grader.cluster import NO_CLUSTER

        raise NotGradable(NO_CLUSTER)
    namespace = lab_namespace(state, ctx.workspace)
    versions: dict[str, int] = {}
    errors = 0
    for _ in range(int(requests)):
        status, text = service_get(state, namespace, SERVICE, "http", "/predict")
        if status != 200:
            errors += 1
            continue
        try:
            version = str(json.loads(text).get("version"))
        except (ValueError, AttributeError):
            version = "unreadable"
        versions[version] = versions.get(version, 0) + 1
    return {"requests": int(requests), "errors": errors, "versions": versions}
