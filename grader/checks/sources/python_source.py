"""``type: python`` — whatever a lab's own function returns: ``fn(ctx, **args)``."""

from __future__ import annotations

from typing import Any

from grader.checks.sources.base import SourceContext, SourceError, jsonable, require, substitute
from grader.checks.sources.labcode import call_lab_function


def load(spec: dict[str, Any], ctx: SourceContext) -> Any:
    """Call ``spec["function"]`` (``checks.py:name``) with ``spec["args"]``; JSON-safe result."""
    ref = require(spec, "function")
    args = spec.get("args") or {}
    if not isinstance(args, dict):
        raise SourceError("the check's python source field `args` must be a mapping")
    args = {str(k): substitute(v, ctx) for k, v in args.items()}
    return jsonable(call_lab_function(ref, ctx, **args))
