"""Clusters for the cluster labs, behind one interface.

Backends: ``kind`` (Docker; the default where Docker and kind are installed), ``kwok`` (a real
control plane with fake nodes, from ``scripts/build-control-plane.sh``) and ``kubeconfig`` (an
existing cluster and context). Which one is up is persisted under the certlab data dir
(``<data>/cluster/state.json``); nothing is read at import time, and ``kubernetes`` is imported
only inside functions.

    from grader import cluster
    state = cluster.up("kwok", log=print)      # start, persist, return the ClusterState
    cluster.capabilities()                     # frozenset({"cluster"}) while it is up
    cluster.status()                           # dict: reachable, version, nodes
    cluster.down()                             # stop and forget

Every failure is a :class:`ClusterError` with a message for the learner.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.cluster.backend import Backend, Log, ensure_namespace, namespace_for, quiet
from grader.cluster.errors import ClusterError, Forbidden, NotFound, Unreachable
from grader.cluster.state import ClusterState, clear_state, load_state, save_state

BACKENDS = ("kind", "kwok", "kubeconfig")
NO_CLUSTER = "no cluster is up: run 'certlab cluster up' or grade offline with --offline"

__all__ = [
    "BACKENDS",
    "NO_CLUSTER",
    "Backend",
    "ClusterError",
    "ClusterState",
    "Forbidden",
    "NotFound",
    "Unreachable",
    "backend_for",
    "capabilities",
    "clear_state",
    "default_backend",
    "down",
    "ensure_namespace",
    "load_state",
    "namespace_for",
    "save_state",
    "status",
    "up",
]


def backend_for(
    name: str,
    *,
    kubeconfig: str | Path | None = None,
    context: str | None = None,
    workdir: Path | None = None,
) -> Backend:
    """The backend called ``name`` with its options."""
    if name == "kwok":
        from grader.cluster.kwok import KwokBackend

        return KwokBackend(workdir=workdir)
    if name == "kind":
        from grader.cluster.kind import KindBackend

        return KindBackend(workdir=workdir)
    if name == "kubeconfig":
        from grader.cluster.existing import KubeconfigBackend

        return KubeconfigBackend(kubeconfig=kubeconfig, context=context)
    raise ClusterError(f"unknown cluster backend {name!r} (choose from {', '.join(BACKENDS)})")


def default_backend() -> str:
    """``kind`` when Docker and kind are installed; otherwise a ClusterError saying what to
    install (and that ``--backend kwok`` works when the control-plane binaries are cached)."""
    from grader.cluster.kind import DOCKER_INSTALL, KIND_INSTALL, tools_present
    from grader.cluster.kwok import binaries_cached

    if tools_present():
        return "kind"
    alternative = (
        "or run 'certlab cluster up --backend kwok' (the control-plane binaries are cached)"
        if binaries_cached()
        else "or build a local control plane with scripts/build-control-plane.sh and use "
        "'--backend kwok'"
    )
    raise ClusterError(
        f"no cluster backend available: the default backend needs Docker and kind "
        f"({DOCKER_INSTALL}; {KIND_INSTALL}); {alternative}; "
        "or use '--backend kubeconfig' for an existing cluster"
    )


def up(
    name: str | None = None,
    *,
    kubeconfig: str | Path | None = None,
    context: str | None = None,
    log: Log = quiet,
) -> ClusterState:
    """Start (or connect to) a cluster and persist its state; idempotent for the same backend."""
    name = name or default_backend()
    current = load_state()
    if current is not None:
        if current.backend != name:
            raise ClusterError(
                f"a {current.backend} cluster is already up; run 'certlab cluster down' first"
            )
        try:
            backend_for(current.backend, kubeconfig=kubeconfig, context=context).status(current)
        except ClusterError:
            log(f"the recorded {name} cluster does not answer; starting it again")
            down(log=log)
        else:
            if name != "kubeconfig" or (
                (
                    kubeconfig is None
                    or Path(kubeconfig).expanduser().resolve() == Path(current.kubeconfig)
                )
                and context in (None, current.context)
            ):
                log(f"the {name} cluster is already up")
                return current
    backend = backend_for(name, kubeconfig=kubeconfig, context=context)
    state = backend.up(log)
    save_state(state)
    return state


def down(log: Log = quiet) -> ClusterState | None:
    """Stop the cluster that is up and forget it; returns its state (None if none was up)."""
    state = load_state()
    if state is None:
        return None
    try:
        backend_for(state.backend, kubeconfig=state.kubeconfig, context=state.context).down(
            state, log
        )
    finally:
        clear_state()
    return state


def status() -> dict[str, Any]:
    """The cluster that is up, probed now; ClusterError when none is up or it does not answer."""
    state = load_state()
    if state is None:
        raise ClusterError(NO_CLUSTER)
    backend = backend_for(state.backend, kubeconfig=state.kubeconfig, context=state.context)
    return backend.status(state)


def capabilities(state: ClusterState | None = None) -> frozenset[str]:
    """What the cluster that is up offers to checks (``needs``); empty when offline."""
    state = state if state is not None else load_state()
    if state is None:
        return frozenset()
    caps = {
        "kind": {"cluster", "running-containers"},
        "kwok": {"cluster"},
        "kubeconfig": {"cluster", "running-containers"},
    }
    return frozenset(caps.get(state.backend, set()))
