"""Long conversations: each decision reads only the new messages and the labels, whatever came before."""
from pathlib import Path

import pytest

from router.catalog import Catalog
from router.conversation import joined, read_jsonl
from router.evaluation import Evaluation
from router.routing import Router
from router.strategies import create_strategy

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = ROOT / "router" / "prompts"


@pytest.fixture(scope="module")
def long_chat():
    """Thirty user turns on the default catalog: the demo set's conversations end to end."""
    catalog = Catalog.load(ROOT / "data" / "default_catalog.json")
    conv = joined(read_jsonl(ROOT / "data" / "demo" / "demo.jsonl", catalog), 30)
    assert len(conv.user_indices()) == 30
    return catalog, conv


@pytest.mark.parametrize("strategy", ["constrained_lexical", "constrained"])
def test_a_thirty_turn_conversation_reads_under_100_new_tokens_a_decision(backend, long_chat, strategy):
    catalog, conv = long_chat
    evaluation = Evaluation(Router(backend, create_strategy(strategy, PROMPTS)), catalog, "free")
    saved = []
    evaluation.save = lambda conv_key, position, decision: saved.append(decision)
    evaluation.run([conv])
    whole = len(backend.encode(evaluation.router.strategy.prompt(catalog, conv.turns, saved[-1].previous)))
    assert whole > 900, "the conversation is long"
    assert all(d.prompt_tokens < 100 for d in saved), [d.prompt_tokens for d in saved]
    assert all(d.prompt_tokens > 10 for d in saved), "the backend counts what it reads"


def test_without_reading_ahead_a_decision_reads_the_new_reply_too(backend, long_chat):
    catalog, conv = long_chat
    router = Router(backend, create_strategy("constrained", PROMPTS))
    ahead, alone = [], []
    current = None
    for k in conv.user_indices()[:6]:
        router.prepare(catalog, conv.turns[:k], current, "ahead")
        ahead.append(router.decide(catalog, conv.turns[: k + 1], current, "ahead"))
        alone.append(router.decide(catalog, conv.turns[: k + 1], current, "alone"))
        current = ahead[-1].label
    router.forget("ahead")
    router.forget("alone")
    assert [d.label for d in ahead] == [d.label for d in alone]
    assert sum(d.prompt_tokens for d in ahead[1:]) < sum(d.prompt_tokens for d in alone[1:])
