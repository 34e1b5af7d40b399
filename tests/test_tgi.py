"""The tgi backend against a stand-in TGI server (TGI itself cannot run here: no GPU, no hub).

The stand-in (tests/standin.py) implements what huggingface_hub.InferenceClient calls:
POST / (TGI's generate, with grammar and details) and POST /v1/chat/completions (streamed).
"""
import math

import pytest

from router.backends import create_backend
from router.catalog import Catalog, Task
from router.conversation import Conversation, Turn
from router.errors import BackendUnavailable
from router.routing import Router
from router.settings import Settings
from router.strategies import create_strategy
from tests.standin import StandIn

CATALOG = Catalog([Task("meeting_minutes", "Write the minutes of a meeting"),
                   Task("linkedin_post", "Write a post for LinkedIn")])
CONVERSATION = Conversation("c", (Turn("user", "Help me with the minutes of today's meeting"),))


def token(text: str, logprob: float) -> dict:
    return {"id": 0, "text": text, "logprob": logprob, "special": False}


def generated(label: str, alternatives: dict[str, float]) -> dict:
    """TGI's answer to a grammar-held request with details: the label's tokens and the top ones."""
    head, first, rest = '{"task": "', label[:4], label[4:] + '"}'
    return {"generated_text": head + label + '"}', "details": {
        "finish_reason": "eos_token", "generated_tokens": 3,
        "prefill": [{"id": k, "text": "x", "logprob": None} for k in range(42)],
        "tokens": [token(head, -0.01), token(first, -0.3), token(rest, -0.02)],
        "top_tokens": [[token(head, -0.01)], [token(first, -0.3)] +
                       [token(t, lp) for t, lp in alternatives.items()], []]}}


def chunk(text: str) -> dict:
    return {"id": "1", "object": "chat.completion.chunk", "created": 1, "model": "tgi",
            "system_fingerprint": "", "choices": [{
                "index": 0, "delta": {"role": "assistant", "content": text}, "logprobs": None,
                "finish_reason": None}]}


def tgi(url: str):
    env = {"ROUTER_TGI_URL": url, "HF_TOKEN": "hf_secret123456"}
    return create_backend("tgi", settings=Settings.from_env(env))


def test_grammar_holds_the_labels_and_scores_come_from_token_logprobs():
    def answer(method, path, body):
        if path == "/v1/chat/completions":
            return 200, [chunk("Who "), chunk("attended?")]
        return 200, [generated("meeting_minutes", {"linked": -1.5, "none": -3.0})]

    with StandIn(answer) as server:
        router = Router(tgi(server.url), create_strategy("constrained", Settings.from_env().prompts_dir))
        decision, = router.route(CONVERSATION, CATALOG)
        reply = list(router.backend.chat([{"role": "user", "content": "minutes please"}], 8))

    method, path, body, headers = server.requests[0]
    assert path == "/" and body["parameters"]["details"] is True
    assert body["parameters"]["decoder_input_details"] is True
    assert (decision.prompt_tokens, decision.completion_tokens) == (42, 3), "counted from the details"
    grammar = body["parameters"]["grammar"]
    assert grammar["type"] == "json"
    assert grammar["value"]["properties"]["task"]["enum"] == ["meeting_minutes", "linkedin_post", "none"]
    assert headers["authorization"] == "Bearer hf_secret123456"
    assert decision.label == "meeting_minutes" and decision.valid
    expected = {"meeting_minutes": math.exp(-0.32), "linkedin_post": math.exp(-1.5), "none": math.exp(-3.0)}
    total = sum(expected.values())
    assert decision.scores == pytest.approx({k: v / total for k, v in expected.items()})
    assert reply == ["Who ", "attended?"]
    assert server.requests[1][2]["stream"] is True and server.requests[1][1] == "/v1/chat/completions"


def test_server_without_grammar_falls_back_to_free_text_and_says_so():
    def answer(method, path, body):
        if "grammar" in body["parameters"]:
            return 422, {"error": "Grammar and tools are not supported by this model",
                         "error_type": "validation"}
        return 200, [{"generated_text": " linkedin_post\nmore"}]

    with StandIn(answer) as server:
        router = Router(tgi(server.url), create_strategy("constrained", Settings.from_env().prompts_dir))
        decision, = router.route(CONVERSATION, CATALOG)
    assert decision.raw.startswith("constraint unsupported by tgi: fell back to free text")
    assert decision.label == "linkedin_post" and decision.valid and decision.scores is None


def test_server_down_and_key_refused_are_named_errors_without_the_token():
    refusal = {"error": "bad token hf_secret123456", "error_type": "auth"}
    with StandIn(lambda m, p, b: (401, refusal)) as server:
        backend = tgi(server.url)
        with pytest.raises(BackendUnavailable, match=r"refused the request \(401\): check HF_TOKEN") \
                as refused:
            list(backend.chat([{"role": "user", "content": "hi"}], 4))
    assert "hf_secret123456" not in str(refused.value) and "hf_secret123456" not in repr(backend)
    with pytest.raises(BackendUnavailable, match="cannot be reached"):
        list(backend.chat([{"role": "user", "content": "hi"}], 4))
