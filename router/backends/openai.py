"""OpenAI's API, or any OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, TGI) by base URL."""
from collections.abc import Iterator
from contextlib import contextmanager

import openai

from router.backends import register
from router.backends.base import Backend, cut_at_stop
from router.backends.retry import RETRIED_STATUSES, RetryPolicy, retry_after, retrying
from router.backends.served import (chosen_label, label_schema, label_scores, prompt_messages,
                                    redact, status_error, timeout_error)
from router.errors import BackendError, BackendUnavailable, ConstraintUnsupported
from router.prompting import Prompt
from router.settings import Settings
from router.usage import count_tokens, record_constraint

TOP_LOGPROBS = 10
MODES = ("json_schema", "json_object", "text")  # ways to hold the answer to the labels, tried in turn
SUPPORT: dict[tuple[str, str], str] = {}  # (server URL, model) -> the first mode it honoured


def api_message(error: "openai.APIStatusError") -> str:
    """The server's own words for a refused request."""
    body = error.body
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            if isinstance(body.get(key), str):
                return body[key]
    return error.message


def refused_format(error: Exception) -> bool:
    """Whether a server refused the response_format (llama-cpp-python says so with a 500)."""
    if isinstance(error, (openai.BadRequestError, openai.UnprocessableEntityError)):
        return True
    return isinstance(error, openai.APIStatusError) and "response_format" in str(error.message)


def retryable(error: Exception) -> tuple[bool, float | None]:
    """Whether a failed request is tried again (rate limit, server error, lost connection) and when."""
    if isinstance(error, openai.APITimeoutError):
        return False, None  # a server too slow to answer gets no extra load
    if isinstance(error, openai.APIStatusError):
        again = error.status_code in RETRIED_STATUSES and not refused_format(error)
        return again, retry_after(error.response.headers)
    return isinstance(error, openai.APIConnectionError), None


def response_format(mode: str, labels: list[str]) -> dict:
    """The response_format asking for {"task": label} in `mode` (json_schema or json_object)."""
    schema = label_schema(labels)
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "route", "strict": True, "schema": schema}}
    return {"type": "json_object", "schema": schema}


@register("openai")
class OpenAIBackend(Backend):
    """Chat completions; constrained answers through a JSON schema, scores from token log-probabilities.

    A server that refuses or ignores json_schema is asked for json_object with the schema
    (llama-cpp-python turns it into a grammar), then for free text; what worked is remembered
    per server and model.
    """

    def __init__(self, model: str | None = None, settings: Settings | None = None, **_ignored):
        settings = settings or Settings.from_env()
        if not model:
            raise BackendError("the openai backend needs a model name (the served model's id)")
        if not (settings.openai_api_key or settings.openai_base_url):
            raise BackendError("the openai backend needs OPENAI_API_KEY, or ROUTER_OPENAI_BASE_URL "
                               "for a server of your own")
        self.model = model
        self.timeout = settings.backend_timeout
        self.policy = RetryPolicy(tries=settings.backend_tries)
        self.server = ("the OpenAI-compatible server (ROUTER_OPENAI_BASE_URL)"
                       if settings.openai_base_url else "OpenAI")
        self.key = settings.openai_api_key
        self.client = openai.OpenAI(base_url=settings.openai_base_url, api_key=self.key or "none",
                                    timeout=self.timeout, max_retries=0)
        self.support_key = (str(self.client.base_url), model)

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r})"

    @property
    def mode(self) -> str:
        """How constrained answers are asked for now: json_schema, json_object or text."""
        return SUPPORT.get(self.support_key, MODES[0])

    @property
    def constrained(self) -> bool:
        """Whether the server may still hold answers to the labels."""
        return self.mode != "text"

    def downgrade(self, mode: str) -> None:
        """Remember that `mode` failed on this server and model: the next mode is tried from now on."""
        SUPPORT[self.support_key] = MODES[MODES.index(mode) + 1]

    @contextmanager
    def failures(self):
        """Turn the client's exceptions into named backend errors without the key."""
        try:
            yield
        except openai.APITimeoutError as e:
            raise timeout_error(self.server, self.timeout) from e
        except openai.APIConnectionError as e:
            raise BackendUnavailable(f"{self.server} cannot be reached; is it running?") from e
        except openai.APIStatusError as e:
            raise status_error(self.server, e.status_code, redact(api_message(e), self.key),
                               "OPENAI_API_KEY / ROUTER_OPENAI_API_KEY") from e

    def complete(self, messages: list[dict], **options):
        """One chat completion at temperature 0, tried again on rate limits and server errors."""
        with self.failures():
            answer = retrying(lambda: self.client.chat.completions.create(
                model=self.model, messages=messages, temperature=0, **options), self.policy, retryable)
        if answer.usage is not None:
            count_tokens(answer.usage.prompt_tokens, answer.usage.completion_tokens)
        return answer

    def score(self, prompt: Prompt, candidates: list[str], session: str | None = None) -> list[float]:
        """Ask for {"task": label} under the labels' schema; scores from the label tokens' log-probabilities."""
        labels = [c.strip() for c in candidates]
        while (mode := self.mode) != "text":
            try:
                answer = self.complete(prompt_messages(prompt), max_tokens=24,
                                       response_format=response_format(mode, labels),
                                       logprobs=True, top_logprobs=TOP_LOGPROBS).choices[0]
            except BackendError as e:
                if not refused_format(e.__cause__):
                    raise
                self.downgrade(mode)
                continue
            chosen = chosen_label(answer.message.content or "", labels)
            if chosen is None:
                self.downgrade(mode)
                continue
            record_constraint(mode)
            tokens = [(t.token, t.logprob, {a.token: a.logprob for a in t.top_logprobs or []})
                      for t in (answer.logprobs.content or [])] if answer.logprobs else []
            return label_scores(tokens, labels, chosen)
        record_constraint("text")
        raise ConstraintUnsupported(f"{self.server} holds answers to neither a JSON schema nor json_object")

    def generate(self, prompt: Prompt, max_tokens: int, stop: tuple[str, ...] = (),
                 session: str | None = None) -> str:
        """Greedy answer, cut before the first stop string."""
        answer = self.complete(prompt_messages(prompt), max_tokens=max_tokens,
                               stop=list(stop)[:4] or None)
        return cut_at_stop((answer.choices[0].message.content or "").lstrip(), stop)

    def chat(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        """Stream the reply."""
        with self.failures():
            stream = self.client.chat.completions.create(model=self.model, messages=messages,
                                                         max_tokens=max_tokens, stream=True)
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
