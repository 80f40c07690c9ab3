"""Clusters: the kwok backend's topology and scheduling, the k8s and manifests sources, polling,
and every way a cluster can fail (unreachable mid-check, wrong context, forbidden, no Docker)."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from grader.checks.assertions import match
from grader.checks.sources import load_document
from grader.checks.sources.base import NotGradable, SourceContext, SourceError
from grader.cli import main
from grader.cluster import ClusterError, ClusterState, capabilities, namespace_for, save_state
from grader.cluster.polling import Poll, poll_document, poll_settings
from grader.cluster.sources import ObjectMissing
from grader.labs.model import Check, Lab, Task
from grader.labs.runner import run_check

LAB = "gpu-serving"
GPU_NODE = "certlab-worker2"

# one kwok cluster per session, shared with the cluster labs' tests
pytest_plugins = ["cluster_fixtures"]

if TYPE_CHECKING:
    from cluster_fixtures import KwokCluster

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources: {requests: {cpu: 100m, memory: 64Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
"""

READY_EXPECT = {
    "spec": {"replicas": 2},
    "status": {"readyReplicas": 2, "availableReplicas": 2},
}


# --- helpers ----------------------------------------------------------------------------------


def make_lab(tmp_path: Path, *checks: Check) -> tuple[Lab, Path]:
    """A one-task lab whose folder is named LAB, and the learner's workspace."""
    folder = tmp_path / "labs" / LAB
    folder.mkdir(parents=True, exist_ok=True)
    workspace = tmp_path / "workspaces" / "tester" / LAB
    workspace.mkdir(parents=True, exist_ok=True)
    task = Task("t1", "Task", "", (), tuple(checks))
    lab = Lab(LAB, "GPU serving", "engineer", ("serving",), 30, "", (task,), folder, "x")
    return lab, workspace


def make_check(source: dict[str, Any], expect: Any, cid: str = "c1") -> Check:
    return Check(cid, "the check", 1.0, source, expect, "The deployment is not ready.", task="t1")


def ctx_for(workspace: Path, lab: Lab) -> SourceContext:
    # a cluster is up in these tests: give the source the capability the runner would
    return SourceContext(
        workspace=workspace,
        lab_dir=lab.folder,
        seed=1,
        capabilities=frozenset({"local"}) | capabilities(),
    )


def create_all(cl: KwokCluster, text: str, namespace: str) -> None:
    """Create every object in ``text`` (like kubectl create -f)."""
    from kubernetes import dynamic

    dyn = dynamic.DynamicClient(cl.api)
    from kubernetes.dynamic.exceptions import ConflictError

    for doc in yaml.safe_load_all(text):
        res = dyn.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
        with contextlib.suppress(ConflictError):  # already there (an earlier test made it)
            res.create(body=doc, namespace=namespace if res.namespaced else None)


def namespace(cl: KwokCluster, name: str) -> str:
    from grader.cluster import ensure_namespace

    ensure_namespace(cl.state, name)
    deadline = time.monotonic() + 30  # kube-controller-manager adds the default ServiceAccount
    while time.monotonic() < deadline:
        names = [sa.metadata.name for sa in cl.core().list_namespaced_service_account(name).items]
        if "default" in names:
            return name
        time.sleep(0.2)
    raise AssertionError(f"no default ServiceAccount in {name}")


def gpu_pod(name: str, gpus: int, tolerate: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "containers": [
                {
                    "name": "cuda",
                    "image": "nvidia/cuda:12.4.1-base-ubuntu22.04",
                    "resources": {"limits": {"nvidia.com/gpu": gpus}},
                }
            ],
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
            if tolerate
            else [],
        },
    }


def token_kubeconfig(cl: KwokCluster, tmp_path: Path, sa: str, ns: str) -> Path:
    """A kubeconfig authenticating as ServiceAccount ``ns/sa`` with a fresh token."""
    from grader.cluster.kwok import kubeconfig_yaml

    names = [s.metadata.name for s in cl.core().list_namespaced_service_account(ns).items]
    if sa not in names:
        cl.core().create_namespaced_service_account(ns, {"metadata": {"name": sa}})
    token = (
        cl.core()
        .create_namespaced_service_account_token(sa, ns, {"spec": {"expirationSeconds": 3600}})
        .status.token
    )
    server = cl.state.extra["server"]
    file = tmp_path / f"{sa}.kubeconfig"
    pki = Path(cl.state.workdir) / "pki"
    file.write_text(kubeconfig_yaml(server, pki, user=sa, token=token, context=sa))
    return file


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- no cluster needed: polling, manifests, offline, missing tools ----------------------------


