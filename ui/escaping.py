"""User text put into HTML or Markdown (toasts, Markdown panels, plotly labels) is escaped here."""
import html


def safe(text: object) -> str:
    """`text` with &, < and > escaped, so it shows as typed and never as markup."""
    return html.escape(str(text), quote=False)
