"""The ``certlab`` command: machine output, the exam flow end to end, and clean failures."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, right_answer, wrong_answer

from grader.cli import main
from grader.exams.presented import Presented
from grader.exams.session import Session
from grader.store.db import open_store

LEVELS = ["foundation", "engineer", "professional", "architect"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str, code: int = 0):
    got, out, err = run(capsys, *argv)
    assert got == code, err
    return json.loads(out)


@pytest.fixture
def mini(mini_content, monkeypatch) -> Path:
    """Point the CLI at the mini content."""
    monkeypatch.setenv("CERTLAB_CONTENT", str(mini_content))
    return mini_content


def as_typed(p: Presented, response) -> str:
    """A response as typed on the command line: option numbers as shown, or the number."""
    if p.kind == "numeric":
        return repr(float(response))
    ids = [response] if isinstance(response, str) else response
    return ",".join(str(p.option_order.index(i) + 1) for i in ids)


def items_of(attempt: int):
    with open_store() as db:
        return Session(db, attempt).items


# --- listing and counting the shipped content -------------------------------------------------


def test_exam_list_json_has_the_issue_numbers_for_every_level(capsys):
    forms = run_json(capsys, "exam", "list", "--json")
    for f in forms:
        assert set(f) >= {"id", "level", "minutes", "questions", "pass_mark"}
    by_id = {f["id"]: f for f in forms}
    expected = {
        "foundation": (60, 40, 70),
        "engineer": (90, 60, 70),
        "professional": (150, 80, 75),
        "architect": (180, 60, 75),
    }
    for form_id, (minutes, questions, pass_mark) in expected.items():
        f = by_id[form_id]
        assert (f["level"], f["minutes"], f["questions"], f["pass_mark"]) == (
            form_id,
            minutes,
            questions,
            pass_mark,
        )
    # listed up the ladder
    ranks = [LEVELS.index(f["level"]) for f in forms]
    assert ranks == sorted(ranks)


def test_exam_list_plain_is_a_table(capsys):
    code, out, _ = run(capsys, "exam", "list")
    assert code == 0
    assert out.splitlines()[0].split() == ["ID", "LEVEL", "QUESTIONS", "TIME", "PASS", "TITLE"]
    assert any(line.startswith("professional ") and "150 min" in line for line in out.splitlines())


def test_content_stats_json_on_the_shipped_content(capsys):
    stats = run_json(capsys, "content", "stats", "--json")
    assert list(stats["levels"]) == LEVELS
    for level in stats["levels"].values():
        assert isinstance(level["questions"], int)
        assert isinstance(level["forms"], int)
        assert sum(level["domains"].values()) == level["questions"]
    assert stats["total"] == sum(level["questions"] for level in stats["levels"].values())


def test_content_stats_json_counts_the_mini_bank(capsys, mini):
    stats = run_json(capsys, "content", "stats", "--json")
    foundation, engineer = stats["levels"]["foundation"], stats["levels"]["engineer"]
    assert foundation["questions"] == 12
    assert foundation["domains"] == {"lifecycle": 6, "serving": 4, "monitoring": 2}
    assert foundation["allocation"] == {"lifecycle": 4, "serving": 3, "monitoring": 3}
    assert foundation["forms"] == 0  # monitoring cannot fill even one form
    assert foundation["parametric"] == 1
    assert engineer["questions"] == 9 and engineer["case_studies"] == 1
    assert engineer["forms"] == 1
    assert stats["total"] == 21


# --- an exam from start to history ------------------------------------------------------------


def test_exam_start_answer_submit_show_history(capsys, mini):
    started = run_json(capsys, "exam", "start", "foundation", "--json", "--seed", "7")
    attempt = started["attempt"]
    assert started["status"] == "open" and started["mode"] == "exam" and started["seed"] == 7
    assert started["total"] == 10 and started["answered"] == 0 and started["current"] == 1
    assert 598 <= started["remaining_seconds"] <= 600

    items = items_of(attempt)
    for item in items[:7]:
        typed = as_typed(item.presented, right_answer(item.presented))
        saved = run_json(
            capsys, "exam", "answer", str(attempt), str(item.position + 1), typed, "--json"
        )
        assert saved == {"attempt": attempt, "position": item.position + 1, "saved": True}
    for item in items[7:9]:
        typed = as_typed(item.presented, wrong_answer(item.presented))
        run_json(capsys, "exam", "answer", str(attempt), str(item.position + 1), typed, "--json")

    resumed = run_json(capsys, "exam", "resume", str(attempt), "--json")
    assert resumed["answered"] == 9 and resumed["current"] == 9 and resumed["status"] == "open"

    result = run_json(capsys, "exam", "submit", str(attempt), "--json")
    assert (result["correct"], result["total"], result["score"]) == (7, 10, 70.0)
    assert result["passed"] is True and result["auto_submitted"] is False
    assert sum(d["total"] for d in result["domains"]) == 10

    shown = run_json(capsys, "exam", "show", str(attempt), "--json")
    assert shown["score"] == 70.0
    assert [i["position"] for i in shown["items"]] == list(range(1, 11))
    assert [i["correct"] for i in shown["items"]] == [True] * 7 + [False] * 3
    assert shown["items"][9]["response"] is None
    assert [i["question_id"] for i in shown["items"]] == [i.presented.question_id for i in items]
    assert all(len(i["content_hash"]) == 16 for i in shown["items"])

    history = run_json(capsys, "history", "--json")
    assert [(h["id"], h["status"], h["score"], h["passed"]) for h in history] == [
        (attempt, "submitted", 70.0, True)
    ]
    assert history[0]["learner"] == "tester" and history[0]["answered"] == 9


def test_exam_show_plain_reviews_every_item(capsys, mini):
    attempt = run_json(capsys, "exam", "start", "foundation", "--json", "--seed", "7")["attempt"]
    for item in items_of(attempt):  # every kind answered, numeric ones included
        typed = as_typed(item.presented, right_answer(item.presented))
        run_json(capsys, "exam", "answer", str(attempt), str(item.position + 1), typed, "--json")
    run_json(capsys, "exam", "submit", str(attempt), "--json")
    code, out, err = run(capsys, "exam", "show", str(attempt))
    assert code == 0, err
    assert "100.0% (10/10) — PASS" in out
    for n in range(1, 11):
        assert f"### Question {n} " in out
    assert out.count("Reference: https://") == 10


def test_a_failed_exam_exits_1(capsys, mini):
    attempt = run_json(capsys, "exam", "start", "foundation", "--json", "--seed", "3")["attempt"]
    result = run_json(capsys, "exam", "submit", str(attempt), "--json", code=1)
    assert result["passed"] is False and result["score"] == 0
    assert run(capsys, "exam", "show", str(attempt), "--json")[0] == 1


def test_one_seed_gives_a_classroom_the_same_exam(capsys, mini):
    a = run_json(
        capsys, "--learner", "ada", "exam", "start", "foundation", "--json", "--seed", "42"
    )
    b = run_json(
        capsys, "--learner", "grace", "exam", "start", "foundation", "--json", "--seed", "42"
    )
    first, second = items_of(a["attempt"]), items_of(b["attempt"])
    assert [(i.presented.question_id, i.presented.option_order) for i in first] == [
        (i.presented.question_id, i.presented.option_order) for i in second
    ]
    everyone = run_json(capsys, "history", "--all", "--json")
    assert {h["learner"] for h in everyone} == {"ada", "grace"}
    assert run_json(capsys, "history", "--json") == []  # 'tester' has sat nothing


def test_practice_answers_come_back_with_feedback(capsys, mini):
    started = run_json(capsys, "practice", "foundation", "--count", "3", "--seed", "1", "--json")
    assert started["mode"] == "practice" and started["total"] == 3
    assert started["deadline"] is None and started["remaining_seconds"] is None
    item = items_of(started["attempt"])[0]
    right = as_typed(item.presented, right_answer(item.presented))
    out = run_json(capsys, "exam", "answer", str(started["attempt"]), "1", right, "--json")
    assert out["correct"] is True and out["key"]
    wrong = as_typed(item.presented, wrong_answer(item.presented))
    out = run_json(capsys, "exam", "answer", str(started["attempt"]), "1", wrong, "--json")
    assert out["correct"] is False


def test_drill_one_domain(capsys, mini):
    started = run_json(capsys, "drill", "foundation", "--domain", "serving", "--json")
    assert started["mode"] == "drill" and started["total"] == 4  # the whole domain
    assert {i.presented.domain for i in items_of(started["attempt"])} == {"serving"}


def test_drill_what_i_missed(capsys, mini):
    code, _, err = run(capsys, "drill", "foundation", "--missed", "--json")
    assert code == 1 and "nothing missed" in err
    attempt = run_json(capsys, "exam", "start", "foundation", "--json", "--seed", "5")["attempt"]
    items = items_of(attempt)
    for item in items[:8]:
        typed = as_typed(item.presented, right_answer(item.presented))
        run_json(capsys, "exam", "answer", str(attempt), str(item.position + 1), typed, "--json")
    run_json(capsys, "exam", "submit", str(attempt), "--json")
    drill = run_json(capsys, "drill", "foundation", "--missed", "--json")
    assert drill["total"] == 2
    assert {i.presented.question_id for i in items_of(drill["attempt"])} == {
        i.presented.question_id for i in items[8:]
    }


def test_locate_json_honours_certlab_home(capsys, isolated_home, mini):
    where = run_json(capsys, "locate", "--json")
    assert where["home"] == str(isolated_home)
    assert where["database"] == str(isolated_home / "data" / "certlab.db")
    assert where["config"] == str(isolated_home / "config" / "config.toml")
    assert where["workspaces"] == str(isolated_home / "workspaces")
    assert where["content"] == str(mini)


def test_the_learner_comes_from_the_environment_then_the_flag(capsys, mini, monkeypatch):
    monkeypatch.setenv("CERTLAB_LEARNER", "env-learner")
    run_json(capsys, "practice", "foundation", "--count", "2", "--json")
    run_json(
        capsys, "--learner", "flag-learner", "practice", "foundation", "--count", "2", "--json"
    )
    with open_store() as db:
        assert db.learners() == ["env-learner", "flag-learner"]


# --- failures: an exit code and one line -------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["exam", "start", "nope", "--json"], "unknown exam 'nope'"),
        (["exam", "answer", "999", "1", "1"], "no attempt 999"),
        (["exam", "show", "999"], "no attempt 999"),
        (["practice", "expert", "--json"], "unknown level 'expert'"),
        (["drill", "foundation", "--domain", "gpu", "--json"], "has no domain 'gpu'"),
    ],
)
def test_unknown_ids_exit_2_with_one_line(capsys, mini, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("certlab: ") and message in err


def test_bad_answers_exit_2_with_one_line(capsys, mini):
    attempt = run_json(capsys, "exam", "start", "foundation", "--json", "--seed", "7")["attempt"]
    single = next(i for i in items_of(attempt) if i.presented.kind == "single")
    pos = str(single.position + 1)
    for argv, message in [
        ([pos, "x"], "give option numbers"),
        ([pos, "9"], "option numbers run from 1 to"),
        ([pos, "1,2"], "choose one of"),
        (["11", "1"], "has questions 1 to 10"),
    ]:
        code, _, err = run(capsys, "exam", "answer", str(attempt), *argv)
        assert code == 2, argv
        assert err.count("\n") == 1 and message in err, err
    code, _, err = run(capsys, "exam", "show", str(attempt))
    assert code == 2 and "still open" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["exam", "list", "--json"],
        ["exam", "start", "foundation", "--json"],
        ["practice", "foundation", "--json"],
    ],
)
def test_a_broken_tracks_file_is_reported_not_a_traceback(capsys, mini, argv):
    tracks = mini / "scenarios" / "tracks.yaml"
    tracks.write_text(tracks.read_text().replace("weight: 60", "weight: sixty"))
    code, _, err = run(capsys, *argv)  # must return, not raise
    assert code == 3, err
    assert err.startswith("certlab: ") and "Traceback" not in err


def certlab(*argv: str, **kw) -> subprocess.CompletedProcess:
    exe = shutil.which("certlab")
    assert exe, "the certlab script is installed with the package"
    return subprocess.run(
        [exe, *argv],
        capture_output=True,
        text=True,
        cwd=kw.pop("cwd", REPO),
        check=False,
        stdin=subprocess.DEVNULL,
        **kw,
    )


def test_the_installed_certlab_script_runs(tmp_path):
    proc = certlab("exam", "list", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {f["id"] for f in json.loads(proc.stdout)} >= set(LEVELS)


@pytest.mark.parametrize(
    "argv",
    [
        ["exam", "start"],  # a missing argument
        ["exam", "answer", "one", "1", "1"],  # not a number
        ["no-such-command"],
        ["drill", "foundation"],  # neither --domain nor --missed
    ],
)
def test_bad_usage_exits_2_with_one_line_and_no_traceback(argv):
    proc = certlab(*argv)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1, proc.stderr


def test_bare_certlab_without_a_terminal_says_so(tmp_path):
    proc = certlab(cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "certlab: the app needs a terminal; use a subcommand (certlab --help) in scripts"
    ]


def test_a_broken_database_is_one_line_not_a_traceback(isolated_home):
    db = isolated_home / "data" / "certlab.db"
    db.parent.mkdir(parents=True)
    db.write_text("not sqlite " * 100)
    proc = certlab("history", "--json")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "cannot use the progress database" in proc.stderr


def test_python_dash_m_grader_is_the_same_command(capsys):
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "locate", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == run_json(capsys, "locate", "--json")
