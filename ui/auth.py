"""Sign-in: users from ROUTER_USERS_FILE (lines "user:password") or ROUTER_USERS ("ana:pw1,bo:pw2").

A variable or file that is set but names no user, or has an empty entry, is an error: sign-in is never
turned off by a typo.
"""
import os
from pathlib import Path

from data.annotations import ANONYMOUS
from router.errors import InputError
from ui.escaping import safe

LOCAL_HOST = "127.0.0.1"


class UsersError(InputError):
    """A users file or variable that cannot be read."""


def parse_users(entries: list[str], file: str, lines: list[int] | None = None) -> dict[str, str]:
    """Users from "user:password" entries; errors name the file (or variable) and line."""
    if not entries:
        raise UsersError("names no user (expected user:password entries)", file=file)
    users: dict[str, str] = {}
    for k, entry in enumerate(entries):
        line = lines[k] if lines else None
        name, sep, password = entry.strip().partition(":")
        if not sep or not name.strip() or not password:
            raise UsersError("expected user:password", file=file, line=line, field=f"entry {k + 1}")
        if name.strip() in users:
            raise UsersError(f"user '{name.strip()}' appears twice", file=file, line=line)
        users[name.strip()] = password
    return users


def load_users(env: dict | None = None) -> dict[str, str]:
    """The configured users (name -> password); empty when none is configured."""
    env = os.environ if env is None else env
    if env.get("ROUTER_USERS_FILE"):
        path = Path(env["ROUTER_USERS_FILE"])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise UsersError(f"cannot read the users file ({e})", file=str(path)) from e
        numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
                    if line.strip() and not line.lstrip().startswith("#")]
        return parse_users([line for _, line in numbered], str(path), [n for n, _ in numbered])
    if env.get("ROUTER_USERS"):
        entries = env["ROUTER_USERS"].split(",")
        return parse_users(entries if any(e.strip() for e in entries) else [], "ROUTER_USERS")
    return {}


def load_admins(env: dict | None = None) -> set[str] | None:
    """The users named in ROUTER_ADMINS (comma-separated), who may change the guidelines; None: everyone."""
    env = os.environ if env is None else env
    names = {name.strip() for name in env.get("ROUTER_ADMINS", "").split(",") if name.strip()}
    return names or None


def username(request) -> str:
    """The signed-in user of a Gradio request, or 'anonymous' without sign-in."""
    return getattr(request, "username", None) or ANONYMOUS


def listen_host(host: str, users: dict[str, str]) -> str:
    """The host to listen on: the configured one with sign-in, 127.0.0.1 only without users."""
    return host if users else LOCAL_HOST


def sign_in_notice(host: str, users: dict[str, str]) -> str:
    """What the app says at start about sign-in and where it listens."""
    if users:
        return (f"sign-in: on, {len(users)} users (failed sign-ins throttled per user name and address, "
                f"and logged); listening on {host}")
    ignored = f" (ROUTER_HOST={host} ignored)" if host != LOCAL_HOST else ""
    return ("sign-in: off, no ROUTER_USERS or ROUTER_USERS_FILE; the annotator is 'anonymous'; "
            f"listening on {LOCAL_HOST} only{ignored}")


class PageTitle:
    """ASGI middleware: the page's HTML gets a <title> from the start (Gradio's sign-in page sets none)."""

    def __init__(self, app, title: str):
        self.app, self.tag = app, f"<head><title>{safe(title)}</title>".encode()

    async def __call__(self, scope, receive, send):
        """Pass every request through; the page itself (GET /) with its title inserted."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/":
            return await self.app(scope, receive, send)
        start, body = {}, []

        async def titled(message):
            if message["type"] == "http.response.start":
                start.update(message)  # held until the whole body is known: its length changes
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            page = b"".join(body)
            if b"<title>" not in page:
                page = page.replace(b"<head>", self.tag, 1)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(page)).encode())]})
            await send({"type": "http.response.body", "body": page})
        await self.app(scope, receive, titled)
