"""Lab arc-gpu-capacity: the sizing is recomputed from the brief's numbers (stated identically
in the instructions), a fresh start fails, the solution scores full marks offline and against
the kwok cluster, and broken plans fail the right check with a readable reason."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import k8s_lab_helpers as h
import pytest

from grader.checks.sources.labcode import load_module
from grader.labs.model import Lab
from grader.labs.runner import LOCAL_CAPABILITIES

pytest_plugins = ["cluster_fixtures"]

LAB_ID = "arc-gpu-capacity"
ONLINE = "Deployment/ranker-online"
QUOTA = "ResourceQuota/batch-gpu"
CONFIG = "ConfigMap/time-slicing-config"
BATCH = "PriorityClass/batch-low"


@pytest.fixture(scope="module")
def lab() -> Lab:
    return h.load_lab(LAB_ID)


@pytest.fixture(scope="module")
def checks(lab: Lab) -> Any:
    return load_module("checks.py", lab.folder)


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
    assert lab.requires == ("cluster",) and lab.level == "architect"
    assert lab.domains == ("finops", "platform")
    assert len(lab.checks) >= 6
    for check in lab.checks:
        reads_manifests = check.source["type"] == "manifests" or (
            check.source.get("args", {}).get("where") == "manifests"
        )
        assert reads_manifests == (check.needs == ()), check.id


def test_the_brief_in_the_instructions_is_the_one_the_grader_computes_with(
    lab: Lab, checks: Any
) -> None:
    from grader.cluster import topology

    text = " ".join(" ".join(t.instructions for t in lab.tasks).split())
    assert f"peak of {checks.PEAK_RPS} requests/s" in text
    assert f"{checks.REPLICA_RPS} requests/s per replica" in text
    assert f"p95 latency target of {checks.P95_TARGET_MS} ms" in text
    assert f"{int(checks.TARGET_UTILISATION * 100)} % utilisation" in text
    assert f"time-slicing into {checks.TIME_SLICES} replicas" in text
    assert f"{topology.GPU_COUNT} × H100" in text
    # the grader's answer, recomputed independently here
    needed = math.ceil(checks.PEAK_RPS / (checks.REPLICA_RPS * 0.70) - 1e-9)
    assert checks.required_replicas() == needed == 2
    capacity = topology.GPU_COUNT * checks.TIME_SLICES
    assert capacity - (needed + 1) == 13  # the batch quota of the reference solution


def test_rolling_update_fields_scale_like_kubernetes(checks: Any) -> None:
    assert checks.scaled("25%", 3, round_up=True) == 1
    assert checks.scaled("25%", 3, round_up=False) == 0
    assert checks.scaled(2, 3, round_up=True) == 2
    assert checks.scaled("50%", 4, round_up=False) == 2
    assert checks.scaled("lots%", 4, round_up=False) is None
    assert checks.quantity("12") == 12.0 and checks.quantity(None) is None


# -- offline ------------------------------------------------------------------------------------
def test_offline_fresh_start_fails_and_live_checks_are_not_gradable(
    lab: Lab, offline: dict[str, Any]
) -> None:
    h.assert_fresh_fails(lab, offline["fresh"], LOCAL_CAPABILITIES)
    results = h.by_id(offline["fresh"])
    assert "replicas_off_by: expected 0, found -1" in results["fleet-sizing"].message
    assert "rename_by_default: expected false, found true" in (
        results["time-slicing-config"].message
    )


def test_offline_solution_passes_every_manifest_check(lab: Lab, offline: dict[str, Any]) -> None:
    h.assert_full_marks(lab, offline["solved"], LOCAL_CAPABILITIES)
    plan = h.by_id(offline["solved"])["capacity-plan"].evidence["document"]
    assert plan == {
        "gpus": 4,
        "time_slices": 4,
        "capacity_shares": 16,
        "online_shares": 3,
        "batch_quota_shares": 13,
        "unallocated_shares": 0,
    }


# -- against the kwok cluster ------------------------------------------------------------------
def test_fresh_start_fails_every_required_check(lab: Lab, online: dict[str, Any]) -> None:
    h.assert_fresh_fails(lab, online["fresh"], online["capabilities"])


def test_solution_scores_full_marks(lab: Lab, online: dict[str, Any]) -> None:
    h.assert_full_marks(lab, online["solved"], online["capabilities"])
    assert online["solved"].passed and online["solved"].score == online["solved"].max_score
    fleet = h.by_id(online["solved"])["fleet-live"].evidence["document"]
    assert fleet["ready_replicas"] == fleet["required_replicas"] == 2


def test_an_undersized_fleet_fails_live(
    lab: Lab, online: dict[str, Any], kwok_cluster: Any, tmp_path: Path
) -> None:
    h.record_cluster(kwok_cluster)

    def undersized(objects: dict[str, Any]) -> None:
        objects[ONLINE]["spec"]["replicas"] = 1

    workspace = h.variant(online["workspace"], tmp_path, "broken", lab, undersized)
    h.apply_workspace(lab, workspace, wait_for=("ranker-online",))
    caps = online["capabilities"]
    with h.capped_polls():
        h.assert_fails(
            lab,
            workspace,
            "fleet-live",
            "replicas_off_by: expected 0, found -1",
            "ready_short: expected 0, found 1",
            capabilities=caps,
        )
    for passing in ("priority-classes-live", "quota-live", "online-pods-priority"):
        assert h.grade(lab, workspace, passing, caps).passed, passing


# -- broken plans, offline ---------------------------------------------------------------------
def _oversized(objects: dict[str, Any]) -> None:
    objects[ONLINE]["spec"]["replicas"] = 3


def _renamed_shares(objects: dict[str, Any]) -> None:
    config = objects[CONFIG]["data"]["any"]
    objects[CONFIG]["data"]["any"] = config.replace(
        "renameByDefault: false", "renameByDefault: true"
    )


def _corrupt_config(objects: dict[str, Any]) -> None:
    objects[CONFIG]["data"]["any"] = "version: v1\nsharing: [timeSlicing\n"


def _two_shares_per_replica(objects: dict[str, Any]) -> None:
    h.container(objects[ONLINE])["resources"]["limits"]["nvidia.com/gpu"] = 2


def _unavailable_allowed(objects: dict[str, Any]) -> None:
    objects[ONLINE]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = 1


def _quota_unscoped(objects: dict[str, Any]) -> None:
    del objects[QUOTA]["spec"]["scopeSelector"]


def _quota_too_big(objects: dict[str, Any]) -> None:
    objects[QUOTA]["spec"]["hard"]["requests.nvidia.com/gpu"] = "16"


def _quota_forgets_surge(objects: dict[str, Any]) -> None:
    objects[QUOTA]["spec"]["hard"]["requests.nvidia.com/gpu"] = "14"


def _batch_preempts(objects: dict[str, Any]) -> None:
    objects[BATCH]["preemptionPolicy"] = "PreemptLowerPriority"


def _batch_is_default(objects: dict[str, Any]) -> None:
    objects[BATCH]["globalDefault"] = True


def _no_priority(objects: dict[str, Any]) -> None:
    del objects[ONLINE]["spec"]["template"]["spec"]["priorityClassName"]


BROKEN = [
    ("oversized", _oversized, "fleet-sizing", ["replicas_off_by: expected 0, found 1"]),
    ("renamed-shares", _renamed_shares, "time-slicing-config", ["rename_by_default"]),
    ("corrupt-config", _corrupt_config, "time-slicing-config", ["not valid YAML"]),
    ("two-shares", _two_shares_per_replica, "fleet-sizing", ["gpu_per_replica: expected 1"]),
    ("unavailable", _unavailable_allowed, "fleet-sizing", ["max_unavailable: expected 0"]),
    ("quota-unscoped", _quota_unscoped, "batch-quota", ["scopeSelector"]),
    (
        "quota-too-big",
        _quota_too_big,
        "capacity-plan",
        ["unallocated_shares: expected 0, found -3"],
    ),
    ("quota-forgets-surge", _quota_forgets_surge, "capacity-plan", ["found -1"]),
    ("batch-preempts", _batch_preempts, "priority-classes", ["PriorityClass"]),
    ("batch-is-default", _batch_is_default, "priority-classes", ["batch-low"]),
    ("no-priority", _no_priority, "online-placement", ["priorityClassName"]),
]


@pytest.mark.parametrize(
    ("edit", "check_id", "words"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_broken_plans_fail_with_a_reason(
    lab: Lab, offline: dict[str, Any], tmp_path: Path, edit: Any, check_id: str, words: list[str]
) -> None:
    workspace = h.variant(offline["workspace"], tmp_path, "broken", lab, edit)
    h.assert_fails(lab, workspace, check_id, *words)


def test_a_config_without_time_slicing_says_so(
    lab: Lab, offline: dict[str, Any], tmp_path: Path
) -> None:
    def mig_only(objects: dict[str, Any]) -> None:
        objects[CONFIG]["data"] = {"any": "version: v1\nflags:\n  migStrategy: mixed\n"}

    workspace = h.variant(offline["workspace"], tmp_path, "broken", lab, mig_only)
    h.assert_fails(lab, workspace, "time-slicing-config", "sharing.timeSlicing")
    h.assert_fails(lab, workspace, "capacity-plan", "sharing.timeSlicing")
