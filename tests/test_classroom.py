"""The classroom: class files, joining inside the window, signed bundles, collecting, the
instructor's view and exports. Each person has their own CERTLAB_HOME (their own machine)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import FakeClock, right_answer, wrong_answer

from grader.classroom.bundles import seal, verify
from grader.classroom.classfile import (
    ClassFileError,
    ClassWindowError,
    learner_key,
    read_class_file,
)
from grader.classroom.join import join_class
from grader.cli import main
from grader.content import load_content
from grader.exams import forms
from grader.exams.session import Session, recent_question_ids
from grader.store.db import open_store

SEED = 7


class Room:
    """People on separate machines: each name is a CERTLAB_HOME under tmp_path."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
        self.tmp = tmp_path
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def home(self, who: str) -> Path:
        return self.tmp / "homes" / who

    def run(self, who: str, *argv: str, learner: bool = True) -> tuple[int, str, str]:
        self.monkeypatch.setenv("CERTLAB_HOME", str(self.home(who)))
        self.capsys.readouterr()
        code = main([*(["--learner", who] if learner else []), *argv])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, who: str, *argv: str, code: int = 0, learner: bool = True):
        got, out, err = self.run(who, *argv, "--json", learner=learner)
        assert got == code, err
        return json.loads(out)

    def teacher(self, *argv: str, code: int = 0):
        return self.json("teacher", *argv, code=code, learner=False)

    def db(self, who: str):
        return open_store(self.home(who) / "data" / "certlab.db")

    def answer(self, who: str, attempt: int, right: list[bool]) -> None:
        """Answer every question: right or wrong by position (cycling ``right``)."""
        with self.db(who) as db:
            session = Session(db, attempt)
            for i, item in enumerate(session.items):
                ok = right[i % len(right)]
                p = item.presented
                session.answer(i, right_answer(p) if ok else wrong_answer(p))


@pytest.fixture
def room(tmp_path, mini_content, monkeypatch, capsys) -> Room:
    monkeypatch.setenv("CERTLAB_CONTENT", str(mini_content))
    return Room(tmp_path, monkeypatch, capsys)


def iso_in(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).replace(microsecond=0).isoformat()


def create(room: Room, *extra: str, name: str = "June cohort", out: str | None = None) -> dict:
    out = out or str(room.tmp / "june.class.json")
    return room.teacher(
        "class", "create", name, "--exam", "foundation", "--seed", str(SEED),
        "--closes", iso_in(days=1), "--labs", "mini-lab", "--out", out, *extra,
    )  # fmt: skip


def form_of(room: Room, who: str, attempt: int) -> list[tuple[str, list[str]]]:
    with room.db(who) as db:
        return [
            (i.presented.question_id, i.presented.option_order) for i in Session(db, attempt).items
        ]


def sit_and_submit(room: Room, who: str, class_file: Path, right: list[bool], folder: Path):
    joined = room.json(who, "class", "join", str(class_file))
    room.answer(who, joined["attempt"], right)
    return room.json(who, "class", "submit", "--out", str(folder) + "/")


