"""What the cluster labs' tests share (tests/test_lab_<cluster lab>.py).

The kwok cluster comes from ``cluster_fixtures`` as a pytest *plugin*
(``pytest_plugins = ["cluster_fixtures"]`` in each lab module), so every cluster lab uses the
same session cluster instead of starting one per module.

Every test gets its own namespace the way a classroom cluster does it: the recorded cluster
state carries ``namespace_prefix = "{learner}-"``, and each test works as its own learner, so
the lab's namespace is ``<learner>-<lab id>`` (certlab's rule, ``grader.cluster.namespace_for``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.content import load_content
from grader.labs.model import Lab
from grader.labs.runner import LOCAL_CAPABILITIES, CheckResult, LabRun, run_check, run_checks
from grader.labs.workspace import LabContext, solve, start
from grader.store.db import open_store

LABS = Path(__file__).resolve().parents[1] / "labs"
PREFIX = "{learner}-"


def load_lab(lab_id: str) -> Lab:
    return load_content(questions=False).lab(lab_id)


# -- capabilities and the recorded cluster -----------------------------------------------------
def cluster_capabilities() -> frozenset[str]:
    """What `certlab lab check` grades with while a cluster is up (kwok: cluster only)."""
    from grader.cluster import capabilities

    return LOCAL_CAPABILITIES | capabilities()


def record_cluster(kwok: Any) -> None:
    """Record the session's kwok cluster as up in the current CERTLAB_HOME, shared-cluster
    style: one namespace per learner."""
    from grader.cluster import save_state

    save_state(dataclasses.replace(kwok.state, namespace_prefix=PREFIX))


def namespace(lab: Lab, learner: str) -> str:
    from grader.cluster import namespace_for
    from grader.cluster.state import ClusterState

    return namespace_for(ClusterState("kwok", "", namespace_prefix=PREFIX), lab.id, learner)


@contextlib.contextmanager
def capped_polls(seconds: float = 2.0) -> Iterator[None]:
    """Cap every `wait`/`poll` timeout while a run is *expected to fail*: nothing the test
    leaves out will appear later, so waiting the full minute proves nothing. Holds are kept."""
    from grader.cluster import polling

    original = polling.poll_settings

    def capped(spec: Any) -> Any:
        found = original(spec)
        if found is None:
            return None
        return dataclasses.replace(found, timeout=min(found.timeout, seconds))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(polling, "poll_settings", capped)
        yield


# -- the lab lifecycle ------------------------------------------------------------------------
def lifecycle(
    lab: Lab, home: Path, kwok: Any | None, learner_fresh: str, learner_solved: str
) -> dict[str, Any]:
    """Start the lab twice (fresh and solved learner), grade both; with ``kwok`` against the
    cluster, otherwise offline. Returns the runs and workspaces."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CERTLAB_HOME", str(home))
        caps = LOCAL_CAPABILITIES
        if kwok is not None:
            record_cluster(kwok)
            caps = cluster_capabilities()
        store = open_store(home / "certlab.db")
        try:
            fresh_row, created = start(store, lab, learner_fresh)
            assert created
            with capped_polls():
                fresh = run_checks(lab, Path(fresh_row["workspace"]), lab.seed, capabilities=caps)
            solved_row = solve(store, lab, learner_solved)
            started = time.monotonic()
            solved = run_checks(lab, Path(solved_row["workspace"]), lab.seed, capabilities=caps)
            seconds = time.monotonic() - started
        finally:
            store.close()
    return {
        "fresh": fresh,
        "solved": solved,
        "fresh_workspace": Path(fresh_row["workspace"]),
        "workspace": Path(solved_row["workspace"]),
        "check_seconds": seconds,
    }


def by_id(run: LabRun) -> dict[str, CheckResult]:
    return {r.check_id: r for r in run.results}


def assert_fresh_fails(lab: Lab, run: LabRun, capabilities: frozenset[str]) -> None:
    """Nothing passes on a fresh start: every check this backend can grade fails, the rest are
    not gradable (offline: the live checks; on kwok: the ones needing running containers)."""
    assert not run.passed and run.score == 0
    for check, result in zip(lab.checks, run.results, strict=True):
        if all(n in capabilities for n in check.needs):
            assert result.status == "failed", (check.id, result.status, result.message)
        else:
            assert result.status == "not_gradable", (check.id, result.message)
        assert result.points == 0


