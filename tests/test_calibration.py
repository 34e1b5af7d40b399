"""Calibrated constrained routing: the calibration math, the joint pass of the content-free prompt, real decisions."""
import math

import pytest
import torch

from router.backends.base import Backend
from router.catalog import Catalog
from router.conversation import Conversation, Turn, read_jsonl
from router.routing import Router
from router.settings import Settings
from router.strategies import calibrate, calibrate_tasks, create_strategy, matched, mean_distribution
from tests.test_reuse import TURNS

PROMPTS = Settings.from_env().prompts_dir
ROOT = PROMPTS.parent.parent
LOG = math.log


class Counting(Backend):
    """The real backend as a served one sees it: `score` alone (no joint pass), counting its sessions."""

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


def test_a_lexical_match_reweighs_the_tasks_and_keeps_none():
    probs = [0.5, 0.3, 0.2]  # two tasks, then none
    out = matched(probs, [0.0, 0.5], 2.0)
    assert out[-1] == 0.2 and math.isclose(sum(out), 1.0)
    assert math.isclose(out[1], 0.8 * 0.3 * math.e / (0.5 + 0.3 * math.e))  # the matched task gains e^1
    assert matched(probs, [0.1, 0.1], 2.0) == pytest.approx(probs)  # an equal match changes nothing
    assert matched([0.0, 0.0, 1.0], [0.3, 0.1], 2.0) == [0.0, 0.0, 1.0]  # all on none: nothing to reweigh


def test_sharpness_below_one_lets_the_match_overturn_a_confident_model():
    probs = [0.97, 0.01, 0.02]  # the model is sure of the first task; the message matches the second
    assert matched(probs, [0.0, 0.5], 8.0)[0] > 0.5  # e^4 = 55 does not beat 97 to 1
    flat = matched(probs, [0.0, 0.5], 8.0, sharpness=0.5)  # sqrt(97) ~ 9.8 to 1 does
    assert flat[1] > flat[0] and flat[-1] == 0.02
    assert math.isclose(flat[1] / flat[0], math.sqrt(0.01 / 0.97) * math.exp(4.0))
    assert matched(probs, [0.0, 0.0], 8.0, sharpness=0.0)[:2] == pytest.approx([0.49, 0.49])  # 0: match alone


def test_mean_distribution_averages_the_normalised_rows():
    prior = mean_distribution([logs([0.2, 0.6]), logs([0.5, 0.5])])
    assert [math.exp(q) for q in prior] == pytest.approx([0.375, 0.625])


def test_a_backend_without_a_joint_pass_scores_each_prompt_and_decides_the_same(backend, small_catalog):
    counting = Counting(backend)
    served, local = (Router(b, create_strategy("constrained_calibrated", PROMPTS)) for b in (counting, backend))
    turns = [Turn("user", "Please help me write the minutes of my meeting"),
             Turn("assistant", "Of course. Who attended?"), Turn("user", "Ana, Bo and me")]
    for k, current in ((1, None), (3, "meeting_minutes")):
        one_by_one = served.decide(small_catalog, turns[:k], current, session="calib-served")
        joint = local.decide(small_catalog, turns[:k], current, session="calib-joint")
        assert one_by_one.label == joint.label and "calibrated" in one_by_one.raw
        assert one_by_one.scores == pytest.approx(joint.scores, abs=1e-4)
        assert math.isclose(sum(one_by_one.scores.values()), 1.0, abs_tol=1e-6)
    assert counting.sessions == ["calib-served", None] * 2  # the content-free prompt leaves no cache behind
    for session in ("calib-served", "calib-joint"):
        local.forget(session)


def test_joint_pass_equals_each_prompt_scored_alone_without_cache(backend, small_catalog):
    """First decision, later ones on the cache, the same prompt again and an edited last message."""
    strategy = create_strategy("constrained_calibrated", PROMPTS)
    edited = [*TURNS[:4], Turn("user", "Actually, remind Acme of their unpaid invoice")]
    steps = [(TURNS[:1], None), (TURNS[:3], "meeting_minutes"), (TURNS[:5], "linkedin_post"),
             (TURNS[:5], "linkedin_post"), (edited, "linkedin_post"), (TURNS[:7], "linkedin_post")]
    answers = strategy.answers(strategy.prompt(small_catalog, TURNS[:1], None), small_catalog.names + ["none"])
    backend.forget("calib-joint")
    for k, (turns, current) in enumerate(steps):
        prompts = [(prompt := strategy.prompt(small_catalog, turns, current)), *strategy.neutral(prompt)]
        joint = backend.score_many(prompts, answers, session="calib-joint")
        read = backend.last_read
        alone = [backend.score(p, answers) for p in prompts]
        assert len(joint) == 2
        for together, apart in zip(joint, alone):
            assert together == pytest.approx(apart, abs=1e-4)
        assert joint[0] != pytest.approx(joint[1], abs=1e-3)  # two prompts, two answers
        assert k == 0 or read < len(backend.encode(prompt)) // 2  # later passes read on top of the cache
    backend.forget("calib-joint")


