"""Parametric question generators.

A generator turns a seed into a fresh question with a computed answer and an explanation that
shows the working. Questions in the bank name a generator (`kind: parametric`,
`generator: psi_from_bins`); the exam engine calls :func:`generate` with a seed derived from the
attempt, so the same attempt always sees the same numbers.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Generated", "generate", "names", "register"]


@dataclass(frozen=True)
class Generated:
    """One generated question.

    ``kind`` is ``numeric`` (``answer`` within ``tolerance``) or ``single`` (``options``, each a
    dict with ``id``, ``text``, ``correct`` and ``explanation``).
    """

    kind: Literal["numeric", "single"]
    stem: str
    explanation: str
    params: dict[str, Any]
    answer: float | None = None
    tolerance: float = 0.0
    unit: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)


Generator = Callable[[random.Random], Generated]
_REGISTRY: dict[str, Generator] = {}


def register(name: str) -> Callable[[Generator], Generator]:
    """Register a generator under ``name`` (the id questions use)."""

    def wrap(fn: Generator) -> Generator:
        if name in _REGISTRY:
            raise ValueError(f"generator {name!r} registered twice")
        _REGISTRY[name] = fn
        return fn

    return wrap


def _load() -> None:
    # Importing the modules runs their @register decorators.
    from grader.exams.generators import builtin  # noqa: F401


def names() -> list[str]:
    """All generator names, sorted."""
    _load()
    return sorted(_REGISTRY)


def generate(name: str, seed: int) -> Generated:
    """Generate the question ``name`` for ``seed``; the same seed gives the same question."""
    _load()
    try:
        fn = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown generator {name!r}") from None
    return fn(random.Random(seed))
