"""Routing decisions with the real embedded model."""
import math

import pytest

from router.conversation import Conversation, Turn
from router.errors import RouterError
from router.events import Event
from router.routing import Router
from router.settings import Settings
from router.strategies import STRATEGIES, create_strategy, outcome_from_text, read_label

PROMPTS = Settings.from_env().prompts_dir

CONV = Conversation("conv-switch", (
    Turn("user", "Please help me write the minutes of my meeting", "meeting_minutes", True),
    Turn("assistant", "Of course. Who attended?"),
    Turn("user", "Before that, I'd like a LinkedIn post about our launch", "linkedin_post", True),
    Turn("assistant", "Sure. What should readers remember?"),
    Turn("user", "That's fine, thanks for the help", None, True),
))


def router(backend, name):
    return Router(backend, create_strategy(name, PROMPTS))


def test_constrained_covers_every_candidate_and_is_never_invalid(backend, small_catalog):
    decisions = router(backend, "constrained").route(CONV, small_catalog)
    assert len(decisions) == len(CONV.user_indices())
    for d in decisions:
        assert d.valid and d.raw is None
        assert set(d.scores) == set(small_catalog.names) | {"none"}
        assert math.isclose(sum(d.scores.values()), 1.0, abs_tol=1e-6)
        assert all(0.0 <= p <= 1.0 for p in d.scores.values())
        best = max(d.scores, key=d.scores.get)
        assert d.label == (None if best == "none" else best)
        assert d.latency > 0 and d.model == backend.model and d.strategy == "constrained"


@pytest.mark.parametrize("name", ["zero_shot", "few_shot_cot", "react"])
def test_free_text_strategies_give_one_decision_per_user_turn(backend, small_catalog, name):
    decisions = router(backend, name).route(CONV, small_catalog)
    assert len(decisions) == 3
    previous = None
    for d in decisions:
        assert d.raw is not None and d.scores is None
        assert d.label is None or d.label in small_catalog
        assert d.previous == previous
        assert d.valid == (outcome_from_text(d.raw, small_catalog.names + ["none"]).valid)
        if not d.valid:
            assert d.label == d.previous and d.event in (Event.CONTINUE, Event.NONE)
        previous = d.label


def test_events_follow_from_the_previous_label(backend, small_catalog):
    r = router(backend, "constrained")
    d = r.decide(small_catalog, CONV.turns[:3], "meeting_minutes")
    assert d.previous == "meeting_minutes"
    expected = {None: Event.END, "meeting_minutes": Event.CONTINUE}.get(d.label, Event.SWITCH)
    assert d.event is expected


def test_catalog_can_change_between_decisions(backend, small_catalog):
    from router.catalog import Catalog, Task

    r = router(backend, "constrained")
    first = r.decide(small_catalog, CONV.turns[:1], None, session="edit")
    bigger = Catalog(small_catalog.tasks + (Task("press_release", "Write a press release"),))
    second = r.decide(bigger, CONV.turns[:1], None, session="edit")
    assert "press_release" not in first.scores and "press_release" in second.scores
    fresh = r.decide(bigger, CONV.turns[:1], None)
    assert second.label == fresh.label
    for name, p in fresh.scores.items():
        assert second.scores[name] == pytest.approx(p, abs=1e-4)


def test_current_task_outside_the_catalog_counts_as_none(backend, small_catalog):
    d = router(backend, "constrained").decide(small_catalog, CONV.turns[:1], "deleted_task")
    assert d.previous is None


@pytest.mark.parametrize("text, expected", [
    ("Answer: meeting_minutes", "meeting_minutes"),
    (" The user wants minutes.\nAnswer: Meeting minutes", "meeting_minutes"),
    ("linkedin-post", "linkedin_post"),
    ("Answer: none", "none"),
    ("Answer: follow_up_email because of the meeting", "follow_up_email"),
])
def test_readable_answers(small_catalog, text, expected):
    assert read_label(text, small_catalog.names + ["none"]) == expected


@pytest.mark.parametrize("text", ["", "I like turtles", "Answer: meeting", "Answer: minutes_meeting"])
def test_unreadable_answer_is_invalid_not_raised(small_catalog, text):
    outcome = outcome_from_text(text, small_catalog.names + ["none"])
    assert outcome.valid is False and outcome.raw == text


def test_unknown_strategy():
    with pytest.raises(RouterError, match="unknown strategy"):
        create_strategy("magic", PROMPTS)
    assert set(STRATEGIES) == {"constrained", "constrained_calibrated", "constrained_lexical", "zero_shot",
                               "few_shot_cot", "react"}


def test_prompt_templates_are_editable_files(tmp_path, backend, small_catalog):
    for path in PROMPTS.glob("*.j2"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "zero_shot.j2").write_text(
        (tmp_path / "zero_shot.j2").read_text().replace("Answer:", "Label:"))
    prompt = create_strategy("zero_shot", tmp_path).prompt(small_catalog, CONV.turns[:1], None)
    assert prompt.answer_prefix == "Label:" and "meeting_minutes" in prompt.user
