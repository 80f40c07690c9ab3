"""Set-up, solve and the capacity arithmetic for the lab arc-gpu-capacity.

The numbers of the brief live here, once (the lab's instructions state the same values, and
the lab's test checks they agree); everything expected is computed from them:

* required online replicas = ceil(PEAK_RPS / (REPLICA_RPS x TARGET_UTILISATION));
* GPU shares = GPUs of the GPU node x the time-slicing replicas of the learner's device-plugin
  config (the node's GPUs: ``nvidia.com/gpu.count`` of the cluster topology offline, of the
  live GPU nodes online);
* online shares = (replicas + rolling-update surge) x GPUs per replica; the batch quota gets
  exactly what remains.

``timeslicing_report``, ``sizing_report`` and ``capacity_report`` read the learner's objects
from the manifests (``where: manifests``) or live (``where: live``) and return plain fields, so
one ``expect`` tree grades both.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

LAB_ID = "arc-gpu-capacity"
MANIFESTS = "k8s"
GPU = "nvidia.com/gpu"
ONLINE = "ranker-online"
QUOTA = "batch-gpu"
PLUGIN_CONFIG = "time-slicing-config"

#: the brief: peak demand, one replica's throughput at the latency target, utilisation ceiling
PEAK_RPS = 160
REPLICA_RPS = 120
P95_TARGET_MS = 150
TARGET_UTILISATION = Fraction(70, 100)
#: the platform's decision: four time-slices per GPU
TIME_SLICES = 4

# -- the cluster side: the lab's namespace, and applying manifests -----------------------------
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


def lab_namespace(state: Any, workspace: Path) -> str:
    """The lab's namespace: certlab's rule, for the learner whose workspace this is
    (``<workspaces>/<learner>/<lab id>``): the lab id on one's own cluster,
    ``<learner>-<lab id>`` on a shared one."""
    from grader.cluster import namespace_for

    return namespace_for(state, LAB_ID, workspace.parent.name)


#: what `setup` clears from the lab's namespace, so a reset restores it too
CLEARED_KINDS = (
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "ResourceQuota"),
)
#: objects Kubernetes itself puts in every namespace
KEPT = {"kube-root-ca.crt"}


def setup(ctx: Any) -> None:
    """With a cluster up: create the lab's namespace, or empty it of the lab's kinds of objects
    when it exists (``certlab lab reset`` restores the namespace as well as the workspace).
    Nothing offline; a cluster that does not answer never stops the lab from starting."""
    state = cluster_state()
    if state is None:
        return
    from grader.cluster import ClusterError, ensure_namespace

    # the lab starts offline too; `certlab lab check` reports the cluster's problem
    with contextlib.suppress(ClusterError):
        namespace = lab_namespace(state, ctx.workspace)
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


def workspace_objects(workspace: Path) -> list[dict[str, Any]]:
    """Every object in the workspace's ``k8s/`` folder."""
    from grader.cluster.sources import parse_manifests

    return parse_manifests(workspace / MANIFESTS)["items"]


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


# -- end of the cluster side ------------------------------------------------------------------


def solve(ctx: Any) -> None:
    """Apply the (solution's) manifests to the lab's namespace; nothing when offline."""
    state = cluster_state()
    if state is None:
        return
    namespace = lab_namespace(state, ctx.workspace)
    prepare_namespace(state, namespace)
    apply_objects(state, workspace_objects(ctx.workspace), namespace)


# -- the brief's arithmetic ---------------------------------------------------------------------
def required_replicas() -> int:
    """ceil(peak / (per-replica throughput x target utilisation))."""
    return math.ceil(Fraction(PEAK_RPS) / (Fraction(REPLICA_RPS) * TARGET_UTILISATION))


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity as a number (``1``, ``"12"``, ``"500m"``); None when absent."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        return float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        return None


