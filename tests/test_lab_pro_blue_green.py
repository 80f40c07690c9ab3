"""Lab pro-blue-green: offline and against the kwok cluster, a fresh start fails, the solution
(green staged and ready, then the Service switched) scores full marks and holds for 10 s, and
broken manifests or a half-done switch fail the right check with a readable reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import k8s_lab_helpers as h
import pytest

from grader.checks.assertions import match
from grader.checks.sources.base import NotGradable, SourceContext
from grader.checks.sources.labcode import load_module
from grader.labs.model import Lab
from grader.labs.runner import LOCAL_CAPABILITIES

pytest_plugins = ["cluster_fixtures"]

LAB_ID = "pro-blue-green"
GREEN = "Deployment/scorer-green"
BLUE = "Deployment/scorer-blue"
SERVICE = "Service/scorer"


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
        kwok_cluster, [h.namespace(lab, who) for who in ("fresh", "solved", "broken")]
    )


def test_lab_is_well_formed(lab: Lab) -> None:
    assert lab.requires == ("cluster",) and lab.domains == ("experimentation",)
    assert len(lab.checks) >= 6
    for check in lab.checks:
        assert (check.source["type"] == "manifests") == (check.needs == ()), check.id
        if "running-containers" in check.needs:
            assert not check.required
    hold = next(c for c in lab.checks if c.id == "green-endpoints-hold")
    assert hold.source["poll"]["hold"] == 10
    text = "\n".join(t.instructions for t in lab.tasks)
    for convention in (
        "pro-blue-green",
        "maxUnavailable: 0",
        "10 seconds",
        "{app: scorer, version: green}",
    ):
        assert convention in text, convention


# -- offline ------------------------------------------------------------------------------------
def test_offline_fresh_start_fails_and_live_checks_are_not_gradable(
    lab: Lab, offline: dict[str, Any]
) -> None:
    h.assert_fresh_fails(lab, offline["fresh"], LOCAL_CAPABILITIES)


def test_offline_solution_passes_every_manifest_check(lab: Lab, offline: dict[str, Any]) -> None:
    h.assert_full_marks(lab, offline["solved"], LOCAL_CAPABILITIES)


# -- against the kwok cluster ------------------------------------------------------------------
def test_fresh_start_fails_every_required_check(lab: Lab, online: dict[str, Any]) -> None:
    h.assert_fresh_fails(lab, online["fresh"], online["capabilities"])


def test_solution_scores_full_marks(lab: Lab, online: dict[str, Any]) -> None:
    h.assert_full_marks(lab, online["solved"], online["capabilities"])
    assert online["solved"].passed
    hold = h.by_id(online["solved"])["green-endpoints-hold"]
    assert hold.seconds >= 10  # it watched the endpoints for the whole hold period


def test_a_service_on_both_colours_fails_the_hold_live(
    lab: Lab, online: dict[str, Any], kwok_cluster: Any, tmp_path: Path
) -> None:
    """Dropping `version` from the selector sends traffic to blue and green alike."""
    h.record_cluster(kwok_cluster)

    def both(objects: dict[str, Any]) -> None:
        objects[SERVICE]["spec"]["selector"] = {"app": "scorer"}

    workspace = h.variant(online["workspace"], tmp_path, "broken", lab, both)
    h.apply_workspace(lab, workspace, wait_for=("scorer-blue", "scorer-green"))
    caps = online["capabilities"]
    with h.capped_polls():
        message = h.assert_fails(lab, workspace, "green-endpoints-hold", capabilities=caps)
        h.assert_fails(
            lab, workspace, "service-selector-live", "len($.spec.selector)", capabilities=caps
        )
    assert "expected 4, found 8" in message, message
    assert h.grade(lab, workspace, "both-ready-live", caps).passed


# -- broken manifests, offline -----------------------------------------------------------------
def _green_selects_blue(objects: dict[str, Any]) -> None:
    objects[GREEN]["spec"]["selector"]["matchLabels"]["version"] = "blue"
    objects[GREEN]["spec"]["template"]["metadata"]["labels"]["version"] = "blue"


def _green_undersized(objects: dict[str, Any]) -> None:
    objects[GREEN]["spec"]["replicas"] = 1


def _blue_scaled_down(objects: dict[str, Any]) -> None:
    objects[BLUE]["spec"]["replicas"] = 0


def _unavailable_allowed(objects: dict[str, Any]) -> None:
    objects[BLUE]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = 1


def _recreate(objects: dict[str, Any]) -> None:
    objects[GREEN]["spec"]["strategy"] = {"type": "Recreate"}


def _no_readiness(objects: dict[str, Any]) -> None:
    del h.container(objects[GREEN])["readinessProbe"]


def _version_only(objects: dict[str, Any]) -> None:
    objects[SERVICE]["spec"]["selector"] = {"version": "green"}


def _not_switched(objects: dict[str, Any]) -> None:
    objects[SERVICE]["spec"]["selector"]["version"] = "blue"


BROKEN = [
    ("green-selects-blue", _green_selects_blue, "green-manifest", ['"green"', '"blue"']),
    ("green-undersized", _green_undersized, "green-manifest", ["replicas: expected 4, found 1"]),
    ("blue-scaled-down", _blue_scaled_down, "zero-downtime-strategy", ["expected 4, found 0"]),
    ("unavailable-allowed", _unavailable_allowed, "zero-downtime-strategy", ["maxUnavailable"]),
    ("recreate", _recreate, "zero-downtime-strategy", ["RollingUpdate"]),
    ("no-readiness", _no_readiness, "green-manifest", ["readinessProbe"]),
    ("version-only", _version_only, "service-selector", ["$.spec.selector.app"]),
    ("not-switched", _not_switched, "service-selector", ['expected "green", found "blue"']),
]


@pytest.mark.parametrize(
    ("edit", "check_id", "words"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_broken_manifests_fail_with_a_reason(
    lab: Lab, offline: dict[str, Any], tmp_path: Path, edit: Any, check_id: str, words: list[str]
) -> None:
    workspace = h.variant(offline["workspace"], tmp_path, "broken", lab, edit)
    h.assert_fails(lab, workspace, check_id, *words)


def test_traffic_check_wants_every_answer_from_v2(
    lab: Lab, offline: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = load_module("checks.py", lab.folder)
    ctx = SourceContext(workspace=offline["workspace"], lab_dir=lab.folder, seed=lab.seed)
    with pytest.raises(NotGradable):
        checks.traffic_versions(ctx)
    expect = next(c for c in lab.checks if c.id == "green-serves-traffic").expect
    monkeypatch.setattr(checks, "cluster_state", lambda: object())
    monkeypatch.setattr(checks, "lab_namespace", lambda state, ws: "ns")
    answers = iter([(200, '{"version": "v2"}')] * 49 + [(200, '{"version": "v1"}')])
    monkeypatch.setattr(checks, "service_get", lambda *a: next(answers))
    mixed = checks.traffic_versions(ctx, 50)
    assert mixed["versions"] == {"v2": 49, "v1": 1} and not match(expect, mixed).ok
    monkeypatch.setattr(checks, "service_get", lambda *a: (200, '{"version": "v2"}'))
    assert match(expect, checks.traffic_versions(ctx, 50)).ok
