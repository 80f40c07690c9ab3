"""Load every kind of content, validate it against its schema and its rules, and index it.

Loading never raises on bad content: every problem is collected with its file, line and JSON
path, and whatever loaded cleanly is still indexed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader import paths
from grader.content.model import CaseStudy, Domain, ExamForm, Level, Option, Question
from grader.content.problems import Problem
from grader.content.yamlfile import Parts, YamlDoc, read_yaml

if TYPE_CHECKING:
    from grader.labs.model import Lab


@dataclass
class Content:
    """Everything certlab teaches from, plus the problems found while loading it."""

    root: Path
    levels: dict[str, Level] = field(default_factory=dict)
    forms: dict[str, ExamForm] = field(default_factory=dict)
    questions: dict[str, Question] = field(default_factory=dict)
    labs: dict[str, Lab] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """Problems that make the content invalid (warnings excluded)."""
        return [p for p in self.problems if p.severity == "error"]

    def level(self, level_id: str) -> Level:
        """The level with this id; KeyError names it when unknown."""
        try:
            return self.levels[level_id]
        except KeyError:
            raise KeyError(f"unknown level {level_id!r}") from None

    def form(self, form_id: str) -> ExamForm:
        """The exam form with this id; KeyError names it when unknown."""
        try:
            return self.forms[form_id]
        except KeyError:
            raise KeyError(f"unknown exam {form_id!r}") from None

    def lab(self, lab_id: str) -> Lab:
        """The lab with this id; KeyError names it when unknown."""
        try:
            return self.labs[lab_id]
        except KeyError:
            raise KeyError(f"unknown lab {lab_id!r}") from None

    def questions_for(self, level: str, domain: str | None = None) -> list[Question]:
        """Questions of a level (and domain), in bank order."""
        return [
            q
            for q in self.questions.values()
            if q.level == level and (domain is None or q.domain == domain)
        ]


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads((paths.schemas_dir() / name).read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


@cache
def _schema_digest(name: str) -> str:
    return hashlib.sha256((paths.schemas_dir() / name).read_bytes()).hexdigest()[:16]


class _CleanCache:
    """Digests of files that validated clean against a schema, kept between runs.

    Schema validation is most of the cost of loading the bank; a file whose exact bytes passed
    against the exact same schema before cannot fail now, so it is not validated again.
    """

    def __init__(self) -> None:
        self.path = paths.data_dir() / "cache" / "clean-content.json"
        self.known: set[str] | None = None
        self.added: set[str] = set()

    def _load(self) -> set[str]:
        if self.known is None:
            try:
                self.known = set(json.loads(self.path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                self.known = set()
        return self.known

    def hit(self, key: str) -> bool:
        return key in self._load() or key in self.added

    def add(self, key: str) -> None:
        self.added.add(key)

    def save(self) -> None:
        if not self.added:
            return
        keys = sorted(self._load() | self.added)[-20000:]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(keys), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache that cannot be written only costs time
        self.added.clear()


_CLEAN = _CleanCache()


def schema_problems(doc: YamlDoc, schema: str) -> list[Problem]:
    """Validate ``doc`` against a shipped schema; one problem per violation, in file order."""
    return sorted(p for _, p in schema_errors(doc, schema))


def schema_errors(doc: YamlDoc, schema: str) -> list[tuple[Parts, Problem]]:
    """Like :func:`schema_problems`, keeping each problem's path as a tuple."""
    key = f"{_schema_digest(schema)}:{doc.digest}"
    if doc.digest and _CLEAN.hit(key):
        return []
    found = []
    for error in _validator(schema).iter_errors(doc.data):
        parts: Parts = tuple(error.absolute_path)
        message = error.message
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            for key in error.instance:
                if key not in allowed:
                    where = (*parts, key)
                    found.append((where, doc.problem(where, f"unknown field {key!r}")))
            continue
        if error.validator == "not" and isinstance(error.schema, dict):
            message = (
                f"field {parts[-1]!r} is {error.schema.get('description', 'not allowed here')}"
            )
        elif error.validator == "required" and parts:
            message = f"{message} (in the object at this path)"
        found.append((parts, doc.problem(parts, message)))
    if not found and doc.digest:
        _CLEAN.add(key)
    return found


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def load_content(root: Path | None = None, *, questions: bool = True, labs: bool = True) -> Content:
    """Load tracks, exam forms, the question bank and the labs (each optional but tracks)."""
    root = root or paths.content_root()
    content = Content(root=root)
    _load_tracks(content)
    _load_forms(content)
    if questions:
        _load_questions(content)
        _check_form_supply(content)
    if labs:
        from grader.labs.loader import load_labs

        content.labs, found = load_labs(root, content.levels)
        content.problems += found
    content.problems.sort()
    _CLEAN.save()
    return content


