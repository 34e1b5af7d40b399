"""The openai backend against a real OpenAI-compatible server: `transformers serve` on the embedded model.

The server is started by the tests on 127.0.0.1 (offline). It ignores JSON-schema answers and
log-probabilities, so the constrained strategy must say so and fall back to free text. What it
cannot show (a wrong key, rate limits, scores from log-probabilities) is checked against a
stand-in for OpenAI's cloud (tests/standin.py).
"""
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from router.backends import create_backend
from router.catalog import Catalog, Task
from router.chat import Chat
from router.conversation import Conversation, Turn
from router.embedded import embedded_model_dir
from router.errors import BackendError, BackendUnavailable
from router.prompting import Prompt
from router.routing import Router
from router.settings import Settings
from router.strategies import create_strategy
from tests.conftest import free_port
from tests.standin import StandIn

CATALOG = Catalog([Task("meeting_minutes", "Write the minutes of a meeting"),
                   Task("linkedin_post", "Write a post for LinkedIn")])
SERVE = [sys.executable, "-m", "transformers.cli.transformers", "serve"]


class Served:
    """`transformers serve` on the embedded model, stopped and started again at will."""

    def __init__(self, model: str, port: int, log):
        self.model, self.port, self.log, self.proc = model, port, log, None
        self.url = f"http://127.0.0.1:{port}/v1"

    def start(self) -> None:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        self.proc = subprocess.Popen([*SERVE, self.model, "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 180
        while time.time() < deadline:
            assert self.proc.poll() is None, "transformers serve exited; see its log"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2)
                return
            except OSError:
                time.sleep(0.5)
        raise AssertionError("transformers serve did not start in 180 s")

    def stop(self) -> None:
        """Ask the server to stop; on a loaded machine it may hang in its shutdown, then kill it."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The real server, shared by the tests of this module."""
    model = str(embedded_model_dir(Settings.from_env().model_cache))
    with open(tmp_path_factory.mktemp("serve") / "serve.log", "w") as log:
        server = Served(model, free_port(), log)
        server.start()
        yield server
        server.stop()


def openai_backend(url: str, model: str, timeout: float = 120, key: str | None = None):
    env = {"ROUTER_OPENAI_BASE_URL": url, "ROUTER_BACKEND_TIMEOUT": str(timeout)}
    return create_backend("openai", model=model, settings=Settings.from_env(
        env | ({"ROUTER_OPENAI_API_KEY": key} if key else {})))


def router(backend, strategy: str) -> Router:
    return Router(backend, create_strategy(strategy, Settings.from_env().prompts_dir))


def test_generate_and_streamed_chat(served):
    backend = openai_backend(served.url, served.model)
    prompt = router(backend, "zero_shot").strategy.prompt(CATALOG, [Turn("user", "Hello")], None)
    assert isinstance(backend.generate(prompt, 4, ("\n",)), str)
    pieces = list(backend.chat([{"role": "user", "content": "Say hello"}], 6))
    assert len(pieces) > 1 and "".join(pieces).strip(), "the reply arrives in several pieces"


def test_constrained_on_a_server_without_schema_says_so_and_falls_back(served):
    backend = openai_backend(served.url, served.model)
    conversation = Conversation("c", (Turn("user", "Help me write the minutes of today's meeting"),))
    d, = router(backend, "constrained").route(conversation, CATALOG)
    assert d.raw.startswith("constraint unsupported by openai: fell back to free text\n")
    assert d.scores is None and d.strategy == "constrained"
    assert d.valid or d.label == d.previous, "an invalid answer is counted and keeps the task"
    assert backend.constrained is False, "later decisions go straight to free text"


def test_unknown_model_is_a_clear_error(served):
    with pytest.raises(BackendError, match="no-such-model"):
        list(openai_backend(served.url, "no-such-model").chat([{"role": "user", "content": "hi"}], 4))


def test_timeout_is_named_with_its_setting(served):
    """A whole (unstreamed) answer of many tokens cannot come back within 0.05 s."""
    backend = openai_backend(served.url, served.model, timeout=0.05)
    with pytest.raises(BackendUnavailable, match="did not answer within 0.05 s"):
        backend.generate(Prompt("You are a novelist.", ("Write a long story about a lighthouse.",)), 400)


def test_server_down_keeps_the_conversation_and_the_next_message_works_after_restart(served):
    backend = openai_backend(served.url, served.model)
    routing = router(backend, "zero_shot")
    chat = Chat.new()
    served.stop()
    try:
        with pytest.raises(BackendUnavailable, match="cannot be reached"):
            list(chat.exchange("Help me with the minutes", routing, backend, CATALOG, 4))
        assert chat.turns == () and chat.decisions == (), "nothing half-done"
    finally:
        served.start()
    *_, done = chat.exchange("Help me with the minutes", routing, backend, CATALOG, 4)
    assert [t.role for t in done.turns] == ["user", "assistant"] and len(done.decisions) == 1


def test_wrong_key_and_rate_limit_are_named_without_the_key():
    """Against a stand-in for OpenAI's cloud, which checks keys (the local server checks none)."""
    key = "sk-test-secret-123456"
    statuses = iter([401, 429])

    def answer(method, path, body):
        status = next(statuses)
        return status, {"error": {"message": f"Incorrect API key provided: {key}", "code": status}}

    with StandIn(answer) as server:
        backend = openai_backend(server.url, "gpt-4o-mini", key=key)
        with pytest.raises(BackendUnavailable, match="refused the request \\(401\\)") as refused:
            list(backend.chat([{"role": "user", "content": "hi"}], 4))
        with pytest.raises(BackendUnavailable, match="rate limiting requests \\(429\\)"):
            list(backend.chat([{"role": "user", "content": "hi"}], 4))
    assert key not in str(refused.value) and key not in repr(backend)
    assert key not in repr(Settings.from_env({"OPENAI_API_KEY": key}))
    assert server.requests[0][3]["authorization"] == f"Bearer {key}"


def test_schema_holds_the_labels_and_scores_come_from_logprobs():
    """Against a stand-in for OpenAI's cloud, which supports JSON-schema answers and log-probabilities."""
    def top(*pairs):
        return [{"token": t, "logprob": lp, "bytes": None} for t, lp in pairs]

    tokens = [('{"task":"', -0.01, top(('{"task":"', -0.01))),
              ("linked", -0.4, top(("linked", -0.4), ("meeting", -1.2), ("none", -2.5))),
              ('in_post"}', -0.05, top(('in_post"}', -0.05)))]
    reply = {"id": "1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini", "choices": [{
        "index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": '{"task":"linkedin_post"}'},
        "logprobs": {"content": [{"token": t, "logprob": lp, "bytes": None, "top_logprobs": alt}
                                 for t, lp, alt in tokens]}}]}
    with StandIn(lambda m, p, b: (200, reply)) as server:
        decision = router(openai_backend(server.url, "gpt-4o-mini", key="sk-x"), "constrained").decide(
            CATALOG, [Turn("user", "Draft a LinkedIn post about our launch")], None)
    sent = server.requests[0][2]
    assert sent["response_format"]["json_schema"]["schema"]["properties"]["task"]["enum"] == \
        ["meeting_minutes", "linkedin_post", "none"]
    assert sent["logprobs"] is True and sent["top_logprobs"] > 0
    assert decision.label == "linkedin_post" and decision.raw is None
    assert decision.scores["linkedin_post"] > decision.scores["meeting_minutes"] > decision.scores["none"] > 0
