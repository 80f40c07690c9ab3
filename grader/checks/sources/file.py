"""``type: file`` — a file in the workspace, parsed by format.

Formats (``format``, else from the suffix): ``json``, ``jsonl`` (a list of the lines' values),
``yaml`` (safe load), ``csv`` and ``parquet`` (``{columns, dtypes, rows, count}``), ``text``
(``{text, lines}``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.checks.sources.base import (
    SourceContext,
    SourceError,
    display,
    jsonable,
    require,
    resolve,
)

MAX_BYTES = 50 * 1024 * 1024

SUFFIXES = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
FORMATS = frozenset({"json", "jsonl", "yaml", "csv", "parquet", "text"})


def load(spec: dict[str, Any], ctx: SourceContext) -> Any:
    """The parsed file named by ``spec["path"]``."""
    path = resolve(require(spec, "path"), ctx)
    name = display(path, ctx)
    fmt = spec.get("format") or SUFFIXES.get(path.suffix.lower(), "text")
    if fmt not in FORMATS:
        raise SourceError(f"unknown file format {fmt!r} (use one of {', '.join(sorted(FORMATS))})")
    data = read_bytes(path, name)
    if fmt == "parquet":
        return _parquet(path, name)
    if fmt == "csv":
        return _csv(path, name, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    text = _decode(data, name)
    if not text.strip():
        raise SourceError(f"{name} is empty")
    if fmt == "json":
        return parse_json(text, name)
    if fmt == "jsonl":
        return _jsonl(text, name)
    if fmt == "yaml":
        return parse_yaml(text, name)
    return {"text": text, "lines": len(text.splitlines())}


def read_bytes(path: Path, name: str, limit: int | None = None) -> bytes:
    """The file's bytes; SourceError when missing, a folder, unreadable, empty or too big."""
    limit = MAX_BYTES if limit is None else limit
    if not path.exists():
        hint = _near_misses(path)
        raise SourceError(f"{name} does not exist{hint}")
    if path.is_dir():
        raise SourceError(f"{name} is a directory, not a file")
    try:
        size = path.stat().st_size
        if size > limit:
            mb = limit // (1024 * 1024)
            raise SourceError(f"{name} is too large to grade ({size / 1e6:.1f} MB; limit {mb} MB)")
        data = path.read_bytes()
    except SourceError:
        raise
    except OSError as exc:
        raise SourceError(f"cannot read {name}: {exc.strerror or exc}") from exc
    if not data:
        raise SourceError(f"{name} is empty")
    return data


def parse_json(text: str, name: str) -> Any:
    """JSON text, or a SourceError with the line and column of the first error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise SourceError(f"{name} is nested too deeply to read") from exc


def parse_yaml(text: str, name: str) -> Any:
    """YAML text (safe load, one document), or a SourceError with the line of the error."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = "; ".join(x for x in (exc.context, exc.problem) if x) or "syntax error"
        raise SourceError(f"{name} is not valid YAML: {what}{where}") from exc
    except yaml.YAMLError as exc:
        raise SourceError(f"{name} is not valid YAML: {exc}") from exc
    if data is None:
        raise SourceError(f"{name} is empty (no YAML content)")
    return jsonable(data)


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{name} is not UTF-8 text (bad byte at offset {exc.start}); is it a binary file?"
        ) from exc


def _jsonl(text: str, name: str) -> list[Any]:
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise SourceError(
                f"{name} line {number} is not valid JSON: {exc.msg} (column {exc.colno})"
            ) from exc
    return out


def _csv(path: Path, name: str, sep: str) -> dict[str, Any]:
    import pandas as pd

    try:
        frame = pd.read_csv(path, sep=sep)
    except pd.errors.EmptyDataError as exc:
        raise SourceError(f"{name} has no columns (is it empty?)") from exc
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "parse error"
        raise SourceError(f"{name} is not a valid CSV file: {detail}") from exc
    except UnicodeDecodeError as exc:
        raise SourceError(f"{name} is not a valid CSV file: it is not UTF-8 text") from exc
    except (ValueError, OSError) as exc:
        raise SourceError(f"{name} is not a valid CSV file: {exc}") from exc
    return table(frame)


def _parquet(path: Path, name: str) -> dict[str, Any]:
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise SourceError(f"cannot read {name}: no Parquet engine installed ({exc})") from exc
    except Exception as exc:  # pyarrow raises its own error types for corrupt files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"{name} is not a valid Parquet file: {reason}") from exc
    return table(frame)


def table(frame: Any) -> dict[str, Any]:
    """A pandas DataFrame as ``{columns, dtypes, rows, count}`` with JSON-safe values."""
    columns = [str(c) for c in frame.columns]
    records = frame.to_dict(orient="records")
    rows = [{str(k): jsonable(v) for k, v in row.items()} for row in records]
    dtypes = {str(c): str(t) for c, t in frame.dtypes.items()}
    return {"columns": columns, "dtypes": dtypes, "rows": rows, "count": len(rows)}


def _near_misses(path: Path) -> str:
    """`` (found: a.json, b.json)`` when the folder holds files with the same stem."""
    folder = path.parent
    try:
        if not folder.is_dir():
            return f" (the folder {folder.name}/ does not exist either)"
        same = sorted(p.name for p in folder.iterdir() if p.stem == path.stem and p != path)
    except OSError:
        return ""
    return f" (found: {', '.join(same[:5])})" if same else ""
