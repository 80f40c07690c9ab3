"""Read a YAML file into plain data plus the line of every node, so problems can name lines."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from grader.content.problems import Problem, json_path

try:  # the C loader is several times faster on a large bank
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

Parts = tuple[str | int, ...]


@dataclass
class YamlDoc:
    """A parsed YAML document and where each of its nodes starts."""

    file: str
    data: Any
    lines: dict[Parts, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    digest: str = ""  # sha256 of the file's text: the key for the validation cache

    def line_of(self, parts: Parts) -> int:
        """The line of the node at ``parts``, or of its nearest ancestor that exists."""
        parts = tuple(parts)
        while parts not in self.lines and parts:
            parts = parts[:-1]
        return self.lines.get(parts, 1)

    def problem(self, parts: Parts, message: str, severity: str = "error") -> Problem:
        """A problem located at ``parts`` in this file."""
        return Problem(self.file, self.line_of(parts), json_path(parts), message, severity)  # type: ignore[arg-type]


def read_yaml(path: Path, display: str) -> YamlDoc:
    """Parse ``path``; syntax errors and duplicate keys become problems, never exceptions."""
    doc = YamlDoc(display, None)
    try:
        text = path.read_text(encoding="utf-8")
        doc.digest = hashlib.sha256(text.encode()).hexdigest()
    except (OSError, UnicodeDecodeError) as exc:
        doc.problems.append(Problem(display, 0, "", f"cannot read file: {exc}"))
        return doc
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            doc.problems.append(Problem(display, 1, "", "file is empty"))
            return doc
        doc.data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = " ".join(x for x in (exc.context, exc.problem) if x)
        doc.problems.append(Problem(display, line, "", f"invalid YAML: {what}"))
        return doc
    except yaml.YAMLError as exc:
        doc.problems.append(Problem(display, 1, "", f"invalid YAML: {exc}"))
        return doc
    finally:
        loader.dispose()
    _index(node, (), doc)
    return doc


def _index(node: yaml.Node, parts: Parts, doc: YamlDoc) -> None:
    doc.lines.setdefault(parts, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                doc.problems.append(
                    Problem(
                        doc.file,
                        key_node.start_mark.line + 1,
                        json_path((*parts, key)),
                        f"duplicate key {key!r}: the later value would silently win",
                    )
                )
            seen.add(key)
            doc.lines.setdefault((*parts, key), key_node.start_mark.line + 1)
            _index(value_node, (*parts, key), doc)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*parts, i), doc)
