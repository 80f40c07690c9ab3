"""GPU sharing on Kubernetes: time-slicing replicas and MIG partitions."""

from __future__ import annotations

import random

from grader.exams.generators import Generated, register
from grader.exams.generators._util import numeric

# MIG profiles on an 80 GB A100/H100 and how many instances of each fit one GPU.
MIG_PROFILES = {"1g.10gb": 7, "2g.20gb": 3, "3g.40gb": 2, "4g.40gb": 1, "7g.80gb": 1}
MIG_GPUS = ["A100-80GB", "H100-80GB"]


@register("timeslicing_allocatable")
def timeslicing_allocatable(rng: random.Random) -> Generated:
    """Allocatable ``nvidia.com/gpu`` with time-slicing on all or some nodes."""
    nodes = rng.randint(2, 12)
    per_node = rng.choice([1, 2, 4, 8])
    replicas = rng.choice([2, 3, 4, 5, 8, 10])
    subset = rng.random() < 0.4
    sliced = rng.randint(1, nodes - 1) if subset else nodes
    plain = nodes - sliced
    value = sliced * per_node * replicas + plain * per_node
    config = (
        "```yaml\nversion: v1\nsharing:\n  timeSlicing:\n    resources:\n"
        f"      - name: nvidia.com/gpu\n        replicas: {replicas}\n```"
    )
    if subset:
        where = (
            f"The NVIDIA device plugin applies this config only to the {sliced} nodes labelled "
            f"for it; the other {plain} nodes use the default (no sharing):"
        )
    else:
        where = "The NVIDIA device plugin on every node uses this config:"
    stem = "\n\n".join(
        [
            f"A cluster has {nodes} GPU nodes, each with {per_node} physical "
            f"GPU{'s' if per_node > 1 else ''}. {where}",
            config,
            "With `renameByDefault` left false, how many `nvidia.com/gpu` does the cluster "
            "report as allocatable in total? Answer as a whole number.",
        ]
    )
    steps = [
        "Time-slicing advertises each physical GPU as `replicas` schedulable units of the same "
        "resource name.",
        f"Sliced nodes: {sliced} · {per_node} · {replicas} = {sliced * per_node * replicas}.",
    ]
    if subset:
        steps.append(f"Unshared nodes: {plain} · {per_node} = {plain * per_node}.")
        steps.append(f"Total: {sliced * per_node * replicas} + {plain * per_node} = {value}.")
    steps.append(
        "Time-slicing gives no memory or fault isolation: the pods sharing a GPU share its "
        "memory; MIG is the isolated alternative."
    )
    params = {"nodes": nodes, "gpus_per_node": per_node, "replicas": replicas}
    if subset:
        params["sliced_nodes"] = sliced
    return numeric(stem, steps, value, None, params, unit="nvidia.com/gpu")


@register("mig_instances")
def mig_instances(rng: random.Random) -> Generated:
    """Pods that fit when every GPU is split into one MIG profile."""
    gpu = rng.choice(MIG_GPUS)
    profile = rng.choice(list(MIG_PROFILES))
    per_gpu = MIG_PROFILES[profile]
    nodes = rng.randint(1, 6)
    per_node = rng.choice([4, 8])
    per_pod = rng.choice([1, 1, 2, 3]) if per_gpu > 1 else rng.choice([1, 2])
    instances_node = per_node * per_gpu
    pods_node = instances_node // per_pod
    value = nodes * pods_node
    resource = f"nvidia.com/mig-{profile}"
    stem = (
        f"A cluster has {nodes} node{'s' if nodes > 1 else ''} with {per_node} {gpu} GPUs "
        f"each. Every GPU is partitioned into as many `{profile}` MIG instances as fit "
        f"({per_gpu} per GPU), and the device plugin runs the `mixed` strategy, so nodes "
        f"advertise `{resource}`. Each pod of an inference Deployment requests "
        f"`{resource}: {per_pod}`. Ignoring CPU and memory, how many of these pods can run at "
        "once? Answer as a whole number."
    )
    steps = [
        f"Instances per node: {per_node} GPUs · {per_gpu} = {instances_node}.",
        f"A pod's devices must come from one node: ⌊{instances_node} / {per_pod}⌋ = "
        f"{pods_node} pods per node.",
        f"Cluster: {nodes} · {pods_node} = {value} pods.",
        "MIG instances have their own memory and compute slices, unlike time-slicing.",
    ]
    params = {
        "gpu": gpu,
        "profile": profile,
        "instances_per_gpu": per_gpu,
        "nodes": nodes,
        "gpus_per_node": per_node,
        "instances_per_pod": per_pod,
    }
    return numeric(stem, steps, value, None, params, unit="pods")
