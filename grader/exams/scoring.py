"""Scoring one response against a presented question."""

from __future__ import annotations

import math
from typing import Any

from grader.exams.presented import Presented


class InvalidResponse(ValueError):
    """A response of the wrong shape for the question's kind."""


def normalise(item: Presented, response: Any) -> Any:
    """Check and normalise a response; raise InvalidResponse with a reason when it is wrong.

    single: an option id; multiple: a list of distinct option ids (sorted); ordering: a list
    naming every item once; numeric: a finite number.
    """
    ids = set(item.option_order)
    if item.kind == "single":
        if not isinstance(response, str) or response not in ids:
            raise InvalidResponse(f"choose one of {', '.join(item.option_order)}")
        return response
    if item.kind in ("multiple", "ordering"):
        if not isinstance(response, list | tuple) or not all(isinstance(r, str) for r in response):
            raise InvalidResponse("expected a list of option ids")
        if len(set(response)) != len(response) or not set(response) <= ids:
            raise InvalidResponse("each option at most once, from this question's options")
        if item.kind == "multiple":
            return sorted(response)
        if len(response) != len(ids):
            raise InvalidResponse(f"place all {len(ids)} items")
        return list(response)
    if item.kind == "numeric":
        if isinstance(response, bool):
            raise InvalidResponse("expected a number")
        try:
            value = float(response)
        except (TypeError, ValueError):
            raise InvalidResponse(f"{response!r} is not a number") from None
        if not math.isfinite(value):
            raise InvalidResponse("expected a finite number")
        return value
    raise InvalidResponse(f"unknown question kind {item.kind!r}")


def is_correct(item: Presented, response: Any) -> bool:
    """Whether a normalised response is right.

    Multiple choice is scored by exact set equality ("choose N" means exactly those N); ordering
    by the exact sequence; numeric within the absolute tolerance.
    """
    if response is None:
        return False
    if item.kind == "single":
        return (response,) == item.key
    if item.kind == "multiple":
        return set(response) == set(item.key)
    if item.kind == "ordering":
        return tuple(response) == item.key
    if item.kind == "numeric":
        assert item.answer is not None
        # a hair of slack so that a tolerance of 0.005 accepts an answer exactly 0.005 away
        return abs(float(response) - item.answer) <= item.tolerance + 1e-9
    return False


def describe_key(item: Presented) -> str:
    """The right answer in words, for feedback and review."""
    if item.kind == "numeric":
        unit = f" {item.unit}" if item.unit else ""
        tol = f" (± {item.tolerance:g})" if item.tolerance else ""
        return f"{item.answer:g}{unit}{tol}"
    labels = {cid: str(i + 1) for i, cid in enumerate(item.option_order)}
    texts = {c.id: c.text for c in item.choices}
    if item.kind == "ordering":
        return " → ".join(f"[{labels[k]}] {texts[k]}" for k in item.key)
    return "; ".join(f"[{labels[k]}] {texts[k]}" for k in item.key)