def bundles_in(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.bundle.json"))


# --- creating and joining -------------------------------------------------------------------


def test_every_learner_gets_the_same_form_even_with_recent_attempts(room, content):
    made = create(room)
    cf = read_class_file(Path(made["files"][0]))
    assert cf.seed == SEED and cf.exam == "foundation" and cf.labs == ("mini-lab",)
    assert re.fullmatch(r"[0-9a-f]{64}", cf.key) and cf.key_scheme == "class"
    assert cf.opens_at.tzinfo is not None and cf.closes_at > cf.opens_at

    # alice has sat the foundation exam before: avoidance would steer her draw elsewhere
    with room.db("alice") as db:
        earlier = Session.start(db, content, "alice", form=content.form("foundation"), seed=99)
        earlier.submit()
        recent = recent_question_ids(db, db.learner_id("alice"), "foundation")
    class_ids = [q.id for q in forms.draw(content, "foundation", 10, SEED)]
    avoided = [q.id for q in forms.draw(content, "foundation", 10, SEED, avoid=recent)]
    assert recent and avoided != class_ids  # the check below means something

    a = room.json("alice", "class", "join", made["files"][0])
    b = room.json("bob", "class", "join", made["files"][0])
    assert a["created"] and b["created"] and a["status"] == "open"
    form_a, form_b = form_of(room, "alice", a["attempt"]), form_of(room, "bob", b["attempt"])
    assert form_a == form_b
    assert [qid for qid, _ in form_a] == class_ids
    with room.db("teacher") as db:
        from grader.classroom.registry import get_class

        snapshot = get_class(db, role="instructor").form
    assert [(p.question_id, p.option_order) for p in snapshot.items] == form_a

    # joining again reopens the same attempt
    again = room.json("alice", "class", "join", made["files"][0])
    assert (again["created"], again["attempt"]) == (False, a["attempt"])


def test_joining_is_refused_before_opening_and_after_closing(room):
    later = room.tmp / "later.class.json"
    room.teacher(
        "class", "create", "Later", "--exam", "foundation", "--opens", iso_in(hours=2),
        "--closes", iso_in(hours=5), "--out", str(later),
    )  # fmt: skip
    code, _, err = room.run("alice", "class", "join", str(later), "--json")
    assert code == 1
    assert "opens at" in err and "cannot join it before then" in err and "in 2 h" in err

    over = room.tmp / "over.class.json"
    room.teacher(
        "class", "create", "Over", "--exam", "foundation", "--opens", "2020-01-06T09:00+01:00",
        "--closes", "2020-01-06T12:00+01:00", "--out", str(over),
    )  # fmt: skip
    code, _, err = room.run("alice", "class", "join", str(over), "--json")
    assert code == 1
    assert "closed at 2020-01-06 12:00 +0100" in err and "no longer join" in err
    with room.db("alice") as db:  # nothing was started
        assert db.one("SELECT COUNT(*) FROM attempts")[0] == 0


def test_times_need_a_timezone(room):
    code, _, err = room.run(
        "teacher", "class", "create", "X", "--exam", "foundation",
        "--closes", "2030-01-01T10:00", learner=False,
    )  # fmt: skip
    assert code == 2 and "has no timezone" in err


def test_the_deadline_never_runs_past_the_closing_time(room, content, store):
    made = create(room)
    cf = read_class_file(Path(made["files"][0]))
    # the exam lasts 10 minutes; join 4 minutes before closing
    clock = FakeClock(cf.closes_ts - 240)
    joined = join_class(store, content, cf, "carol", clock=clock)
    assert joined.session.deadline == cf.closes_ts
    assert joined.session.remaining() == 240
    # and at the closing time the attempt submits itself
    clock.advance(240)
    assert joined.session.tick() and joined.session.submitted
    # a window check with the engine's clock
    with pytest.raises(ClassWindowError, match="no longer join"):
        join_class(store, content, cf, "dave", clock=clock)
    with pytest.raises(ClassWindowError, match="cannot join it before then"):
        join_class(store, content, cf, "dave", clock=FakeClock(cf.opens_ts - 1))


def test_a_bank_that_draws_another_form_is_refused(room, mini_content, tmp_path, monkeypatch):
    made = create(room)
    other = tmp_path / "other-content"
    shutil.copytree(mini_content, other)
    bank = other / "question_bank" / "foundation" / "lifecycle.yaml"
    bank.write_text(bank.read_text().replace("Which step comes first", "Which step is first"))
    monkeypatch.setenv("CERTLAB_CONTENT", str(other))
    code, _, err = room.run("alice", "class", "join", made["files"][0], "--json")
    assert code == 1 and "draws a different form" in err


def test_a_submitted_class_exam_cannot_be_sat_again(room, tmp_path):
    made = create(room)
    sit_and_submit(room, "alice", Path(made["files"][0]), [True], tmp_path / "in")
    code, _, err = room.run("alice", "class", "join", made["files"][0], "--json")
    assert code == 1 and "already sat" in err


# --- submit and collect ---------------------------------------------------------------------


def test_submit_then_collect_imports_rescored_results_with_labs(room, tmp_path):
    made = create(room)
    class_file = Path(made["files"][0])
    inbox = tmp_path / "inbox"
    # alice: all right, and the lab solved and checked inside the window
    joined = room.json("alice", "class", "join", str(class_file))
    room.answer("alice", joined["attempt"], [True])
    room.run("alice", "lab", "solve", "mini-lab")
    assert room.run("alice", "lab", "check", "mini-lab")[0] == 0
    sub_a = room.json("alice", "class", "submit", "--out", str(inbox) + "/")
    assert sub_a["exam"] == {"score": 100.0, "items": 10} and sub_a["labs"] == ["mini-lab"]
    # bob: every other answer right
    sub_b = sit_and_submit(room, "bob", class_file, [True, False], inbox)
    assert sub_b["exam"]["score"] == 50.0

    bundle = json.loads(Path(sub_a["file"]).read_text())
    payload = bundle["payload"]
    assert bundle["signature"]["alg"] == "HMAC-SHA256"
    assert {"class_id", "learner", "bundle_id", "created_at", "exam", "labs", "timings"} <= set(
        payload
    )
    assert payload["learner"] == "alice" and payload["class_id"] == made["class"]["id"]
    assert payload["timings"]["exam_seconds"] is not None
    assert all("time_spent" in i for i in payload["exam"]["items"])

    result = room.teacher("class", "collect", str(inbox))
    assert (result["imported"], result["rejected"]) == (2, 0)
    roster = {r["learner"]: r for r in room.teacher("class", "roster")["learners"]}
    assert roster["alice"]["score"] == 100.0 and roster["alice"]["passed"] is True
    assert roster["alice"]["labs_passed"] == 1 and roster["alice"]["labs_total"] == 1
    assert roster["alice"]["labs"][0]["state"] == "passed"
    assert roster["bob"]["score"] == 50.0 and roster["bob"]["passed"] is False
    assert roster["bob"]["labs"][0]["state"] == "not started"
    assert roster["bob"]["answered"] == roster["bob"]["total"] == 10
    assert {r["source"] for r in roster.values()} == {"bundle"}

    heat = room.teacher("class", "heatmap")
    assert heat["domains"] == sorted(heat["domains"], key=heat["domains"].index)
    alice_row = next(r for r in heat["learners"] if r["learner"] == "alice")
    assert set(alice_row["domains"].values()) == {100.0}
    items = room.teacher("class", "items")["items"]
    assert len(items) == 10 and all(i["n"] == 2 for i in items)

    # text views render too
    code, out, _ = room.run("teacher", "class", "heatmap", learner=False)
    assert code == 0 and "alice" in out and "█" in out
    code, out, _ = room.run("teacher", "class", "items", learner=False)
    assert code == 0 and "FACILITY" in out


def test_a_tampered_bundle_is_rejected_with_the_reason(room, tmp_path):
    made = create(room)
    inbox = tmp_path / "inbox"
    sub = sit_and_submit(room, "alice", Path(made["files"][0]), [False], inbox)
    path = Path(sub["file"])
    bundle = json.loads(path.read_text())
    item = next(i for i in bundle["payload"]["exam"]["items"] if i["response"] is not None)
    with room.db("alice") as db:  # change one answer to the right one, without the key
        p = Session(db, sub_attempt(room, "alice")).items[item["position"]].presented
    item["response"] = right_answer(p)
    path.write_text(json.dumps(bundle))

    result = room.teacher("class", "collect", str(inbox), code=1)
    (outcome,) = result["bundles"]
    assert outcome["kind"] == "tampered" and not outcome["imported"]
    assert "signature does not match" in outcome["reason"]
    assert room.teacher("class", "roster")["learners"] == []

    code, out, _ = room.run("teacher", "class", "collect", str(inbox), learner=False)
    assert code == 1 and "REJECTED" in out and "tampered" in out


def sub_attempt(room: Room, who: str) -> int:
    with room.db(who) as db:
        return db.one("SELECT attempt_id FROM class_attempts")[0]


def test_replayed_bundles_are_rejected_and_nothing_is_duplicated(room, tmp_path):
    made = create(room)
    inbox = tmp_path / "inbox"
    sub = sit_and_submit(room, "alice", Path(made["files"][0]), [True], inbox)
    copy = inbox / "again" / "alice-copy.bundle.json"
    copy.parent.mkdir()
    shutil.copy(sub["file"], copy)

    result = room.teacher("class", "collect", str(inbox))  # replays alone do not fail
    kinds = sorted(b["kind"] for b in result["bundles"])
    assert kinds == ["imported", "replayed"]
    replay = next(b for b in result["bundles"] if b["kind"] == "replayed")
    assert "already imported" in replay["reason"]

    again = room.teacher("class", "collect", str(inbox))  # collecting the folder again
    assert again["imported"] == 0 and {b["kind"] for b in again["bundles"]} == {"replayed"}
    with room.db("teacher") as db:
        assert db.one("SELECT COUNT(*) FROM attempts")[0] == 1
        assert db.one("SELECT COUNT(*) FROM class_bundles")[0] == 1
        assert db.one("SELECT COUNT(*) FROM lab_runs")[0] == 0


def test_an_older_bundle_after_a_newer_one_is_rejected(room, tmp_path):
    made = create(room)
    first, second = tmp_path / "first", tmp_path / "second"
    old = sit_and_submit(room, "alice", Path(made["files"][0]), [False], first)
    room.run("alice", "lab", "solve", "mini-lab")
    room.run("alice", "lab", "check", "mini-lab")
    new = room.json("alice", "class", "submit", "--out", str(second) + "/")
    assert old["bundle_id"] != new["bundle_id"]

    assert room.teacher("class", "collect", str(second))["imported"] == 1
    result = room.teacher("class", "collect", str(first))
    (outcome,) = result["bundles"]
    assert outcome["kind"] == "stale" and "older" in outcome["reason"]
    roster = room.teacher("class", "roster")["learners"]
    assert [(r["learner"], r["labs_passed"]) for r in roster] == [("alice", 1)]


def test_a_newer_bundle_replaces_the_older_import(room, tmp_path):
    made = create(room)
    inbox = tmp_path / "inbox"
    sit_and_submit(room, "alice", Path(made["files"][0]), [True], inbox)
    assert room.teacher("class", "collect", str(inbox))["imported"] == 1
    room.run("alice", "lab", "solve", "mini-lab")
    room.run("alice", "lab", "check", "mini-lab")
    room.json("alice", "class", "submit", "--out", str(inbox / "later") + "/")
    result = room.teacher("class", "collect", str(inbox))
    assert sorted(b["kind"] for b in result["bundles"]) == ["imported", "replayed"]
    with room.db("teacher") as db:
        assert db.one("SELECT COUNT(*) FROM attempts")[0] == 1  # replaced, not duplicated
        assert db.one("SELECT COUNT(*) FROM class_attempts")[0] == 1
        assert db.one("SELECT COUNT(*) FROM lab_runs")[0] == 1
        superseded = db.all("SELECT superseded_by FROM class_bundles ORDER BY created_at")
        assert superseded[0][0] is not None and superseded[1][0] is None
    (row,) = room.teacher("class", "roster")["learners"]
    assert row["score"] == 100.0 and row["labs_passed"] == 1


def test_foreign_bundles_are_rejected(room, tmp_path):
    made = create(room)
    # another instructor's class, on another machine
    theirs = room.tmp / "theirs.class.json"
    room.json(
        "other-teacher", "class", "create", "Other", "--exam", "foundation",
        "--closes", iso_in(days=1), "--out", str(theirs), learner=False,
    )  # fmt: skip
    inbox = tmp_path / "inbox"
    sit_and_submit(room, "alice", theirs, [True], inbox)
    result = room.teacher("class", "collect", str(inbox), code=1)
    (outcome,) = result["bundles"]
    assert outcome["kind"] == "foreign" and "was not created in this database" in outcome["reason"]

    # two classes of ours, collecting one: the other's bundle is foreign to it
    second = room.tmp / "second.class.json"
    room.teacher(
        "class", "create", "Second", "--exam", "foundation", "--closes", iso_in(days=1),
        "--out", str(second),
    )  # fmt: skip
    inbox2 = tmp_path / "inbox2"
    sit_and_submit(room, "bob", second, [True], inbox2)
    result = room.teacher("class", "collect", str(inbox2), "--class", made["class"]["id"], code=1)
    (outcome,) = result["bundles"]
    assert outcome["kind"] == "foreign" and "not " + made["class"]["id"] in outcome["reason"]

    # a bundle claiming our class but signed with another class's key
    forged = json.loads(bundles_in(inbox2)[0].read_text())
    forged["payload"]["class_id"] = made["class"]["id"]
    forged = seal(forged["payload"], read_class_file(second).key)
    inbox3 = tmp_path / "inbox3"
    inbox3.mkdir()
    (inbox3 / "forged.bundle.json").write_text(json.dumps(forged))
    (outcome,) = room.teacher("class", "collect", str(inbox3), code=1)["bundles"]
    assert outcome["kind"] == "tampered"


def test_not_a_bundle_is_rejected_as_invalid(room, tmp_path):
    create(room)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "junk.bundle.json").write_text("{not json")
    (inbox / "other.bundle.json").write_text('{"format": "something-else"}')
    result = room.teacher("class", "collect", str(inbox), code=1)
    assert [b["kind"] for b in result["bundles"]] == ["invalid", "invalid"]
    assert all(b["reason"].startswith("invalid:") for b in result["bundles"])


