"""Calibrated constrained routing: the calibration math, the cached content-free prior, real decisions."""
import math

import pytest

import router.strategies as strategies
from router.backends.base import Backend
from router.catalog import Catalog
from router.conversation import Conversation, Turn
from router.routing import Router
from router.settings import Settings
from router.strategies import Priors, calibrate, calibrate_tasks, create_strategy, mean_distribution

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


def test_calibrating_the_tasks_keeps_the_probability_of_none():
    probs, prior = [0.3, 0.2, 0.5], [0.05, 0.05, 0.9]  # tasks a, b, then none
    expected = [0.3 / 0.05, 0.2 / 0.05]
    calibrated = calibrate_tasks(logs(probs), logs(prior), 1.0, keep=2)
    assert calibrated == pytest.approx([0.5 * e / sum(expected) for e in expected] + [0.5])
    favoured = calibrate_tasks(logs(probs), logs([0.2, 0.01, 0.79]), 1.0, keep=2)
    assert favoured[1] > favoured[0] and favoured[2] == pytest.approx(0.5)  # the favoured task lost its lead


def test_mean_distribution_averages_the_normalised_rows():
    prior = mean_distribution([logs([0.2, 0.6]), logs([0.5, 0.5])])
    assert [math.exp(q) for q in prior] == pytest.approx([0.375, 0.625])


def test_prior_cache_computes_once_and_drops_the_least_recently_used():
    priors, computed = Priors(size=2), []
    for key in ("a", "b", "a", "c", "b"):
        priors.get(key, lambda k=key: computed.append(k) or [0.0])
    assert computed == ["a", "b", "c", "b"]


def test_each_content_free_prompt_is_scored_once_under_a_session_of_its_own(
        backend, small_catalog, fresh_priors):
    counting = Counting(backend)
    router = Router(counting, create_strategy("constrained_calibrated", PROMPTS))
    turns = [Turn("user", "Please help me write the minutes of my meeting"),
             Turn("assistant", "Of course. Who attended?"), Turn("user", "Ana, Bo and me")]
    first = router.decide(small_catalog, turns[:1], None, session="calib-a")
    router.decide(small_catalog, turns[:1], None, session="calib-b")  # same prompt, another conversation
    again = Router(counting, create_strategy("constrained_calibrated", PROMPTS))  # as the Chat tab does
    again.decide(small_catalog, turns[:1], None, session="calib-a")
    assert counting.sessions == ["calib-a", "calibration:calib-a", "calib-b", "calib-a"]
    router.decide(small_catalog, turns, "meeting_minutes", session="calib-a")
    assert counting.sessions[4:] == ["calib-a", "calibration:calib-a"]
    assert first.strategy == "constrained_calibrated" and "calibrated" in first.raw
    assert math.isclose(sum(first.scores.values()), 1.0, abs_tol=1e-6)
    for session in ("calib-a", "calib-b"):
        router.forget(session)


def test_content_free_prompt_replaces_only_the_last_user_message(small_catalog):
    strategy = create_strategy("constrained_calibrated", PROMPTS)
    turns = [Turn("user", "Please help me write the minutes of my meeting"),
             Turn("assistant", "Of course. Who attended?"), Turn("user", "Ana, Bo and me")]
    neutral, = strategy.neutral(strategy.prompt(small_catalog, turns, "meeting_minutes"))
    assert neutral == strategy.prompt(small_catalog, [*turns[:2], Turn("user", "N/A")], "meeting_minutes")


def test_conversation_cache_stays_as_it_was_and_both_sessions_are_forgotten(
        backend, small_catalog, fresh_priors):
    strategy = create_strategy("constrained_calibrated", PROMPTS)
    conv = Conversation("calib-cache", (Turn("user", "Please help me write the minutes of my meeting"),))
    router = Router(backend, strategy)
    router.decide(small_catalog, conv.turns, None, session=conv.id)
    prompt = strategy.prompt(small_catalog, conv.turns, None)
    assert backend.cache.entries[conv.id].ids == backend.encode(prompt)
    assert "calibration:calib-cache" in backend.cache.entries
    router.route(conv, small_catalog)
    assert not {conv.id, "calibration:calib-cache"} & set(backend.cache.entries)


def test_the_base_model_keeps_its_probability_of_none(backend, fresh_priors):
    """The untuned embedded model routes the three demo messages to none, calibrated or not.

    Calibration reweighs the tasks among themselves: none keeps the model's probability (about 0.85
    here), so the base model stays a placeholder (README, model card); the shipped adapter is the router.
    """
    catalog = Catalog.load(ROOT / "data" / "default_catalog.json")
    conv = Conversation("calib-three", (
        Turn("user", "I need to write the minutes of this morning's meeting"),
        Turn("user", "Actually, first draft a LinkedIn post about our launch"),
        Turn("user", "thanks, that's all"),
    ))
    plain, calibrated = (Router(backend, create_strategy(name, PROMPTS)).route(conv, catalog)
                         for name in ("constrained", "constrained_calibrated"))
    assert [d.label for d in plain] == [d.label for d in calibrated] == [None, None, None]
    assert [c.scores["none"] for c in calibrated] == pytest.approx([p.scores["none"] for p in plain])
    assert any(c.scores != p.scores for p, c in zip(plain, calibrated))
