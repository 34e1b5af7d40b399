"""What the served-model backends share: prompts as messages, the label schema, scores, errors."""
import json
import math
import re

from router.errors import BackendError, BackendUnavailable
from router.prompting import Prompt

KEY_PATTERN = re.compile(r"(sk|hf)[-_][A-Za-z0-9_*\-]{6,}")


def prompt_messages(prompt: Prompt) -> list[dict]:
    """A routing prompt as chat messages; the answer prefix closes the user message."""
    user = prompt.user + (f"\n\n{prompt.answer_prefix}" if prompt.answer_prefix else "")
    return [{"role": "system", "content": prompt.system}, {"role": "user", "content": user}]


def prompt_text(prompt: Prompt) -> str:
    """A routing prompt as one text that the answer continues."""
    return f"{prompt.system}\n\n{prompt.user}\n\n{prompt.answer_prefix}"


def label_schema(labels: list[str]) -> dict:
    """JSON schema of an answer {"task": <one of labels>}."""
    return {"type": "object", "properties": {"task": {"type": "string", "enum": labels}},
            "required": ["task"], "additionalProperties": False}


def chosen_label(text: str, labels: list[str]) -> str | None:
    """The label of a JSON answer {"task": ...}, or None when the answer does not hold one."""
    try:
        answer = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None
    task = answer.get("task") if isinstance(answer, dict) else None
    return task if task in labels else None


def label_scores(tokens: list[tuple[str, float, dict[str, float]]], labels: list[str],
                 chosen: str) -> list[float]:
    """Log-probabilities of the labels from the answer's tokens (text, logprob, top alternatives).

    The chosen label gets the sum of its tokens' log-probabilities; another label gets the
    alternatives offered where the chosen label starts that begin it (shared evenly between
    labels with the same beginning); a label the server never offered gets -inf.
    Without token log-probabilities the chosen label takes all the probability.
    """
    scores = {label: -math.inf for label in labels}
    if not tokens:
        return [0.0 if label == chosen else -math.inf for label in labels]
    text = "".join(t for t, _, _ in tokens)
    start = text.find(f'"{chosen}"') + 1
    ends = [0]
    for t, _, _ in tokens:
        ends.append(ends[-1] + len(t))
    first = next(k for k in range(len(tokens)) if ends[k + 1] > start)
    last = next(k for k in range(len(tokens)) if ends[k + 1] >= start + len(chosen))
    scores[chosen] = sum(lp for _, lp, _ in tokens[first: last + 1])
    head = text[ends[first]: start]
    for alternative, logprob in tokens[first][2].items():
        piece = alternative[len(head):].rstrip('"') if alternative.startswith(head) else ""
        if not piece or chosen.startswith(piece):
            continue
        matches = [label for label in labels if label.startswith(piece)]
        for label in matches:
            scores[label] = max(scores[label], logprob - math.log(len(matches)))
    return [scores[label] for label in labels]


def redact(text: str, *secrets: str | None) -> str:
    """`text` without the given secrets or anything shaped like an API key."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return KEY_PATTERN.sub(r"\1-***", text)


def status_error(server: str, status: int | None, message: str, key_hint: str) -> BackendError:
    """The named error for an HTTP status a served model answered with."""
    if status in (401, 403):
        return BackendUnavailable(f"{server} refused the request ({status}): check {key_hint}")
    if status == 429:
        return BackendUnavailable(f"{server} is rate limiting requests (429); try again shortly")
    if status == 404:
        return BackendError(f"{server} does not know that model or endpoint (404): {message}")
    return BackendError(f"{server} answered {status}: {message}")


def timeout_error(server: str, seconds: float) -> BackendUnavailable:
    """The error for a served model that did not answer in time."""
    return BackendUnavailable(f"{server} did not answer within {seconds:g} s "
                              "(ROUTER_BACKEND_TIMEOUT sets the limit)")
