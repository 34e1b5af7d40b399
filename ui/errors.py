"""Turning domain errors into messages in the page."""
import functools

import gradio as gr

from router.errors import RouterError
from ui.escaping import safe


def shown(callback):
    """Wrap a callback so that a RouterError becomes a gr.Error the user sees (toasts render HTML)."""
    @functools.wraps(callback)
    def wrapper(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except RouterError as e:
            raise gr.Error(safe(e)) from e
    return wrapper
