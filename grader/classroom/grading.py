"""``class grade-labs``: grade every learner's namespace on a shared classroom cluster.

Needs the ``kubeconfig`` backend up (``certlab cluster up --backend kubeconfig``), whose
namespaces are per learner (``<learner>-<lab>``). Only a lab's live-cluster checks (source
``k8s``) are graded here: the rest read the learner's workspace, which lives on the learner's
machine and comes in their bundle. Learners are graded concurrently; results are written to
the instructor's database as check runs linked to the class.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.classroom.registry import ClassRecord
from grader.content.loader import Content
from grader.labs.model import Check, Lab
from grader.labs.runner import LabRun
from grader.store.db import Store

LIVE_SOURCES = frozenset({"k8s"})


@dataclass
class Graded:
    """One learner's lab, graded (or why not)."""

    learner: str
    lab: str
    namespace: str
    run: LabRun | None = None
    error: str | None = None
    run_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "learner": self.learner,
            "lab": self.lab,
            "namespace": self.namespace,
            "error": self.error,
            "run_id": self.run_id,
            **({"result": self.run.to_json()} if self.run else {}),
        }


def live_checks(lab: Lab) -> list[Check]:
    """The lab's checks that read the live cluster (a live source, or a check needing one)."""
    return [c for c in lab.checks if c.source.get("type") in LIVE_SOURCES or "cluster" in c.needs]


def require_classroom_cluster() -> Any:
    """The cluster state of a kubeconfig (per-learner namespace) cluster; ClusterError else."""
    from grader.cluster import NO_CLUSTER, ClusterError, load_state

    state = load_state()
    if state is None:
        raise ClusterError(
            f"{NO_CLUSTER}. grade-labs needs the classroom cluster: "
            "certlab cluster up --backend kubeconfig --kubeconfig FILE [--context NAME]"
        )
    if "{learner}" not in state.namespace_prefix:
        raise ClusterError(
            f"the {state.backend} cluster that is up gives each lab one namespace, not one per "
            "learner; grade-labs needs the kubeconfig backend: certlab cluster down, then "
            "certlab cluster up --backend kubeconfig --kubeconfig FILE"
        )
    return state


def grade_labs(
    store: Store,
    content: Content,
    record: ClassRecord,
    learners: Sequence[str],
    *,
    workers: int = 8,
    progress: Callable[[Graded], None] | None = None,
) -> list[Graded]:
    """Grade each learner's class labs on the cluster, concurrently; record every run."""
    from grader.cluster import capabilities, namespace_for
    from grader.labs.runner import run_check

    state = require_classroom_cluster()
    caps = capabilities(state)
    labs = [content.labs[lab] for lab in record.labs if lab in content.labs]
    jobs = [(learner, lab) for learner in learners for lab in labs if live_checks(lab)]
    out: list[Graded] = []
    with tempfile.TemporaryDirectory(prefix="certlab-grade-") as tmp:

        def grade(learner: str, lab: Lab) -> Graded:
            namespace = namespace_for(state, lab.id, learner)
            # sources find the learner from the workspace layout <root>/<learner>/<lab>
            workspace = Path(tmp) / learner / lab.id
            workspace.mkdir(parents=True, exist_ok=True)
            try:
                results = [
                    run_check(c, lab, workspace, lab.seed, capabilities=caps)
                    for c in live_checks(lab)
                ]
            except Exception as exc:  # one learner's failure must not stop the class
                return Graded(learner, lab.id, namespace, error=f"{type(exc).__name__}: {exc}")
            return Graded(
                learner, lab.id, namespace, LabRun(lab.id, results, backend=state.backend)
            )

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(grade, learner, lab) for learner, lab in jobs]
            for future in futures:
                graded = future.result()
                if graded.run is not None:  # SQLite writes stay on this thread
                    graded.run_id = _record(store, record, graded)
                out.append(graded)
                if progress is not None:
                    progress(graded)
    return out


def _record(store: Store, record: ClassRecord, graded: Graded) -> int:
    from grader.labs.records import record_run

    assert graded.run is not None
    learner_id = store.learner_id(graded.learner)
    lab = graded.lab
    with store.conn as conn:
        cur = conn.execute(
            "INSERT INTO lab_attempts (learner_id, lab_id, workspace, seed, content_hash, "
            "started_at) VALUES (?, ?, ?, 0, '', ?)",
            (learner_id, lab, f"cluster:{graded.namespace}", time.time()),
        )
        lab_attempt_id = int(cur.lastrowid or 0)
    run_id = record_run(store, lab_attempt_id, graded.run)
    with store.conn as conn:
        conn.execute(
            "INSERT INTO class_lab_runs (run_id, class_id, learner_id, source, lab_attempt_id) "
            "VALUES (?, ?, ?, 'graded', ?)",
            (run_id, record.id, learner_id, lab_attempt_id),
        )
    return run_id
