"""Sources: where a check's document comes from.

``load_document(spec, ctx)`` dispatches on ``spec["type"]`` to a loader registered here. Every
loader takes ``(spec, ctx)`` and returns plain JSON-like data, or raises :class:`SourceError`
(the learner's work cannot be read: the reason is shown to them) or :class:`NotGradable` (this
machine cannot evaluate the source). Nothing else escapes ``load_document``.

Loaders import their heavy libraries (mlflow, pandas, onnxruntime, numpy) only when called.
Other packages add source types with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from grader.checks.sources import (
    command,
    file,
    http_source,
    mlflow_source,
    onnx_source,
    python_source,
)
from grader.checks.sources.base import (
    Cancelled,
    NotGradable,
    SourceContext,
    SourceError,
    jsonable,
    resolve,
    substitute,
)

Loader = Callable[[dict[str, Any], SourceContext], Any]


def _cluster_source(name: str) -> Loader:
    """A loader from grader.cluster.sources, imported when first used (no import cycle)."""

    def load(spec: dict[str, Any], ctx: SourceContext) -> Any:
        from grader.cluster import sources

        return getattr(sources, name)(spec, ctx)

    return load


SOURCES: dict[str, Loader] = {
    "file": file.load,
    "command": command.load,
    "mlflow": mlflow_source.load,
    "onnx": onnx_source.load,
    "http": http_source.load,
    "python": python_source.load,
    "k8s": _cluster_source("load_k8s"),
    "manifests": _cluster_source("load_manifests"),
}

__all__ = [
    "SOURCES",
    "Cancelled",
    "Loader",
    "NotGradable",
    "SourceContext",
    "SourceError",
    "jsonable",
    "load_document",
    "register",
    "resolve",
    "substitute",
]


def register(name: str, loader: Loader | None = None) -> Any:
    """Register ``loader`` for ``type: name``; usable as ``@register("k8s")`` too."""

    def add(fn: Loader) -> Loader:
        SOURCES[name] = fn
        return fn

    return add(loader) if loader is not None else add


def load_document(spec: Mapping[str, Any], ctx: SourceContext) -> Any:
    """The document for the check source ``spec``.

    ``{workspace}``, ``{lab}`` and ``{seed}`` are substituted in every string first. A source
    listing ``needs`` that the context's capabilities lack raises NotGradable. Any unexpected
    exception from a loader becomes a SourceError carrying its reason.
    """
    if not isinstance(spec, Mapping):
        raise SourceError("the check's source must be a mapping with a `type`")
    kind = spec.get("type")
    loader = SOURCES.get(kind) if isinstance(kind, str) else None
    if loader is None:
        known = ", ".join(sorted(SOURCES))
        raise SourceError(f"unknown source type {kind!r} (known: {known})")
    needs = spec.get("needs") or []
    missing = sorted(set(needs) - ctx.capabilities) if isinstance(needs, list) else []
    if missing:
        raise NotGradable(f"this {kind} source needs {', '.join(missing)}, not available here")
    if ctx.cancelled():
        raise Cancelled(f"the {kind} source")
    resolved = substitute(dict(spec), ctx)
    try:
        return loader(resolved, ctx)
    except (SourceError, NotGradable):
        raise
    except RecursionError as exc:
        raise SourceError(f"the {kind} source failed: the data is nested too deeply") from exc
    except Exception as exc:
        detail = str(exc).strip() or "(no message)"
        raise SourceError(
            f"the {kind} source failed: {type(exc).__name__}: {detail.splitlines()[0]}"
        ) from exc
