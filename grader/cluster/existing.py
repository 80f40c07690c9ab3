"""The kubeconfig backend: an existing cluster and context (a classroom cluster, a cloud one).

Nothing is started or stopped. On a shared cluster each learner works in their own namespace
per lab, ``<learner>-<lab>``; the grader should use a read-only identity
(``grader/cluster/rbac/grader-readonly.yaml``).
"""

from __future__ import annotations

import os
from pathlib import Path

from grader.cluster import client as kc
from grader.cluster.backend import Backend, Log, quiet
from grader.cluster.errors import ClusterError
from grader.cluster.state import ClusterState


def default_kubeconfig() -> Path:
    """``$KUBECONFIG`` (its first entry) or ``~/.kube/config``."""
    env = os.environ.get("KUBECONFIG")
    if env:
        return Path(env.split(os.pathsep)[0]).expanduser()
    return Path.home() / ".kube" / "config"


class KubeconfigBackend(Backend):
    """Connect to ``context`` of ``kubeconfig``; verify it answers."""

    name = "kubeconfig"
    capabilities = frozenset({"cluster", "running-containers"})

    def __init__(
        self, kubeconfig: str | Path | None = None, context: str | None = None, shared: bool = True
    ) -> None:
        self.kubeconfig = Path(kubeconfig).expanduser() if kubeconfig else default_kubeconfig()
        self.context = context
        self.shared = shared

    def up(self, log: Log = quiet) -> ClusterState:
        if not self.kubeconfig.is_file():
            raise ClusterError(
                f"kubeconfig {self.kubeconfig} does not exist; pass --kubeconfig PATH"
            )
        context = kc.check_context(self.kubeconfig, self.context)
        client = kc.api_client(self.kubeconfig, context)
        try:
            version = kc.server_version(client)
        finally:
            client.close()
        log(f"connected to {client.configuration.host} (Kubernetes {version}), context {context}")
        return ClusterState(
            backend=self.name,
            kubeconfig=str(self.kubeconfig.resolve()),
            context=context,
            namespace_prefix="{learner}-" if self.shared else "",
        )

    def down(self, state: ClusterState, log: Log = quiet) -> None:
        log("forgetting the cluster (an existing cluster is never stopped)")
        kc.forget_clients()
