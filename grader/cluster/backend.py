"""The interface every cluster backend implements, and what they share."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from grader.cluster import client as kc
from grader.cluster.errors import ClusterError
from grader.cluster.state import ClusterState

Log = Callable[[str], None]
MANAGED_BY = "app.kubernetes.io/managed-by"


def quiet(_: str) -> None:
    """A log function that drops messages."""


def dns_label(text: str, limit: int = 63) -> str:
    """``text`` as a valid DNS-1123 label (namespace name)."""
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    label = re.sub(r"-{2,}", "-", label)[:limit].strip("-")
    return label or "certlab"


def namespace_for(state: ClusterState | None, lab_id: str, learner: str = "learner") -> str:
    """The namespace of ``lab_id`` for ``learner``: the lab id on one's own cluster, prefixed
    with the learner on a shared one (``namespace_prefix`` ``"{learner}-"``)."""
    prefix = (state.namespace_prefix if state else "").replace("{learner}", learner)
    return dns_label(prefix + lab_id)


class Backend(ABC):
    """A way to get a cluster: start it (``up``), stop it (``down``), describe it (``status``).

    ``up`` returns the :class:`ClusterState` to persist; ``down`` takes the persisted state.
    Every failure is a :class:`ClusterError`.
    """

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[str]]

    @abstractmethod
    def up(self, log: Log = quiet) -> ClusterState:
        """Start (or connect to) the cluster and return its state; idempotent."""

    @abstractmethod
    def down(self, state: ClusterState, log: Log = quiet) -> None:
        """Stop what ``up`` started (nothing, for an existing cluster)."""

    def status(self, state: ClusterState) -> dict[str, Any]:
        """Reachability, server version and nodes; raises ClusterError when unreachable."""
        from grader.cluster.topology import describe_nodes

        client = kc.api_client(state.kubeconfig, state.context)
        version = kc.server_version(client)
        nodes: list[dict[str, Any]] | None
        try:
            nodes = describe_nodes(list_nodes(client))
        except kc.Forbidden:
            nodes = None  # a namespace-only identity may not list nodes
        return {
            "backend": state.backend,
            "up": True,
            "reachable": True,
            "server": client.configuration.host,
            "version": version,
            "kubeconfig": state.kubeconfig,
            "context": state.context,
            "capabilities": sorted(self.capabilities),
            "nodes": nodes,
        }


def list_nodes(client: Any) -> list[dict[str, Any]]:
    """Every Node as a plain dict."""
    from kubernetes import client as k

    nodes = kc.call(
        lambda: k.CoreV1Api(client).list_node(_request_timeout=kc.REQUEST_TIMEOUT),
        "list nodes",
        client,
    )
    return [kc.plain(client, n) for n in nodes.items]


def ensure_namespace(state: ClusterState, namespace: str) -> None:
    """Create ``namespace`` unless it exists (for ``certlab lab start`` on a cluster lab)."""
    from kubernetes import client as k

    client = kc.api_client(state.kubeconfig, state.context)
    core = k.CoreV1Api(client)
    try:
        kc.call(
            lambda: core.read_namespace(namespace, _request_timeout=kc.REQUEST_TIMEOUT),
            f"read namespace {namespace}",
            client,
        )
        return
    except kc.NotFound:
        pass
    kc.call(
        lambda: core.create_namespace(
            {"metadata": {"name": namespace, "labels": {MANAGED_BY: "certlab"}}},
            _request_timeout=kc.REQUEST_TIMEOUT,
        ),
        f"create namespace {namespace}",
        client,
    )


def require(condition: bool, message: str) -> None:
    """Raise ClusterError(message) unless ``condition``."""
    if not condition:
        raise ClusterError(message)