def test_a_resigned_bundle_claiming_a_better_score_is_rescored(room, tmp_path):
    """Anyone with the class key can re-sign, but the instructor never trusts the scores."""
    made = create(room)
    inbox = tmp_path / "inbox"
    sub = sit_and_submit(room, "alice", Path(made["files"][0]), [False], inbox)
    path = Path(sub["file"])
    bundle = json.loads(path.read_text())
    bundle["payload"]["exam"]["score"] = 100.0
    bundle["payload"]["exam"]["passed"] = True
    path.write_text(
        json.dumps(seal(bundle["payload"], read_class_file(Path(made["files"][0])).key))
    )
    assert room.teacher("class", "collect", str(inbox))["imported"] == 1
    (row,) = room.teacher("class", "roster")["learners"]
    assert row["score"] == 0.0 and row["passed"] is False


def test_per_learner_keys_stop_one_learner_signing_for_another(room, tmp_path):
    folder = tmp_path / "files"
    made = room.teacher(
        "class", "create", "Keys", "--exam", "foundation", "--closes", iso_in(days=1),
        "--learner-keys", "--learners", "alice", "bob", "--out", str(folder),
    )  # fmt: skip
    assert sorted(Path(f).name for f in made["files"]) == ["alice.class.json", "bob.class.json"]
    alice_cf = read_class_file(folder / "alice.class.json")
    bob_cf = read_class_file(folder / "bob.class.json")
    assert alice_cf.key_scheme == "learner" and alice_cf.learner == "alice"
    assert alice_cf.key != bob_cf.key
    with room.db("teacher") as db:
        secret = db.one("SELECT key FROM classes")[0]
    assert learner_key(secret, "alice") == alice_cf.key  # HMAC(secret, learner)
    assert secret not in (folder / "alice.class.json").read_text()

    # bob cannot join with alice's file under his own name
    code, _, err = room.run("bob", "class", "join", str(folder / "alice.class.json"), "--json")
    assert code == 1 and "alice's" in err

    inbox = tmp_path / "inbox"
    sit_and_submit(room, "alice", folder / "alice.class.json", [False], inbox)
    sub_b = sit_and_submit(room, "bob", folder / "bob.class.json", [True], inbox)
    # bob signs a bundle "from alice" (his own results) with his key
    forged = json.loads(Path(sub_b["file"]).read_text())["payload"]
    forged["learner"] = "alice"
    forged["bundle_id"] = "f" * 32
    (inbox / "forged-alice.bundle.json").write_text(json.dumps(seal(forged, bob_cf.key)))

    result = room.teacher("class", "collect", str(inbox), code=1)
    by_file = {Path(b["file"]).name: b for b in result["bundles"]}
    assert by_file["forged-alice.bundle.json"]["kind"] == "tampered"
    assert sorted(b["learner"] for b in result["bundles"] if b["imported"]) == ["alice", "bob"]
    roster = {r["learner"]: r["score"] for r in room.teacher("class", "roster")["learners"]}
    assert roster == {"alice": 0.0, "bob": 100.0}


