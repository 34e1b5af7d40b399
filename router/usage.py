"""What one routing decision cost: tokens read and written, and requests tried again.

Backends add to the meter of the decision being made (a context variable, so concurrent
decisions in other threads keep their own counts); without a meter the counts go nowhere.
"""
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class Usage:
    """One decision's tokens, retries and way of holding the answer to the labels, counted per request."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    constraint: str | None = None


METER: ContextVar[Usage | None] = ContextVar("usage", default=None)


@contextmanager
def metered():
    """Count what the enclosed calls use; within an outer meter, count into that one."""
    outer = METER.get()
    if outer is not None:
        yield outer
        return
    usage = Usage()
    token = METER.set(usage)
    try:
        yield usage
    finally:
        METER.reset(token)


def count_tokens(prompt: int | None, completion: int | None) -> None:
    """Add a request's tokens to the current decision's meter."""
    usage = METER.get()
    if usage is not None:
        usage.prompt_tokens += prompt or 0
        usage.completion_tokens += completion or 0


def count_retry() -> None:
    """Add one retried request to the current decision's meter."""
    usage = METER.get()
    if usage is not None:
        usage.retries += 1


def record_constraint(path: str) -> None:
    """Note how the current decision's answer was held to the labels (json_schema, json_object, ...)."""
    usage = METER.get()
    if usage is not None:
        usage.constraint = path
