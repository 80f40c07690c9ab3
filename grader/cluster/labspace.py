"""What cluster labs do on the cluster: the lab's namespace, applying manifests, waiting.

A cluster lab's own ``checks.py`` calls these from its ``setup`` (create, or on a reset empty,
the namespace) and ``solve`` (apply the solution's manifests) hooks. Everything here does
nothing offline; the kubernetes client is imported only inside the functions.
"""

from __future__ import annotations

import contextlib
import copy
import time
from pathlib import Path
from typing import Any

#: the order `solve` applies objects in: what others refer to first
APPLY_ORDER = (
    "Namespace",
    "PriorityClass",
    "ResourceQuota",
    "LimitRange",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "Service",
    "Deployment",
    "StatefulSet",
    "Job",
)


def cluster_state() -> Any:
    """The cluster that is up (``certlab cluster up``), or None when grading offline."""
    from grader.cluster import ClusterError, load_state

    try:
        return load_state()
    except ClusterError:
        return None


def lab_namespace(state: Any, lab_id: str, workspace: Path) -> str:
    """The lab's namespace: certlab's rule, for the learner whose workspace this is
    (``<workspaces>/<learner>/<lab id>``): the lab id on one's own cluster,
    ``<learner>-<lab id>`` on a shared one."""
    from grader.cluster import namespace_for

    return namespace_for(state, lab_id, workspace.parent.name)


#: what `setup` clears from the lab's namespace, so a reset restores it too
CLEARED_KINDS = (
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "ResourceQuota"),
)
#: objects Kubernetes itself puts in every namespace
KEPT = {"kube-root-ca.crt"}


def setup_namespace(lab_id: str, workspace: Path) -> None:
    """With a cluster up: create the lab's namespace, or empty it of the lab's kinds of objects
    when it exists (``certlab lab reset`` restores the namespace as well as the workspace).
    Nothing offline; a cluster that does not answer never stops the lab from starting."""
    state = cluster_state()
    if state is None:
        return
    from grader.cluster import ClusterError, ensure_namespace

    # the lab starts offline too; `certlab lab check` reports the cluster's problem
    with contextlib.suppress(ClusterError):
        namespace = lab_namespace(state, lab_id, workspace)
        ensure_namespace(state, namespace)
        clear_namespace(state, namespace)


def clear_namespace(state: Any, namespace: str) -> list[str]:
    """Delete the Deployments, Services, ConfigMaps and ResourceQuotas of ``namespace``."""
    from grader.cluster import client as kc

    dyn = kc.dynamic_client(state.kubeconfig, state.context)
    deleted = []
    for api_version, kind in CLEARED_KINDS:
        resource = dyn.resources.get(api_version=api_version, kind=kind)
        listed = kc.call(lambda r=resource: r.get(namespace=namespace), f"list {kind}", dyn)
        for item in listed.items:
            name = item.metadata.name
            if name in KEPT:
                continue
            with contextlib.suppress(kc.NotFound):
                kc.call(
                    lambda r=resource, n=name: r.delete(name=n, namespace=namespace),
                    f"delete {kind} {name}",
                    dyn,
                )
                deleted.append(f"{kind}/{name}")
    return deleted


def prepare_namespace(state: Any, namespace: str, timeout: float = 30.0) -> None:
    """Create ``namespace`` if needed and wait for its ``default`` ServiceAccount: pods created
    before it exists are refused, and their ReplicaSet then backs off for many seconds."""
    from kubernetes import client as k

    from grader.cluster import client as kc
    from grader.cluster import ensure_namespace

    ensure_namespace(state, namespace)
    core = k.CoreV1Api(kc.api_client(state.kubeconfig, state.context))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        accounts = core.list_namespaced_service_account(namespace, _request_timeout=(3.0, 15.0))
        if any(sa.metadata.name == "default" for sa in accounts.items):
            return
        time.sleep(0.2)


def _order(obj: dict[str, Any]) -> int:
    kind = str(obj.get("kind", ""))
    return APPLY_ORDER.index(kind) if kind in APPLY_ORDER else len(APPLY_ORDER)


def apply_objects(state: Any, objects: list[dict[str, Any]], namespace: str) -> list[str]:
    """Server-side apply ``objects`` (namespaced ones into ``namespace``); returns Kind/name."""
    from grader.cluster import client as kc

    dyn = kc.dynamic_client(state.kubeconfig, state.context)
    applied = []
    for obj in sorted(objects, key=_order):
        body = copy.deepcopy(obj)
        meta = body.setdefault("metadata", {})
        resource = kc.call(
            lambda b=body: dyn.resources.get(api_version=b["apiVersion"], kind=b["kind"]),
            f"look up {body['kind']}",
            dyn,
        )
        target = namespace if resource.namespaced else None
        if target:
            meta["namespace"] = target
        else:
            meta.pop("namespace", None)
        kc.call(
            lambda r=resource, b=body, t=target: r.server_side_apply(
                body=b,
                name=b["metadata"]["name"],
                namespace=t,
                field_manager="certlab-solve",
                force_conflicts=True,
            ),
            f"apply {body['kind']} {meta['name']}",
            dyn,
        )
        applied.append(f"{body['kind']}/{meta['name']}")
    return applied


def workspace_objects(workspace: Path, folder: str = "k8s") -> list[dict[str, Any]]:
    """Every object in the workspace's manifests folder."""
    from grader.cluster.sources import parse_manifests

    return parse_manifests(workspace / folder)["items"]


def wait_ready(state: Any, namespace: str, names: list[str], timeout: float = 180.0) -> None:
    """Wait until the Deployments ``names`` have rolled out completely."""
    from grader.cluster import client as kc

    dyn = kc.dynamic_client(state.kubeconfig, state.context)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    deadline = time.monotonic() + timeout
    while True:
        pending = []
        for name in names:
            d = deployments.get(name=name, namespace=namespace).to_dict()
            want = d["spec"].get("replicas", 1)
            status = d.get("status") or {}
            if (
                status.get("observedGeneration", 0) < d["metadata"]["generation"]
                or status.get("updatedReplicas", 0) != want
                or status.get("readyReplicas", 0) != want
                or status.get("replicas", 0) != want
            ):
                pending.append(name)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"Deployment(s) {', '.join(pending)} did not roll out")
        time.sleep(0.5)


def setup(ctx: Any) -> None:
    """A cluster lab's ``setup`` hook: its namespace, created or (on a reset) emptied."""
    setup_namespace(ctx.lab.id, ctx.workspace)


def solve(ctx: Any) -> None:
    """A cluster lab's ``solve`` hook: apply the workspace's manifests; nothing offline."""
    state = cluster_state()
    if state is None:
        return
    namespace = lab_namespace(state, ctx.lab.id, ctx.workspace)
    prepare_namespace(state, namespace)
    apply_objects(state, workspace_objects(ctx.workspace), namespace)