def test_issue_writes_files_for_latecomers(room, tmp_path):
    folder = tmp_path / "files"
    room.teacher(
        "class", "create", "Keys", "--exam", "foundation", "--closes", iso_in(days=1),
        "--learner-keys", "--learners", "alice", "--out", str(folder),
    )  # fmt: skip
    issued = room.teacher("class", "issue", "carol", "--out", str(folder))
    assert [Path(f).name for f in issued["files"]] == ["carol.class.json"]
    assert read_class_file(folder / "carol.class.json").learner == "carol"
    roster = room.teacher("class", "roster")["learners"]
    assert [(r["learner"], r["status"]) for r in roster] == [
        ("alice", "not started"),
        ("carol", "not started"),
    ]


def test_signing_and_verifying():
    key, other = "11" * 32, "22" * 32
    payload = {"b": [1, 2.5, "é"], "a": None}
    bundle = seal(payload, key)
    assert verify(bundle, key) and not verify(bundle, other)
    assert verify(seal({"a": None, "b": [1, 2.5, "é"]}, key), key)  # key order is irrelevant
    bundle["payload"]["b"][0] = 3
    assert not verify(bundle, key)
    assert not verify({"payload": payload}, key)
    with pytest.raises(ClassFileError):
        read_class_file(Path("/nonexistent/class.json"))


