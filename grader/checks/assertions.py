"""The partial-match assertion engine: one ``expect`` tree against one document.

Maps match as subsets, arrays say how they match, leaves compare. The result lists every
mismatch with its JSON path, in words a learner can act on, and counts the assertions met so a
check can give partial credit. The same engine grades files, commands, MLflow, ONNX models,
HTTP services, manifests and live cluster objects.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

COMPARISONS = {
    "$gt": (lambda a, b: a > b, ">"),
    "$gte": (lambda a, b: a >= b, "≥"),
    "$lt": (lambda a, b: a < b, "<"),
    "$lte": (lambda a, b: a <= b, "≤"),
}
ARRAY_OPS = {"$exact", "$subset", "$any", "$all", "$keyed"}
MODIFIERS = {"$abs", "$rel"}  # read together with $approx
OPERATORS = {
    "$eq",
    "$ne",
    "$approx",
    "$regex",
    "$exists",
    "$absent",
    "$len",
    "$in",
    "$type",
    "$not",
    *COMPARISONS,
    *ARRAY_OPS,
    *MODIFIERS,
}
TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),  # before "number", so an int is reported as an integer
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
    "null": (type(None),),
}


class ExpectationError(ValueError):
    """The ``expect`` tree itself is malformed (a lab author's mistake, caught at validation)."""


@dataclass(frozen=True)
class Mismatch:
    path: str
    expected: str
    found: str

    def __str__(self) -> str:
        return f"at {self.path}: expected {self.expected}, found {self.found}"


@dataclass
class MatchResult:
    mismatches: list[Mismatch] = field(default_factory=list)
    total: int = 0
    met: int = 0

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def share(self) -> float:
        """The share of assertions met, for partial credit."""
        return self.met / self.total if self.total else (1.0 if self.ok else 0.0)

    def _leaf(self, ok: bool, path: str, expected: str, found: str) -> None:
        self.total += 1
        if ok:
            self.met += 1
        else:
            self.mismatches.append(Mismatch(path, expected, found))


def show(value: Any, limit: int = 60) -> str:
    """A short, readable rendering of a value for messages (text gets more room: it explains)."""
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        limit = max(limit, 160)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind(value: Any) -> str:
    for name, types in TYPES.items():
        if isinstance(value, bool) and name != "boolean":
            continue
        if isinstance(value, types):
            return name
    return type(value).__name__


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    if _number(a) and _number(b):
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _wants_absence(expected: Any) -> bool:
    return isinstance(expected, dict) and (
        expected.get("$absent") is True or expected.get("$exists") is False
    )


def match(expected: Any, document: Any, path: str = "$") -> MatchResult:
    """Match ``document`` against the ``expected`` tree."""
    result = MatchResult()
    _match(expected, document, path, result)
    return result


def _match(exp: Any, doc: Any, path: str, out: MatchResult) -> None:
    if isinstance(exp, list | tuple):
        raise ExpectationError(
            f"{path}: a bare list; say how the array matches with $exact, $subset, $any, $all "
            "or $keyed"
        )
    if not isinstance(exp, dict):
        out._leaf(_equal(exp, doc), path, show(exp), show(doc))
        return
    keys = [k for k in exp if not str(k).startswith("$")]
    ops = [k for k in exp if str(k).startswith("$")]
    if keys:
        if not isinstance(doc, dict):
            out._leaf(False, path, f"an object with {', '.join(map(str, keys[:4]))}", _kind(doc))
        else:
            for key in keys:
                sub = f"{path}.{key}"
                if key not in doc:
                    out._leaf(_wants_absence(exp[key]), sub, "it to be present", "nothing")
                else:
                    _match(exp[key], doc[key], sub, out)
    for op in ops:
        _operator(op, exp, doc, path, out)


def _operator(op: str, exp: dict[str, Any], doc: Any, path: str, out: MatchResult) -> None:
    arg = exp[op]
    if op in MODIFIERS:
        if "$approx" not in exp:
            raise ExpectationError(f"{path}: {op} only goes with $approx")
        return
    if op == "$eq":
        out._leaf(_equal(arg, doc), path, show(arg), show(doc))
    elif op == "$ne":
        out._leaf(not _equal(arg, doc), path, f"anything but {show(arg)}", show(doc))
    elif op in COMPARISONS:
        compare, symbol = COMPARISONS[op]
        if not _number(arg):
            raise ExpectationError(f"{path}: {op} needs a number, not {show(arg)}")
        ok = _number(doc) and not (isinstance(doc, float) and math.isnan(doc)) and compare(doc, arg)
        out._leaf(ok, path, f"{symbol} {arg:g}", show(doc))
    elif op == "$approx":
        if not _number(arg):
            raise ExpectationError(f"{path}: $approx needs a number, not {show(arg)}")
        abs_tol = float(exp.get("$abs", 0.0))
        rel_tol = float(exp.get("$rel", 0.0 if "$abs" in exp else 1e-6))
        ok = _number(doc) and math.isclose(doc, arg, rel_tol=rel_tol, abs_tol=abs_tol)
        tol = f" ± {abs_tol:g}" if abs_tol else f" (within {rel_tol:.2%})" if rel_tol else ""
        out._leaf(ok, path, f"≈ {arg:g}{tol}", show(doc))
    elif op == "$regex":
        try:
            pattern = re.compile(str(arg))
        except re.error as exc:
            raise ExpectationError(f"{path}: bad $regex {arg!r}: {exc}") from None
        ok = isinstance(doc, str) and pattern.search(doc) is not None
        out._leaf(ok, path, f"text matching /{arg}/", show(doc))
    elif op == "$exists":
        out._leaf(bool(arg), path, "it to be present" if arg else "it to be absent", "it present")
    elif op == "$absent":
        out._leaf(not arg, path, "it to be absent" if arg else "it to be present", "it present")
    elif op == "$len":
        if not isinstance(doc, list | tuple | str | dict):
            out._leaf(False, path, "something with a length", _kind(doc))
        else:
            _match(arg, len(doc), f"len({path})", out)
    elif op == "$in":
        if not isinstance(arg, list):
            raise ExpectationError(f"{path}: $in needs a list")
        out._leaf(any(_equal(a, doc) for a in arg), path, f"one of {show(arg)}", show(doc))
    elif op == "$type":
        if arg not in TYPES:
            raise ExpectationError(f"{path}: unknown $type {arg!r}")
        out._leaf(
            _kind(doc) == arg or (arg == "number" and _number(doc)), path, f"a {arg}", _kind(doc)
        )
    elif op == "$not":
        inner = match(arg, doc, path)
        out._leaf(not inner.ok, path, f"not {show(arg)}", show(doc))
    elif op in ARRAY_OPS:
        _array(op, arg, doc, path, out)
    else:
        raise ExpectationError(f"{path}: unknown operator {op}")


def _array(op: str, arg: Any, doc: Any, path: str, out: MatchResult) -> None:
    if not isinstance(doc, list | tuple):
        out._leaf(False, path, f"an array ({op[1:]})", _kind(doc))
        return
    if op == "$exact":
        if not isinstance(arg, list):
            raise ExpectationError(f"{path}: $exact needs a list")
        if len(arg) != len(doc):
            out._leaf(False, path, f"exactly {len(arg)} element(s)", f"{len(doc)}")
            return
        for i, (e, d) in enumerate(zip(arg, doc, strict=True)):
            _match(e, d, f"{path}[{i}]", out)
    elif op == "$subset":
        if not isinstance(arg, list):
            raise ExpectationError(f"{path}: $subset needs a list")
        fits = [[match(e, d).ok for d in doc] for e in arg]
        assigned = _assign(fits, len(doc))
        for i, e in enumerate(arg):
            ok = assigned[i] is not None
            out._leaf(ok, f"{path}[*]", f"an element matching {show(e)}", _closest(e, doc, path))
    elif op == "$any":
        results = [match(arg, d, f"{path}[{i}]") for i, d in enumerate(doc)]
        ok = any(r.ok for r in results)
        out._leaf(
            ok, f"{path}[*]", f"at least one element matching {show(arg)}", _closest(arg, doc, path)
        )
    elif op == "$all":
        if not doc:
            out._leaf(False, path, "at least one element", "an empty array")
        for i, d in enumerate(doc):
            _match(arg, d, f"{path}[{i}]", out)
    elif op == "$keyed":
        if not isinstance(arg, dict) or "by" not in arg or not isinstance(arg.get("items"), dict):
            raise ExpectationError(f"{path}: $keyed needs 'by' and an 'items' mapping")
        by = arg["by"]
        for key, tree in arg["items"].items():
            found = [d for d in doc if isinstance(d, dict) and _equal(d.get(by), key)]
            sub = f"{path}[{by}={key}]"
            if not found:
                out._leaf(_wants_absence(tree), sub, f"an element with {by} = {show(key)}", "none")
            else:
                _match(tree, found[0], sub, out)


def _assign(fits: list[list[bool]], n: int) -> list[int | None]:
    """Give each expected item a distinct matching element (bipartite matching)."""
    owner: list[int | None] = [None] * n

    def place(i: int, seen: set[int]) -> bool:
        for j in range(n):
            if fits[i][j] and j not in seen:
                seen.add(j)
                if owner[j] is None or place(owner[j], seen):  # type: ignore[arg-type]
                    owner[j] = i
                    return True
        return False

    result: list[int | None] = [None] * len(fits)
    for i in range(len(fits)):
        place(i, set())
    for j, i in enumerate(owner):
        if i is not None:
            result[i] = j
    return result


def _closest(expected: Any, doc: list[Any], path: str) -> str:
    if not doc:
        return "an empty array"
    scored = [(match(expected, d, f"{path}[{i}]"), i) for i, d in enumerate(doc)]
    best, i = max(scored, key=lambda s: (s[0].share, -len(s[0].mismatches)))
    if best.ok:
        return f"element [{i}] matches"
    return f"no match among {len(doc)}; closest [{i}]: {best.mismatches[0]}"


def check_expectation(expected: Any, path: str = "expect") -> list[str]:
    """Problems in an ``expect`` tree itself (bare lists, unknown operators, bad arguments)."""
    problems: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, list | tuple):
            problems.append(
                f"{where}: a bare list; say how the array matches with $exact, $subset, $any, "
                "$all or $keyed"
            )
            return
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            sub = f"{where}.{key}"
            if str(key).startswith("$"):
                if key not in OPERATORS:
                    problems.append(f"{sub}: unknown operator")
                elif key in ("$exact", "$subset"):
                    if not isinstance(value, list):
                        problems.append(f"{sub}: needs a list")
                    else:
                        for i, item in enumerate(value):
                            walk(item, f"{sub}[{i}]")
                elif key == "$in" and not isinstance(value, list):
                    problems.append(f"{sub}: needs a list")
                elif key == "$keyed":
                    if (
                        not isinstance(value, dict)
                        or "by" not in value
                        or not isinstance(value.get("items"), dict)
                    ):
                        problems.append(f"{sub}: needs 'by' and an 'items' mapping")
                    else:
                        for k, tree in value["items"].items():
                            walk(tree, f"{sub}.items.{k}")
                elif key in COMPARISONS or key == "$approx":
                    if not _number(value):
                        problems.append(f"{sub}: needs a number")
                elif key == "$type" and value not in TYPES:
                    problems.append(f"{sub}: unknown type {value!r}")
                elif key == "$regex":
                    try:
                        re.compile(str(value))
                    except re.error as exc:
                        problems.append(f"{sub}: bad regular expression: {exc}")
                elif key in ("$len", "$not", "$any", "$all"):
                    walk(value, sub)
                elif key in MODIFIERS and "$approx" not in node:
                    problems.append(f"{sub}: only goes with $approx")
            else:
                walk(value, sub)

    walk(expected, path)
    return problems
