"""Turning domain errors and refused actions into messages in the page."""
import functools

import gradio as gr

from router.errors import RouterError
from ui.escaping import safe


class Refused(RouterError):
    """An action the page refuses, saying what to do instead; `control` names the input at fault."""

    def __init__(self, message: str, control: str | None = None):
        super().__init__(message)
        self.control = control


def noted(keep: int):
    """Wrap a callback whose first output is a note beside its controls.

    A RouterError becomes a ⚠ note there, and its other `keep` outputs stay as they are: no red
    "Error" on the panels, as gr.Error would put. With `keep=0` the note is the callback's only output.
    """
    def wrap(callback):
        @functools.wraps(callback)
        def wrapper(*args, **kwargs):
            try:
                return callback(*args, **kwargs)
            except RouterError as e:
                note = f"⚠ {safe(e)}"
                return (note, *[gr.skip()] * keep) if keep else note
        return wrapper
    return wrap