# --- served in one room: learners and the instructor share a database -----------------------


def test_learners_on_the_instructors_machine_show_in_the_roster(room, content):
    made = create(room)
    room.json("alice", "class", "join", made["files"][0])  # on her own machine
    # on a served machine, everyone uses the instructor's database
    for who, right in (("ann", [True]), ("ben", [False])):
        code, out, err = room.run("teacher", "--learner", who, "class", "join", made["files"][0],
                                  "--json", learner=False)  # fmt: skip
        assert code == 0, err
        attempt = json.loads(out)["attempt"]
        room.answer("teacher", attempt, right)
    with room.db("teacher") as db:
        ben = db.one(
            "SELECT c.attempt_id FROM class_attempts c JOIN learners l ON l.id = c.learner_id "
            "WHERE l.name = 'ben'"
        )[0]
        Session(db, ben).submit()
    roster = {r["learner"]: r for r in room.teacher("class", "roster")["learners"]}
    assert roster["ann"]["status"] == "in progress" and roster["ann"]["answered"] == 10
    assert roster["ben"]["status"] == "submitted" and roster["ben"]["score"] == 0.0
    assert {r["source"] for r in roster.values()} == {"local"}
    assert "alice" not in roster  # she joined on her own machine and has not submitted


# --- reports and exports --------------------------------------------------------------------


