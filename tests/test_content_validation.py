"""Broken content is reported with file, line, JSON path and a clear message, never a traceback.

Each case breaks a copy of the mini content tree. Where the case's YAML can carry it, the line
the error must point at is marked with a ``# <-`` comment; otherwise the case names the line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import REPO

from grader.cli import main
from grader.content import load_content

MARK = "# <-"
MON = "question_bank/foundation/monitoring.yaml"
TRACKS = "scenarios/tracks.yaml"
EXAM = "scenarios/exams/foundation.yaml"
PIPES = "question_bank/engineer/pipelines.yaml"

# A monitoring file holding one good question; each question case appends a broken one.
GOOD = """\
level: foundation
domain: monitoring
questions:
  - id: f-mon-ok
    kind: single
    difficulty: 1
    stem: A question that is fine.
    options:
      - {id: a, text: Right, correct: true, explanation: Because.}
      - {id: b, text: Wrong, explanation: Because not.}
      - {id: c, text: Also wrong, explanation: Because not either.}
    reference: https://example.org/ok
"""


def question(body: str) -> dict[str, str]:
    """The monitoring file: the good question, then ``body`` (one question, dedented)."""
    return {MON: GOOD + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n"}


RIGHT = "{id: a, text: One, correct: true, explanation: Right.}"
WRONG_B = "{id: b, text: Two, explanation: Wrong.}"
WRONG_C = "{id: c, text: Three, explanation: Wrong.}"


def single(
    *,
    extra: str = "",
    options: tuple[str, ...] = (RIGHT, WRONG_B, WRONG_C),
    mark_options=False,
    **fields: str | None,
) -> str:
    """A single-choice question to break: defaults, with ``fields`` replaced (None removes).

    ``options`` are flow mappings, one a line (end one with MARK to point at it); ``extra`` is
    appended as written (indent it by two spaces).
    """
    values = {
        "id": "f-mon-broken",
        "kind": "single",
        "difficulty": "2",
        "stem": "Which one?",
        "reference": "https://example.org/broken",
        **fields,
    }
    lines = [f"- id: {values.pop('id')}"]
    lines += [f"  {k}: {v}" for k, v in values.items() if v is not None]
    lines.append("  options:" + (f"  {MARK}" if mark_options else ""))
    lines += [f"    - {option}" for option in options]
    return "\n".join(lines) + ("\n" + extra if extra else "")


def replace(rel: str, *pairs: str):
    """An edit replacing each ``old`` (which must occur once) by its ``new`` in ``rel``."""

    def edit(root: Path) -> None:
        path = root / rel
        text = path.read_text()
        for old, new in zip(pairs[::2], pairs[1::2], strict=True):
            assert text.count(old) == 1, (rel, old)
            text = text.replace(old, new)
        path.write_text(text)

    return {rel: edit}


def append(rel: str, text: str):
    def edit(root: Path) -> None:
        path = root / rel
        path.write_text(path.read_text() + textwrap.dedent(text).lstrip("\n"))

    return {rel: edit}


def append_case_study(rel: str, text: str):
    """Append one case study (written at the left margin) to the file's case_studies."""

    def edit(root: Path) -> None:
        path = root / rel
        block = textwrap.indent(textwrap.dedent(text).lstrip("\n"), "  ")
        path.write_text(path.read_text() + block)

    return {rel: edit}


def truncate(path: Path, at: str, tail: str = "") -> None:
    """Cut ``path`` just before ``at`` and add ``tail``."""
    text = path.read_text()
    path.write_text(text[: text.index(at)] + tail)


@dataclass
class Case:
    id: str
    edits: dict  # relative path -> new text, or a function editing the tree
    file: str  # the file the error is reported in
    path: str  # its JSON path
    message: str  # a fragment of its message
    line: int | None = None  # None: the line marked with MARK in ``file``
    severity: str = "error"
    loads: list[str] = field(default_factory=list)  # question ids that must still load
    missing: list[str] = field(default_factory=list)  # question ids that must not load


def q(case_id, body, path, message, **kw) -> Case:
    """A case breaking one question of the monitoring file; the good one still loads."""
    kw.setdefault("loads", ["f-mon-ok"])
    kw.setdefault("missing", ["f-mon-broken"])
    return Case(case_id, question(body), MON, path, message, **kw)


Q1 = "$.questions[1]"

