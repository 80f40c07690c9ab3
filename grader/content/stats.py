"""Counts over the bank and how many full distinct exam forms each level can sit."""

from __future__ import annotations

from collections import Counter
from typing import Any

from grader.content.loader import Content
from grader.exams.blueprint import allocate


def full_form(content: Content, level: str) -> Any:
    """The level's full exam: its form with the most questions, or None."""
    forms = [f for f in content.forms.values() if f.level == level]
    return max(forms, key=lambda f: f.questions, default=None)


def bank_stats(content: Content) -> dict[str, Any]:
    """Per level: questions, per-domain/kind/difficulty counts and distinct full forms.

    ``forms`` is how many forms with no question in common the bank can fill: the smallest,
    over the level's domains, of (questions in the domain) // (the domain's allocation).
    """
    levels: dict[str, Any] = {}
    for level in content.levels.values():
        questions = content.questions_for(level.id)
        domains = Counter(q.domain for q in questions)
        form = full_form(content, level.id)
        forms = 0
        forms_exact = 0.0
        allocation: dict[str, int] = {}
        if form is not None:
            allocation = allocate(form.questions, {d.id: d.weight for d in level.domains})
            shares = [domains.get(d, 0) / n for d, n in allocation.items() if n > 0]
            # limited by the scarcest domain and by the bank's size as a whole
            forms_exact = min([*shares, len(questions) / form.questions])
            forms = int(min(shares, default=0))
        levels[level.id] = {
            "title": level.title,
            "questions": len(questions),
            "hand_written": sum(q.kind != "parametric" for q in questions),
            "parametric": sum(q.kind == "parametric" for q in questions),
            "case_studies": len({q.case.id for q in questions if q.case}),
            "domains": {d.id: domains.get(d.id, 0) for d in level.domains},
            "allocation": allocation,
            "kinds": dict(sorted(Counter(q.kind for q in questions).items())),
            "difficulty": {
                str(k): v for k, v in sorted(Counter(q.difficulty for q in questions).items())
            },
            "forms": forms,
            "forms_exact": round(forms_exact, 2),
            "exam": form.id if form else None,
        }
    return {"levels": levels, "total": len(content.questions)}
