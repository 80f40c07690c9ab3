"""Running a lab's checks: source -> document -> assertion -> result, one check at a time.

Nothing a learner puts in the workspace can crash the runner: every failure becomes a failed
check with a reason, and a check this machine cannot evaluate is reported as not gradable,
never as passed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from grader.checks.assertions import ExpectationError, match
from grader.labs.model import Check, Lab

Status = Literal["passed", "failed", "not_gradable", "skipped"]

#: what a backend offers; a check whose ``needs`` are not all here is not gradable
LOCAL_CAPABILITIES = frozenset({"local"})


def grading_capabilities(*, offline: bool = False) -> tuple[frozenset[str], str]:
    """What checks may use here, and the backend's name: the cluster that is up, if any.

    ``offline`` grades the workspace alone (manifests, files) even when a cluster is up.
    """
    if offline:
        return LOCAL_CAPABILITIES, "offline"
    from grader.cluster import ClusterError, capabilities, load_state

    try:
        state = load_state()
    except ClusterError:
        state = None
    if state is None:
        return LOCAL_CAPABILITIES, "local"
    return LOCAL_CAPABILITIES | capabilities(state), state.backend


@dataclass(frozen=True)
class CheckResult:
    check_id: str
    task_id: str
    title: str
    status: Status
    points: float
    max_points: float
    required: bool
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_json(self, *, evidence: bool = True) -> dict[str, Any]:
        data = asdict(self)
        if not evidence:
            data.pop("evidence")
        data["id"] = data.pop("check_id")
        data["task"] = data.pop("task_id")
        data["passed"] = self.passed
        return data


@dataclass(frozen=True)
class LabRun:
    lab_id: str
    results: list[CheckResult]
    cancelled: bool = False
    backend: str = "local"

    @property
    def score(self) -> float:
        return round(sum(r.points for r in self.results), 2)

    @property
    def max_score(self) -> float:
        return round(sum(r.max_points for r in self.results), 2)

    @property
    def passed(self) -> bool:
        """Every required check passed (a not-gradable required check is not a pass)."""
        return not self.cancelled and all(r.passed for r in self.results if r.required)

    def to_json(self, *, evidence: bool = True) -> dict[str, Any]:
        """The run as JSON; ``evidence=False`` leaves out what only instructors should see."""
        return {
            "lab": self.lab_id,
            "score": self.score,
            "max_score": self.max_score,
            "passed": self.passed,
            "cancelled": self.cancelled,
            "backend": self.backend,
            "checks": [r.to_json(evidence=evidence) for r in self.results],
        }


Progress = Callable[[int, int, CheckResult], None]


def _evidence_document(document: Any, limit: int = 4000) -> Any:
    try:
        text = json.dumps(document, default=str)
    except (TypeError, ValueError):
        return repr(document)[:limit]
    return document if len(text) <= limit else text[:limit] + "…"


def run_check(
    check: Check,
    lab: Lab,
    workspace: Path,
    seed: int,
    *,
    capabilities: frozenset[str] | None = None,
    cancel: threading.Event | None = None,
) -> CheckResult:
    """Evaluate one check; never raises for anything in the learner's workspace.

    ``capabilities`` default to what is here now (:func:`grading_capabilities`).
    """
    from grader.checks.sources import load_document
    from grader.checks.sources.base import NotGradable, SourceContext, SourceError
    from grader.cluster.polling import poll_document

    started = time.monotonic()
    if capabilities is None:
        capabilities = grading_capabilities()[0]

    def result(status: Status, message: str, points: float = 0.0, **evidence: Any) -> CheckResult:
        return CheckResult(
            check.id,
            check.task,
            check.title,
            status,
            round(points, 2),
            check.points,
            check.required,
            message,
            evidence,
            round(time.monotonic() - started, 3),
        )

    missing = [n for n in check.needs if n not in capabilities]
    if missing:
        return result(
            "not_gradable",
            f"Not gradable here: this check needs {', '.join(missing)}, which this backend "
            "does not have. It is not counted as passed.",
        )
    ctx = SourceContext(
        workspace=workspace, lab_dir=lab.folder, seed=seed, cancel=cancel, capabilities=capabilities
    )
    try:
        document = poll_document(  # loads once unless the source has `wait` or `poll`
            check.source, ctx, load_document, lambda doc: match(check.expect, doc).ok
        )
    except NotGradable as exc:
        return result("not_gradable", f"Not gradable here: {exc}. It is not counted as passed.")
    except SourceError as exc:
        return result("failed", f"{check.message} — {exc}", reason=str(exc))
    except Exception as exc:  # a grader bug must still leave a readable result
        return result(
            "failed",
            f"{check.message} — the check could not run: {type(exc).__name__}: {exc}",
            reason=repr(exc),
        )
    try:
        outcome = match(check.expect, document)
    except ExpectationError as exc:
        return result("failed", f"The lab's check is malformed: {exc}", reason=str(exc))
    evidence = {
        "mismatches": [str(m) for m in outcome.mismatches],
        "document": _evidence_document(document),
    }
    if outcome.ok:
        return result("passed", check.title, check.points, **evidence)
    points = check.points * outcome.share if check.partial else 0.0
    details = "; ".join(str(m) for m in outcome.mismatches[:3])
    more = len(outcome.mismatches) - 3
    if more > 0:
        details += f"; and {more} more"
    return result("failed", f"{check.message} ({details})", points, **evidence)


def run_checks(
    lab: Lab,
    workspace: Path,
    seed: int,
    *,
    task: str | None = None,
    capabilities: frozenset[str] | None = None,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
    backend: str | None = None,
) -> LabRun:
    """Run every check of ``lab`` (or of one task), reporting progress after each.

    ``capabilities`` default to what is here now, and ``backend`` to its name.
    """
    if capabilities is None:
        capabilities, backend = grading_capabilities()
    checks = [c for c in lab.checks if task is None or c.task == task]
    results: list[CheckResult] = []
    cancelled = False
    for i, check in enumerate(checks):
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        outcome = run_check(check, lab, workspace, seed, capabilities=capabilities, cancel=cancel)
        results.append(outcome)
        if progress is not None:
            progress(i + 1, len(checks), outcome)
    if cancelled:
        done = {r.check_id for r in results}
        results += [
            CheckResult(
                c.id,
                c.task,
                c.title,
                "skipped",
                0.0,
                c.points,
                c.required,
                "Skipped: the check run was cancelled.",
            )
            for c in checks
            if c.id not in done
        ]
    return LabRun(lab.id, results, cancelled, backend or "local")