# --- tracks -------------------------------------------------------------------------------


def _load_tracks(content: Content) -> None:
    path = content.root / "scenarios" / "tracks.yaml"
    display = _display(path, content.root)
    if not path.is_file():
        content.problems.append(Problem(display, 0, "", "file is missing"))
        return
    doc = read_yaml(path, display)
    content.problems += doc.problems
    if doc.data is None:
        return
    bad = schema_problems(doc, "tracks.schema.json")
    content.problems += bad
    if bad:
        return
    levels: dict[str, Level] = {}
    for i, raw in enumerate(doc.data["levels"]):
        here: Parts = ("levels", i)
        if raw["id"] in levels:
            content.problems.append(doc.problem((*here, "id"), f"duplicate level id {raw['id']!r}"))
            continue
        domains: dict[str, Domain] = {}
        for j, d in enumerate(raw["domains"]):
            if d["id"] in domains:
                msg = f"duplicate domain id {d['id']!r} in level {raw['id']!r}"
                content.problems.append(doc.problem((*here, "domains", j, "id"), msg))
                continue
            domains[d["id"]] = Domain(d["id"], d["title"], float(d["weight"]))
        total = sum(d.weight for d in domains.values())
        if abs(total - 100) > 1e-6:
            msg = f"domain weights of level {raw['id']!r} sum to {total:g}, not 100"
            content.problems.append(doc.problem((*here, "domains"), msg))
        levels[raw["id"]] = Level(
            id=raw["id"],
            title=raw["title"],
            summary=raw.get("summary", ""),
            prerequisites=tuple(raw.get("prerequisites", [])),
            domains=tuple(domains.values()),
            rank=len(levels),
        )
    for i, raw in enumerate(doc.data["levels"]):
        for j, pre in enumerate(raw.get("prerequisites", [])):
            where = ("levels", i, "prerequisites", j)
            if pre not in levels:
                content.problems.append(doc.problem(where, f"unknown prerequisite level {pre!r}"))
            elif pre == raw["id"]:
                content.problems.append(doc.problem(where, "a level cannot require itself"))
    cycle = _prerequisite_cycle(levels)
    if cycle:
        msg = "prerequisites form a cycle: " + " -> ".join(cycle)
        content.problems.append(doc.problem(("levels",), msg))
    content.levels = levels


def _prerequisite_cycle(levels: dict[str, Level]) -> list[str]:
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str]:
        if state.get(node) == 1:
            return [*trail[trail.index(node) :], node]
        if state.get(node) == 2 or node not in levels:
            return []
        state[node] = 1
        for pre in levels[node].prerequisites:
            if pre != node and (found := visit(pre, [*trail, node])):
                return found
        state[node] = 2
        return []

    for level_id in levels:
        if found := visit(level_id, []):
            return found
    return []


# --- exam forms ---------------------------------------------------------------------------


