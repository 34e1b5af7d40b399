"""Calibrated constrained routing: the calibration math, the cached content-free prior, real decisions."""
import math

import pytest

import router.strategies as strategies
from router.backends.base import Backend
from router.catalog import Catalog
from router.conversation import Conversation, Turn
from router.events import Event
from router.routing import Router
from router.settings import Settings
from router.strategies import Priors, calibrate, create_strategy, mean_distribution

PROMPTS = Settings.from_env().prompts_dir
ROOT = PROMPTS.parent.parent
LOG = math.log


class Counting(Backend):
    """The real backend, counting the sessions its `score` is called with."""

    def __init__(self, inner: Backend):
        self.inner, self.name, self.model, self.sessions = inner, inner.name, inner.model, []

    def score(self, prompt, candidates, session=None):
        self.sessions.append(session)
        return self.inner.score(prompt, candidates, session=session)

    def generate(self, prompt, max_tokens, stop=(), session=None):
        return self.inner.generate(prompt, max_tokens, stop, session=session)

    def chat(self, messages, max_tokens):
        return self.inner.chat(messages, max_tokens)

    def forget(self, session):
        self.inner.forget(session)


@pytest.fixture
def fresh_priors(monkeypatch) -> Priors:
    """An empty prior cache for the test."""
    priors = Priors()
    monkeypatch.setattr(strategies, "PRIORS", priors)
    return priors


def logs(values: list[float]) -> list[float]:
    return [LOG(v) for v in values]


def test_uniform_prior_leaves_the_distribution_unchanged():
    probs = [0.6, 0.3, 0.1]
    assert calibrate(logs(probs), logs([1 / 3] * 3)) == pytest.approx(probs)


def test_dividing_by_the_prior_renormalises():
    probs, prior = [0.6, 0.3, 0.1], [0.8, 0.1, 0.1]
    expected = [p / q for p, q in zip(probs, prior)]
    assert calibrate(logs(probs), logs(prior)) == pytest.approx([e / sum(expected) for e in expected])


def test_a_label_the_prior_favours_loses_weight_and_alpha_blends():
    probs, prior = [0.6, 0.3, 0.1], [0.8, 0.1, 0.1]
    full, half, none = (calibrate(logs(probs), logs(prior), a) for a in (1.0, 0.5, 0.0))
    assert full[0] < half[0] < none[0] == pytest.approx(0.6)
    assert max(range(3), key=full.__getitem__) == 1


def test_scores_need_not_be_normalised():
    assert calibrate([LOG(0.06), LOG(0.03)], logs([0.5, 0.5])) == pytest.approx([2 / 3, 1 / 3])


def test_labels_a_served_model_never_offered_stay_finite():
    inf = math.inf
    probs = calibrate([LOG(0.9), -inf, LOG(0.1)], mean_distribution([[LOG(0.5), -inf, LOG(0.5)]] * 2))
    assert probs == pytest.approx([0.9, 0.0, 0.1])


def test_mean_distribution_averages_the_normalised_rows():
    prior = mean_distribution([logs([0.2, 0.6]), logs([0.5, 0.5])])
    assert [math.exp(q) for q in prior] == pytest.approx([0.375, 0.625])


def test_prior_cache_computes_once_and_drops_the_least_recently_used():
    priors, computed = Priors(size=2), []
    for key in ("a", "b", "a", "c", "b"):
        priors.get(key, lambda k=key: computed.append(k) or [0.0])
    assert computed == ["a", "b", "c", "b"]


def test_content_free_prior_is_scored_once_per_catalog_and_current_task(
        backend, small_catalog, fresh_priors):
    counting = Counting(backend)
    router = Router(counting, create_strategy("constrained_calibrated", PROMPTS))
    turns = [Turn("user", "Please help me write the minutes of my meeting"),
             Turn("assistant", "Of course. Who attended?"), Turn("user", "Ana, Bo and me")]
    first = router.decide(small_catalog, turns[:1], None, session="calib-test")
    router.decide(small_catalog, turns, None, session="calib-test")
    again = Router(counting, create_strategy("constrained_calibrated", PROMPTS))  # as the Chat tab does
    again.decide(small_catalog, turns, None, session="calib-test")
    neutral = [s for s in counting.sessions if s != "calib-test"]
    assert counting.sessions.count("calib-test") == 3 and len(neutral) == 3
    assert all(s.startswith("calibration:") for s in neutral)
    router.decide(small_catalog, turns, "meeting_minutes", session="calib-test")
    assert len(counting.sessions) == 4 + 3 + 3
    assert first.strategy == "constrained_calibrated" and "calibrated" in first.raw
    assert math.isclose(sum(first.scores.values()), 1.0, abs_tol=1e-6)
    backend.forget("calib-test")


def test_content_free_scoring_leaves_the_conversation_cache_alone(backend, small_catalog, fresh_priors):
    strategy = create_strategy("constrained_calibrated", PROMPTS)
    turns = [Turn("user", "Please help me write the minutes of my meeting")]
    Router(backend, strategy).decide(small_catalog, turns, None, session="calib-cache")
    prompt = strategy.prompt(small_catalog, turns, None)
    assert backend.cache.entries["calib-cache"].ids == backend.encode(prompt)
    backend.forget("calib-cache")


def test_three_messages_on_the_default_catalog(backend, fresh_priors):
    """The goal is meeting_minutes, linkedin_post, none; what the embedded model does is asserted.

    Uncalibrated, none wins every message. Calibrated, the first message starts a task, with
    meeting_minutes a close second, but the later messages switch to other tasks (README, Routing).
    """
    catalog = Catalog.load(ROOT / "data" / "default_catalog.json")
    conv = Conversation("calib-three", (
        Turn("user", "I need to write the minutes of this morning's meeting"),
        Turn("user", "Actually, first draft a LinkedIn post about our launch"),
        Turn("user", "thanks, that's all"),
    ))
    plain, calibrated = (Router(backend, create_strategy(name, PROMPTS)).route(conv, catalog)
                         for name in ("constrained", "constrained_calibrated"))
    assert [d.label for d in plain] == [None, None, None]
    assert [d.event for d in calibrated] == [Event.START, Event.SWITCH, Event.SWITCH]
    first = sorted(calibrated[0].scores, key=calibrated[0].scores.get, reverse=True)
    assert "meeting_minutes" in first[:2]
    assert calibrated[0].scores["none"] < plain[0].scores["none"] / 4
