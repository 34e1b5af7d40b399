"""Text Generation Inference through huggingface_hub.InferenceClient, its grammar holding the labels."""
from collections.abc import Iterator
from contextlib import contextmanager

from router.backends import register
from router.backends.base import Backend, cut_at_stop
from router.backends.retry import RETRIED_STATUSES, RetryPolicy, retry_after, retrying
from router.backends.served import (chosen_label, label_schema, label_scores, prompt_text, redact,
                                    status_error, timeout_error)
from router.errors import BackendError, BackendUnavailable, ConstraintUnsupported
from router.prompting import Prompt
from router.settings import Settings
from router.usage import count_tokens, record_constraint

SERVER = "the TGI server (ROUTER_TGI_URL)"
TOP_TOKENS = 10


def http_response(error: Exception):
    """The HTTP response behind a huggingface_hub error, if any."""
    for e in (error, error.__cause__):
        if getattr(getattr(e, "response", None), "status_code", None) is not None:
            return e.response
    return None


def http_status(error: Exception) -> int | None:
    """The HTTP status behind a huggingface_hub error, if any."""
    response = http_response(error)
    return None if response is None else response.status_code


def retryable(error: Exception) -> tuple[bool, float | None]:
    """Whether a failed request is tried again (rate limit, server error, lost connection) and when."""
    import httpx2
    from huggingface_hub.errors import InferenceTimeoutError

    if isinstance(error, InferenceTimeoutError):
        return False, None  # a server too slow to answer gets no extra load
    response = http_response(error)
    if response is not None:
        return response.status_code in RETRIED_STATUSES, retry_after(response.headers)
    return isinstance(error, (httpx2.TransportError, OSError)), None


def alternative(token) -> tuple[str, float]:
    """(text, logprob) of a top token, parsed or left as a dict by the client."""
    return (token["text"], token["logprob"]) if isinstance(token, dict) else (token.text, token.logprob)


@register("tgi")
class TGIBackend(Backend):
    """/generate with a JSON grammar and token details for routing; the Messages API for chat."""

    def __init__(self, model: str | None = None, settings: Settings | None = None, **_ignored):
        from huggingface_hub import InferenceClient

        settings = settings or Settings.from_env()
        if not settings.tgi_url:
            raise BackendError("the tgi backend needs ROUTER_TGI_URL (the server's address)")
        self.model = model or "tgi"
        self.timeout = settings.backend_timeout
        self.token = settings.tgi_token
        self.policy = RetryPolicy(tries=settings.backend_tries)
        self.client = InferenceClient(base_url=settings.tgi_url, api_key=self.token,
                                      timeout=self.timeout)

    def __repr__(self) -> str:
        return f"TGIBackend(model={self.model!r})"

    @contextmanager
    def failures(self):
        """Turn the client's exceptions into named backend errors without the token."""
        import httpx2  # huggingface_hub's HTTP client
        from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError, TextGenerationError

        try:
            yield
        except InferenceTimeoutError as e:
            raise timeout_error(SERVER, self.timeout) from e
        except (HfHubHTTPError, TextGenerationError) as e:
            raise status_error(SERVER, http_status(e), redact(str(e), self.token), "HF_TOKEN") from e
        except (httpx2.TransportError, OSError) as e:
            raise BackendUnavailable(f"{SERVER} cannot be reached; is it running?") from e

    def generation(self, prompt: Prompt, **parameters):
        """/generate with token details (counted: prompt tokens from prefill, generated tokens), retried."""
        with self.failures():
            out = retrying(lambda: self.client.text_generation(
                prompt_text(prompt), details=True, decoder_input_details=True, **parameters),
                self.policy, retryable)
        if out.details is not None:
            count_tokens(len(out.details.prefill or []), out.details.generated_tokens)
        return out

    def score(self, prompt: Prompt, candidates: list[str], session: str | None = None) -> list[float]:
        """Generate {"task": label} under a JSON grammar; scores from the tokens' log-probabilities."""
        labels = [c.strip() for c in candidates]
        try:
            out = self.generation(prompt, max_new_tokens=24, top_n_tokens=TOP_TOKENS,
                                  grammar={"type": "json", "value": label_schema(labels)})
        except BackendError as e:
            if http_status(e.__cause__) in (400, 422):
                raise ConstraintUnsupported(f"{SERVER} refused the grammar: {e}") from e
            raise
        chosen = chosen_label(out.generated_text, labels)
        if chosen is None:
            raise ConstraintUnsupported(f"{SERVER} ignored the grammar of the labels")
        record_constraint("grammar")
        tops = out.details.top_tokens or [[] for _ in out.details.tokens]
        tokens = [(t.text, t.logprob, dict(alternative(a) for a in top))
                  for t, top in zip(out.details.tokens, tops)]
        return label_scores(tokens, labels, chosen)

    def generate(self, prompt: Prompt, max_tokens: int, stop: tuple[str, ...] = (),
                 session: str | None = None) -> str:
        """Greedy answer, cut before the first stop string."""
        out = self.generation(prompt, max_new_tokens=max_tokens, stop=list(stop) or None)
        return cut_at_stop(out.generated_text, stop)

    def chat(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        """Stream the reply through TGI's Messages API."""
        with self.failures():
            for chunk in self.client.chat_completion(messages, max_tokens=max_tokens, stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
