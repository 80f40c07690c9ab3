"""Set-up, solve and the scheduling reports for the lab pro-gpu-serving.

The learner's work is the manifests under ``k8s/``. ``deployment_report`` reads a Deployment —
from the manifests (``where: manifests``, offline) or live from the cluster (``where: live``) —
and states in plain fields what decides where its pods may run: the GPUs it asks for, whether
it tolerates the GPU node's taint (evaluated like the scheduler does), which nodes it selects,
and the ONNX Runtime provider list its container receives (resolved through the ConfigMap).
The same ``expect`` tree then grades the manifest offline and the object online.
``pod_placement`` and ``gpu_capacity`` read live pods and nodes. Nothing expected is stored:
the GPU node's taint, labels and capacity come from the cluster's topology (``grader.cluster.
topology``) offline, and from the live Node objects online.
"""

from __future__ import annotations

from typing import Any

# the lab's hooks (lab.yaml: setup/solve: checks.py:...) are certlab's own
from grader.cluster.labspace import setup as setup
from grader.cluster.labspace import solve as solve

LAB_ID = "pro-gpu-serving"
MANIFESTS = "k8s"
GPU = "nvidia.com/gpu"
PRODUCT_LABEL = "nvidia.com/gpu.product"


# -- reading objects: manifests offline, the cluster online ------------------------------------
def _live(ctx: Any, **spec: Any) -> Any:
    from grader.cluster.sources import load_k8s

    return load_k8s({"type": "k8s", **spec}, ctx)


def _manifest(ctx: Any, kind: str, name: str) -> dict[str, Any]:
    from grader.cluster.sources import load_manifests

    return load_manifests({"type": "manifests", "path": MANIFESTS, "kind": kind, "name": name}, ctx)


def _configmap(ctx: Any, where: str, name: str) -> dict[str, Any] | None:
    from grader.checks.sources.base import SourceError

    try:
        if where == "live":
            return _live(ctx, kind="ConfigMap", name=name)
        return _manifest(ctx, "ConfigMap", name)
    except SourceError:
        return None


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity as a number (``1``, ``"2"``, ``"500m"``); None when absent."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        if text.endswith("m"):
            return float(text[:-1]) / 1000
        return float(text)
    except ValueError:
        return None


