"""Key/value cache reuse: decisions with reuse equal decisions without; memory stays in budget."""
import math

import pytest
import torch

from router.backends.kvcache import cache_bytes
from router.backends.trie import TokenTrie
from router.catalog import Catalog, Task
from router.conversation import Turn
from router.prompting import Prompt
from router.routing import Router
from router.settings import Settings
from router.strategies import create_strategy

TURNS = [
    Turn("user", "Hi, I need the minutes of this morning's product meeting."),
    Turn("assistant", "Sure. Who attended?"),
    Turn("user", "Ana, Bo and me. Before that, can you write a LinkedIn post about our launch?"),
    Turn("assistant", "Of course. What should readers remember?"),
    Turn("user", "That our app sends invoices in one tap."),
    Turn("assistant", "Here is a draft. Anything to change?"),
    Turn("user", "That's fine, thanks for the help"),
]


@pytest.fixture
def reuse_off(backend):
    """Run a block with the backend's reuse switched off."""
    class Switch:
        def __enter__(self):
            backend.reuse = False

        def __exit__(self, *exc):
            backend.reuse = True
    return Switch()


def assert_same(a, b):
    assert a.label == b.label and a.event == b.event and a.valid == b.valid
    assert a.scores.keys() == b.scores.keys()
    for name, p in a.scores.items():
        assert b.scores[name] == pytest.approx(p, abs=1e-4)


def test_reuse_equals_fresh_through_switch_end_catalog_edit_and_edited_message(
        backend, small_catalog, reuse_off):
    router = Router(backend, create_strategy("constrained", Settings.from_env().prompts_dir))
    edited = Catalog(small_catalog.tasks + (Task("invoice_reminder", "Remind a customer of an unpaid invoice"),))
    steps = [  # (turns, catalog, current task): the catalog changes before the 3rd decision
        (TURNS[:1], small_catalog, None),
        (TURNS[:3], small_catalog, "meeting_minutes"),
        (TURNS[:5], edited, "linkedin_post"),
        (TURNS[:7], edited, "linkedin_post"),
        (TURNS[:6] + [Turn("user", "Actually, remind Acme of their unpaid invoice")], edited, "linkedin_post"),
    ]
    backend.forget("reuse-test")
    kept = [router.decide(c, t, cur, session="reuse-test") for t, c, cur in steps]
    assert backend.cache.entries["reuse-test"].kv.get_seq_length() > 0
    with reuse_off:
        fresh = [router.decide(c, t, cur, session="reuse-test-off") for t, c, cur in steps]
    assert "reuse-test-off" not in backend.cache.entries
    for a, b in zip(kept, fresh):
        assert_same(a, b)
    assert "invoice_reminder" in kept[2].scores and "invoice_reminder" not in kept[1].scores


def test_a_new_conversation_reuses_the_header_of_another(backend, small_catalog, reuse_off):
    router = Router(backend, create_strategy("constrained", Settings.from_env().prompts_dir))
    router.decide(small_catalog, TURNS[:3], None, session="first")
    other = [Turn("user", "Please draft a follow-up email to Acme after today's call")]
    shared = router.decide(small_catalog, other, None, session="second")
    total = len(backend.encode(router.strategy.prompt(small_catalog, other, None)))
    assert backend.last_read < total // 2
    with reuse_off:
        assert_same(shared, router.decide(small_catalog, other, None))
    assert backend.last_read >= total  # reading everything: the whole prompt
    backend.forget("first")
    backend.forget("second")
    assert "first" not in backend.cache.entries
    again = router.decide(small_catalog, other, None, session="third")
    assert backend.last_read < total // 2  # the fixed part outlived the conversations
    assert_same(shared, again)


def test_trie_scores_equal_constrained_decoding_by_brute_force(backend):
    prompt = Prompt("You route tasks.", ("Tasks: memo, memo_from_ideas, meeting_minutes, none\n",
                                         "User: turn my notes into a memo\n", "Which task?"), "Answer:")
    candidates = [" memo", " memo_from_ideas", " meeting_minutes", " none"]
    scores = backend.score(prompt, candidates)
    assert sum(math.exp(s) for s in scores) == pytest.approx(1.0, abs=1e-5)
    ids = backend.encode(prompt)
    seqs = [list(backend.encode_part(c)) for c in candidates]
    seqs[0] += backend.end_ids()  # " memo" is a prefix of " memo_from_ideas": it must end there
    for seq, score in zip(seqs, scores):
        with torch.inference_mode():
            logits = backend.net(input_ids=torch.tensor([ids + seq])).logits[0].float()
        logp = torch.log_softmax(logits, dim=-1)
        expected = 0.0
        for j, token in enumerate(seq):
            allowed = sorted({o[j] for o in seqs if o[:j] == seq[:j] and len(o) > j})
            row = logp[len(ids) - 1 + j]
            expected += (row[token] - torch.logsumexp(row[allowed], dim=0)).item()
        assert score == pytest.approx(expected, abs=1e-3)


def test_trie_reads_only_the_way_to_branches():
    trie = TokenTrie.build([[1, 2, 3], [1, 2, 4], [1, 2], [5, 6, 7]], end=[0])
    assert trie.tokens == [1, 2]  # node [1, 2] branches into 3, 4 and the end token
    assert trie.steps[0] == [(0, 1, [1, 5]), (2, 3, [3, 4, 0])]
    assert trie.steps[3] == [(0, 5, [1, 5])]  # 6 and 7 are forced: never read
    seen = torch.tensor([True] * 5 + [False] * 2)  # 3 cached tokens, a 2-token suffix, then the nodes
    allowed, positions = trie.mask(seen, position=4, start=5)
    assert positions.tolist() == [5, 6]
    assert allowed[1].tolist() == [True] * 3 + [True, True] + [True, True]
    assert allowed[0].tolist() == [True] * 3 + [True, True] + [True, False]


def test_eviction_keeps_memory_under_budget(backend, small_catalog):
    router = Router(backend, create_strategy("constrained", Settings.from_env().prompts_dir))
    router.decide(small_catalog, TURNS[:1], None, session="probe")
    one = cache_bytes(backend.cache.entries["probe"].kv)
    budget, backend.cache.budget = backend.cache.budget, int(one * 2.5)
    try:
        for k in range(4):
            router.decide(small_catalog, TURNS[:1], None, session=f"s{k}")
            assert backend.cache.total_bytes() <= backend.cache.budget
        assert list(backend.cache.entries) == ["s2", "s3"]  # least recently used went first
    finally:
        backend.cache.budget = budget