def test_reports_travel_in_bundles_and_exports_are_self_contained(room, tmp_path):
    made = create(room)
    class_file = Path(made["files"][0])
    inbox = tmp_path / "inbox"
    joined = room.json("alice", "class", "join", str(class_file))
    room.answer("alice", joined["attempt"], [True, False])
    from grader.exams.reports import report_question

    with room.db("alice") as db:
        item = Session(db, joined["attempt"]).items[0].presented
        report_question(
            db, "alice", item.question_id, item.content_hash, "Option 2 <b>is</b> right"
        )
    room.json("alice", "class", "submit", "--out", str(inbox) + "/")
    sit_and_submit(room, "bob", class_file, [True], inbox)
    room.teacher("class", "collect", str(inbox))

    reports = room.teacher("class", "reports")["reports"]
    assert [(r["learner"], r["question_id"]) for r in reports] == [("alice", item.question_id)]

    html_file = tmp_path / "report.html"
    out = room.teacher("class", "export", "--format", "html", "--out", str(html_file))
    assert out["files"] == [str(html_file)]
    html = html_file.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    # self-contained: no external stylesheet, script, image or link
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert "@import" not in html and "url(" not in html
    roster_table = html[
        html.index('id="roster"') : html.index("</table>", html.index('id="roster"'))
    ]
    assert "alice" in roster_table and "bob" in roster_table and "100.0%" in roster_table
    assert "Option 2 &lt;b&gt;is&lt;/b&gt; right" in html  # learners' text is escaped
    assert 'id="items"' in html and 'id="heatmap"' in html

    folder = tmp_path / "csv"
    out = room.teacher("class", "export", "--format", "csv", "--out", str(folder))
    assert sorted(Path(f).name for f in out["files"]) == [
        "heatmap.csv", "items.csv", "reports.csv", "roster.csv",
    ]  # fmt: skip
    import csv

    rows = list(csv.DictReader((folder / "roster.csv").open(encoding="utf-8")))
    assert [(r["learner"], r["score"], r["passed"]) for r in rows] == [
        ("alice", "50.0", "no"),
        ("bob", "100.0", "yes"),
    ]
    items = list(csv.DictReader((folder / "items.csv").open(encoding="utf-8")))
    assert len(items) == 10 and all(r["n"] == "2" for r in items)


