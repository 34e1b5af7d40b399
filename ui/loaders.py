"""What a tab hands back to app.py: the events the page runs on load, after sign-in."""
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Loader:
    """On page load, `fn` fills `outputs` (or `js` runs in the browser)."""

    fn: Callable | None
    outputs: list = field(default_factory=list)
    js: str | None = None
