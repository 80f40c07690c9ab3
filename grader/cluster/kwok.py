"""The kwok backend: a real etcd, kube-apiserver, kube-controller-manager and kube-scheduler on
loopback ports, with fake nodes driven by the kwok controller. No container ever runs.

Binaries come from ``scripts/build-control-plane.sh`` (cache:
``$CERTLAB_CP_CACHE`` or ``~/.cache/certlab/control-plane/<version>/bin``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from grader.cluster import client as kc
from grader.cluster import topology
from grader.cluster.backend import Backend, Log, quiet
from grader.cluster.errors import ClusterError
from grader.cluster.pki import b64, ensure_pki
from grader.cluster.state import ClusterState, cluster_dir

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
#: start order; ``down`` stops in reverse
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
BUILD_HINT = "control-plane binaries not built: run scripts/build-control-plane.sh"
STAGES = Path(__file__).with_name("kwok-stages.yaml")


def cache_roots() -> list[Path]:
    """Folders searched for ``bin/``: ``$CERTLAB_CP_CACHE``, else every cached version."""
    if value := os.environ.get("CERTLAB_CP_CACHE"):
        return [Path(value).expanduser()]
    base = Path.home() / ".cache" / "certlab" / "control-plane"
    if not base.is_dir():
        return []
    return sorted((p for p in base.iterdir() if p.is_dir()), reverse=True)


def find_binaries(bin_dir: Path | None = None) -> dict[str, Path] | None:
    """The five binaries, from ``bin_dir`` or the newest complete cache; None if missing."""
    candidates = [bin_dir] if bin_dir else [root / "bin" for root in cache_roots()]
    for folder in candidates:
        found = {name: folder / name for name in BINARIES}
        if all(p.is_file() and os.access(p, os.X_OK) for p in found.values()):
            return found
    return None


def binaries_cached() -> bool:
    """True when ``--backend kwok`` can start."""
    return find_binaries() is not None


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kubeconfig_yaml(
    server: str,
    pki: Path,
    *,
    user: str = "certlab-admin",
    token: str | None = None,
    context: str = "certlab",
) -> str:
    """A kubeconfig for ``server``: the admin client certificate, or a bearer ``token``."""
    import yaml

    creds: dict[str, str]
    if token is not None:
        creds = {"token": token}
    else:
        creds = {
            "client-certificate-data": b64(pki / "admin.crt"),
            "client-key-data": b64(pki / "admin.key"),
        }
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "certlab",
                    "cluster": {
                        "server": server,
                        "certificate-authority-data": b64(pki / "ca.crt"),
                    },
                }
            ],
            "users": [{"name": user, "user": creds}],
            "contexts": [{"name": context, "context": {"cluster": "certlab", "user": user}}],
            "current-context": context,
        },
        sort_keys=False,
    )


def _alive(pid: int, argv0: str | None = None) -> bool:
    """True while ``pid`` runs (a zombie counts as gone) and, on Linux, is ``argv0``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return argv0 is None
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            stat = (proc / "stat").read_text()
            if stat.rsplit(")", 1)[-1].split()[0] == "Z":
                return False
            if argv0 is not None:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
                return Path(cmd).name == Path(argv0).name
        except OSError:
            return False
    return True


def _stop_pid(pid: int, argv0: str | None, popen: subprocess.Popen | None, grace: float) -> None:
    if not _alive(pid, argv0):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if popen is not None and popen.poll() is not None:
            return
        if not _alive(pid, argv0):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if popen is not None:
        popen.wait(timeout=5)


