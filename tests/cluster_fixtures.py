"""A real (kwok) cluster for the tests that need one: ``from cluster_fixtures import *``.

``kwok_cluster`` (session) starts the kwok backend once from the cached control-plane binaries
and stops it at the end. Without the binaries it skips with the reason below, unless
``CERTLAB_REQUIRE_CLUSTER=1``, where it fails instead. ``cluster`` (per test) records that
cluster as up in the test's own CERTLAB_HOME, so sources and the CLI find it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SKIP_REASON = "control-plane binaries not built: run scripts/build-control-plane.sh"

__all__ = ["SKIP_REASON", "KwokCluster", "cluster", "kwok_cluster"]


@dataclass
class KwokCluster:
    """The running test cluster: its backend, state and an admin ApiClient."""

    backend: Any  # grader.cluster.kwok.KwokBackend
    state: Any  # grader.cluster.ClusterState
    api: Any  # kubernetes.client.ApiClient (admin)

    @property
    def kubeconfig(self) -> Path:
        return Path(self.state.kubeconfig)

    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api)

    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.api)

    def ensure_apiserver(self) -> None:
        """Start kube-apiserver again if a test stopped it."""
        if not self.backend.processes_alive(self.state).get("kube-apiserver", False):
            self.backend.start_component(self.state, "kube-apiserver")


@pytest.fixture(scope="session")
def kwok_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KwokCluster]:
    """The kwok backend, started once per test session."""
    from grader.cluster import client as kc
    from grader.cluster.kwok import KwokBackend, find_binaries

    if find_binaries() is None:
        if os.environ.get("CERTLAB_REQUIRE_CLUSTER") == "1":
            pytest.fail(f"{SKIP_REASON} (CERTLAB_REQUIRE_CLUSTER=1)", pytrace=False)
        pytest.skip(SKIP_REASON)
    backend = KwokBackend(workdir=tmp_path_factory.mktemp("kwok"))
    state = backend.up()
    api = kc.api_client(state.kubeconfig, state.context)
    try:
        yield KwokCluster(backend, state, api)
    finally:
        api.close()
        backend.down(state)


@pytest.fixture
def cluster(kwok_cluster: KwokCluster, isolated_home: Path) -> KwokCluster:
    """The session's cluster, recorded as up for this test (sources and CLI see it)."""
    from grader.cluster import save_state

    kwok_cluster.ensure_apiserver()
    save_state(kwok_cluster.state)
    return kwok_cluster