def _number(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def tolerates(tolerations: list[dict[str, Any]] | None, taint: dict[str, str]) -> bool:
    """Whether any toleration tolerates ``taint`` — the scheduler's rule."""
    for t in tolerations or []:
        if not isinstance(t, dict):
            continue
        operator = t.get("operator") or "Equal"
        key = t.get("key") or ""
        if key and key != taint["key"]:
            continue
        if not key and operator != "Exists":
            continue
        if t.get("effect") and t.get("effect") != taint["effect"]:
            continue
        if operator == "Exists" or (t.get("value") or "") == taint.get("value", ""):
            return True
    return False


def _selected_products(pod_spec: dict[str, Any]) -> list[str]:
    """The GPU products the pod's nodeSelector or required node affinity allows."""
    products: list[str] = []
    selector = pod_spec.get("nodeSelector") or {}
    if PRODUCT_LABEL in selector:
        products.append(str(selector[PRODUCT_LABEL]))
    affinity = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in affinity.get("nodeSelectorTerms") or []:
        for expr in (term or {}).get("matchExpressions") or []:
            if expr.get("key") == PRODUCT_LABEL and expr.get("operator") == "In":
                products += [str(v) for v in expr.get("values") or []]
    return sorted(set(products))


def _targets_gpu_nodes(pod_spec: dict[str, Any]) -> bool:
    """Whether the pod asks for nodes by an NVIDIA label (nodeSelector or affinity)."""
    if any(str(k).startswith("nvidia.com/") for k in pod_spec.get("nodeSelector") or {}):
        return True
    affinity = (pod_spec.get("affinity") or {}).get("nodeAffinity") or {}
    terms = (affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get(
        "nodeSelectorTerms"
    ) or []
    preferred = [
        p.get("preference") or {}
        for p in affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or []
    ]
    for term in [*terms, *preferred]:
        for expr in (term or {}).get("matchExpressions") or []:
            if str(expr.get("key", "")).startswith("nvidia.com/") and expr.get("operator") in (
                "In",
                "Exists",
            ):
                return True
    return False


def _providers(ctx: Any, where: str, container: dict[str, Any]) -> str | None:
    """ORT_PROVIDERS as the container will see it (env wins over envFrom), with the spaces
    around its commas removed; None when the container does not get it."""
    value: Any = None
    for source in container.get("envFrom") or []:
        ref = (source or {}).get("configMapRef") or {}
        cm = _configmap(ctx, where, ref.get("name", "")) if ref.get("name") else None
        data = (cm or {}).get("data") or {}
        prefix = (source or {}).get("prefix") or ""
        for key, item in data.items():
            if prefix + key == "ORT_PROVIDERS":
                value = item
    for env in container.get("env") or []:
        if (env or {}).get("name") != "ORT_PROVIDERS":
            continue
        if "value" in env:
            value = env["value"]
        ref = ((env.get("valueFrom") or {}).get("configMapKeyRef")) or {}
        if ref.get("name"):
            cm = _configmap(ctx, where, ref["name"])
            value = ((cm or {}).get("data") or {}).get(ref.get("key", ""))
    if value is None:
        return None
    return ",".join(p.strip() for p in str(value).split(",") if p.strip())


def _gpu_taint() -> dict[str, str]:
    from grader.cluster.topology import GPU_TAINT

    return dict(GPU_TAINT)


def deployment_report(ctx: Any, name: str, where: str = "manifests") -> dict[str, Any]:
    """What decides where the Deployment ``name``'s pods run, from the manifests or live."""
    if where == "live":
        obj = _live(ctx, kind="Deployment", name=name)
    else:
        obj = _manifest(ctx, "Deployment", name)
    spec = obj.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    containers = [c for c in pod.get("containers") or [] if isinstance(c, dict)]
    limits = [
        quantity(((c.get("resources") or {}).get("limits") or {}).get(GPU)) for c in containers
    ]
    requests = [
        quantity(((c.get("resources") or {}).get("requests") or {}).get(GPU)) for c in containers
    ]
    server = next((c for c in containers if c.get("name") == "server"), {})
    report = {
        "replicas": spec.get("replicas", 1),
        "containers": [c.get("name") for c in containers],
        "gpu_limit": _number(sum(v for v in limits if v is not None))
        if any(v is not None for v in limits)
        else None,
        "gpu_request": _number(sum(v for v in requests if v is not None))
        if any(v is not None for v in requests)
        else None,
        "tolerates_gpu_taint": tolerates(pod.get("tolerations"), _gpu_taint()),
        "gpu_products": _selected_products(pod),
        "targets_gpu_nodes": _targets_gpu_nodes(pod),
        "ort_providers": _providers(ctx, where, server),
    }
    if where == "live":
        status = obj.get("status") or {}
        report["ready_replicas"] = status.get("readyReplicas", 0)
        report["updated_replicas"] = status.get("updatedReplicas", 0)
    return report


# -- live pods and nodes -------------------------------------------------------------------------
def _nodes(ctx: Any) -> dict[str, dict[str, Any]]:
    listed = _live(ctx, kind="Node", apiVersion="v1")
    return {n["metadata"]["name"]: n for n in listed["items"]}


def _is_gpu_node(node: dict[str, Any]) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return labels.get("nvidia.com/gpu.present") == "true"


def pod_placement(ctx: Any, selector: str) -> dict[str, Any]:
    """Where the live pods matching ``selector`` run: node, GPU node or not, Ready."""
    pods = _live(ctx, kind="Pod", selector=selector)["items"]
    nodes = _nodes(ctx)
    placed = []
    for pod in pods:
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            continue
        node_name = (pod.get("spec") or {}).get("nodeName")
        node = nodes.get(node_name or "", {})
        conditions = (pod.get("status") or {}).get("conditions") or []
        placed.append(
            {
                "name": pod["metadata"]["name"],
                "node": node_name,
                "on_gpu_node": _is_gpu_node(node) if node else None,
                "phase": (pod.get("status") or {}).get("phase"),
                "ready": any(
                    c.get("type") == "Ready" and c.get("status") == "True" for c in conditions
                ),
            }
        )
    return {"count": len(placed), "pods": placed}


def gpu_capacity(ctx: Any) -> dict[str, Any]:
    """The GPUs the lab namespace's pods claim (limits) against the GPU nodes' allocatable."""
    pods = _live(ctx, kind="Pod")["items"]
    claimed = 0.0
    unscheduled = 0
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        gpus = sum(
            quantity(((c.get("resources") or {}).get("limits") or {}).get(GPU)) or 0
            for c in (pod.get("spec") or {}).get("containers") or []
        )
        claimed += gpus
        if gpus and not (pod.get("spec") or {}).get("nodeName"):
            unscheduled += 1
    allocatable = sum(
        quantity(((n.get("status") or {}).get("allocatable") or {}).get(GPU)) or 0
        for n in _nodes(ctx).values()
        if _is_gpu_node(n)
    )
    return {
        "gpus_claimed": _number(claimed),
        "gpus_allocatable": _number(allocatable),
        "over_by": _number(max(0.0, claimed - allocatable)),
        "unscheduled_gpu_pods": unscheduled,
    }