class KwokBackend(Backend):
    """Control plane from cached binaries, fake nodes from the kwok controller."""

    name = "kwok"
    capabilities = frozenset({"cluster"})

    def __init__(
        self, workdir: Path | None = None, bin_dir: Path | None = None, start_timeout: float = 90.0
    ) -> None:
        self.workdir = Path(workdir) if workdir else cluster_dir() / "kwok"
        self.bin_dir = bin_dir
        self.start_timeout = start_timeout
        self._procs: dict[str, subprocess.Popen] = {}

    # -- files ---------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    def _log(self, component: str) -> Path:
        return self.workdir / "logs" / f"{component}.log"

    def log_tail(self, component: str, lines: int = 8) -> str:
        """The last lines of a component's log, for error messages."""
        try:
            text = self._log(component).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(line.strip()[:300] for line in text[-lines:])

    # -- lifecycle -----------------------------------------------------------------------
    def up(self, log: Log = quiet) -> ClusterState:
        binaries = find_binaries(self.bin_dir)
        if binaries is None:
            where = (
                self.bin_dir
                or ", ".join(str(r / "bin") for r in cache_roots())
                or ("~/.cache/certlab/control-plane/<version>/bin")
            )
            raise ClusterError(f"{BUILD_HINT} (looked in {where})")
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        pki = ensure_pki(self.workdir / "pki")
        ports = {
            "etcd": free_port(),
            "etcd-peer": free_port(),
            "apiserver": free_port(),
            "kwok": free_port(),
        }
        server = f"https://127.0.0.1:{ports['apiserver']}"
        self.kubeconfig.write_text(kubeconfig_yaml(server, pki), encoding="utf-8")
        self.kubeconfig.chmod(0o600)
        etcd_data = self.workdir / "etcd"
        if etcd_data.exists():  # a fresh cluster every time
            shutil.rmtree(etcd_data)
        commands = self._commands(binaries, pki, ports, server)
        state = ClusterState(
            backend=self.name,
            kubeconfig=str(self.kubeconfig),
            context="certlab",
            workdir=str(self.workdir),
            extra={"server": server, "ports": ports, "commands": commands},
        )
        try:
            for component in COMPONENTS:
                log(f"starting {component}")
                self._start(component, commands[component], state)
                if component == "etcd":
                    self._wait_etcd(ports["etcd"])
                elif component == "kube-apiserver":
                    self._wait_apiserver()
            log("creating nodes: 1 control plane, 1 worker, 1 GPU worker (4 x H100)")
            self._create_nodes()
            self._wait_ready(log)
        except BaseException:
            self.down(state)
            raise
        log(f"kwok cluster up at {server}")
        return state

    def _commands(
        self, b: dict[str, Path], pki: Path, ports: dict[str, int], server: str
    ) -> dict[str, list[str]]:
        etcd_url = f"http://127.0.0.1:{ports['etcd']}"
        peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
        kubeconfig = str(self.kubeconfig)
        return {
            "etcd": [
                str(b["etcd"]),
                "--name=certlab",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=certlab={peer_url}",
                "--initial-cluster-state=new",
                "--quota-backend-bytes=1073741824",
                "--log-level=warn",
            ],
            "kube-apiserver": [
                str(b["kube-apiserver"]),
                f"--etcd-servers={etcd_url}",
                # etcd 3.4 (Debian's) lacks the watch-progress feature WatchList streams need;
                # without this, kwok's pod watches fail and back off ever longer
                "--feature-gates=WatchList=false",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={ports['apiserver']}",
                f"--cert-dir={pki}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",
                "--endpoint-reconciler-type=none",
                "--enable-priority-and-fairness=false",
                "--profiling=false",
                "--v=0",
            ],
            "kube-controller-manager": [
                str(b["kube-controller-manager"]),
                f"--kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--secure-port=0",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                "--use-service-account-credentials=false",
                "--concurrent-deployment-syncs=10",
                "--profiling=false",
                "--v=0",
            ],
            "kube-scheduler": [
                str(b["kube-scheduler"]),
                f"--kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--secure-port=0",
                "--profiling=false",
                "--v=0",
            ],
            "kwok": [
                str(b["kwok"]),
                f"--kubeconfig={kubeconfig}",
                f"--config={STAGES}",
                f"--manage-nodes-with-annotation-selector={topology.KWOK_ANNOTATION}=fake",
                f"--server-address=127.0.0.1:{ports['kwok']}",
                "--node-ip=10.0.0.1",
                "--cidr=10.244.0.0/16",
            ],
        }

    def _start(self, component: str, argv: list[str], state: ClusterState) -> None:
        with open(self._log(component), "ab") as out:
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ClusterError(f"cannot start {component} ({argv[0]}): {exc}") from exc
        self._procs[component] = proc
        state.pids[component] = proc.pid

    def _check_running(self, component: str) -> None:
        proc = self._procs.get(component)
        if proc is not None and proc.poll() is not None:
            raise ClusterError(
                f"{component} exited with code {proc.returncode} during start-up: "
                f"{self.log_tail(component) or 'no output'} (log: {self._log(component)})"
            )

    def _wait(self, what: str, component: str, ok: Any, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.start_timeout)
        last = ""
        while time.monotonic() < deadline:
            self._check_running(component)
            try:
                if ok():
                    return
            except Exception as exc:
                last = str(exc)[:200]
            time.sleep(0.3)
        raise ClusterError(
            f"{what} did not become ready in {timeout or self.start_timeout:.0f}s"
            f"{': ' + last if last else ''}; log: {self.log_tail(component) or 'empty'}"
        )

    def _wait_etcd(self, port: int) -> None:
        def healthy() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                return b"true" in r.read()

        self._wait("etcd", "etcd", healthy)

    def _wait_apiserver(self) -> None:
        import ssl

        pki = self.workdir / "pki"
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        server = kc.read_kubeconfig(self.kubeconfig)["clusters"][0]["cluster"]["server"]

        def ready() -> bool:
            with urllib.request.urlopen(f"{server}/readyz", timeout=3, context=context) as r:
                return r.status == 200

        self._wait("kube-apiserver", "kube-apiserver", ready)

    def _create_nodes(self) -> None:
        from kubernetes import client as k

        client = kc.api_client(self.kubeconfig, "certlab")
        core = k.CoreV1Api(client)
        for node in topology.kwok_nodes():
            name = node["metadata"]["name"]
            kc.call(lambda n=node: core.create_node(n), f"create node {name}", client)
            kc.call(
                lambda n=node, nm=name: core.patch_node_status(nm, {"status": n["status"]}),
                f"set the status of node {name}",
                client,
            )

    def _wait_ready(self, log: Log) -> None:
        from kubernetes import client as k

        client = kc.api_client(self.kubeconfig, "certlab")
        core = k.CoreV1Api(client)

        def nodes_ready() -> bool:
            for comp in COMPONENTS:
                self._check_running(comp)
            nodes = core.list_node(_request_timeout=kc.REQUEST_TIMEOUT).items
            ready = [
                n
                for n in nodes
                if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
            ]
            return len(ready) >= len(topology.kwok_nodes())

        log("waiting for the nodes to become Ready")
        self._wait("the kwok nodes", "kwok", nodes_ready)

        def default_sa() -> bool:
            core.read_namespaced_service_account(
                "default", "default", _request_timeout=kc.REQUEST_TIMEOUT
            )
            return True

        log("waiting for kube-controller-manager")
        self._wait("kube-controller-manager", "kube-controller-manager", default_sa)

    # -- stop, restart -------------------------------------------------------------------
    def down(self, state: ClusterState, log: Log = quiet) -> None:
        commands = (state.extra or {}).get("commands", {})
        for component in reversed(COMPONENTS):
            pid = state.pids.get(component)
            if not pid:
                continue
            argv0 = (commands.get(component) or [None])[0]
            log(f"stopping {component} (pid {pid})")
            _stop_pid(pid, argv0, self._procs.pop(component, None), grace=10)
        kc.forget_clients()

    def stop_component(self, state: ClusterState, component: str) -> None:
        """Stop one component (tests simulate an outage with this)."""
        pid = state.pids.get(component)
        argv0 = state.extra.get("commands", {}).get(component, [None])[0]
        if pid:
            _stop_pid(pid, argv0, self._procs.pop(component, None), grace=10)

    def start_component(self, state: ClusterState, component: str) -> None:
        """Start one stopped component again with its recorded command line."""
        argv = state.extra["commands"][component]
        self._start(component, argv, state)
        if component == "kube-apiserver":
            self._wait_apiserver()

    def processes_alive(self, state: ClusterState) -> dict[str, bool]:
        """Which recorded components are still running."""
        commands = state.extra.get("commands", {})
        return {c: _alive(pid, (commands.get(c) or [None])[0]) for c, pid in state.pids.items()}

    def status(self, state: ClusterState) -> dict[str, Any]:
        alive = self.processes_alive(state)
        dead = [c for c, ok in alive.items() if not ok]
        if dead:
            raise ClusterError(
                f"the kwok cluster is broken: {', '.join(dead)} not running; "
                "run 'certlab cluster down' then 'certlab cluster up --backend kwok'"
            )
        info = super().status(state)
        info["processes"] = state.pids
        return info
