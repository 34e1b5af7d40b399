"""The event-biased decision rule: leaving the current task must beat continuing by a margin."""
import math
from pathlib import Path

import pytest

from router.catalog import Catalog
from router.conversation import Turn
from router.events import Event
from router.routing import Router
from router.strategies import DEFAULT_STRATEGY, STRATEGIES, EventBiases, choose, create_strategy

ROOT = Path(__file__).resolve().parent.parent
TOY = {"memo": 0.40, "linkedin_post": 0.45, "none": 0.15}


def test_a_small_margin_keeps_the_task_and_a_large_one_switches():
    biases = EventBiases(switch=1.0, end=1.0)
    assert choose(TOY, "memo", biases) == "memo"  # 0.45 is not e times 0.40
    assert choose({"memo": 0.10, "linkedin_post": 0.85, "none": 0.05}, "memo", biases) == "linkedin_post"
    assert choose({"memo": 0.30, "linkedin_post": 0.05, "none": 0.65}, "memo", biases) == "memo"
    assert choose({"memo": 0.10, "linkedin_post": 0.05, "none": 0.85}, "memo", biases) == "none"


def test_the_margin_is_a_ratio_of_probabilities():
    just_below = {"memo": 0.2, "linkedin_post": 0.2 * math.e * 0.99, "none": 0.0}
    just_above = {"memo": 0.2, "linkedin_post": 0.2 * math.e * 1.01, "none": 0.0}
    assert choose(just_below, "memo", EventBiases(switch=1.0)) == "memo"
    assert choose(just_above, "memo", EventBiases(switch=1.0)) == "linkedin_post"


def test_with_no_biases_or_no_current_task_the_most_probable_label_wins():
    assert choose(TOY, "memo", EventBiases()) == "linkedin_post"
    assert choose(TOY, None, EventBiases(switch=5.0, end=5.0)) == "linkedin_post"
    assert choose(TOY, "gone_from_the_catalog", EventBiases(switch=5.0)) == "linkedin_post"
    assert choose(TOY, None, EventBiases(start=5.0)) == "none"


def test_the_end_and_switch_biases_compete_between_themselves_after_their_costs():
    scores = {"memo": 0.05, "linkedin_post": 0.50, "none": 0.45}
    assert choose(scores, "memo", EventBiases(switch=1.0, end=0.0)) == "none"
    assert choose(scores, "memo", EventBiases(switch=0.0, end=1.0)) == "linkedin_post"


def test_a_negative_start_bias_starts_a_task_a_little_less_probable_than_none():
    scores = {"memo": 0.30, "linkedin_post": 0.05, "none": 0.65}
    assert choose(scores, None, EventBiases()) == "none"
    assert choose(scores, None, EventBiases(start=-1.0)) == "memo"  # 0.30 beats 0.65 / e
    assert choose({"memo": 0.20, "linkedin_post": 0.05, "none": 0.75}, None, EventBiases(start=-1.0)) == "none"
    assert choose(scores, "memo", EventBiases(start=-1.0)) == "none", "on a task, the start bias plays no part"


def test_plain_strategies_pick_the_most_probable_label_and_the_default_one_is_biased():
    assert STRATEGIES["constrained"].biases == EventBiases()
    biases = STRATEGIES[DEFAULT_STRATEGY].biases
    assert biases.switch > 0 and biases.end > 0 and biases.start < 0


def test_a_router_with_a_prohibitive_bias_never_leaves_the_task(shipped):
    catalog = Catalog.load(ROOT / "data" / "default_catalog.json")
    turns = (Turn("user", "Please help me write the minutes of my meeting"), Turn("assistant", "Who attended?"),
             Turn("user", "Actually, first draft a LinkedIn post about our launch"), Turn("assistant", "Sure."),
             Turn("user", "thanks, that's all"))
    strategy = create_strategy(DEFAULT_STRATEGY, ROOT / "router" / "prompts")
    strategy.biases = EventBiases()
    free = Router(shipped.backend, strategy).decide(catalog, turns[:3], "meeting_minutes")
    strategy.biases = EventBiases(switch=50.0, end=50.0)
    held = [Router(shipped.backend, strategy).decide(catalog, turns[: k + 1], "meeting_minutes") for k in (2, 4)]
    assert free.label != "meeting_minutes", "unbiased, the router leaves the task here"
    assert [d.event for d in held] == [Event.CONTINUE, Event.CONTINUE]
    assert held[0].scores == pytest.approx(free.scores), "the rule changes the choice, not the scores"
