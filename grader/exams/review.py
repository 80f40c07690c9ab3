"""Review text for an item or a whole attempt, in Markdown, for the TUI and the CLI alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grader.exams.presented import Presented
from grader.exams.scoring import describe_key

if TYPE_CHECKING:
    from grader.exams.session import Item, Session


def response_text(item: Presented, response: Any) -> str:
    """The learner's response in words."""
    if response is None:
        return "(no answer)"
    if item.kind == "numeric":
        return f"{response:g}" + (f" {item.unit}" if item.unit else "")
    labels = {cid: str(i + 1) for i, cid in enumerate(item.option_order)}
    ids = [response] if isinstance(response, str) else list(response)
    joiner = " → " if item.kind == "ordering" else ", "
    return joiner.join(f"[{labels[i]}]" for i in ids if i in labels)


def explanation_markdown(item: Presented, response: Any = None) -> str:
    """Why each option is right or wrong, the key, the working and the reference."""
    lines: list[str] = []
    if isinstance(response, str):
        chosen = {response}
    elif isinstance(response, list | tuple):
        chosen = set(response)
    else:  # numeric answers and blanks choose no option
        chosen = set()
    if item.kind == "numeric":
        lines.append(f"**Answer:** {describe_key(item)}")
    else:
        lines.append(f"**Answer:** {describe_key(item)}")
        lines.append("")
        for n, c in enumerate(item.choices, 1):
            if item.kind == "ordering":
                place = item.key.index(c.id) + 1
                mark = f"goes {place}{_ordinal(place)}"
            else:
                mark = "✓ right" if c.correct else "✗ wrong"
            you = " (your choice)" if c.id in chosen and item.kind != "ordering" else ""
            lines.append(f"- **[{n}] {mark}{you}** — {c.explanation}")
    if item.explanation:
        lines += ["", item.explanation]
    lines += ["", f"Reference: {item.reference}"]
    return "\n".join(lines)


def _ordinal(n: int) -> str:
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def question_markdown(item: Presented) -> str:
    """The question as shown: case scenario, stem and numbered options."""
    parts: list[str] = []
    if item.case_id:
        parts += [
            f"**Case study: {item.case_title}**",
            "",
            item.case_scenario.strip(),
            "",
            "---",
            "",
        ]
    parts.append(item.stem.strip())
    if item.kind == "multiple":
        parts += ["", f"*Choose {item.choose}.*"]
    elif item.kind == "ordering":
        parts += ["", "*Put these in order: press their numbers in sequence.*"]
    return "\n".join(parts)


def item_review_markdown(entry: Item) -> str:
    """One item of a submitted attempt: question, the learner's answer, and the explanations."""
    p = entry.presented
    verdict = (
        "✓ Correct"
        if entry.correct
        else ("✗ Wrong" if entry.response is not None else "✗ Unanswered")
    )
    head = f"### Question {entry.position + 1} · {p.domain} · {verdict}"
    options = "\n".join(f"{n}. {c.text}" for n, c in enumerate(p.choices, 1))
    return "\n\n".join(
        x
        for x in (
            head,
            question_markdown(p),
            options,
            f"**Your answer:** {response_text(p, entry.response)}",
            explanation_markdown(p, entry.response),
        )
        if x
    )


def review_lines(session: Session) -> list[str]:
    """The whole attempt's review, item by item."""
    out: list[str] = []
    for entry in session.items:
        out += [item_review_markdown(entry), ""]
    return out
