"""A stand-in OpenAI-compatible router model for evaluation runs (tests and bench/served_eval.py).

It answers a constrained routing request with {"task": label}, the label a hash of the
prompt picks among the schema's labels (so the same prompt always gets the same label, at any
concurrency), reports usage like a real server, and can behave like a busy one: a latency per
request, a limit of requests in flight beyond which it answers 429 with Retry-After, and a 429
for every n-th request.
"""
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field

from tests.standin import StandIn


def routing_reply(body: dict) -> dict:
    """A chat completion answering the request's label schema (or free text naming a label)."""
    prompt = json.dumps(body["messages"])
    schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema") or \
        (body.get("response_format") or {}).get("schema")
    labels = schema["properties"]["task"]["enum"] if schema else ["none"]
    label = labels[int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % len(labels)]
    content = json.dumps({"task": label}) if schema else label
    return {"id": "r", "object": "chat.completion", "created": 1, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": 6,
                      "total_tokens": len(prompt.split()) + 6}}


@dataclass
class BusyServer:
    """How the stand-in behaves: seconds per request, requests it serves at once, every n-th a 429."""

    latency_s: float = 0.0
    limit: int = 1000
    every: int = 0
    retry_after_s: float = 0.2
    served: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0

    def answer(self, method: str, path: str, body: dict):
        """Answer like a busy server."""
        with self.lock:
            self.served += 1
            busy = self.in_flight >= self.limit or (self.every and self.served % self.every == 0)
            self.in_flight += 0 if busy else 1
        if busy:
            with self.lock:
                self.refused += 1
            return 429, {"error": {"message": "rate limited", "code": 429}}, \
                {"Retry-After": f"{self.retry_after_s:g}"}
        try:
            time.sleep(self.latency_s)
            return 200, routing_reply(body)
        finally:
            with self.lock:
                self.in_flight -= 1

    def start(self) -> StandIn:
        """The stand-in server answering with this behaviour (use as a context manager)."""
        return StandIn(self.answer)