def test_joint_pass_leaves_the_cache_a_plain_score_leaves(backend, small_catalog):
    strategy = create_strategy("constrained_calibrated", PROMPTS)
    answers = strategy.answers(strategy.prompt(small_catalog, TURNS[:1], None), small_catalog.names + ["none"])
    for k in (1, 3, 5):
        prompt = strategy.prompt(small_catalog, TURNS[:k], None)
        backend.score_many([prompt, *strategy.neutral(prompt)], answers, session="calib-joint")
        backend.score(prompt, answers, session="calib-plain")
        joint, plain = backend.cache.entries["calib-joint"], backend.cache.entries["calib-plain"]
        assert joint.ids == plain.ids == backend.encode(prompt) and joint.header == plain.header
        for a, b in zip(joint.kv.layers, plain.kv.layers):
            assert torch.allclose(a.keys, b.keys, atol=1e-4) and torch.allclose(a.values, b.values, atol=1e-4)
    for session in ("calib-joint", "calib-plain"):
        backend.forget(session)


def test_a_demo_conversation_routes_alike_in_one_pass_and_prompt_by_prompt(backend):
    catalog = Catalog.load(ROOT / "data" / "default_catalog.json")
    conv = read_jsonl(ROOT / "data" / "demo" / "demo.jsonl", catalog)[0]
    counting = Counting(backend)
    joint, apart = (Router(b, create_strategy("constrained_calibrated", PROMPTS)).route(conv, catalog)
                    for b in (backend, counting))
    assert len(joint) == len(apart) == len(conv.user_indices()) > 2
    assert counting.sessions == [conv.id, None] * len(apart)
    assert [d.label for d in joint] == [d.label for d in apart]
    for a, b in zip(joint, apart):
        assert a.scores == pytest.approx(b.scores, abs=1e-4)


def test_content_free_prompt_replaces_only_the_last_user_message(small_catalog):
    strategy = create_strategy("constrained_calibrated", PROMPTS)
    turns = [Turn("user", "Please help me write the minutes of my meeting"),
             Turn("assistant", "Of course. Who attended?"), Turn("user", "Ana, Bo and me")]
    neutral, = strategy.neutral(strategy.prompt(small_catalog, turns, "meeting_minutes"))
    assert neutral == strategy.prompt(small_catalog, [*turns[:2], Turn("user", "N/A")], "meeting_minutes")


def test_conversation_cache_stays_as_it_was_and_is_forgotten(backend, small_catalog):
    strategy = create_strategy("constrained_calibrated", PROMPTS)
    conv = Conversation("calib-cache", (Turn("user", "Please help me write the minutes of my meeting"),))
    router = Router(backend, strategy)
    before = set(backend.cache.entries)
    router.decide(small_catalog, conv.turns, None, session=conv.id)
    prompt = strategy.prompt(small_catalog, conv.turns, None)
    assert backend.cache.entries[conv.id].ids == backend.encode(prompt)
    assert set(backend.cache.entries) - before == {conv.id}  # the content-free prompt kept nothing
    router.route(conv, small_catalog)
    assert conv.id not in backend.cache.entries


def test_the_base_model_keeps_its_probability_of_none(backend):
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
    # the same probability up to float32 noise: a decision that reuses the read-ahead cache differs by ~2e-6
    assert [c.scores["none"] for c in calibrated] == pytest.approx([p.scores["none"] for p in plain], rel=1e-4)
    assert any(c.scores != p.scores for p, c in zip(plain, calibrated))


def test_reading_ahead_between_turns_changes_no_score_and_halves_what_a_decision_reads(backend):
    catalog = Catalog.load(ROOT / "data" / "default_catalog.json")
    conv = read_jsonl(ROOT / "data" / "demo" / "demo.jsonl", catalog)[0]
    router = Router(backend, create_strategy("constrained_lexical", PROMPTS))
    plain, reads = [], []
    for k in conv.user_indices():
        plain.append(router.decide(catalog, conv.turns[: k + 1], plain[-1].label if plain else None, conv.id))
        reads.append(backend.last_read)
    router.forget(conv.id)
    ahead, ahead_reads = [], []
    for k in conv.user_indices():
        current = ahead[-1].label if ahead else None
        if ahead:
            router.prepare(catalog, conv.turns[:k], current, conv.id)
            assert backend.cache.entries[conv.id].scored  # the content-free scores, kept for the decision
        ahead.append(router.decide(catalog, conv.turns[: k + 1], current, conv.id))
        ahead_reads.append(backend.last_read)
    router.forget(conv.id)
    assert [d.label for d in ahead] == [d.label for d in plain] and len(plain) > 2
    for a, b in zip(ahead, plain):
        assert a.scores == pytest.approx(b.scores, abs=1e-4)
    assert all(2 * a < b for a, b in zip(ahead_reads[1:], reads[1:])), (ahead_reads, reads)


def test_a_read_ahead_that_no_longer_fits_is_not_used(backend, small_catalog):
    router = Router(backend, create_strategy("constrained_calibrated", PROMPTS))
    turns = (Turn("user", "Please help me write the minutes of my meeting"), Turn("assistant", "Who attended?"))
    first = router.decide(small_catalog, turns[:1], None, "stale")
    router.prepare(small_catalog, turns, first.label, "stale")
    other = (*turns, Turn("user", "Ana and Bo"))
    decided = router.decide(small_catalog, other, None, "stale")  # another current task: another prompt
    router.forget("stale")
    fresh = router.decide(small_catalog, other, None, "fresh")
    router.forget("fresh")
    assert decided.scores == pytest.approx(fresh.scores, abs=1e-4)
