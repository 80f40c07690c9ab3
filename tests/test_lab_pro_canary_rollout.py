"""Lab pro-canary-rollout: offline and against the kwok cluster, a fresh start fails, the
solution scores full marks (the traffic-split check is not gradable on kwok, never passed),
broken manifests fail the right check with a readable reason, and the split arithmetic holds."""

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

LAB_ID = "pro-canary-rollout"
CANARY = "Deployment/ranker-canary"
STABLE = "Deployment/recommender-stable"


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
    text = "\n".join(t.instructions for t in lab.tasks)
    for convention in ("pro-canary-rollout", "4 : 1", "300 requests", "0.20 ± 0.08", "replicas: 0"):
        assert convention in text, convention


# -- offline ------------------------------------------------------------------------------------
def test_offline_fresh_start_fails_and_live_checks_are_not_gradable(
    lab: Lab, offline: dict[str, Any]
) -> None:
    h.assert_fresh_fails(lab, offline["fresh"], LOCAL_CAPABILITIES)
    results = h.by_id(offline["fresh"])
    assert "no Deployment named 'ranker-canary'" in results["canary-manifest"].message


def test_offline_solution_passes_every_manifest_check(lab: Lab, offline: dict[str, Any]) -> None:
    h.assert_full_marks(lab, offline["solved"], LOCAL_CAPABILITIES)


# -- against the kwok cluster ------------------------------------------------------------------
def test_fresh_start_fails_every_required_check(lab: Lab, online: dict[str, Any]) -> None:
    h.assert_fresh_fails(lab, online["fresh"], online["capabilities"])


def test_solution_scores_full_marks(lab: Lab, online: dict[str, Any]) -> None:
    h.assert_full_marks(lab, online["solved"], online["capabilities"])
    assert online["solved"].passed
    split = h.by_id(online["solved"])["canary-split"]
    assert split.status == "not_gradable" and "running-containers" in split.message


def test_a_service_that_still_selects_the_track_misses_the_canary_live(
    lab: Lab, online: dict[str, Any], kwok_cluster: Any, tmp_path: Path
) -> None:
    h.record_cluster(kwok_cluster)

    def keep_track(objects: dict[str, Any]) -> None:
        objects["Service/ranker"]["spec"]["selector"]["track"] = "stable"

    workspace = h.variant(online["workspace"], tmp_path, "broken", lab, keep_track)
    h.apply_workspace(lab, workspace, wait_for=("ranker-stable", "ranker-canary"))
    with h.capped_polls():
        message = h.assert_fails(
            lab, workspace, "ranker-endpoints", capabilities=online["capabilities"]
        )
    assert "len($.items[0].endpoints): expected 5, found 4" in message
    assert h.grade(lab, workspace, "ranker-live", online["capabilities"]).passed


# -- broken manifests, offline -----------------------------------------------------------------
def _selector_with_version(objects: dict[str, Any]) -> None:
    objects[CANARY]["spec"]["selector"]["matchLabels"]["version"] = "v2"


def _canary_too_big(objects: dict[str, Any]) -> None:
    objects[CANARY]["spec"]["replicas"] = 2


def _canary_still_v1(objects: dict[str, Any]) -> None:
    h.container(objects[CANARY])["args"][1] = '-text={"model": "ranker", "version": "v1"}'


def _service_keeps_track(objects: dict[str, Any]) -> None:
    objects["Service/ranker"]["spec"]["selector"]["track"] = "stable"


def _canary_deleted(objects: dict[str, Any]) -> None:
    del objects["Deployment/recommender-canary"]


def _promoted_label_only(objects: dict[str, Any]) -> None:
    h.container(objects[STABLE])["args"][1] = '-text={"model": "recommender", "version": "v1"}'


def _unlabelled_canary(objects: dict[str, Any]) -> None:
    objects[CANARY]["metadata"]["labels"] = {"track": "canary"}


BROKEN = [
    ("selector-with-version", _selector_with_version, "canary-manifest", ["len($.spec.selector"]),
    ("canary-too-big", _canary_too_big, "replica-ratio", ["expected"]),
    ("canary-still-v1", _canary_still_v1, "canary-manifest", ["args"]),
    ("service-keeps-track", _service_keeps_track, "service-selects-app", ["expected 1, found 2"]),
    ("canary-deleted", _canary_deleted, "promoted-manifests", ["$.count: expected 2, found 1"]),
    ("promoted-label-only", _promoted_label_only, "promoted-manifests", ["recommender-stable"]),
    ("unlabelled-canary", _unlabelled_canary, "replica-ratio", ["$.count: expected 2, found 1"]),
]


@pytest.mark.parametrize(
    ("edit", "check_id", "words"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_broken_manifests_fail_with_a_reason(
    lab: Lab, offline: dict[str, Any], tmp_path: Path, edit: Any, check_id: str, words: list[str]
) -> None:
    workspace = h.variant(offline["workspace"], tmp_path, "broken", lab, edit)
    h.assert_fails(lab, workspace, check_id, *words)


def test_corrupt_manifests_fail_with_the_file_and_line(
    lab: Lab, offline: dict[str, Any], tmp_path: Path
) -> None:
    workspace = h.variant(offline["workspace"], tmp_path, "broken", lab, lambda o: None)
    (workspace / "k8s" / "extra.yaml").write_text("kind: Deployment\n  metadata: [\n")
    h.assert_fails(lab, workspace, "replica-ratio", "k8s/extra.yaml", "not valid YAML")


# -- the traffic split --------------------------------------------------------------------------
def test_traffic_split_counts_versions_and_is_not_gradable_offline(
    lab: Lab, offline: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = load_module("checks.py", lab.folder)
    ctx = SourceContext(workspace=offline["workspace"], lab_dir=lab.folder, seed=lab.seed)
    with pytest.raises(NotGradable, match="no cluster is up"):
        checks.traffic_split(ctx)
    expect = next(c for c in lab.checks if c.id == "canary-split").expect

    def serve(pattern: list[tuple[int, str]]) -> dict[str, Any]:
        answers = iter(pattern * 300)
        monkeypatch.setattr(checks, "service_get", lambda *a: next(answers))
        return checks.traffic_split(ctx, "ranker", 300)

    monkeypatch.setattr(checks, "cluster_state", lambda: object())
    monkeypatch.setattr(checks, "lab_namespace", lambda state, ws: "ns")
    v1, v2 = (200, '{"version": "v1"}'), (200, '{"version": "v2"}\n')
    balanced = serve([v1, v1, v1, v1, v2])
    assert balanced["canary_share"] == 0.2 and match(expect, balanced).ok
    assert not match(expect, serve([v1, v2])).ok  # 50 %: the Service selects two equal tracks
    assert not match(expect, serve([v1])).ok  # the canary gets nothing
    failing = serve([v1, v1, v1, v1, v2, (503, "no endpoints available")])
    assert failing["errors"] == 50 and not match(expect, failing).ok
