"""The kind backend (the default where Docker and kind are installed): one control plane and two
workers in Docker containers; one worker is presented as a GPU node.

Simulated GPUs (default): the worker ``certlab-worker2`` gets GPU feature-discovery labels, the
taint ``nvidia.com/gpu=present:NoSchedule`` and ``nvidia.com/gpu: 4`` capacity through a JSON
patch of its status subresource. The scheduler honours them; nothing runs on a GPU.

Real GPUs (``KindBackend(gpus="real")`` or ``CERTLAB_KIND_GPUS=real``), NVIDIA's nvkind approach:
the host needs the NVIDIA driver and nvidia-container-toolkit configured with
``accept-nvidia-visible-devices-as-volume-mounts = true`` (``nvidia-ctk config --in-place --set
accept-nvidia-visible-devices-as-volume-mounts=true``) and Docker's default runtime set to
``nvidia``. The GPU worker then mounts ``/dev/null`` at ``/var/run/nvidia-container-devices/all``;
install the NVIDIA device plugin (or GPU operator) to advertise ``nvidia.com/gpu``. Labels and
taint are applied as for simulated GPUs; capacity is left to the device plugin.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from grader.cluster import client as kc
from grader.cluster import topology
from grader.cluster.backend import Backend, Log, quiet
from grader.cluster.errors import ClusterError
from grader.cluster.state import ClusterState, cluster_dir

KIND_INSTALL = "install kind (https://kind.sigs.k8s.io, e.g. 'go install sigs.k8s.io/kind@v0.29.0')"
DOCKER_INSTALL = "install Docker (https://docs.docker.com/engine/install/)"


def tools_present() -> bool:
    """True when both ``docker`` and ``kind`` are on PATH (the kind backend can be tried)."""
    return shutil.which("docker") is not None and shutil.which("kind") is not None


def kind_config(gpus: str = "simulated") -> str:
    """The kind cluster configuration."""
    gpu_mounts = (
        "\n  extraMounts:\n  - hostPath: /dev/null\n"
        "    containerPath: /var/run/nvidia-container-devices/all"
        if gpus == "real"
        else ""
    )
    return (
        "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"
        "nodes:\n- role: control-plane\n- role: worker\n- role: worker" + gpu_mounts + "\n"
    )


class KindBackend(Backend):
    """Shells out to ``kind`` and ``docker``."""

    name = "kind"
    capabilities = frozenset({"cluster", "running-containers"})

    def __init__(
        self,
        cluster_name: str = topology.CLUSTER_NAME,
        gpus: str | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.cluster_name = cluster_name
        self.gpus = gpus or os.environ.get("CERTLAB_KIND_GPUS", "simulated")
        if self.gpus not in ("simulated", "real"):
            raise ClusterError("CERTLAB_KIND_GPUS must be 'simulated' or 'real'")
        self.workdir = Path(workdir) if workdir else cluster_dir() / "kind"

    def _tools(self) -> tuple[str, str]:
        docker, kind = shutil.which("docker"), shutil.which("kind")
        missing = [
            hint for tool, hint in ((docker, DOCKER_INSTALL), (kind, KIND_INSTALL)) if tool is None
        ]
        if missing:
            what = " and ".join(n for n, t in (("Docker", docker), ("kind", kind)) if t is None)
            raise ClusterError(
                f"the kind backend needs Docker and kind, but {what} "
                f"{'is' if len(missing) == 1 else 'are'} not installed: {'; '.join(missing)}; "
                "or use '--backend kwok' (needs scripts/build-control-plane.sh) "
                "or '--backend kubeconfig' for an existing cluster"
            )
        assert docker is not None and kind is not None
        probe = self._run([docker, "info", "--format", "{{.ServerVersion}}"], check=False)
        if probe.returncode != 0:
            raise ClusterError(
                "Docker is installed but its daemon is not reachable "
                f"({(probe.stderr or probe.stdout).strip().splitlines()[-1:] or ['no answer']}"
                "); start Docker and try again"
            )
        return docker, kind

    @staticmethod
    def _run(
        argv: list[str], check: bool = True, timeout: float = 600, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        try:
            proc = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout, input=stdin
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ClusterError(f"{Path(argv[0]).name} failed: {exc}") from exc
        if check and proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise ClusterError(f"{' '.join(argv[:3])} failed: {' | '.join(tail) or 'no output'}")
        return proc

    def up(self, log: Log = quiet) -> ClusterState:
        _, kind = self._tools()
        self.workdir.mkdir(parents=True, exist_ok=True)
        kubeconfig = self.workdir / "kubeconfig"
        existing = self._run([kind, "get", "clusters"], check=False).stdout.split()
        if self.cluster_name not in existing:
            log(f"creating kind cluster {self.cluster_name!r} (1 control plane, 2 workers)")
            self._run(
                [
                    kind,
                    "create",
                    "cluster",
                    "--name",
                    self.cluster_name,
                    "--config",
                    "-",
                    "--kubeconfig",
                    str(kubeconfig),
                    "--wait",
                    "120s",
                ],
                stdin=kind_config(self.gpus),
            )
        else:
            log(f"kind cluster {self.cluster_name!r} exists; reusing it")
            out = self._run([kind, "get", "kubeconfig", "--name", self.cluster_name])
            kubeconfig.write_text(out.stdout, encoding="utf-8")
        state = ClusterState(
            backend=self.name,
            kubeconfig=str(kubeconfig),
            context=f"kind-{self.cluster_name}",
            cluster_name=self.cluster_name,
            extra={"gpus": self.gpus},
        )
        log("presenting certlab-worker2 as a GPU node")
        self.present_gpu_node(state)
        return state

    def present_gpu_node(self, state: ClusterState) -> None:
        """Label and taint the GPU worker; simulated GPUs also get capacity (status patch)."""
        from kubernetes import client as k

        client = kc.api_client(state.kubeconfig, state.context)
        core = k.CoreV1Api(client)
        node = f"{self.cluster_name}-worker2"
        current = kc.call(lambda: core.read_node(node), f"read node {node}", client)
        taints = [t for t in (current.spec.taints or []) if t.key != topology.GPU_RESOURCE]
        body: dict[str, Any] = {
            "metadata": {"labels": topology.GPU_LABELS},
            "spec": {"taints": [kc.plain(client, t) for t in taints] + [topology.GPU_TAINT]},
        }
        kc.call(lambda: core.patch_node(node, body), f"label node {node}", client)
        if self.gpus == "simulated":
            patch = topology.GPU_STATUS_PATCH
            if not (current.status and current.status.capacity):  # JSON patch needs the parent
                patch = [{"op": "add", "path": "/status/capacity", "value": {}}, *patch]
            kc.call(
                lambda: core.patch_node_status(node, patch),
                f"add nvidia.com/gpu capacity to node {node}",
                client,
            )

    def down(self, state: ClusterState, log: Log = quiet) -> None:
        _, kind = self._tools()
        log(f"deleting kind cluster {state.cluster_name!r}")
        self._run([kind, "delete", "cluster", "--name", state.cluster_name])
        kc.forget_clients()
