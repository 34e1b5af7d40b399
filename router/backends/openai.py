"""OpenAI's API, or any OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, TGI) by base URL."""
from collections.abc import Iterator
from contextlib import contextmanager

import openai

from router.backends import register
from router.backends.base import Backend, cut_at_stop
from router.backends.served import (chosen_label, label_schema, label_scores, prompt_messages,
                                    redact, status_error, timeout_error)
from router.errors import BackendError, BackendUnavailable, ConstraintUnsupported
from router.prompting import Prompt
from router.settings import Settings

TOP_LOGPROBS = 10


def api_message(error: "openai.APIStatusError") -> str:
    """The server's own words for a refused request."""
    body = error.body
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            if isinstance(body.get(key), str):
                return body[key]
    return error.message


@register("openai")
class OpenAIBackend(Backend):
    """Chat completions; constrained answers through a JSON schema, scores from token log-probabilities."""

    def __init__(self, model: str | None = None, settings: Settings | None = None, **_ignored):
        settings = settings or Settings.from_env()
        if not model:
            raise BackendError("the openai backend needs a model name (the served model's id)")
        if not (settings.openai_api_key or settings.openai_base_url):
            raise BackendError("the openai backend needs OPENAI_API_KEY, or ROUTER_OPENAI_BASE_URL "
                               "for a server of your own")
        self.model = model
        self.timeout = settings.backend_timeout
        self.server = ("the OpenAI-compatible server (ROUTER_OPENAI_BASE_URL)"
                       if settings.openai_base_url else "OpenAI")
        self.key = settings.openai_api_key
        self.client = openai.OpenAI(base_url=settings.openai_base_url, api_key=self.key or "none",
                                    timeout=self.timeout, max_retries=0)
        self.constrained = True  # until the server shows it ignores or refuses the schema

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r})"

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
        """One chat completion at temperature 0."""
        with self.failures():
            return self.client.chat.completions.create(model=self.model, messages=messages,
                                                       temperature=0, **options)

    def score(self, prompt: Prompt, candidates: list[str], session: str | None = None) -> list[float]:
        """Ask for {"task": label} under a JSON schema; scores from the label tokens' log-probabilities."""
        labels = [c.strip() for c in candidates]
        if not self.constrained:
            raise ConstraintUnsupported(f"{self.server} ignores JSON-schema answers")
        schema = {"type": "json_schema", "json_schema": {"name": "route", "strict": True,
                                                          "schema": label_schema(labels)}}
        try:
            answer = self.complete(prompt_messages(prompt), max_tokens=24, response_format=schema,
                                   logprobs=True, top_logprobs=TOP_LOGPROBS).choices[0]
        except BackendError as e:
            if isinstance(e.__cause__, openai.BadRequestError):
                self.constrained = False
                raise ConstraintUnsupported(f"{self.server} refused a JSON-schema answer: {e}") from e
            raise
        chosen = chosen_label(answer.message.content or "", labels)
        if chosen is None:
            self.constrained = False
            raise ConstraintUnsupported(f"{self.server} ignored the JSON schema of the labels")
        tokens = [(t.token, t.logprob, {a.token: a.logprob for a in t.top_logprobs or []})
                  for t in (answer.logprobs.content or [])] if answer.logprobs else []
        return label_scores(tokens, labels, chosen)

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
