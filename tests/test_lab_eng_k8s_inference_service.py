"""Lab eng-k8s-inference-service: offline (manifests only) and against the kwok cluster, a
fresh start fails, the solution scores full marks (the real-traffic check is not gradable on
kwok, never passed), and broken manifests fail the right check with a readable reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import k8s_lab_helpers as h
import pytest

from grader.checks.sources.base import NotGradable, SourceContext
from grader.checks.sources.labcode import load_module
from grader.labs.model import Lab
from grader.labs.runner import LOCAL_CAPABILITIES

pytest_plugins = ["cluster_fixtures"]

LAB_ID = "eng-k8s-inference-service"
DEPLOYMENT = "Deployment/sentiment-api"


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


# -- the lab itself -----------------------------------------------------------------------------
def test_lab_is_well_formed(lab: Lab) -> None:
    assert lab.requires == ("cluster",) and lab.level == "engineer"
    assert len(lab.checks) >= 6
    for check in lab.checks:
        if check.source["type"] == "manifests":
            assert check.needs == () and check.source["path"] == "k8s"
        else:
            assert "cluster" in check.needs, check.id
        if "running-containers" in check.needs:
            assert not check.required
    text = "\n".join(t.instructions for t in lab.tasks)
    for convention in ("eng-k8s-inference-service", "metadata.namespace", "/healthz", "250m"):
        assert convention in text


# -- offline: manifests only -------------------------------------------------------------------
def test_offline_fresh_start_fails_and_live_checks_are_not_gradable(
    lab: Lab, offline: dict[str, Any]
) -> None:
    h.assert_fresh_fails(lab, offline["fresh"], LOCAL_CAPABILITIES)
    live = [r for r in offline["fresh"].results if r.status == "not_gradable"]
    assert live and all("no cluster is up" in r.message or "needs" in r.message for r in live)


def test_offline_solution_passes_every_manifest_check(lab: Lab, offline: dict[str, Any]) -> None:
    h.assert_full_marks(lab, offline["solved"], LOCAL_CAPABILITIES)
    assert not offline["solved"].passed  # required live checks are not gradable offline


# -- against the kwok cluster ------------------------------------------------------------------
def test_fresh_start_fails_every_required_check(lab: Lab, online: dict[str, Any]) -> None:
    h.assert_fresh_fails(lab, online["fresh"], online["capabilities"])
    results = h.by_id(online["fresh"])
    assert "no Deployment named 'sentiment-api'" in results["deployment-live"].message
    assert "fresh-eng-k8s-inference-service" in results["deployment-live"].message


def test_solution_scores_full_marks(lab: Lab, online: dict[str, Any]) -> None:
    h.assert_full_marks(lab, online["solved"], online["capabilities"])
    results = h.by_id(online["solved"])
    assert results["serves-traffic"].status == "not_gradable"
    assert "running-containers" in results["serves-traffic"].message
    assert online["solved"].passed  # the not-gradable check is optional


def test_broken_live_objects_fail(
    lab: Lab, online: dict[str, Any], kwok_cluster: Any, tmp_path: Path
) -> None:
    h.record_cluster(kwok_cluster)
    caps = online["capabilities"]

    def break_it(objects: dict[str, Any]) -> None:
        objects["Service/sentiment-api"]["spec"]["ports"][0]["targetPort"] = 80
        objects[DEPLOYMENT]["spec"]["replicas"] = 2

    workspace = h.variant(online["workspace"], tmp_path, "broken", lab, break_it)
    h.apply_workspace(lab, workspace, wait_for=("sentiment-api",))
    with h.capped_polls():
        h.assert_fails(lab, workspace, "service-endpoints", "port 8080", capabilities=caps)
        message = h.assert_fails(lab, workspace, "pods-ready", capabilities=caps)
    assert "$.count: expected 3, found 2" in message


def test_reset_restores_the_namespace_too(
    lab: Lab, online: dict[str, Any], kwok_cluster: Any, isolated_home: Path
) -> None:
    from grader.labs.workspace import reset, solve
    from grader.store.db import open_store

    h.record_cluster(kwok_cluster)
    store = open_store(isolated_home / "certlab.db")
    try:
        row = solve(store, lab, "reset")
        namespace = h.namespace(lab, "reset")
        assert kwok_cluster.apps().list_namespaced_deployment(namespace).items
        reset(store, lab, "reset")
    finally:
        store.close()
    assert not kwok_cluster.apps().list_namespaced_deployment(namespace).items
    assert not kwok_cluster.core().list_namespaced_service(namespace).items
    names = [
        c.metadata.name for c in kwok_cluster.core().list_namespaced_config_map(namespace).items
    ]
    assert names == ["kube-root-ca.crt"]
    with h.capped_polls():
        h.assert_fails(
            lab,
            Path(row["workspace"]),
            "deployment-live",
            "no Deployment named 'sentiment-api'",
            capabilities=online["capabilities"],
        )
    h.delete_namespaces(kwok_cluster, [namespace])


# -- broken manifests, offline -----------------------------------------------------------------
def _unquoted_version(objects: dict[str, Any]) -> None:
    objects["ConfigMap/sentiment-config"]["data"]["MODEL_VERSION"] = 3


def _no_env_from(objects: dict[str, Any]) -> None:
    del h.container(objects[DEPLOYMENT])["envFrom"]


def _no_cpu_limit(objects: dict[str, Any]) -> None:
    del h.container(objects[DEPLOYMENT])["resources"]["limits"]["cpu"]


def _eager_liveness(objects: dict[str, Any]) -> None:
    del h.container(objects[DEPLOYMENT])["livenessProbe"]["initialDelaySeconds"]


def _probe_wrong_path(objects: dict[str, Any]) -> None:
    h.container(objects[DEPLOYMENT])["readinessProbe"]["httpGet"]["path"] = "/health"


def _selector_too_narrow(objects: dict[str, Any]) -> None:
    objects["Service/sentiment-api"]["spec"]["selector"]["tier"] = "web"


def _renamed_container(objects: dict[str, Any]) -> None:
    h.container(objects[DEPLOYMENT])["name"] = "model"


BROKEN = [
    ("unquoted-number", _unquoted_version, "configmap-settings", ["MODEL_VERSION", 'expected "3"']),
    ("no-envfrom", _no_env_from, "deployment-spec", ["envFrom"]),
    ("no-cpu-limit", _no_cpu_limit, "resources", ["limits.cpu"]),
    ("eager-liveness", _eager_liveness, "probes", ["initialDelaySeconds"]),
    ("probe-wrong-path", _probe_wrong_path, "probes", ['"/healthz"', '"/health"']),
    ("selector-too-narrow", _selector_too_narrow, "service-spec", ["len($.spec.selector)"]),
    ("renamed-container", _renamed_container, "deployment-spec", ['name = "server"']),
]


@pytest.mark.parametrize(
    ("edit", "check_id", "words"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_broken_manifests_fail_with_a_reason(
    lab: Lab, offline: dict[str, Any], tmp_path: Path, edit: Any, check_id: str, words: list[str]
) -> None:
    workspace = h.variant(offline["workspace"], tmp_path, "broken", lab, edit)
    h.assert_fails(lab, workspace, check_id, *words)
    others = [c for c in lab.checks if c.source["type"] == "manifests" and c.id != check_id]
    assert any(h.grade(lab, workspace, c.id).passed for c in others)


def test_corrupt_or_missing_manifests_fail_every_manifest_check(
    lab: Lab, offline: dict[str, Any], tmp_path: Path
) -> None:
    workspace = h.variant(offline["workspace"], tmp_path, "broken", lab, lambda o: None)
    (workspace / "k8s" / "service-sentiment-api.yaml").write_text("spec: [unclosed\n")
    for check in (c for c in lab.checks if c.source["type"] == "manifests"):
        h.assert_fails(lab, workspace, check.id, "not valid YAML")
    gone = h.variant(offline["workspace"], tmp_path, "gone", lab, lambda o: o.clear())
    h.assert_fails(lab, gone, "deployment-spec", "no Deployment named 'sentiment-api'")


# -- the real-traffic probe ---------------------------------------------------------------------
def test_traffic_probe_is_not_gradable_offline_and_reads_answers(
    lab: Lab, offline: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = load_module("checks.py", lab.folder)
    ctx = SourceContext(workspace=offline["workspace"], lab_dir=lab.folder, seed=lab.seed)
    with pytest.raises(NotGradable, match="no cluster is up"):
        checks.probe_service(ctx)

    answers = {"/healthz": (200, "ok\n"), "/predict": (200, '{"model": "m", "version": "3"}\n')}
    monkeypatch.setattr(checks, "cluster_state", lambda: object())
    monkeypatch.setattr(checks, "lab_namespace", lambda state, ws: "ns")
    monkeypatch.setattr(checks, "service_get", lambda s, ns, svc, port, path: answers[path])
    found = checks.probe_service(ctx, requests=5)
    assert found["healthz_failures"] == 0 and found["body"] == {"model": "m", "version": "3"}
    answers["/healthz"] = (503, "no endpoints available")
    assert checks.probe_service(ctx, requests=5)["healthz_failures"] == 5
