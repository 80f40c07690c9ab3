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

import math
from fractions import Fraction
from typing import Any

# the lab's hooks (lab.yaml: setup/solve: checks.py:...) are certlab's own
from grader.cluster.labspace import setup as setup
from grader.cluster.labspace import solve as solve

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
