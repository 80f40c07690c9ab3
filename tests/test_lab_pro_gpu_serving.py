"""Lab pro-gpu-serving: offline and against the kwok cluster (whose GPU worker has 4 simulated
H100s and the nvidia.com/gpu taint), a fresh start fails, the solution scores full marks with
the GPU pods on the GPU node and the fallback off it, and broken manifests fail the right check
with a readable reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import k8s_lab_helpers as h
import pytest

from grader.checks.sources.labcode import load_module
from grader.labs.model import Lab
from grader.labs.runner import LOCAL_CAPABILITIES

pytest_plugins = ["cluster_fixtures"]

LAB_ID = "pro-gpu-serving"
GPU = "Deployment/detector-gpu"
CPU = "Deployment/detector-cpu"
TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


@pytest.fixture(scope="module")
def lab() -> Lab:
    return h.load_lab(LAB_ID)


@pytest.fixture(scope="module")
def offline(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return h.lifecycle(lab, tmp_path_factory.mktemp("home"), None, "fresh", "solved")


@pytest.fixture(scope="module")
def online(
    lab: Lab, kwok_cluster: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    result = h.lifecycle(lab, tmp_path_factory.mktemp("home"), kwok_cluster, "fresh", "solved")
    result["capabilities"] = frozenset({"local", "cluster"})
    yield result
    h.delete_namespaces(
        kwok_cluster,
        [h.namespace(lab, who) for who in ("fresh", "solved", "broken")],
        wait=True,  # give the GPUs back for the next lab's tests
    )


def test_lab_is_well_formed(lab: Lab) -> None:
    from grader.cluster import topology

    assert lab.requires == ("cluster",) and lab.domains == ("orchestration", "inference")
    assert len(lab.checks) >= 6
    for check in lab.checks:
        reads_manifests = check.source["type"] == "manifests" or (
            check.source.get("args", {}).get("where") == "manifests"
        )
        assert reads_manifests == (check.needs == ()), check.id
    text = "\n".join(t.instructions for t in lab.tasks)
    # the instructions state the topology the grader reads
    assert topology.GPU_LABELS["nvidia.com/gpu.product"] in text
    assert f"nvidia.com/gpu: {topology.GPU_COUNT}" in text
    taint = topology.GPU_TAINT
    assert f"{taint['key']}={taint['value']}:{taint['effect']}" in text
    assert "CUDAExecutionProvider,CPUExecutionProvider" in text


def test_tolerations_are_evaluated_like_the_scheduler(lab: Lab) -> None:
    checks = load_module("checks.py", lab.folder)
    ok = [
        [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}],
        [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
        [{"operator": "Exists"}],
    ]
    not_ok = [
        None,
        [],
        [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "true"}],
        [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}],
        [{"key": "gpu", "operator": "Exists"}],
        [{"operator": "Equal", "value": "present"}],
    ]
    assert all(checks.tolerates(t, TAINT) for t in ok)
    assert not any(checks.tolerates(t, TAINT) for t in not_ok)
    assert checks.quantity("500m") == 0.5 and checks.quantity(1) == 1.0
    assert checks.quantity(None) is None and checks.quantity("lots") is None


# -- offline ------------------------------------------------------------------------------------
def test_offline_fresh_start_fails_and_live_checks_are_not_gradable(
    lab: Lab, offline: dict[str, Any]
) -> None:
    h.assert_fresh_fails(lab, offline["fresh"], LOCAL_CAPABILITIES)
    results = h.by_id(offline["fresh"])
    assert "gpu_limit: expected 1, found null" in results["gpu-deployment"].message
    assert "tolerates_gpu_taint: expected false, found true" in (
        results["fallback-deployment"].message
    )


def test_offline_solution_passes_every_manifest_check(lab: Lab, offline: dict[str, Any]) -> None:
    h.assert_full_marks(lab, offline["solved"], LOCAL_CAPABILITIES)


# -- against the kwok cluster ------------------------------------------------------------------
def test_fresh_start_fails_every_required_check(lab: Lab, online: dict[str, Any]) -> None:
    h.assert_fresh_fails(lab, online["fresh"], online["capabilities"])


def test_solution_scores_full_marks(lab: Lab, online: dict[str, Any]) -> None:
    h.assert_full_marks(lab, online["solved"], online["capabilities"])
    assert online["solved"].passed and online["solved"].score == online["solved"].max_score
    placement = h.by_id(online["solved"])["gpu-pods-on-gpu-node"].evidence["document"]
    assert {p["node"] for p in placement["pods"]} == {"certlab-worker2"}


def test_too_many_gpus_and_a_fallback_on_the_gpu_node_fail_live(
    lab: Lab, online: dict[str, Any], kwok_cluster: Any, tmp_path: Path
) -> None:
    h.record_cluster(kwok_cluster)

    def greedy(objects: dict[str, Any]) -> None:
        objects[GPU]["spec"]["replicas"] = 6
        pod = objects[CPU]["spec"]["template"]["spec"]
        pod["tolerations"] = [{"operator": "Exists"}]
        pod["nodeSelector"] = {"nvidia.com/gpu.present": "true"}

    workspace = h.variant(online["workspace"], tmp_path, "broken", lab, greedy)
    h.apply_workspace(lab, workspace, wait_for=("detector-cpu",))
    caps = online["capabilities"]
    with h.capped_polls(5):
        capacity = h.assert_fails(lab, workspace, "gpu-capacity", capabilities=caps)
        h.assert_fails(
            lab, workspace, "gpu-pods-on-gpu-node", "expected 2, found 6", capabilities=caps
        )
        h.assert_fails(lab, workspace, "fallback-pods-off-gpu", "on_gpu_node", capabilities=caps)
        h.assert_fails(
            lab, workspace, "fallback-deployment-live", "tolerates_gpu_taint", capabilities=caps
        )
    assert "over_by: expected 0, found 2" in capacity


# -- broken manifests, offline -----------------------------------------------------------------
def _providers_reversed(objects: dict[str, Any]) -> None:
    objects["ConfigMap/detector-ort"]["data"]["ORT_PROVIDERS"] = (
        "CPUExecutionProvider,CUDAExecutionProvider"
    )


def _gpu_in_requests_only(objects: dict[str, Any]) -> None:
    resources = h.container(objects[GPU])["resources"]
    resources["requests"]["nvidia.com/gpu"] = resources["limits"].pop("nvidia.com/gpu")


def _two_gpus(objects: dict[str, Any]) -> None:
    h.container(objects[GPU])["resources"]["limits"]["nvidia.com/gpu"] = 2


def _wrong_toleration_value(objects: dict[str, Any]) -> None:
    objects[GPU]["spec"]["template"]["spec"]["tolerations"] = [
        {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
    ]


def _no_product(objects: dict[str, Any]) -> None:
    del objects[GPU]["spec"]["template"]["spec"]["nodeSelector"]


def _fallback_tolerates_everything(objects: dict[str, Any]) -> None:
    objects[CPU]["spec"]["template"]["spec"]["tolerations"] = [{"operator": "Exists"}]


def _fallback_reads_gpu_config(objects: dict[str, Any]) -> None:
    container = h.container(objects[CPU])
    del container["env"]
    container["envFrom"] = [{"configMapRef": {"name": "detector-ort"}}]


def _fallback_with_gpu(objects: dict[str, Any]) -> None:
    h.container(objects[CPU])["resources"]["limits"]["nvidia.com/gpu"] = 1


BROKEN = [
    ("providers-reversed", _providers_reversed, "ort-provider-order", ["ORT_PROVIDERS"]),
    ("gpu-in-requests", _gpu_in_requests_only, "gpu-deployment", ["gpu_limit: expected 1"]),
    ("two-gpus", _two_gpus, "gpu-deployment", ["gpu_limit: expected 1, found 2"]),
    (
        "toleration-value",
        _wrong_toleration_value,
        "gpu-deployment",
        ["tolerates_gpu_taint: expected true, found false"],
    ),
    ("no-product", _no_product, "gpu-deployment", ["gpu_products"]),
    (
        "fallback-tolerates-all",
        _fallback_tolerates_everything,
        "fallback-deployment",
        ["tolerates_gpu_taint: expected false, found true"],
    ),
    (
        "fallback-gpu-config",
        _fallback_reads_gpu_config,
        "fallback-deployment",
        ["ort_providers", "CUDAExecutionProvider"],
    ),
    (
        "fallback-with-gpu",
        _fallback_with_gpu,
        "fallback-deployment",
        ["gpu_limit: expected null, found 1"],
    ),
]


@pytest.mark.parametrize(
    ("edit", "check_id", "words"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_broken_manifests_fail_with_a_reason(
    lab: Lab, offline: dict[str, Any], tmp_path: Path, edit: Any, check_id: str, words: list[str]
) -> None:
    workspace = h.variant(offline["workspace"], tmp_path, "broken", lab, edit)
    h.assert_fails(lab, workspace, check_id, *words)


def test_node_affinity_and_an_equal_request_are_accepted(
    lab: Lab, offline: dict[str, Any], tmp_path: Path
) -> None:
    def affinity(objects: dict[str, Any]) -> None:
        pod = objects[GPU]["spec"]["template"]["spec"]
        product = pod.pop("nodeSelector")["nvidia.com/gpu.product"]
        pod["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {
                                    "key": "nvidia.com/gpu.product",
                                    "operator": "In",
                                    "values": [product],
                                }
                            ]
                        }
                    ]
                }
            }
        }
        pod["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}]
        h.container(objects[GPU])["resources"]["requests"]["nvidia.com/gpu"] = "1"

    workspace = h.variant(offline["workspace"], tmp_path, "alt", lab, affinity)
    assert h.grade(lab, workspace, "gpu-deployment").passed


def test_a_missing_deployment_fails_with_what_was_found(
    lab: Lab, offline: dict[str, Any], tmp_path: Path
) -> None:
    workspace = h.variant(offline["workspace"], tmp_path, "gone", lab, lambda o: o.pop(CPU))
    h.assert_fails(
        lab, workspace, "fallback-deployment", "no Deployment named 'detector-cpu'", "found: "
    )