def _load_forms(content: Content) -> None:
    folder = content.root / "scenarios" / "exams"
    for path in sorted(folder.glob("*.yaml")):
        doc = read_yaml(path, _display(path, content.root))
        content.problems += doc.problems
        if doc.data is None:
            continue
        bad = schema_problems(doc, "exam.schema.json")
        content.problems += bad
        if bad:
            continue
        raw = doc.data
        if raw["id"] != path.stem:
            msg = f"exam id {raw['id']!r} must match the file name {path.stem!r}"
            content.problems.append(doc.problem(("id",), msg))
            continue
        if content.levels and raw["level"] not in content.levels:
            content.problems.append(doc.problem(("level",), f"unknown level {raw['level']!r}"))
            continue
        content.forms[raw["id"]] = ExamForm(
            id=raw["id"],
            title=raw["title"],
            level=raw["level"],
            minutes=raw["minutes"],
            questions=raw["questions"],
            pass_mark=float(raw["pass_mark"]),
            description=raw.get("description", ""),
            prefer_case_studies=raw.get("prefer_case_studies", False),
            file=doc.file,
            line=doc.line_of(("questions",)),
        )


# --- questions ----------------------------------------------------------------------------


def _content_hash(raw: dict[str, Any], case: dict[str, Any] | None) -> str:
    payload = {
        "question": raw,
        "case": {k: case[k] for k in ("title", "scenario")} if case else None,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _load_questions(content: Content) -> None:
    from grader.exams.generators import names as generator_names

    generators = set(generator_names())
    seen: dict[str, str] = {}  # id -> "file:line" where it was first defined
    folder = content.root / "question_bank"
    for path in sorted(folder.glob("*/*.yaml")):
        doc = read_yaml(path, _display(path, content.root))
        content.problems += doc.problems
        if doc.data is None:
            continue
        errors = schema_errors(doc, "questions.schema.json")
        content.problems += [p for _, p in errors]
        if not isinstance(doc.data, dict) or any(len(parts) < 2 for parts, _ in errors):
            continue  # the file's own fields are broken: nothing in it can be trusted
        # Questions with a schema error are skipped; the rest of the file still loads.
        broken = {parts[:2] if parts[0] == "questions" else parts[:4] for parts, _ in errors}
        level_id, domain_id = doc.data["level"], doc.data["domain"]
        if level_id != path.parent.name or domain_id != path.stem:
            msg = f"file holds level {level_id!r}, domain {domain_id!r}; its path says "
            msg += f"{path.parent.name!r}, {path.stem!r}"
            wrong = "level" if level_id != path.parent.name else "domain"
            content.problems.append(doc.problem((wrong,), msg))
            continue
        level = content.levels.get(level_id)
        if content.levels and level is None:
            content.problems.append(doc.problem(("level",), f"unknown level {level_id!r}"))
            continue
        if level is not None and level.domain(domain_id) is None:
            msg = f"level {level_id!r} has no domain {domain_id!r} in scenarios/tracks.yaml"
            content.problems.append(doc.problem(("domain",), msg))
            continue

        _load_question_file(content, doc, level_id, domain_id, seen, generators, broken)


def _load_question_file(
    content: Content,
    doc: YamlDoc,
    level_id: str,
    domain_id: str,
    seen: dict[str, str],
    generators: set[str],
    broken: set[Parts],
) -> None:
    def claim(qid: str, parts: Parts) -> bool:
        where = f"{doc.file}:{doc.line_of(parts)}"
        if qid in seen:
            msg = f"duplicate id {qid!r} (first defined at {seen[qid]})"
            content.problems.append(doc.problem(parts, msg))
            return False
        seen[qid] = where
        return True

    entries: list[tuple[dict[str, Any], Parts, dict[str, Any] | None]] = []
    for i, raw in enumerate(doc.data.get("questions") or []):
        entries.append((raw, ("questions", i), None))
    for c, case in enumerate(doc.data.get("case_studies") or []):
        if any(b[:2] == ("case_studies", c) and len(b) <= 3 for b in broken):
            continue  # the schema already reported what is wrong with this case study
        if not claim(case["id"], ("case_studies", c, "id")):
            continue
        for i, raw in enumerate(case["questions"]):
            entries.append((raw, ("case_studies", c, "questions", i), case))
    for raw, parts, case in entries:
        if parts in broken or parts[:2] in broken:
            continue
        if not claim(raw["id"], (*parts, "id")):
            continue
        problems = _question_rules(raw, generators)
        content.problems += [doc.problem((*parts, *sub), msg) for sub, msg in problems]
        if problems:
            continue
        content.questions[raw["id"]] = _question(raw, level_id, domain_id, doc, parts, case)


def _question_rules(raw: dict[str, Any], generators: set[str]) -> list[tuple[Parts, str]]:
    """Rules the schema cannot express; returns (sub-path, message) pairs."""
    kind = raw["kind"]
    found: list[tuple[Parts, str]] = []
    listed = raw.get("items") if kind == "ordering" else raw.get("options")
    ids = [o["id"] for o in listed or []]
    key = "items" if kind == "ordering" else "options"
    for i, oid in enumerate(ids):
        if oid in ids[:i]:
            found.append(((key, i, "id"), f"duplicate option id {oid!r}"))
    if kind == "single":
        n = sum(bool(o.get("correct")) for o in raw["options"])
        if n != 1:
            found.append(
                (
                    ("options",),
                    f"single choice needs exactly 1 correct option, found {n}",
                )
            )
    elif kind == "multiple":
        n = sum(bool(o.get("correct")) for o in raw["options"])
        if n != raw["choose"]:
            msg = f"says choose {raw['choose']} but marks {n} option(s) correct"
            found.append((("choose",), msg))
        if raw["choose"] >= len(raw["options"]):
            found.append((("choose",), f"choose {raw['choose']} leaves no wrong option"))
    elif kind == "ordering":
        answer = raw["answer"]
        missing = [i for i in answer if i not in ids]
        if missing:
            found.append((("answer",), f"answer names missing item(s) {', '.join(missing)}"))
        elif sorted(answer) != sorted(ids):
            found.append((("answer",), "answer must name every item exactly once"))
        elif answer == ids:
            found.append(
                (
                    ("items",),
                    "items are shown as written: scramble them",
                )
            )
    elif kind == "parametric" and raw["generator"] not in generators:
        found.append((("generator",), f"unknown generator {raw['generator']!r}"))
    if kind in ("single", "multiple"):
        for i, o in enumerate(raw["options"]):
            if "correct" in o and not isinstance(o["correct"], bool):
                found.append((("options", i, "correct"), "must be true or false"))
    return found


def _question(
    raw: dict[str, Any],
    level: str,
    domain: str,
    doc: YamlDoc,
    parts: Parts,
    case: dict[str, Any] | None,
) -> Question:
    listed = raw.get("items") if raw["kind"] == "ordering" else raw.get("options")
    options = tuple(
        Option(o["id"], o["text"], o["explanation"], bool(o.get("correct", False)))
        for o in listed or ()
    )
    return Question(
        id=raw["id"],
        level=level,
        domain=domain,
        kind=raw["kind"],
        difficulty=raw["difficulty"],
        reference=raw["reference"],
        content_hash=_content_hash(raw, case),
        file=doc.file,
        line=doc.line_of(parts),
        stem=raw.get("stem", ""),
        explanation=raw.get("explanation", ""),
        options=options,
        choose=raw.get("choose", 0),
        answer=raw.get("answer"),
        tolerance=float(raw.get("tolerance", 0.0)),
        unit=raw.get("unit", ""),
        generator=raw.get("generator", ""),
        params=dict(raw.get("params") or {}),
        case=CaseStudy(case["id"], case["title"], case["scenario"]) if case else None,
        tags=tuple(raw.get("tags", ())),
    )


def _check_form_supply(content: Content) -> None:
    for form in content.forms.values():
        have = len(content.questions_for(form.level))
        if have < form.questions:
            msg = f"the bank holds {have} question(s) for level {form.level!r}; "
            msg += f"this exam needs {form.questions}"
            content.problems.append(Problem(form.file, form.line, "$.questions", msg, "warning"))