CASES = [
    # --- YAML itself -------------------------------------------------------------------------
    Case(
        "yaml-unclosed-bracket",
        # reported where the parser finds the sequence still open
        question(single(extra="  tags: [drift, psi\n  unit: x  # <-")),
        MON,
        "",
        "did not find expected ',' or ']'",
    ),
    Case(
        "yaml-bad-indentation",
        {MON: GOOD + "  - id: f-mon-broken\n    kind: single\n   difficulty: 1  # <-\n"},
        MON,
        "",
        "invalid YAML",
    ),
    Case(
        "yaml-tab",
        {MON: GOOD + "  - id: f-mon-broken\n    kind: single\n\tdifficulty: 1  # <-\n"},
        MON,
        "",
        "tab",
    ),
    Case("empty-file", {MON: ""}, MON, "", "file is empty", line=1),
    Case("comments-only-file", {MON: "# nothing yet\n"}, MON, "", "file is empty", line=1),
    q(
        "duplicate-key",
        single(extra="  difficulty: 3  # <-"),
        f"{Q1}.difficulty",
        "duplicate key 'difficulty'",
        missing=[],
    ),
    # --- the question schema -------------------------------------------------------------------
    q(
        "difficulty-wrong-type",
        single(difficulty="hard  # <-"),
        f"{Q1}.difficulty",
        "'hard' is not of type 'integer'",
    ),
    q(
        "difficulty-out-of-range",
        single(difficulty="4  # <-"),
        f"{Q1}.difficulty",
        "4 is greater than the maximum of 3",
    ),
    q(
        "missing-stem",
        single(id="f-mon-broken  # <-", stem=None),
        Q1,
        "'stem' is a required property",
    ),
    q(
        "missing-reference",
        single(id="f-mon-broken  # <-", reference=None),
        Q1,
        "'reference' is a required property",
    ),
    q(
        "reference-not-a-url",
        single(reference="the MLflow docs  # <-"),
        f"{Q1}.reference",
        "does not match",
    ),
    q("unknown-kind", single(kind="essay  # <-"), f"{Q1}.kind", "'essay' is not one of"),
    q("unknown-field", single(extra="  hint: look closer  # <-"), f"{Q1}.hint", "'hint'"),
    q(
        "field-not-allowed-for-kind",
        single(extra="  choose: 2  # <-"),
        f"{Q1}.choose",
        "not allowed for kind single",
    ),
    q(
        "option-without-explanation",
        single(options=(RIGHT, "{id: b, text: Two}  # <-", WRONG_C)),
        f"{Q1}.options[1]",
        "'explanation' is a required property",
    ),
    q(
        "single-with-two-options",
        single(options=(RIGHT, WRONG_B), mark_options=True),
        f"{Q1}.options",
        "is too short",
    ),
    # --- rules beyond the schema ---------------------------------------------------------------
    q(
        "single-two-correct",
        single(
            options=(RIGHT, "{id: b, text: Two, correct: true, explanation: R.}", WRONG_C),
            mark_options=True,
        ),
        f"{Q1}.options",
        "exactly 1 correct option, found 2",
    ),
    q(
        "single-none-correct",
        single(
            options=("{id: a, text: One, explanation: W.}", WRONG_B, WRONG_C), mark_options=True
        ),
        f"{Q1}.options",
        "exactly 1 correct option, found 0",
    ),
    q(
        "duplicate-option-id",
        single(options=(RIGHT, WRONG_B, "{id: a, text: Three, explanation: W.}  # <-")),
        f"{Q1}.options[2].id",
        "duplicate option id 'a'",
    ),
    q(
        "multiple-choose-2-marks-3",
        """
        - id: f-mon-broken
          kind: multiple
          choose: 2  # <-
          difficulty: 2
          stem: Which two?
          options:
            - {id: a, text: One, correct: true, explanation: R.}
            - {id: b, text: Two, correct: true, explanation: R.}
            - {id: c, text: Three, correct: true, explanation: R.}
            - {id: d, text: Four, explanation: W.}
          reference: https://example.org/m
        """,
        f"{Q1}.choose",
        "says choose 2 but marks 3 option(s) correct",
    ),
    q(
        "multiple-choose-all-options",
        """
        - id: f-mon-broken
          kind: multiple
          choose: 4  # <-
          difficulty: 2
          stem: Which four?
          options:
            - {id: a, text: One, correct: true, explanation: R.}
            - {id: b, text: Two, correct: true, explanation: R.}
            - {id: c, text: Three, correct: true, explanation: R.}
            - {id: d, text: Four, correct: true, explanation: R.}
          reference: https://example.org/m
        """,
        f"{Q1}.choose",
        "choose 4 leaves no wrong option",
    ),
    *[
        q(
            case_id,
            f"""
            - id: f-mon-broken
              kind: ordering
              difficulty: 2
              stem: Put them in order.
              items:{" " + MARK if path.endswith("items") else ""}
                - {{id: a, text: One, explanation: First.}}
                - {{id: b, text: Two, explanation: Second.}}
                - {{id: c, text: Three, explanation: Third.}}
                - {{id: d, text: Four, explanation: Fourth.}}
              answer: {answer}{"  " + MARK if path.endswith("answer") else ""}
              explanation: One, two, three.
              reference: https://example.org/o
            """,
            path,
            message,
        )
        for case_id, answer, path, message in [
            (
                "ordering-answer-names-missing-item",
                "[d, a, b, z]",
                f"{Q1}.answer",
                "answer names missing item(s) z",
            ),
            (
                "ordering-answer-misses-an-item",
                "[d, c, a]",
                f"{Q1}.answer",
                "answer must name every item exactly once",
            ),
            (
                "ordering-answer-repeats-an-item",
                "[d, c, a, a]",
                f"{Q1}.answer",
                "answer must name every item exactly once",
            ),
            ("ordering-items-already-in-order", "[a, b, c, d]", f"{Q1}.items", "scramble them"),
        ]
    ],
    q(
        "parametric-unknown-generator",
        """
        - id: f-mon-broken
          kind: parametric
          generator: no_such_generator  # <-
          difficulty: 2
          reference: https://example.org/p
        """,
        f"{Q1}.generator",
        "unknown generator 'no_such_generator'",
    ),
    q(
        "numeric-without-tolerance",
        """
        - id: f-mon-broken  # <-
          kind: numeric
          difficulty: 2
          stem: How many?
          answer: 3
          explanation: Count them.
          reference: https://example.org/n
        """,
        Q1,
        "'tolerance' is a required property",
    ),
    q(
        "duplicate-id-across-files",
        single(id="f-life-single-1  # <-"),
        f"{Q1}.id",
        "duplicate id 'f-life-single-1' (first defined at "
        "question_bank/foundation/lifecycle.yaml:4)",
        missing=[],
        loads=["f-mon-ok", "f-life-single-1"],
    ),
    Case(
        "duplicate-case-study-id",
        append_case_study(
            PIPES,
            """
              - id: e-pipe-cs01  # <-
                title: The same id again
                scenario: A second case study under a taken id.
                questions:
                  - id: e-pipe-cs02-q1
                    kind: numeric
                    difficulty: 1
                    stem: How many?
                    answer: 1
                    tolerance: 0
                    explanation: One.
                    reference: https://example.org/cs02
                  - id: e-pipe-cs02-q2
                    kind: numeric
                    difficulty: 1
                    stem: How many more?
                    answer: 2
                    tolerance: 0
                    explanation: Two.
                    reference: https://example.org/cs02
            """,
        ),
        PIPES,
        "$.case_studies[1].id",
        "duplicate id 'e-pipe-cs01'",
        loads=["e-pipe-cs01-q1", "e-pipe-cs01-q3"],
        missing=["e-pipe-cs02-q1"],
    ),
    Case(
        "case-study-without-id",
        replace(PIPES, "  - id: e-pipe-cs01\n    title:", "  - title:  # <-"),
        PIPES,
        "$.case_studies[0]",
        "'id' is a required property",
        loads=["e-pipe-single-1", "e-pipe-single-3"],
        missing=["e-pipe-cs01-q1"],
    ),
    Case(
        "case-study-without-questions",
        {PIPES: lambda root: truncate(root / PIPES, "    questions:\n      - id: e-pipe-cs01-q1")},
        PIPES,
        "$.case_studies[0]",
        "'questions' is a required property",
        line=32,  # the case study's first line
        loads=["e-pipe-single-1"],
    ),
    Case(
        "case-study-not-a-mapping",
        {PIPES: lambda root: truncate(root / PIPES, "  - id: e-pipe-cs01\n", "  - retail  # <-\n")},
        PIPES,
        "$.case_studies[0]",
        "'retail' is not of type 'object'",
        loads=["e-pipe-single-1"],
    ),
    # --- question files and their place ------------------------------------------------------
    Case(
        "file-domain-does-not-match-its-path",
        replace(MON, "domain: monitoring", "domain: serving  # <-"),
        MON,
        "$.domain",
        "its path says 'foundation', 'monitoring'",
        missing=["f-mon-single-1"],
    ),
    Case(
        "file-level-does-not-match-its-path",
        replace(MON, "level: foundation", "level: engineer  # <-"),
        MON,
        "$.level",
        "its path says 'foundation', 'monitoring'",
        missing=["f-mon-single-1"],
    ),
    Case(
        "domain-unknown-in-tracks",
        {
            "question_bank/foundation/security.yaml": "level: foundation\ndomain: security  # <-\n"
            "questions: []\n"
        },
        "question_bank/foundation/security.yaml",
        "$.domain",
        "level 'foundation' has no domain 'security'",
    ),
    Case(
        "level-unknown",
        {"question_bank/expert/security.yaml": "level: expert  # <-\ndomain: security\n"},
        "question_bank/expert/security.yaml",
        "$.level",
        "unknown level 'expert'",
    ),
    Case(
        "question-file-missing-domain",
        {"question_bank/foundation/serving.yaml": "level: foundation  # <-\nquestions: []\n"},
        "question_bank/foundation/serving.yaml",
        "$",
        "'domain' is a required property",
        missing=["f-serve-single-1"],
        line=1,
    ),
    # --- tracks --------------------------------------------------------------------------------
    Case(
        "weights-do-not-sum-to-100",
        replace(
            TRACKS,
            "title: Lifecycle\n        weight: 40",
            "title: Lifecycle\n        weight: 45",
            "    domains:\n      - id: lifecycle",
            "    domains:  # <-\n      - id: lifecycle",
        ),
        TRACKS,
        "$.levels[0].domains",
        "domain weights of level 'foundation' sum to 105, not 100",
    ),
    Case(
        "duplicate-domain-id",
        replace(TRACKS, "      - id: serving", "      - id: lifecycle  # <-"),
        TRACKS,
        "$.levels[0].domains[1].id",
        "duplicate domain id 'lifecycle' in level 'foundation'",
    ),
    Case(
        "unknown-prerequisite",
        replace(
            TRACKS,
            "prerequisites: [foundation]",
            "prerequisites:\n      - foundation\n      - basics  # <-",
        ),
        TRACKS,
        "$.levels[1].prerequisites[1]",
        "unknown prerequisite level 'basics'",
    ),
    Case(
        "prerequisite-cycle",
        replace(TRACKS, "prerequisites: []", "prerequisites: [engineer]"),
        TRACKS,
        "$.levels",
        "prerequisites form a cycle: foundation -> engineer -> foundation",
        line=2,
    ),
    Case(
        "level-requires-itself",
        replace(TRACKS, "prerequisites: []", "prerequisites:\n      - foundation  # <-"),
        TRACKS,
        "$.levels[0].prerequisites[0]",
        "cannot require itself",
    ),
    Case(
        "weight-wrong-type",
        replace(TRACKS, "weight: 60", "weight: sixty  # <-"),
        TRACKS,
        "$.levels[1].domains[0].weight",
        "'sixty' is not of type 'number'",
    ),
    # --- exam forms ----------------------------------------------------------------------------
    Case(
        "exam-unknown-level",
        replace(EXAM, "level: foundation", "level: expert  # <-"),
        EXAM,
        "$.level",
        "unknown level 'expert'",
    ),
    Case(
        "exam-id-does-not-match-file-name",
        replace(EXAM, "id: foundation", "id: foundation-full  # <-"),
        EXAM,
        "$.id",
        "must match the file name 'foundation'",
    ),
    Case(
        "exam-pass-mark-over-100",
        replace(EXAM, "pass_mark: 70", "pass_mark: 101  # <-"),
        EXAM,
        "$.pass_mark",
        "101 is greater than the maximum of 100",
    ),
    Case(
        "exam-unknown-field",
        append(EXAM, "shuffle: always  # <-\n"),
        EXAM,
        "$.shuffle",
        "'shuffle'",
    ),
    Case(
        "exam-needs-more-questions-than-the-bank",
        replace(EXAM, "questions: 10", "questions: 50  # <-"),
        EXAM,
        "$.questions",
        "the bank holds 12 question(s) for level 'foundation'; this exam needs 50",
        severity="warning",
    ),
]