def test_instructor_commands_without_a_class_say_so(room):
    code, _, err = room.run("teacher", "class", "roster", learner=False)
    assert code == 2 and "no class created yet" in err
    code, _, err = room.run("alice", "class", "submit")
    assert code == 2 and "join one" in err


# --- grading labs on a classroom cluster ----------------------------------------------------

K8S_LAB = """\
id: k8s-mini
title: A cluster lab for the classroom tests
level: foundation
domains: [serving]
minutes: 5
summary: Run a deployment called web in your namespace.
tasks:
  - id: deploy
    title: Deploy web
    instructions: Create the deployment `web`.
    hints: [kubectl create deployment web --image=nginx]
    checks:
      - id: web-ready
        title: web is available
        points: 2
        source: {type: k8s, kind: Deployment, name: web}
        expect: {status: {availableReplicas: {$gte: 1}}}
        message: The deployment web must have an available replica.
      - id: notes
        title: notes.md exists
        points: 1
        source: {type: file, path: notes.md}
        expect: {}
        message: Write notes.md.
"""


def test_grade_labs_without_live_checks_points_to_bundles(room):
    create(room)
    code, _, err = room.run("teacher", "class", "grade-labs", learner=False)
    assert code == 1 and "has live-cluster checks" in err and "class collect" in err


def test_grade_labs_grades_each_learners_namespace(room, mini_content, monkeypatch):
    lab_dir = mini_content / "labs" / "k8s-mini"
    (lab_dir / "starter").mkdir(parents=True)
    (lab_dir / "solution").mkdir()
    (lab_dir / "lab.yaml").write_text(K8S_LAB)
    assert not load_content(mini_content).problems
    room.teacher(
        "class", "create", "Cluster day", "--exam", "foundation", "--closes", iso_in(days=1),
        "--labs", "k8s-mini", "--learners", "alice", "bob", "--out", str(room.tmp / "c.json"),
    )  # fmt: skip

    code, _, err = room.run("teacher", "class", "grade-labs", learner=False)
    assert code == 4 and "no cluster is up" in err and "--backend kubeconfig" in err

    from grader.cluster import ClusterState, save_state
    from grader.cluster.backend import namespace_for
    from grader.labs.runner import CheckResult

    room.monkeypatch.setenv("CERTLAB_HOME", str(room.home("teacher")))
    save_state(ClusterState("kwok", "/dev/null"))
    code, _, err = room.run("teacher", "class", "grade-labs", learner=False)
    assert code == 4 and "one per learner" in err

    state = ClusterState("kubeconfig", "/dev/null", "room", namespace_prefix="{learner}-")
    save_state(state)
    seen: list[tuple[str, str, str]] = []

    def fake_run_check(check, lab, workspace, seed, *, capabilities, cancel=None):
        learner = workspace.parent.name  # how the k8s source finds the learner
        seen.append((learner, check.id, namespace_for(state, lab.id, learner)))
        ok = learner == "alice"
        return CheckResult(
            check.id, check.task, check.title, "passed" if ok else "failed",
            check.points if ok else 0.0, check.points, check.required, "msg",
        )  # fmt: skip

    monkeypatch.setattr("grader.labs.runner.run_check", fake_run_check)
    result = room.teacher("class", "grade-labs")
    graded = {g["learner"]: g for g in result["graded"]}
    assert graded["alice"]["namespace"] == "alice-k8s-mini"
    assert graded["bob"]["namespace"] == "bob-k8s-mini"
    assert graded["alice"]["result"]["passed"] and not graded["bob"]["result"]["passed"]
    # only the live check is graded (notes.md lives on the learner's machine)
    assert sorted(seen) == [
        ("alice", "web-ready", "alice-k8s-mini"),
        ("bob", "web-ready", "bob-k8s-mini"),
    ]
    roster = {r["learner"]: r for r in room.teacher("class", "roster")["learners"]}
    assert roster["alice"]["labs"][0]["state"] == "passed"
    assert roster["alice"]["labs"][0]["source"] == "graded"
    assert roster["bob"]["labs"][0]["state"] == "failed"


# --- the TUI: the served app's name prompt, and the instructor's screen --------------------


