"""``certlab cluster up|down|status``: the cluster the cluster labs are graded against."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from grader.cli.exitcodes import Exit
from grader.cli.output import CliError, emit_json, say, table

BACKEND_HELP = (
    "kind (default when Docker and kind are installed), kwok (local control plane with fake "
    "nodes; build it with scripts/build-control-plane.sh) or kubeconfig (an existing cluster)"
)


def register(sub: Any) -> None:
    """Add the cluster commands."""
    cluster = sub.add_parser("cluster", help="start, stop or inspect the lab cluster")
    csub = cluster.add_subparsers(dest="cluster_command", metavar="ACTION", required=True)
    for name, helptext in (
        ("up", "start a cluster (or connect to one) for the cluster labs"),
        ("down", "stop the cluster certlab started (an existing cluster is only forgotten)"),
        ("status", "which cluster is up, whether it answers, and its nodes"),
    ):
        p = csub.add_parser(name, help=helptext)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "up":
            p.add_argument("--backend", choices=("kind", "kwok", "kubeconfig"), help=BACKEND_HELP)
            p.add_argument("--kubeconfig", help="kubeconfig file (kubeconfig backend)")
            p.add_argument("--context", help="context in the kubeconfig (kubeconfig backend)")
        p.set_defaults(run=globals()[f"cmd_{name}"])


def _fail(exc: Exception) -> CliError:
    return CliError(str(exc), Exit.CLUSTER_UNREACHABLE)


def _progress(args: argparse.Namespace) -> Any:
    def log(message: str) -> None:
        if not args.json:
            sys.stderr.write(f"  {message}\n")
            sys.stderr.flush()

    return log


def _print_status(info: dict[str, Any]) -> None:
    say(f"{info['backend']} cluster at {info['server']} — Kubernetes {info['version']}")
    say(
        f"kubeconfig {info['kubeconfig']}"
        + (f" (context {info['context']})" if info.get("context") else "")
    )
    say(f"capabilities: {', '.join(info['capabilities'])}")
    nodes = info.get("nodes")
    if nodes is None:
        say("nodes: not visible to this identity")
        return
    rows = [
        [
            n["name"],
            "Ready" if n["ready"] else "NotReady",
            ",".join(n["roles"]),
            str(n["gpus"]) + (f" ({n['gpu_product']})" if n.get("gpu_product") else ""),
            ", ".join(n["taints"]) or "-",
        ]
        for n in nodes
    ]
    say(table(rows, ["NODE", "STATUS", "ROLES", "GPUS", "TAINTS"]))


def cmd_up(args: argparse.Namespace) -> int:
    from grader import cluster

    if args.backend != "kubeconfig" and (args.kubeconfig or args.context):
        if args.backend is None:
            args.backend = "kubeconfig"
        else:
            raise CliError("--kubeconfig and --context go with --backend kubeconfig")
    try:
        cluster.up(
            args.backend, kubeconfig=args.kubeconfig, context=args.context, log=_progress(args)
        )
        info = cluster.status()
    except cluster.ClusterError as exc:
        raise _fail(exc) from exc
    if args.json:
        emit_json(info)
    else:
        _print_status(info)
    return Exit.OK


def cmd_down(args: argparse.Namespace) -> int:
    from grader import cluster

    try:
        state = cluster.down(log=_progress(args))
    except cluster.ClusterError as exc:
        raise _fail(exc) from exc
    if args.json:
        emit_json({"stopped": state.backend if state else None})
    else:
        say(f"the {state.backend} cluster is down" if state else "no cluster was up")
    return Exit.OK


def cmd_status(args: argparse.Namespace) -> int:
    from grader import cluster

    try:
        info = cluster.status()
    except cluster.ClusterError as exc:
        if args.json:
            try:
                recorded = cluster.load_state()
            except cluster.ClusterError:
                recorded = None
            emit_json(
                {
                    "up": recorded is not None,
                    "backend": recorded.backend if recorded else None,
                    "reachable": False,
                    "error": str(exc),
                }
            )
        raise _fail(exc) from exc
    if args.json:
        emit_json(info)
    else:
        _print_status(info)
    return Exit.OK
