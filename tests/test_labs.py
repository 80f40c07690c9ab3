"""The lab engine end to end: lifecycle, hints, records, exports, the CLI contract and the TUI.

Every shipped lab is also proved here: a fresh start fails its required checks, and the
reference solution scores full marks.
"""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.cli import main
from grader.content import load_content
from grader.labs.export import export
from grader.labs.records import lab_status, next_hint, record_run, results_rows
from grader.labs.runner import run_checks
from grader.labs.workspace import LabError, require_started, reset, solve, start
from grader.store.db import Store, open_store

SHIPPED = load_content(questions=False)


@pytest.fixture
def mini(mini_content: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CERTLAB_CONTENT", str(mini_content))
    return load_content(mini_content).lab("mini-lab")


def _run(store: Store, lab, learner: str = "tester"):
    row = require_started(store, lab, learner)
    run = run_checks(lab, Path(row["workspace"]), row["seed"])
    record_run(store, row["id"], run)
    return run


@pytest.mark.parametrize("lab_id", sorted(SHIPPED.labs))
def test_every_shipped_lab_is_proved_by_its_own_tests(lab_id: str) -> None:
    """Each lab's module proves both ends: fresh fails, solved scores full marks.

    Those modules do the expensive work once per lab (MLflow, servers, clusters) and reuse it
    for their broken-work cases, so it is not repeated here.
    """
    lab = SHIPPED.lab(lab_id)
    assert len(lab.checks) >= (6 if "cluster" in lab.requires else 5)
    assert all(len(task.hints) >= 2 for task in lab.tasks)
    module = Path(__file__).with_name(f"test_lab_{lab_id.replace('-', '_')}.py")
    assert module.is_file(), f"{module.name} is missing"
    text = module.read_text()
    assert "def test_fresh_start_fails_every_required_check" in text
    assert "def test_solution_scores_full_marks" in text


def test_lifecycle_keeps_work_and_resets_in_place(store: Store, mini) -> None:
    row, created = start(store, mini, "tester")
    workspace = Path(row["workspace"])
    assert created and (workspace / "README.md").is_file()
    assert (workspace / "seed.txt").read_text().strip() == "7"  # setup ran
    assert not (workspace / "report.json").exists()  # the solution is never copied in
    (workspace / "notes.txt").write_text("mine")
    again, created = start(store, mini, "tester")
    assert not created and again["id"] == row["id"] and (workspace / "notes.txt").exists()
    inode = workspace.stat().st_ino
    reset(store, mini, "tester")
    assert workspace.stat().st_ino == inode  # the same folder: a shell sitting in it survives
    assert not (workspace / "notes.txt").exists() and (workspace / "seed.txt").exists()


def test_actions_need_a_started_lab(store: Store, mini) -> None:
    with pytest.raises(LabError, match="is not started"):
        reset(store, mini, "tester")
    with pytest.raises(LabError, match="certlab lab start mini-lab"):
        next_hint(store, mini, "tester")


def test_checks_explain_failures_and_never_pass_what_cannot_run(store: Store, mini) -> None:
    start(store, mini, "tester")
    workspace = Path(require_started(store, mini, "tester")["workspace"])
    (workspace / "report.json").write_text('{"model": "m2", "accuracy": 0.5}')
    (workspace / "ok.py").write_text("raise SystemExit(3)")
    run = _run(store, mini)
    by_id = {r.check_id: r for r in run.results}
    assert by_id["report-valid"].status == "failed"
    assert 'expected "m1", found "m2"' in by_id["report-valid"].message
    assert "expected ≥ 0.85, found 0.5" in by_id["report-accuracy"].message
    assert "at $.exit_code: expected 0, found 3" in by_id["script-runs"].message
    live = by_id["script-live"]
    assert live.status == "not_gradable" and live.points == 0 and not live.passed
    assert "Not gradable here" in live.message
    assert by_id["report-valid"].evidence["mismatches"]  # the raw diff is kept for instructors


def test_partial_solution_scores_partially_and_records_best_and_latest(store: Store, mini) -> None:
    start(store, mini, "tester")
    workspace = Path(require_started(store, mini, "tester")["workspace"])
    (workspace / "report.json").write_text('{"model": "m1", "accuracy": 0.9}')
    first = _run(store, mini)
    assert first.score == 3 and not first.passed
    (workspace / "report.json").write_text("{not json")
    second = _run(store, mini)
    assert second.score == 0
    assert (
        "not valid JSON" in next(r for r in second.results if r.check_id == "report-valid").message
    )
    status = lab_status(store, mini, "tester")
    assert (status.runs, status.best, status.latest, status.passed) == (2, 3, 0, False)
    assert status.max_score == 6


def test_hints_are_a_ladder_and_recorded(store: Store, mini) -> None:
    start(store, mini, "tester")
    first = next_hint(store, mini, "tester")
    second = next_hint(store, mini, "tester")
    third = next_hint(store, mini, "tester")
    assert (first.task_id, first.index, second.index, third.index) == ("report", 0, 1, 1)
    assert first.text != second.text
    assert next_hint(store, mini, "tester", "script").task_id == "script"
    assert lab_status(store, mini, "tester").hints == 3


def test_cancelled_run_skips_the_rest(store: Store, mini) -> None:
    start(store, mini, "tester")
    row = require_started(store, mini, "tester")
    cancel = threading.Event()

    def progress(done: int, total: int, result) -> None:
        cancel.set()

    run = run_checks(mini, Path(row["workspace"]), row["seed"], cancel=cancel, progress=progress)
    assert run.cancelled and not run.passed
    assert [r.status for r in run.results][1:] == ["skipped"] * 3


def test_exports_in_every_format(store: Store, mini) -> None:
    solve(store, mini, "tester")
    _run(store, mini)
    start(store, mini, "other")
    _run(store, mini, "other")
    rows = results_rows(store)
    assert [(r["learner"], r["score"]) for r in rows] == [("other", 0), ("tester", 5)]
    csv_text = export(rows, "csv")
    assert csv_text.splitlines()[0].startswith("learner,lab,task,check,status")
    assert len(csv_text.splitlines()) == 1 + 2 * 4
    tester_json = json.loads(export(rows, "json"))["results"][1]
    assert tester_json["passed"] is True  # every required check passes
    live = next(c for c in tester_json["checks"] if c["id"] == "script-live")
    assert (live["status"], live["passed"], live["points"]) == ("not_gradable", False, 0)
    suites = ET.fromstring(export(rows, "junit"))
    tester = next(s for s in suites if s.get("name") == "tester.mini-lab")
    assert (tester.get("tests"), tester.get("failures"), tester.get("skipped")) == ("4", "0", "1")
    grades = json.loads(export(rows, "gradescope"))
    assert grades["score"] == 5 and grades["max_score"] == 12 and len(grades["tests"]) == 8
    assert {t["status"] for t in grades["tests"]} == {"passed", "failed"}


def test_cli_json_contracts(mini, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["id"] == "mini-lab" and listed[0]["requires"] == []
    assert {"id", "level", "title", "requires"} <= set(listed[0])
    assert main(["lab", "check", "mini-lab", "--json"]) == 2  # not started: a usage error
    assert "is not started" in capsys.readouterr().err
    assert main(["lab", "start", "mini-lab", "--json"]) == 0
    capsys.readouterr()
    assert main(["lab", "check", "mini-lab", "--json"]) == 1
    checked = json.loads(capsys.readouterr().out)
    assert {"lab", "score", "max_score", "checks"} <= set(checked)
    assert checked["lab"] == "mini-lab" and checked["score"] == 0 and checked["max_score"] == 6
    for c in checked["checks"]:
        assert {"id", "passed", "points", "max_points", "message"} <= set(c)
    assert main(["lab", "hint", "mini-lab", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["index"] == 0
    assert main(["lab", "solve", "mini-lab", "--json"]) == 0
    capsys.readouterr()
    assert main(["lab", "check", "mini-lab", "--json"]) == 0  # every required check passes
    assert json.loads(capsys.readouterr().out)["score"] == 5
    assert main(["lab", "status", "mini-lab", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "passed"
    assert main(["export", "results", "--format", "junit"]) == 0
    assert "<testsuites" in capsys.readouterr().out
    assert main(["lab", "check", "no-such-lab"]) == 2


def test_lab_screen_checks_in_a_worker(mini_content: Path) -> None:
    import asyncio

    from grader.settings import Settings
    from tui.app import make_app
    from tui.screens.labs import LabScreen, LabsScreen

    async def scenario() -> None:
        app = make_app(Settings(learner="pilot"), content_root=mini_content)
        async with app.run_test(size=(100, 30)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("l")
            await pilot.pause()
            assert isinstance(app.screen, LabsScreen)
            await pilot.press("enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, LabScreen)
            await pilot.press("c")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert screen.last_run is not None and not screen.last_run.passed
            table = screen.query_one("#checks")
            assert table.get_row("report-valid")[0] == "✗"
            assert table.get_row("script-live")[0] == "–"
            # the highlighted failing check explains itself under the table
            assert "report.json does not exist" in str(screen.query_one("#check-summary").render())
            await pilot.press("h")
            await pilot.pause()
            assert screen.hints and "workspace root" in screen.hints[0]
        with open_store() as db:
            assert db.one("SELECT COUNT(*) AS n FROM lab_runs")["n"] == 1
            assert db.one("SELECT COUNT(*) AS n FROM lab_hints")["n"] == 1

    asyncio.run(scenario())
