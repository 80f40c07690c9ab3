"""Seeded exam forms: the draw, the option order, case studies, avoidance and drills."""

from __future__ import annotations

from collections import Counter

from grader.exams.forms import draw
from grader.exams.presented import present

CASE = ["e-pipe-cs01-q1", "e-pipe-cs01-q2", "e-pipe-cs01-q3"]


def form(content, level="foundation", count=10, seed=1, **kw):
    """(question id, option order) for every item of a drawn and presented form."""
    return [(q.id, present(q, seed).option_order) for q in draw(content, level, count, seed, **kw)]


def test_same_seed_gives_the_same_form(content):
    first = form(content, seed=7)
    again = form(content, seed=7)
    assert first == again
    assert len(first) == 10
    assert len({qid for qid, _ in first}) == 10


def test_same_seed_gives_the_same_parametric_numbers(content):
    q = content.questions["f-serve-param"]
    a, b = present(q, 11), present(q, 11)
    assert a.kind in ("numeric", "single")
    assert (a.stem, a.params, a.answer, a.key) == (b.stem, b.params, b.answer, b.key)
    assert a.generated_from == "canary_replicas"


def test_different_seeds_give_different_forms(content):
    forms = {tuple(form(content, seed=s)[i][0] for i in range(10)) for s in range(10)}
    assert len(forms) == 10


def test_ordering_items_are_never_shuffled(content):
    q = content.questions["f-life-ordering"]
    for seed in range(50):
        p = present(q, seed)
        assert p.option_order == ["a", "b", "c", "d"]
        assert p.key == ("b", "c", "a", "d")


def test_choice_options_are_shuffled_by_the_seed_and_keep_their_key(content):
    for qid in ("f-life-single-1", "f-life-multiple"):
        q = content.questions[qid]
        authored = [o.id for o in q.options]
        orders = set()
        for seed in range(40):
            p = present(q, seed)
            assert sorted(p.option_order) == sorted(authored)
            assert set(p.key) == set(q.correct_ids)
            # a choice keeps its own text and explanation wherever it lands
            by_id = {o.id: o for o in q.options}
            for c in p.choices:
                assert (c.text, c.explanation, c.correct) == (
                    by_id[c.id].text,
                    by_id[c.id].explanation,
                    by_id[c.id].correct,
                )
            orders.add(tuple(p.option_order))
        assert len(orders) > 3, qid


def test_recently_seen_questions_are_avoided_when_the_pool_allows(content):
    first = {q.id for q in draw(content, "foundation", 4, seed=1)}
    for seed in range(2, 12):
        second = {q.id for q in draw(content, "foundation", 4, seed=seed, avoid=first)}
        assert len(second) == 4
        assert not first & second, seed


def test_avoidance_never_shrinks_a_form(content):
    everything = set(content.questions)
    drawn = draw(content, "foundation", 10, seed=3, avoid=everything)
    assert len(drawn) == 10


def test_case_study_questions_are_adjacent_and_in_authored_order(content):
    not_first = 0
    for seed in range(30):
        ids = [q.id for q in draw(content, "engineer", 6, seed, prefer_case_studies=True)]
        at = [i for i, qid in enumerate(ids) if qid in CASE]
        assert [ids[i] for i in at] == CASE
        assert at == list(range(at[0], at[0] + 3))
        not_first += at[0] > 0
    # the case study moves around the form as a block, not always first
    assert not_first > 0


def test_a_form_as_large_as_the_bank_takes_every_question(content):
    # 9 at 60/40 asks pipelines 5 and ops 4, but ops holds 3: the gap spills to pipelines.
    # When pipelines' draw took only the start of the case study, the rest of it must still
    # be there for the spill, or the form comes out one question short.
    bank = sorted(q.id for q in content.questions_for("engineer"))
    for seed in range(30):
        ids = [q.id for q in draw(content, "engineer", 9, seed)]
        assert sorted(ids) == bank, f"seed {seed}: {len(ids)} of {len(bank)} questions"


def test_a_partly_drawn_case_study_starts_at_its_first_question(content):
    for seed in range(30):
        ids = [q.id for q in draw(content, "engineer", 6, seed)]
        got = [qid for qid in ids if qid in CASE]
        assert got == CASE[: len(got)]


def test_prefer_case_studies_takes_whole_case_studies_first(content):
    for seed in range(20):
        ids = [q.id for q in draw(content, "engineer", 6, seed, prefer_case_studies=True)]
        assert len(ids) == 6
        assert [qid for qid in ids if qid in CASE] == CASE, seed
    without = [[q.id for q in draw(content, "engineer", 6, seed)] for seed in range(20)]
    # the preference is what makes the difference: some plain draws leave the case study out
    assert any(not set(CASE) <= set(ids) for ids in without)


def test_the_engineer_form_prefers_case_studies(content):
    assert content.form("engineer").prefer_case_studies is True
    assert content.form("foundation").prefer_case_studies is False


def test_a_domain_short_of_questions_spills_to_the_others(content):
    # 10 questions at 40/30/30 ask 4/3/3, but monitoring holds only 2
    for seed in range(10):
        drawn = draw(content, "foundation", 10, seed)
        domains = Counter(q.domain for q in drawn)
        assert len({q.id for q in drawn}) == 10
        assert domains["monitoring"] == 2
        assert domains["lifecycle"] + domains["serving"] == 8
        assert domains["lifecycle"] >= 4 and domains["serving"] >= 3


def test_a_form_larger_than_the_bank_takes_the_whole_bank(content):
    drawn = draw(content, "foundation", 100, seed=1)
    assert sorted(q.id for q in drawn) == sorted(q.id for q in content.questions_for("foundation"))


def test_drill_by_domain_draws_only_that_domain(content):
    drawn = draw(content, "foundation", 3, seed=5, domain="serving")
    assert len(drawn) == 3
    assert {q.domain for q in drawn} == {"serving"}
    everything = draw(content, "foundation", 50, seed=5, domain="serving")
    assert sorted(q.id for q in everything) == sorted(
        q.id for q in content.questions_for("foundation", "serving")
    )


def test_only_limits_the_pool(content):
    only = {"f-life-ordering", "f-mon-numeric", "f-serve-single-2"}
    drawn = draw(content, "foundation", 10, seed=2, only=only)
    assert {q.id for q in drawn} == only
    two = draw(content, "foundation", 2, seed=2, only=only)
    assert len(two) == 2 and {q.id for q in two} <= only
    assert draw(content, "foundation", 5, seed=2, only=set()) == []