def apply(root: Path, edits: dict) -> None:
    for rel, edit in edits.items():
        if callable(edit):
            edit(root)
        else:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(edit)


def marked_line(root: Path, rel: str) -> int:
    lines = (root / rel).read_text().splitlines()
    marked = [n for n, text in enumerate(lines, 1) if MARK in text]
    assert len(marked) == 1, f"the case must mark exactly one line of {rel}"
    return marked[0]


def test_there_are_enough_kinds_of_broken_content():
    assert len(CASES) >= 24
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_content_is_reported_precisely(case: Case, mini_content: Path):
    apply(mini_content, case.edits)
    line = case.line if case.line is not None else marked_line(mini_content, case.file)
    content = load_content(mini_content)  # never raises
    found = [p for p in content.problems if case.message in p.message]
    assert found, "\n".join(map(str, content.problems)) or "no problems reported"
    problem = found[0]
    assert (problem.file, problem.line, problem.path, problem.severity) == (
        case.file,
        line,
        case.path,
        case.severity,
    ), str(problem)
    if case.severity == "warning":
        assert content.errors == []
    for qid in case.loads:
        assert qid in content.questions, f"{qid} should still load"
    for qid in case.missing:
        assert qid not in content.questions, f"{qid} should not load"


def test_one_broken_question_does_not_stop_the_rest_of_its_file(mini_content: Path):
    path = mini_content / "question_bank/foundation/lifecycle.yaml"
    text = path.read_text()
    # break the second and the fifth question in two different ways
    text = text.replace(
        "difficulty: 2\n    stem: What does MLOps add", "difficulty: 9\n    stem: x"
    )
    text = text.replace("    answer: 75\n    tolerance: 0.5\n", "    answer: 75\n")
    path.write_text(text)
    content = load_content(mini_content)
    assert {p.path for p in content.errors} == {"$.questions[1].difficulty", "$.questions[4]"}
    lifecycle = {q.id for q in content.questions_for("foundation", "lifecycle")}
    assert lifecycle == {"f-life-single-1", "f-life-multiple", "f-life-ordering", "f-life-single-3"}
    # the other files are untouched
    assert len(content.questions_for("engineer")) == 9


