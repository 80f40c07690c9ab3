"""The learner's side of a class: join (sit the class's exam form), inside its opening hours."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from grader.classroom.classfile import (
    ClassFile,
    ClassFileError,
    check_window,
    class_form,
    form_digest,
)
from grader.classroom.registry import (
    ClassRecord,
    add_members,
    class_attempt_ids,
    link_attempt,
    register_class,
)
from grader.content.loader import Content
from grader.exams.session import Clock, Session
from grader.store.db import Store


@dataclass
class Joined:
    """What joining did: the class, the exam attempt, and whether it was created now."""

    record: ClassRecord
    session: Session
    created: bool
    missing_labs: list[str] = field(default_factory=list)


def class_learner(cf: ClassFile, learner: str, explicit: bool = False) -> str:
    """The learner a class file is for: a per-learner file names its learner."""
    if cf.learner is None:
        return learner
    if explicit and learner != cf.learner:
        raise ClassFileError(
            f"this class file is {cf.learner}'s (per-learner key); you asked for learner "
            f"{learner!r}. Use your own class file."
        )
    return cf.learner


def join_class(
    store: Store, content: Content, cf: ClassFile, learner: str, *, clock: Clock = time.time
) -> Joined:
    """Join ``cf`` as ``learner``: start the class's exam (or reopen the open attempt).

    Refused (ClassWindowError) outside the opening hours; refused (ClassFileError) when this
    bank draws a different form from the instructor's, or the exam was already submitted.
    Every learner gets the same form: the class's seed, with recent-question avoidance off,
    and a deadline that never runs past the closing time.
    """
    check_window(cf, clock())
    try:
        form = content.form(cf.exam)
    except KeyError:
        raise ClassFileError(
            f"this class's exam {cf.exam!r} is not in your question bank: update certlab"
        ) from None
    if form_digest(class_form(content, form, cf.seed)) != cf.form_digest:
        raise ClassFileError(
            "your question bank draws a different form from the instructor's (another certlab "
            "or content version): update certlab to the class's version"
        )
    record = register_class(store, cf, "learner")
    existing = class_attempt_ids(store, cf.id, learner)
    if existing:
        session = Session.resume(store, existing[0], clock)
        if session.submitted:
            raise ClassFileError(
                f"you already sat this class's exam (attempt {session.attempt_id}, submitted); "
                f"send your results with 'certlab class submit'"
            )
        created = False
    else:
        session = Session.start(
            store,
            content,
            learner,
            form=form,
            seed=cf.seed,
            mode="exam",
            title=f"{form.title} — {cf.name}",
            clock=clock,
            avoid_recent=False,
            not_after=cf.closes_ts,
        )
        link_attempt(store, cf.id, session.attempt_id, store.learner_id(learner))
        created = True
    add_members(store, cf.id, [learner], joined=True, at=clock())
    missing = [lab for lab in cf.labs if lab not in content.labs]
    return Joined(record, session, created, missing)