def test_poll_settings_read_wait_and_poll():
    assert poll_settings({"type": "k8s"}) is None
    assert poll_settings({"wait": 10}) == Poll(10.0, 0.5, 0.0)
    assert poll_settings({"poll": {"timeout": 5, "interval": 1, "hold": 3}}) == Poll(5.0, 1.0, 3.0)
    with pytest.raises(SourceError, match="wait"):
        poll_settings({"wait": "soon"})
    with pytest.raises(SourceError, match="unknown"):
        poll_settings({"poll": {"timeout": 5, "every": 1}})


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_poll_until_the_assertion_holds_and_keeps_holding(tmp_path):
    fake = FakeTime()
    ctx = SourceContext(workspace=tmp_path, lab_dir=tmp_path, seed=1)
    values = iter([0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1])
    loads: list[dict] = []

    def load(spec, _ctx):
        loads.append(spec)
        return {"ready": next(values)}

    doc = poll_document(
        {"type": "x", "poll": {"timeout": 10, "interval": 1, "hold": 3}},
        ctx,
        load,
        lambda d: d["ready"] == 1,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    assert doc == {"ready": 1}
    assert fake.now == 8  # the flap at t=4 restarted the hold window at t=5
    assert "poll" not in loads[0]  # the loader never sees the polling fields


def test_poll_gives_up_at_the_timeout_with_the_last_document(tmp_path):
    fake = FakeTime()
    ctx = SourceContext(workspace=tmp_path, lab_dir=tmp_path, seed=1)
    doc = poll_document(
        {"type": "x", "wait": 3},
        ctx,
        lambda s, c: {"ready": 0},
        lambda d: d["ready"] == 1,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    assert doc == {"ready": 0} and 3 <= fake.now <= 3.5


def test_poll_waits_for_a_missing_object_then_reports_it(tmp_path):
    fake = FakeTime()
    ctx = SourceContext(workspace=tmp_path, lab_dir=tmp_path, seed=1)
    calls = {"n": 0}

    def load(spec, _ctx):
        calls["n"] += 1
        raise ObjectMissing("no Deployment named 'web'")

    with pytest.raises(ObjectMissing):
        poll_document({"wait": 2}, ctx, load, bool, clock=fake.clock, sleep=fake.sleep)
    assert calls["n"] >= 4

    def broken(spec, _ctx):
        raise SourceError("the Kubernetes API server is unreachable")

    with pytest.raises(SourceError, match="unreachable"):  # no retry: never a false pass
        poll_document({"wait": 2}, ctx, broken, bool, clock=fake.clock, sleep=fake.sleep)


def test_k8s_source_without_a_cluster_is_not_gradable(tmp_path):
    check = make_check({"type": "k8s", "kind": "Deployment", "name": "web"}, READY_EXPECT)
    lab, workspace = make_lab(tmp_path, check)
    with pytest.raises(NotGradable, match="no cluster is up: run 'certlab cluster up'"):
        load_document(check.source, ctx_for(workspace, lab))
    result = run_check(check, lab, workspace, 1)
    assert result.status == "not_gradable" and "--offline" in result.message
    assert capabilities() == frozenset()


def test_manifests_source_parses_a_folder(tmp_path):
    check = make_check({"type": "manifests", "path": "k8s"}, {})
    lab, workspace = make_lab(tmp_path, check)
    (workspace / "k8s" / "base").mkdir(parents=True)
    (workspace / "k8s" / "app.yaml").write_text(DEPLOYMENT)
    (workspace / "k8s" / "base" / "gpu.yml").write_text(yaml.safe_dump(gpu_pod("trainer", 1)))
    (workspace / "k8s" / "values.yaml").write_text("replicas: 3\n")  # not an object: skipped
    (workspace / "k8s" / ".hidden").mkdir()
    (workspace / "k8s" / ".hidden" / "x.yaml").write_text("kind: Secret\n")
    ctx = ctx_for(workspace, lab)

    everything = load_document({"type": "manifests", "path": "k8s"}, ctx)
    assert everything["count"] == 3
    assert [o["kind"] for o in everything["items"]] == ["Deployment", "Service", "Pod"]
    assert everything["skipped"] == ["k8s/values.yaml#1"]

    web = load_document(
        {"type": "manifests", "path": "k8s", "kind": "Deployment", "name": "web"}, ctx
    )
    assert match({"spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}}}, web).ok
    pods = load_document({"type": "manifests", "path": "k8s/", "kind": "pod"}, ctx)
    gpu_limits = {
        "spec": {"containers": {"$any": {"resources": {"limits": {"nvidia.com/gpu": 1}}}}}
    }
    assert match({"items": {"$all": gpu_limits}}, pods).ok
    selected = load_document({"type": "manifests", "path": "k8s", "selector": {"app": "web"}}, ctx)
    assert selected["count"] == 1  # the Deployment has the label; the Service does not

    with pytest.raises(SourceError, match=r"no Deployment named 'api' in k8s \(found: Deployment"):
        load_document(
            {"type": "manifests", "path": "k8s", "kind": "Deployment", "name": "api"}, ctx
        )
    (workspace / "k8s" / "broken.yaml").write_text("kind: Pod\nspec: {containers: [\n")
    with pytest.raises(SourceError, match=r"k8s/broken.yaml line \d+: not valid YAML"):
        load_document({"type": "manifests", "path": "k8s"}, ctx)
    with pytest.raises(SourceError, match="does not exist"):
        load_document({"type": "manifests", "path": "nowhere"}, ctx)
    with pytest.raises(SourceError, match="outside the workspace"):
        load_document({"type": "manifests", "path": "../../../.."}, ctx)


def test_kind_backend_without_docker_fails_clearly(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither docker nor kind
    from grader.cluster.kind import KindBackend

    with pytest.raises(ClusterError, match="needs Docker and kind, but Docker and kind are not"):
        KindBackend().up()
    code, out, err = run_cli(capsys, "cluster", "up", "--backend", "kind")
    assert code == 4 and out == ""
    assert err.count("\n") == 1 and "install kind" in err and "--backend kwok" in err
    code, _, err = run_cli(capsys, "cluster", "up")  # the default backend is kind
    assert code == 4 and "no cluster backend available" in err and "Docker" in err
    assert "--backend kwok" in err


def test_cluster_status_and_down_without_a_cluster(capsys):
    code, _, err = run_cli(capsys, "cluster", "status")
    assert code == 4 and "no cluster is up" in err
    assert run_cli(capsys, "cluster", "down")[:2] == (0, "no cluster was up\n")


def test_kubeconfig_backend_with_a_missing_file_or_context(capsys, tmp_path):
    code, _, err = run_cli(capsys, "cluster", "up", "--kubeconfig", str(tmp_path / "none"))
    assert code == 4 and "does not exist" in err
    file = tmp_path / "config"
    file.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "real", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "real",
            }
        )
    )
    code, _, err = run_cli(capsys, "cluster", "up", "--kubeconfig", str(file), "--context", "nope")
    assert code == 4 and "context 'nope' is not in kubeconfig" in err and "real" in err
    code, _, err = run_cli(capsys, "cluster", "up", "--kubeconfig", str(file))  # port 1: closed
    assert code == 4 and "unreachable" in err and "Traceback" not in err


# --- on the kwok cluster ----------------------------------------------------------------------


def test_topology_has_a_gpu_node(cluster, capsys):
    nodes = {n.metadata.name: n for n in cluster.core().list_node().items}
    assert set(nodes) == {"certlab-control-plane", "certlab-worker", GPU_NODE}
    for node in nodes.values():
        ready = [c for c in node.status.conditions if c.type == "Ready"]
        assert ready and ready[0].status == "True"
    gpu = nodes[GPU_NODE]
    assert gpu.metadata.labels["nvidia.com/gpu.present"] == "true"
    assert gpu.metadata.labels["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3"
    assert gpu.metadata.labels["nvidia.com/gpu.count"] == "4"
    assert gpu.metadata.labels["nvidia.com/gpu.memory"] == "81559"
    # (node.kubernetes.io/not-ready may linger a moment after a fresh start: not ours)
    assert [(t.key, t.value, t.effect) for t in gpu.spec.taints if t.key.startswith("nvidia")] == [
        ("nvidia.com/gpu", "present", "NoSchedule")
    ]
    assert gpu.status.capacity["nvidia.com/gpu"] == "4"
    assert gpu.status.allocatable["nvidia.com/gpu"] == "4"
    assert "nvidia.com/gpu" not in nodes["certlab-worker"].status.allocatable
    assert capabilities() == frozenset({"cluster"})

    code, out, _ = run_cli(capsys, "cluster", "status")
    assert code == 0 and GPU_NODE in out and "NVIDIA-H100-80GB-HBM3" in out
    import json

    code, out, _ = run_cli(capsys, "cluster", "status", "--json")
    info = json.loads(out)
    assert info["backend"] == "kwok" and info["version"].startswith("v1.")
    assert {n["name"]: n["gpus"] for n in info["nodes"]}[GPU_NODE] == "4"


def test_k8s_source_reads_nodes_and_lists_with_selectors(cluster, tmp_path):
    lab, workspace = make_lab(tmp_path)
    ctx = ctx_for(workspace, lab)
    node = load_document({"type": "k8s", "kind": "Node", "name": GPU_NODE}, ctx)
    assert "managedFields" not in node["metadata"]
    expect = {
        "metadata": {"labels": {"nvidia.com/gpu.product": {"$regex": "H100"}}},
        "spec": {"taints": {"$any": {"key": "nvidia.com/gpu", "effect": "NoSchedule"}}},
        "status": {"allocatable": {"nvidia.com/gpu": "4"}},
    }
    assert match(expect, node).ok
    gpu_nodes = load_document(
        {"type": "k8s", "kind": "nodes", "selector": {"nvidia.com/gpu.present": "true"}}, ctx
    )
    assert gpu_nodes["count"] == 1 and gpu_nodes["items"][0]["metadata"]["name"] == GPU_NODE
    by_short_name = load_document({"type": "k8s", "kind": "no", "apiVersion": "v1"}, ctx)
    assert by_short_name["count"] == 3
    with pytest.raises(SourceError, match="no resource kind 'Widget'"):
        load_document({"type": "k8s", "kind": "Widget"}, ctx)
    with pytest.raises(
        ObjectMissing, match="no Deployment named 'ghost' in namespace 'gpu-serving'"
    ):
        load_document({"type": "k8s", "kind": "Deployment", "name": "ghost"}, ctx)


def test_a_deployment_becomes_ready_and_manifests_grade_the_same(cluster, tmp_path):
    ns = namespace(cluster, LAB)
    live = make_check(
        {"type": "k8s", "kind": "Deployment", "name": "web", "wait": 60}, READY_EXPECT
    )
    lab, workspace = make_lab(tmp_path, live)
    (workspace / "k8s").mkdir()
    (workspace / "k8s" / "app.yaml").write_text(DEPLOYMENT)
    offline = make_check(
        {"type": "manifests", "path": "k8s", "kind": "Deployment", "name": "web"},
        {"spec": READY_EXPECT["spec"]},
    )
    assert run_check(offline, lab, workspace, 1).status == "passed"

    create_all(cluster, DEPLOYMENT, ns)
    started = time.monotonic()
    result = run_check(live, lab, workspace, 1, capabilities=frozenset({"cluster"}))
    assert result.status == "passed", result.message
    assert time.monotonic() - started < 60
    # the same spec assertion holds for the live object as for the manifest
    assert run_check(
        make_check(
            {"type": "k8s", "kind": "Deployment", "name": "web"}, {"spec": READY_EXPECT["spec"]}
        ),
        lab,
        workspace,
        1,
    ).passed
    pods = load_document(
        {"type": "k8s", "kind": "Pod", "selector": "app=web"}, ctx_for(workspace, lab)
    )
    assert pods["count"] == 2
    assert match(
        {
            "items": {
                "$all": {
                    "status": {
                        "phase": "Running",
                        "conditions": {"$any": {"type": "Ready", "status": "True"}},
                    },
                    "spec": {"nodeName": "certlab-worker"},  # not the tainted nodes
                }
            }
        },
        pods,
    ).ok
    # a held state: the deployment stays ready for 2 s
    held = make_check(
        {"type": "k8s", "kind": "Deployment", "name": "web", "poll": {"timeout": 5, "hold": 2}},
        READY_EXPECT,
    )
    started = time.monotonic()
    assert run_check(held, lab, workspace, 1).passed
    assert time.monotonic() - started >= 2


def test_scheduling_honours_the_gpu_taint_and_gpu_limits(cluster, tmp_path):
    ns = namespace(cluster, "gpu-sched")
    pods = [gpu_pod("one-gpu", 1), gpu_pod("five-gpus", 5), gpu_pod("untolerated", 1, False)]
    create_all(cluster, yaml.safe_dump_all(pods), ns)
    try:
        check_gpu_scheduling(cluster, tmp_path, ns)
    finally:  # free the GPU for the other tests sharing this cluster
        core = cluster.core()
        for pod in pods:
            core.delete_namespaced_pod(pod["metadata"]["name"], ns, grace_period_seconds=0)
        deadline = time.monotonic() + 30
        while core.list_namespaced_pod(ns).items and time.monotonic() < deadline:
            time.sleep(0.2)


def check_gpu_scheduling(cluster: KwokCluster, tmp_path: Path, ns: str) -> None:
    lab, workspace = make_lab(tmp_path)
    ctx = ctx_for(workspace, lab)

    running = poll_document(
        {"type": "k8s", "kind": "Pod", "name": "one-gpu", "namespace": ns, "wait": 30},
        ctx,
        load_document,
        lambda d: match({"status": {"phase": "Running"}}, d).ok,
    )
    assert running["spec"]["nodeName"] == GPU_NODE
    unschedulable = {
        "spec": {"nodeName": {"$absent": True}},
        "status": {
            "phase": "Pending",
            "conditions": {
                "$any": {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
            },
        },
    }
    for name, why in (("five-gpus", "Insufficient nvidia.com/gpu"), ("untolerated", "taint")):
        pod = poll_document(
            {"type": "k8s", "kind": "Pod", "name": name, "namespace": ns, "wait": 30},
            ctx,
            load_document,
            lambda d: match(unschedulable, d).ok,
        )
        assert match(unschedulable, pod).ok, pod.get("status")
        message = next(
            c["message"] for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"
        )
        assert why in message
    # and it stays Pending: the state must hold, not just be seen once
    still = poll_document(
        {
            "type": "k8s",
            "kind": "Pod",
            "name": "five-gpus",
            "namespace": ns,
            "poll": {"timeout": 10, "interval": 0.25, "hold": 1},
        },
        ctx,
        load_document,
        lambda d: match(unschedulable, d).ok,
    )
    assert still["status"]["phase"] == "Pending"


def test_a_wrong_context_is_a_cluster_error_and_exit_4(kwok_cluster, capsys):
    from grader.cluster import load_state
    from grader.cluster.existing import KubeconfigBackend

    with pytest.raises(ClusterError, match="context 'elsewhere' is not in kubeconfig"):
        KubeconfigBackend(kwok_cluster.kubeconfig, "elsewhere").up()
    code, out, err = run_cli(
        capsys, "cluster", "up", "--backend", "kubeconfig",
        "--kubeconfig", str(kwok_cluster.kubeconfig), "--context", "elsewhere",
    )  # fmt: skip
    assert code == 4 and out == "" and err.count("\n") == 1
    assert "context 'elsewhere' is not in kubeconfig" in err and "(its contexts: certlab)" in err
    assert load_state() is None  # nothing recorded
    # the right context connects, and a namespace per learner and lab is used
    code, out, err = run_cli(
        capsys,
        "cluster",
        "up",
        "--kubeconfig",
        str(kwok_cluster.kubeconfig),
        "--context",
        "certlab",
    )
    assert code == 0, err
    state = load_state()
    assert state is not None and state.backend == "kubeconfig"
    assert namespace_for(state, LAB, "ada") == f"ada-{LAB}"
    assert capabilities() == frozenset({"cluster", "running-containers"})
    assert run_cli(capsys, "cluster", "down")[:2] == (0, "the kubeconfig cluster is down\n")
    assert kwok_cluster.backend.processes_alive(kwok_cluster.state)["kube-apiserver"]


def test_a_forbidden_identity_is_a_source_error_naming_the_permission(cluster, tmp_path):
    ns = namespace(cluster, "rbac-lab")
    create_all(cluster, DEPLOYMENT.split("---")[0], ns)
    nobody = token_kubeconfig(cluster, tmp_path, "nobody", "default")
    save_state(ClusterState(backend="kubeconfig", kubeconfig=str(nobody), context="nobody"))
    check = make_check({"type": "k8s", "kind": "Deployment", "name": "web", "namespace": ns}, {})
    lab, workspace = make_lab(tmp_path, check)
    with pytest.raises(SourceError, match="forbidden") as caught:
        load_document(check.source, ctx_for(workspace, lab))
    text = str(caught.value)
    assert 'cannot get resource "deployments" in API group "apps"' in text
    assert "system:serviceaccount:default:nobody" in text and "grader-readonly.yaml" in text
    result = run_check(check, lab, workspace, 1)
    assert result.status == "failed" and "forbidden" in result.message

    # the shipped read-only role fixes it, and stays read-only
    rbac = Path(__file__).resolve().parents[1] / "grader" / "cluster" / "rbac"
    create_all(cluster, (rbac / "grader-readonly.yaml").read_text(), "certlab-system")
    grader = token_kubeconfig(cluster, tmp_path, "certlab-grader", "certlab-system")
    save_state(ClusterState(backend="kubeconfig", kubeconfig=str(grader), context="certlab-grader"))
    assert run_check(check, lab, workspace, 1).passed
    with pytest.raises(SourceError, match=r'forbidden.*cannot list resource "secrets"'):
        load_document({"type": "k8s", "kind": "Secret", "namespace": ns}, ctx_for(workspace, lab))


def test_the_api_server_stopping_mid_check_fails_the_check(cluster, tmp_path):
    ns = namespace(cluster, LAB)
    names = [d.metadata.name for d in cluster.apps().list_namespaced_deployment(ns).items]
    if "web" not in names:
        create_all(cluster, DEPLOYMENT.split("---")[0], ns)
    never = make_check(
        {"type": "k8s", "kind": "Deployment", "name": "web", "wait": 60},
        {"status": {"readyReplicas": 99}},
    )
    lab, workspace = make_lab(tmp_path, never)
    stopper = threading.Timer(
        1.5, cluster.backend.stop_component, args=(cluster.state, "kube-apiserver")
    )
    stopper.start()
    started = time.monotonic()
    try:
        result = run_check(never, lab, workspace, 1)
    finally:
        stopper.join()
        cluster.ensure_apiserver()  # the cluster is shared with later tests
    assert time.monotonic() - started < 30  # fails at once, not at the 60 s timeout
    assert result.status == "failed" and result.points == 0
    assert "unreachable" in result.message and "API server" in result.message
    assert (
        load_document(
            {"type": "k8s", "kind": "Deployment", "name": "web"}, ctx_for(workspace, lab)
        )["metadata"]["name"]
        == "web"
    )


def test_the_kind_backend_presents_a_gpu_node_through_the_status_patch(cluster):
    """kind's GPU simulation (labels, taint, JSON patch of node status) on a plain node."""
    from grader.cluster.kind import KindBackend

    core = cluster.core()
    core.create_node({"metadata": {"name": "patched-worker2", "labels": {"x": "y"}}})
    try:
        KindBackend(cluster_name="patched").present_gpu_node(cluster.state)
        node = core.read_node("patched-worker2")
        assert node.metadata.labels["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3"
        assert node.metadata.labels["x"] == "y"
        gpu_taints = [(t.key, t.value, t.effect) for t in node.spec.taints if "nvidia" in t.key]
        assert gpu_taints == [("nvidia.com/gpu", "present", "NoSchedule")]
        assert node.status.capacity["nvidia.com/gpu"] == "4"
        KindBackend(cluster_name="patched").present_gpu_node(cluster.state)  # idempotent
        taints = core.read_node("patched-worker2").spec.taints
        assert [t.key for t in taints].count("nvidia.com/gpu") == 1
    finally:
        core.delete_node("patched-worker2")
