"""The node topology every certlab cluster offers: a control plane and two workers, one a GPU
node as NVIDIA's GPU feature discovery and device plugin would present it."""

from __future__ import annotations

from typing import Any

CLUSTER_NAME = "certlab"
CONTROL_PLANE = f"{CLUSTER_NAME}-control-plane"
WORKER = f"{CLUSTER_NAME}-worker"
GPU_WORKER = f"{CLUSTER_NAME}-worker2"

GPU_COUNT = 4
GPU_RESOURCE = "nvidia.com/gpu"
GPU_LABELS = {
    "nvidia.com/gpu.present": "true",
    "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
    "nvidia.com/gpu.count": str(GPU_COUNT),
    "nvidia.com/gpu.memory": "81559",
    "nvidia.com/gpu.replicas": "1",
    "nvidia.com/mig.capable": "true",
}
GPU_TAINT = {"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"}
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}

#: the JSON patch (status subresource) that gives a real node simulated GPU capacity
GPU_STATUS_PATCH = [
    {"op": "add", "path": "/status/capacity/nvidia.com~1gpu", "value": str(GPU_COUNT)},
]

KWOK_ANNOTATION = "kwok.x-k8s.io/node"


def _fake_node(
    name: str, labels: dict[str, str], taints: list[dict[str, str]], capacity: dict[str, str]
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/os": "linux",
                "kubernetes.io/hostname": name,
                "type": "kwok",
                **labels,
            },
        },
        "spec": {"taints": taints},
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": "fake",
                "kubeProxyVersion": "fake",
                "containerRuntimeVersion": "kwok",
                "osImage": "kwok",
                "kernelVersion": "kwok",
                "bootID": "",
                "machineID": "",
                "systemUUID": "",
            },
            "phase": "Running",
        },
    }


def kwok_nodes() -> list[dict[str, Any]]:
    """The fake Node objects of the kwok backend."""
    base = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return [
        _fake_node(
            CONTROL_PLANE,
            {"node-role.kubernetes.io/control-plane": ""},
            [CONTROL_PLANE_TAINT],
            {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi"},
        ),
        _fake_node(WORKER, {}, [], base),
        _fake_node(
            GPU_WORKER,
            GPU_LABELS,
            [GPU_TAINT],
            {**base, "cpu": "32", "memory": "256Gi", GPU_RESOURCE: str(GPU_COUNT)},
        ),
    ]


def describe_nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A short summary of Node objects (plain dicts) for ``certlab cluster status``."""
    out = []
    for node in nodes:
        meta = node.get("metadata") or {}
        status = node.get("status") or {}
        labels = meta.get("labels") or {}
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        roles = sorted(
            k.rsplit("/", 1)[-1] for k in labels if k.startswith("node-role.kubernetes.io/")
        )
        out.append(
            {
                "name": meta.get("name"),
                "ready": conditions.get("Ready") == "True",
                "roles": roles or ["worker"],
                "gpus": (status.get("allocatable") or {}).get(GPU_RESOURCE, "0"),
                "gpu_product": labels.get("nvidia.com/gpu.product"),
                "taints": [
                    f"{t.get('key')}={t.get('value', '')}:{t.get('effect')}"
                    for t in (node.get("spec") or {}).get("taints") or []
                ],
            }
        )
    return out
