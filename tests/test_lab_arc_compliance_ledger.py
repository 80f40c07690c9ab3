"""Lab arc-compliance-ledger: a fresh start fails, the solution scores full marks, the grader's
chain arithmetic is the one the lab states, and broken ledgers and ledger tools (spaced JSON
in the hash, hashing the path instead of the bytes, a local timestamp, a verify that only
checks each entry on its own, a wrong FAIL line, an append that rewrites the file, a tool that
crashes, a corrupt ledger) fail the right check with a readable reason.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from grader.content import load_content
from grader.labs.model import Lab
from grader.labs.runner import CheckResult, run_check, run_checks
from grader.labs.workspace import solve, start
from grader.store.db import open_store

LAB_ID = "arc-compliance-ledger"
LAB_DIR = Path(__file__).resolve().parents[1] / "labs" / LAB_ID
SOLUTION = (LAB_DIR / "solution" / "ledger.py").read_text()


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_content(questions=False).lab(LAB_ID)


@pytest.fixture(scope="module")
def checks_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_ledger_checks", LAB_DIR / "checks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lifecycle(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("certlab-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CERTLAB_HOME", str(home))
        store = open_store(home / "certlab.db")
        try:
            row, created = start(store, lab, "tester")
            assert created
            workspace = Path(row["workspace"])
            fresh = run_checks(lab, workspace, row["seed"])
            solve(store, lab, "tester")
            solved = run_checks(lab, workspace, row["seed"])
        finally:
            store.close()
    yield {"fresh": fresh, "solved": solved, "workspace": workspace, "seed": row["seed"]}


def _variant(
    lifecycle: dict[str, Any], tmp_path: Path, *edits: tuple[str, str], record: bool = False
) -> Path:
    """A copy of the solved workspace with a patched ledger.py (re-recording the run if asked)."""
    copy = tmp_path / "ws"
    shutil.copytree(lifecycle["workspace"], copy)
    script = SOLUTION
    for old, new in edits:
        assert old in script, old
        script = script.replace(old, new)
    (copy / "ledger.py").write_text(script)
    if record:
        for name in ("ledger.jsonl", "ledger.head"):
            (copy / name).unlink(missing_ok=True)
        _record(copy)
    return copy


def _record(workspace: Path) -> None:
    sha = {
        k: hashlib.sha256((workspace / p).read_bytes()).hexdigest()
        for k, p in (("data", "data/transactions.csv"), ("code", "src/train.py"))
    }
    for args in (
        ["--kind", "data", "--ref", "data/transactions.csv", "--meta", "version=2026.11"],
        ["--kind", "code", "--ref", "src/train.py", "--meta", "version=1.4.0"],
        [
            "--kind",
            "model",
            "--ref",
            "models/churn-model.joblib",
            "--meta",
            "version=7",
            "--meta",
            f"data_sha256={sha['data']}",
            "--meta",
            f"code_sha256={sha['code']}",
        ],
    ):
        subprocess.run(
            [sys.executable, "ledger.py", "append", *args],
            cwd=workspace,
            check=True,
            capture_output=True,
            timeout=60,
        )


def _check(lab: Lab, workspace: Path, seed: int, check_id: str) -> CheckResult:
    check = next(c for c in lab.checks if c.id == check_id)
    return run_check(check, lab, workspace, seed)


def _failed(lab: Lab, workspace: Path, seed: int, check_id: str, *words: str) -> str:
    result = _check(lab, workspace, seed, check_id)
    assert result.status == "failed", (check_id, result.message)
    assert result.points == 0
    for word in words:
        assert word in result.message, (check_id, word, result.message)
    return result.message


def _entries(workspace: Path) -> list[dict[str, Any]]:
    text = (workspace / "ledger.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# the lab itself ----------------------------------------------------------------------------


def test_lab_is_well_formed(lab: Lab) -> None:
    assert lab.level == "architect" and lab.domains == ("governance",)
    assert lab.requires == ()
    assert len(lab.checks) >= 5
    assert any(not c.required for c in lab.checks)
    for task in lab.tasks:
        assert 2 <= len(task.hints) <= 4
    text = "\n".join(t.instructions for t in lab.tasks)
    for convention in (
        'separators=(",", ":")',
        "sort_keys=True",
        '"0" * 64',
        "FAIL seq=<N>",
        "LEDGER_ACTOR",
        "ledger.head",
        "OK <count> entries",
    ):
        assert convention in text, convention


def test_fresh_start_fails_every_required_check(lifecycle: dict[str, Any]) -> None:
    run = lifecycle["fresh"]
    assert not run.passed and run.score == 0
    for result in run.results:
        assert result.status == "failed", (result.check_id, result.message)
        assert "Traceback" not in result.message


def test_solution_scores_full_marks(lifecycle: dict[str, Any], lab: Lab) -> None:
    run = lifecycle["solved"]
    assert [(r.check_id, r.message) for r in run.results if not r.passed] == []
    assert run.passed and run.score == run.max_score == lab.max_score


def test_chain_arithmetic_is_the_stated_one(
    lifecycle: dict[str, Any], checks_module: ModuleType
) -> None:
    entries = _entries(lifecycle["workspace"])
    assert [e["kind"] for e in entries] == ["data", "code", "model"]
    previous = "0" * 64
    for entry in entries:
        body = {k: v for k, v in entry.items() if k != "entry_hash"}
        stated = hashlib.sha256(
            json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
        ).hexdigest()
        assert entry["entry_hash"] == stated == checks_module.entry_hash(entry)
        assert entry["prev_hash"] == previous
        previous = entry["entry_hash"]
    ws = lifecycle["workspace"]
    assert (
        entries[2]["sha256"]
        == hashlib.sha256((ws / "models/churn-model.joblib").read_bytes()).hexdigest()
    )
    assert (ws / "ledger.head").read_text().strip() == previous
    # the grader's own ledgers are valid, and each tamper breaks where the lab says
    ctx = SimpleNamespace(seed=lifecycle["seed"])
    scenarios = checks_module.scenarios(ctx, ws)
    assert checks_module.chain(scenarios["good"][0]) == "ok"
    assert checks_module.chain(scenarios["edited"][0]).startswith("seq 4:")
    assert checks_module.chain(scenarios["rehashed"][0]).startswith("seq 3:")
    assert checks_module.chain(scenarios["deleted"][0]).startswith("line 2 has seq 3")
    assert checks_module.chain(scenarios["truncated"][0]) == "ok"  # only the head shows it


def test_setup_is_deterministic(checks_module: ModuleType, lifecycle: dict[str, Any]) -> None:
    a = checks_module._artifact_bytes(lifecycle["seed"])
    assert a == checks_module._artifact_bytes(lifecycle["seed"])
    assert (lifecycle["workspace"] / "data/transactions.csv").read_bytes() == a["data"]


# broken learner work -----------------------------------------------------------------------


def test_spaced_json_in_the_hash(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            'return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")',
            'return json.dumps(body, sort_keys=True).encode("utf-8")',
        ),
        record=True,
    )
    seed = lifecycle["seed"]
    _failed(lab, copy, seed, "chain-valid", "seq 1: entry_hash is not the hash of the entry")
    _failed(lab, copy, seed, "append-extends-chain", "exit 1")  # it refuses the grader's chain
    _failed(lab, copy, seed, "verify-accepts-good", "exit 1 on a good ledger", "FAIL seq=1")
    assert _check(lab, copy, seed, "ledger-wellformed").passed
    assert _check(lab, copy, seed, "pipeline-recorded").passed


def test_hash_of_the_path_not_the_bytes(
    lifecycle: dict[str, Any], lab: Lab, tmp_path: Path
) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            '"sha256": sha256_file(path) if path.is_file() else None,',
            '"sha256": hashlib.sha256(args.ref.encode()).hexdigest() if path.is_file() else None,',
        ),
        record=True,
    )
    seed = lifecycle["seed"]
    message = _failed(lab, copy, seed, "pipeline-recorded", "sha256 is not the file's")
    assert "$.pipeline.data" in message
    _failed(lab, copy, seed, "append-extends-chain", "seq 4: sha256")
    assert _check(lab, copy, seed, "chain-valid").passed


def test_local_timestamp(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            "dt.datetime.now(dt.UTC)",
            "dt.datetime.now()",  # local time, no zone
        ),
        record=True,
    )
    seed = lifecycle["seed"]
    _failed(lab, copy, seed, "ledger-wellformed", "timestamp not ISO-8601 UTC")
    _failed(lab, copy, seed, "chain-valid", "malformed entries")
    _failed(lab, copy, seed, "append-extends-chain", "$.wellformed")


def test_verify_that_checks_entries_one_by_one(
    lifecycle: dict[str, Any], lab: Lab, tmp_path: Path
) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        ('        if entry["prev_hash"] != previous:\n', "        if False:\n"),
        ('        if entry["seq"] != position:\n', "        if False:\n"),
    )
    seed = lifecycle["seed"]
    _failed(lab, copy, seed, "verify-detects-rehash", "exit 0 on a tampered ledger")
    _failed(lab, copy, seed, "verify-detects-deletion", "exit 0 on a tampered ledger")
    assert _check(lab, copy, seed, "verify-detects-edit").passed
    assert _check(lab, copy, seed, "verify-accepts-good").passed


def test_verify_with_the_wrong_fail_line(
    lifecycle: dict[str, Any], lab: Lab, tmp_path: Path
) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            'f"FAIL seq={exc.seq}: {exc.reason}" if exc.seq',
            'f"tampered entry at line {exc.seq}" if exc.seq',
        ),
    )
    seed = lifecycle["seed"]
    _failed(lab, copy, seed, "verify-detects-edit", "no 'FAIL seq=4'", "tampered entry at line 4")
    assert _check(lab, copy, seed, "verify-detects-truncation").passed  # any non-zero exit


def test_append_that_rewrites_the_file(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        (
            '    with open(ledger, "a", encoding="utf-8") as fh:\n'
            '        fh.write(json.dumps(entry, sort_keys=True) + "\\n")\n',
            '    with open(ledger, "w", encoding="utf-8") as fh:\n'
            "        for item in [*entries, entry]:\n"
            '            fh.write(json.dumps(item, separators=(",", ":")) + "\\n")\n',
        ),
    )
    seed = lifecycle["seed"]
    _failed(lab, copy, seed, "append-extends-chain", "the first 3 lines were rewritten")


def test_no_head_anchor(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle,
        tmp_path,
        ('    head_path(ledger).write_text(entry["entry_hash"] + "\\n", encoding="utf-8")\n', ""),
        (
            "    head = head_path(ledger)\n    if head.exists():",
            "    head = head_path(ledger)\n    if False:",
        ),
    )
    run = {r.check_id: r for r in run_checks(lab, copy, lifecycle["seed"]).results}
    assert run["head-anchored"].status == "failed" and "not updated" in run["head-anchored"].message
    assert run["verify-detects-truncation"].status == "failed"
    assert "exit 0 on a tampered ledger" in run["verify-detects-truncation"].message
    assert all(r.passed for r in run.values() if r.required)  # optional points only


def test_tool_that_crashes(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(
        lifecycle, tmp_path, ("import argparse\n", "import argparse\nimport ledgerlib\n")
    )
    seed = lifecycle["seed"]
    _failed(lab, copy, seed, "append-extends-chain", "ModuleNotFoundError")
    _failed(lab, copy, seed, "verify-accepts-good", "ModuleNotFoundError")
    _failed(lab, copy, seed, "verify-detects-edit", "no 'FAIL seq=4'")


def test_corrupt_ledger(lifecycle: dict[str, Any], lab: Lab, tmp_path: Path) -> None:
    copy = _variant(lifecycle, tmp_path)
    (copy / "ledger.jsonl").write_text('{"seq": 1, "kind": "data"\nnot json at all\n')
    seed = lifecycle["seed"]
    _failed(lab, copy, seed, "ledger-wellformed", "line 1 is not JSON")
    _failed(lab, copy, seed, "pipeline-recorded", "$.wellformed")
    _failed(lab, copy, seed, "verify-accepts-good", "your ledger's chain is broken")
    (copy / "ledger.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    _failed(lab, copy, seed, "chain-valid", "cannot be read as UTF-8")


def test_edited_own_ledger_is_caught_by_the_grader(
    lifecycle: dict[str, Any], lab: Lab, tmp_path: Path
) -> None:
    copy = _variant(lifecycle, tmp_path)
    entries = _entries(copy)
    entries[2]["meta"]["version"] = "8"  # a quiet edit of the model's version
    (copy / "ledger.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    seed = lifecycle["seed"]
    _failed(lab, copy, seed, "chain-valid", "seq 3: entry_hash is not the hash of the entry")
    env = {**os.environ}
    done = subprocess.run(
        [sys.executable, "ledger.py", "verify"], cwd=copy, capture_output=True, text=True, env=env
    )
    assert done.returncode == 1 and done.stdout.startswith("FAIL seq=3")