def test_every_problem_is_reported_not_just_the_first(mini_content: Path):
    apply(mini_content, replace(EXAM, "pass_mark: 70", "pass_mark: 101"))
    apply(mini_content, replace(TRACKS, "      - id: serving", "      - id: lifecycle"))
    apply(mini_content, {MON: ""})
    content = load_content(mini_content)
    files = {p.file for p in content.errors}
    assert {EXAM, TRACKS, MON} <= files


def test_a_missing_tracks_file_is_a_problem_not_a_crash(mini_content: Path):
    (mini_content / TRACKS).unlink()
    content = load_content(mini_content)
    assert any(p.file == TRACKS and "missing" in p.message for p in content.errors)


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_validate_json_on_a_broken_root_exits_3(mini_content: Path, capsys):
    apply(mini_content, replace(EXAM, "pass_mark: 70", "pass_mark: 101"))
    apply(mini_content, question(single(difficulty="hard")))
    code = main(["content", "validate", "--json", "--root", str(mini_content)])
    out = json.loads(capsys.readouterr().out)
    assert code == 3
    assert out["valid"] is False
    assert out["root"] == str(mini_content)
    problems = {(p["file"], p["path"]): p for p in out["problems"]}
    exam = problems[(EXAM, "$.pass_mark")]
    assert exam["line"] == 6 and exam["severity"] == "error"
    difficulty = problems[(MON, "$.questions[1].difficulty")]
    assert difficulty["line"] == GOOD.count("\n") + 3
    assert "'hard'" in difficulty["message"]


def test_cli_validate_plain_text_names_file_and_line(mini_content: Path, capsys):
    apply(mini_content, replace(EXAM, "pass_mark: 70", "pass_mark: 101"))
    code = main(["content", "validate", "--root", str(mini_content)])
    out = capsys.readouterr().out
    assert code == 3
    assert f"error: {EXAM}:6: $.pass_mark: 101 is greater than the maximum of 100" in out
    assert "1 error(s) in 1 file(s)." in out


def test_cli_validate_on_the_mini_content_is_clean(mini_content: Path, capsys):
    assert main(["content", "validate", "--json", "--root", str(mini_content)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is True and out["problems"] == []
    assert out["counts"] == {"levels": 2, "exams": 2, "questions": 21}


def test_the_shipped_content_is_valid():
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "content", "validate", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    report = json.loads(proc.stdout)
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert proc.returncode == 0, errors
    assert report["valid"] is True
    assert Path(report["root"]).resolve() == REPO
    assert report["counts"]["levels"] == 4
