"""Which cluster backend is up, persisted under the certlab data dir (never read at import)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader import paths
from grader.cluster.errors import ClusterError


def cluster_dir() -> Path:
    """Folder for cluster state and the kwok backend's files."""
    return paths.data_dir() / "cluster"


def state_file() -> Path:
    """The JSON file naming the backend that is up."""
    return cluster_dir() / "state.json"


@dataclass
class ClusterState:
    """What ``certlab cluster up`` left behind for the grader and ``down``."""

    backend: str  # kind | kwok | kubeconfig
    kubeconfig: str  # path of the kubeconfig file to use
    context: str | None = None  # context in that file (None: its current context)
    namespace_prefix: str = ""  # "<learner>-" on shared clusters, "" on one's own
    workdir: str | None = None  # kwok: pki, etcd data, logs
    pids: dict[str, int] = field(default_factory=dict)  # kwok: process ids by component
    cluster_name: str = "certlab"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterState:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def load_state(path: Path | None = None) -> ClusterState | None:
    """The persisted state, or None when no cluster is up. A corrupt file is a ClusterError."""
    file = path or state_file()
    if not file.is_file():
        return None
    try:
        return ClusterState.from_json(json.loads(file.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise ClusterError(
            f"the cluster state file {file} is unreadable ({exc}); "
            "run 'certlab cluster down' to reset it"
        ) from exc


def save_state(state: ClusterState, path: Path | None = None) -> Path:
    """Persist ``state`` atomically; returns the file written."""
    file = path or state_file()
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state.to_json(), indent=2), encoding="utf-8")
    os.replace(tmp, file)
    return file


def clear_state(path: Path | None = None) -> None:
    """Forget the cluster (the backend has already been stopped)."""
    (path or state_file()).unlink(missing_ok=True)
