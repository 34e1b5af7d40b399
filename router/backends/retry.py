"""Retrying a served model's request: 429 and 5xx (and timeouts, lost connections) with backoff.

The wait honours the server's Retry-After (seconds or an HTTP date), else doubles from
`base_s`; both are capped at `cap_s`. After `tries` attempts the last error goes through.
"""
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

from router.usage import count_retry

RETRIED_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is tried."""

    tries: int = 4
    base_s: float = 0.5
    cap_s: float = 30.0

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try `attempt + 2`."""
        wanted = retry_after if retry_after is not None else self.base_s * 2 ** attempt
        return max(0.0, min(self.cap_s, wanted))


def retry_after(headers) -> float | None:
    """The Retry-After header in seconds (from seconds or an HTTP date), None when absent or unreadable."""
    value = (headers or {}).get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None


def retrying(call: Callable[[], T], policy: RetryPolicy,
             retryable: Callable[[Exception], tuple[bool, float | None]]) -> T:
    """`call()`, tried again while `retryable(error)` says (yes, Retry-After or None) and tries are left."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as e:
            again, after = retryable(e)
            attempt += 1
            if not again or attempt >= policy.tries:
                raise
            count_retry()
            time.sleep(policy.wait(attempt - 1, after))
