"""User text put into HTML or Markdown (toasts, Markdown panels, plotly labels) is escaped here.

Code under ui/ puts a value into Markdown or HTML only through `safe()`, as a number, or as a
variable named `*_md` / `*_html` that holds markup built from escaped parts
(tests/test_safe_rendering.py checks it).
"""
import html

MARKDOWN = str.maketrans({"[": "&#91;", "]": "&#93;", "`": "&#96;"})


def safe(text: object) -> str:
    """`text` with &, < and > escaped, and Markdown's link and code marks, so it shows as typed."""
    return html.escape(str(text), quote=False).translate(MARKDOWN)


def hover_md(text: object, tip: object) -> str:
    """`text` shown as typed, with `tip` (also escaped) shown when the pointer rests on it."""
    tip_md = html.escape(str(tip)).translate(MARKDOWN)  # quotes too: it sits in an attribute
    return f'<span title="{tip_md}">{safe(text)}</span>'
