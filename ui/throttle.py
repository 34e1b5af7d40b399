"""Sign-in throttling: failures counted per user name and per client address in front of Gradio's /login.

After FREE failures a key waits 2**(failures - FREE + 1) seconds (2, 4, 8... at most MAX_DELAY_S)
before its next attempt; after LOCK_AFTER failures it is locked for LOCK_S. Failures are forgotten
FORGET_S after the last one. A successful sign-in clears its user name's failures, not its address's.
"""
import json
import math
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from starlette.requests import Request

FREE = 5
LOCK_AFTER = 20
LOCK_S = 15 * 60
MAX_DELAY_S = 5 * 60
FORGET_S = 15 * 60
MAX_KEYS = 100_000
MAX_BODY = 64 * 1024


@dataclass
class Throttle:
    """Failure counts and times per key ('user:ana', 'address:10.0.0.7')."""

    free: int = FREE
    lock_after: int = LOCK_AFTER
    lock_s: float = LOCK_S
    failures: dict[str, tuple[int, float]] = field(default_factory=dict)

    def delay(self, count: int) -> float:
        """Seconds a key with `count` failures waits after its last one."""
        if count >= self.lock_after:
            return self.lock_s
        return 0.0 if count < self.free else min(2.0 ** (count - self.free + 1), MAX_DELAY_S)

    def wait(self, keys: list[str], now: float) -> float:
        """Seconds before any of `keys` may try again (0: now)."""
        waits = [0.0]
        for key in keys:
            count, last = self.failures.get(key, (0, now))
            if now - last > FORGET_S:
                self.failures.pop(key, None)
            else:
                waits.append(last + self.delay(count) - now)
        return max(waits)

    def failed(self, keys: list[str], now: float) -> int:
        """Count a failure against every key; return the largest count."""
        if len(self.failures) > MAX_KEYS:
            self.failures = {k: v for k, v in self.failures.items() if now - v[1] <= FORGET_S}
        counts = []
        for key in keys:
            count = self.failures.get(key, (0, now))[0] + 1
            self.failures[key] = (count, now)
            counts.append(count)
        return max(counts)

    def succeeded(self, name_key: str, address_key: str) -> None:
        """A right password: clear the name's failures, take back the one counted before the answer."""
        self.failures.pop(name_key, None)
        count, last = self.failures.get(address_key, (0, 0.0))
        if count <= 1:
            self.failures.pop(address_key, None)
        else:
            self.failures[address_key] = (count - 1, last)


def log(line: str) -> None:
    """A sign-in event on stderr, with the time (never a password)."""
    print(f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ} {line}", file=sys.stderr, flush=True)


async def read_body(receive) -> bytes | None:
    """The request body, or None when it is larger than MAX_BODY."""
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > MAX_BODY:
            return None
    return body


def replay(body: bytes, receive):
    """An ASGI receive that hands out `body` once, then waits on `receive` (None: disconnected)."""
    sent = False

    async def again():
        nonlocal sent
        if sent:
            return await receive() if receive else {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}
    return again


async def send_json(send, status: int, content: dict, headers: list | None = None) -> None:
    """Answer with a small JSON body."""
    data = json.dumps(content).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": data})


def is_sign_in(scope: dict) -> bool:
    """Whether an ASGI request is a POST to Gradio's /login."""
    return (scope["type"] == "http" and scope["method"] == "POST"
            and scope["path"].rstrip("/").endswith("/login"))


async def user_name(scope: dict, body: bytes) -> str:
    """The user name of a sign-in form ('' when the form cannot be read)."""
    try:
        form = await Request(scope, replay(body, None)).form()
    except Exception:  # a malformed form: Gradio refuses it; it still counts as a failure
        return ""
    return str(form.get("username") or "").strip()


class SignInGuard:
    """ASGI middleware before Gradio's POST /login: refuses throttled attempts (429), logs failures."""

    def __init__(self, app, throttle: Throttle | None = None):
        self.app, self.throttle = app, throttle or Throttle()

    async def __call__(self, scope, receive, send):
        """Pass every request through, sign-in attempts only when their name and address may try."""
        if not is_sign_in(scope):
            return await self.app(scope, receive, send)
        body = await read_body(receive)
        if body is None:
            return await send_json(send, 413, {"detail": "Sign-in request too large."})
        name, address = await user_name(scope, body), (scope.get("client") or ("unknown",))[0]
        keys = [f"user:{name}", f"address:{address}"]
        wait = math.ceil(self.throttle.wait(keys, time.time()))
        if wait > 0:
            log(f"sign-in refused (throttled {wait} s): user {name!r} from {address}")
            return await send_json(send, 429, {"detail": f"Too many failed sign-ins: try again in {wait} s."},
                                   [(b"retry-after", str(wait).encode())])
        count = self.throttle.failed(keys, time.time())  # counted before the answer: parallel tries wait
        if await self.answered_ok(scope, replay(body, receive), send):
            self.throttle.succeeded(*keys)
        else:
            log(f"sign-in failed: user {name!r} from {address} ({count} recent failures)")

    async def answered_ok(self, scope, receive, send) -> bool:
        """Let Gradio answer the attempt; whether it signed the user in."""
        status = []

        async def watch(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)
        await self.app(scope, receive, watch)
        return bool(status) and status[0] < 400
