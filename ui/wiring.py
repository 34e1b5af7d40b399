"""How a tab binds module-level callbacks to the services, and hands its page-load events to app.py."""
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Loader:
    """On page load, `fn` fills `outputs` from `inputs` (or `js` runs in the browser)."""

    fn: Callable | None
    outputs: list = field(default_factory=list)
    js: str | None = None
    inputs: list = field(default_factory=list)


def bound(callback: Callable, services) -> Callable:
    """`callback(services, ...)` as a function of the rest, signature and annotations kept for gradio.

    gradio finds gr.Request and gr.Progress parameters by annotation and default, and streams a
    generator function's values; a functools.partial hides both, so this is a real function.
    """
    if inspect.isgeneratorfunction(callback):
        @functools.wraps(callback)
        def call(*args, **kwargs):
            yield from callback(services, *args, **kwargs)
    else:
        @functools.wraps(callback)
        def call(*args, **kwargs):
            return callback(services, *args, **kwargs)
    signature = inspect.signature(callback)
    call.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])
    return call