def _number(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def scaled(value: Any, replicas: int, round_up: bool) -> int | None:
    """An int-or-percent rolling-update field as pods (surge rounds up, unavailable down)."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            share = Fraction(value.strip()[:-1]) * replicas / 100
        except ValueError:
            return None
        return math.ceil(share) if round_up else math.floor(share)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# -- reading objects: manifests offline, the cluster online ------------------------------------
def _read(ctx: Any, where: str, kind: str, name: str) -> dict[str, Any]:
    from grader.cluster.sources import load_k8s, load_manifests

    if where == "live":
        return load_k8s({"type": "k8s", "kind": kind, "name": name}, ctx)
    return load_manifests({"type": "manifests", "path": MANIFESTS, "kind": kind, "name": name}, ctx)


def _gpu_count(ctx: Any, where: str) -> int:
    """GPUs of the GPU nodes: the topology's offline, the live nodes' labels online."""
    if where != "live":
        from grader.cluster.topology import GPU_COUNT

        return GPU_COUNT
    from grader.cluster.sources import load_k8s

    nodes = load_k8s(
        {
            "type": "k8s",
            "kind": "Node",
            "apiVersion": "v1",
            "selector": {"nvidia.com/gpu.present": "true"},
        },
        ctx,
    )["items"]
    return sum(
        int((n["metadata"].get("labels") or {}).get("nvidia.com/gpu.count", 0)) for n in nodes
    )


def timeslicing_report(ctx: Any, where: str = "manifests") -> dict[str, Any]:
    """The time-slicing part of the device plugin's config in ConfigMap time-slicing-config."""
    import yaml

    from grader.checks.sources.base import SourceError

    cm = _read(ctx, where, "ConfigMap", PLUGIN_CONFIG)
    data = cm.get("data") or {}
    if not data:
        raise SourceError(f"ConfigMap {PLUGIN_CONFIG} has no data (the config goes under a key)")
    for key, text in data.items():
        try:
            config = yaml.safe_load(str(text))
        except yaml.YAMLError as exc:
            raise SourceError(f"the config under key {key!r} is not valid YAML: {exc}") from exc
        sharing = ((config or {}).get("sharing") or {}) if isinstance(config, dict) else {}
        slicing = sharing.get("timeSlicing") if isinstance(sharing, dict) else None
        if not isinstance(slicing, dict):
            continue
        resources = [r for r in slicing.get("resources") or [] if isinstance(r, dict)]
        entry = next(
            (r for r in resources if r.get("name") == GPU), resources[0] if resources else {}
        )
        return {
            "key": key,
            "version": config.get("version"),
            "resource": entry.get("name"),
            "replicas": entry.get("replicas"),
            "rename_by_default": bool(slicing.get("renameByDefault", False)),
            "fail_requests_greater_than_one": bool(
                slicing.get("failRequestsGreaterThanOne", False)
            ),
        }
    raise SourceError(
        f"no key of ConfigMap {PLUGIN_CONFIG} holds a device-plugin config with sharing.timeSlicing"
    )


def sizing_report(ctx: Any, where: str = "manifests") -> dict[str, Any]:
    """The online Deployment's size and rollout room against the replicas the brief needs."""
    deployment = _read(ctx, where, "Deployment", ONLINE)
    spec = deployment.get("spec") or {}
    replicas = spec.get("replicas", 1)
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    gpus = [
        quantity(((c.get("resources") or {}).get("limits") or {}).get(GPU))
        for c in containers
        if isinstance(c, dict)
    ]
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    count = replicas if isinstance(replicas, int) else 0
    needed = required_replicas()
    report = {
        "required_replicas": needed,
        "replicas": replicas,
        "replicas_off_by": count - needed,
        "gpu_per_replica": _number(sum(g for g in gpus if g is not None))
        if any(g is not None for g in gpus)
        else None,
        "strategy": (spec.get("strategy") or {}).get("type", "RollingUpdate"),
        "max_surge": scaled(rolling.get("maxSurge", "25%"), count, round_up=True),
        "max_unavailable": scaled(rolling.get("maxUnavailable", "25%"), count, round_up=False),
    }
    if where == "live":
        ready = (deployment.get("status") or {}).get("readyReplicas", 0)
        report["ready_replicas"] = ready
        report["ready_short"] = max(0, needed - ready)
    return report


def capacity_report(ctx: Any, where: str = "manifests") -> dict[str, Any]:
    """GPU shares on the node against the online fleet's shares and the batch quota."""
    slicing = timeslicing_report(ctx, where)
    sizing = sizing_report(ctx, where)
    quota = _read(ctx, where, "ResourceQuota", QUOTA)
    hard = ((quota.get("spec") or {}).get("hard")) or {}
    batch = quantity(hard.get(f"requests.{GPU}"))
    gpus = _gpu_count(ctx, where)
    slices = slicing["replicas"] if isinstance(slicing["replicas"], int) else 1
    capacity = gpus * slices
    per_replica = sizing["gpu_per_replica"] or 0
    surge = sizing["max_surge"] or 0
    online = (
        (sizing["replicas"] + surge) * per_replica if isinstance(sizing["replicas"], int) else 0
    )
    return {
        "gpus": gpus,
        "time_slices": slices,
        "capacity_shares": capacity,
        "online_shares": _number(online),
        "batch_quota_shares": _number(batch),
        "unallocated_shares": _number(capacity - online - (batch or 0)),
    }