async def test_the_served_app_asks_who_is_learning(mini_content):
    from textual.widgets import Static

    from grader.settings import Settings
    from tui.app import make_app
    from tui.screens.home import HomeScreen
    from tui.screens.instructor import LearnerPrompt

    app = make_app(Settings(learner="server-user"), content_root=mini_content, ask_learner=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, LearnerPrompt)
        await pilot.press(*"../x", "enter")
        await pilot.pause()
        assert isinstance(app.screen, LearnerPrompt)  # refused: not a usable name
        assert "not usable" in str(app.screen.query_one("#learner-error", Static).render())
        await pilot.press(*["backspace"] * 4, *"alice", "enter")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert app.settings.learner == "alice" and "alice" in app.sub_title


async def test_the_instructor_screen_shows_roster_heatmap_and_items(room, tmp_path):
    from textual.widgets import DataTable

    from tui.screens.instructor import InstructorApp, InstructorScreen

    made = create(room)
    inbox = tmp_path / "inbox"
    sit_and_submit(room, "alice", Path(made["files"][0]), [True], inbox)
    sit_and_submit(room, "bob", Path(made["files"][0]), [True, False], inbox)
    room.teacher("class", "collect", str(inbox))
    with room.db("teacher") as db:
        app = InstructorApp(db)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, InstructorScreen)
            roster = screen.query_one("#roster", DataTable)
            assert roster.row_count == 2
            assert [str(c) for c in roster.get_row("alice")][:3] == ["alice", "submitted", "100.0%"]
            assert screen.query_one("#heatmap", DataTable).row_count == 3  # two + the class
            assert screen.query_one("#items", DataTable).row_count == 10
            await pilot.press("r")  # refresh rereads without error
            await pilot.pause()
            assert roster.row_count == 2


def test_certlab_serve_serves_the_app_and_asks_for_the_name(tmp_path, mini_content):
    """The real server and a websocket client in place of a browser: each session runs its
    own certlab, which asks who is learning; typing a name opens that learner's Home."""
    pytest.importorskip("textual_serve", reason="certlab serve needs textual-serve")
    aiohttp = pytest.importorskip("aiohttp", reason="textual-serve's HTTP server")
    import asyncio
    import os
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "CERTLAB_HOME": str(tmp_path / "server"),
        "CERTLAB_CONTENT": str(mini_content),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "grader", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    async def session() -> bytes:
        seen = b""
        async with aiohttp.ClientSession() as client:
            for _ in range(300):  # until the server listens (it prints first)
                try:
                    async with client.get(f"http://127.0.0.1:{port}/") as page:
                        assert page.status == 200 and "certlab" in await page.text()
                        break
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.1)
            async with client.ws_connect(f"http://127.0.0.1:{port}/ws?width=100&height=30") as ws:

                async def until(text: bytes) -> None:
                    nonlocal seen
                    while text not in seen:
                        msg = await ws.receive(timeout=60)
                        assert msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT)
                        seen += msg.data if isinstance(msg.data, bytes) else msg.data.encode()

                await until(b"Who is learning here?")
                await ws.send_json(["stdin", "alice\r"])
                await until("certification lab — alice".encode())  # Home's header
        return seen

    try:
        seen = asyncio.run(asyncio.wait_for(session(), 120))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert b"Foundation" in seen
    assert "Serving certlab at" in output
    assert (tmp_path / "server" / "data" / "certlab.db").is_file()  # created before serving


async def test_a_served_learner_joins_an_open_class_from_the_prompt(room, mini_content):
    from grader.settings import Settings
    from tui.app import make_app
    from tui.screens.exam import ExamScreen
    from tui.screens.instructor import LearnerPrompt

    made = create(room)  # in the teacher's database, which the served app uses
    app = make_app(
        Settings(learner="server-user"),
        content_root=mini_content,
        db_path=room.home("teacher") / "data" / "certlab.db",
        ask_learner=True,
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, LearnerPrompt)
        await pilot.press(*"ann", "enter")
        await pilot.pause()
        assert isinstance(app.screen, LearnerPrompt)  # now offering the open class
        await pilot.press("enter")  # "Join June cohort"
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, ExamScreen)
        assert app.settings.learner == "ann"
    (row,) = room.teacher("class", "roster")["learners"]
    assert (row["learner"], row["status"], row["source"]) == ("ann", "in progress", "local")
    assert made["class"]["id"]