def assert_full_marks(lab: Lab, run: LabRun, capabilities: frozenset[str]) -> None:
    """Every check the backend can grade passes; the others are not gradable, never passed."""
    gradable = 0.0
    for check, result in zip(lab.checks, run.results, strict=True):
        if all(n in capabilities for n in check.needs):
            assert result.status == "passed", (check.id, result.message)
            gradable += check.points
        else:
            assert result.status == "not_gradable", (check.id, result.status, result.message)
            assert result.points == 0 and "not counted as passed" in result.message
    assert run.score == pytest.approx(gradable)
    if all(all(n in capabilities for n in c.needs) for c in lab.checks):
        assert run.score == run.max_score


# -- variants of the learner's manifests ------------------------------------------------------
def variant(
    source: Path, root: Path, learner: str, lab: Lab, edit: Callable[[dict[str, Any]], None]
) -> Path:
    """A copy of the workspace ``source`` at ``root/<learner>/<lab id>`` whose manifests are
    passed through ``edit(objects)``, where ``objects`` maps "Kind/name" to the parsed object
    (edit in place; delete a key to drop the object). Written back one object per file."""
    workspace = root / learner / lab.id
    if workspace.exists():
        shutil.rmtree(workspace)
    shutil.copytree(source, workspace)
    folder = workspace / "k8s"
    objects: dict[str, Any] = {}
    for file in sorted(folder.rglob("*.yaml")):
        for doc in yaml.safe_load_all(file.read_text()):
            if isinstance(doc, dict) and "kind" in doc:
                objects[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
        file.unlink()
    edit(objects)
    for key, obj in objects.items():
        (folder / (key.replace("/", "-").lower() + ".yaml")).write_text(
            yaml.safe_dump(obj, sort_keys=False)
        )
    return workspace


def container(obj: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]["containers"][index]


def grade(
    lab: Lab, workspace: Path, check_id: str, capabilities: frozenset[str] = LOCAL_CAPABILITIES
) -> CheckResult:
    check = next(c for c in lab.checks if c.id == check_id)
    return run_check(check, lab, workspace, lab.seed, capabilities=capabilities)


def assert_fails(
    lab: Lab,
    workspace: Path,
    check_id: str,
    *words: str,
    capabilities: frozenset[str] = LOCAL_CAPABILITIES,
) -> str:
    """The check fails (not crashes, not passes) and its message holds every word."""
    result = grade(lab, workspace, check_id, capabilities)
    assert result.status == "failed", (check_id, result.status, result.message)
    assert result.points == 0
    for word in words:
        assert word in result.message, (check_id, word, result.message)
    return result.message


def apply_workspace(lab: Lab, workspace: Path, wait_for: tuple[str, ...] = ()) -> None:
    """Apply the workspace's k8s/ to the lab namespace, as the lab's solve step does, then
    wait until the Deployments ``wait_for`` have rolled out (so failing checks need no wait)."""
    from grader.checks.sources.labcode import load_function
    from grader.cluster import labspace

    load_function(lab.folder, lab.solve)(LabContext(lab, workspace, lab.seed))
    if wait_for:
        state = labspace.cluster_state()
        namespace = labspace.lab_namespace(state, lab.id, workspace)
        labspace.wait_ready(state, namespace, list(wait_for))


# -- clean-up ---------------------------------------------------------------------------------
def delete_namespaces(
    kwok: Any, names: list[str], wait: bool = False, timeout: float = 90.0
) -> None:
    """Delete the test namespaces; with ``wait``, until their pods are gone (GPUs freed)."""
    from kubernetes.client.rest import ApiException

    core = kwok.core()
    for name in names:
        try:
            core.delete_namespace(name)
        except ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + timeout
    while wait and time.monotonic() < deadline:
        if not any(core.list_namespaced_pod(name).items for name in names):
            return
        time.sleep(0.5)
