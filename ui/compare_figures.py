"""Interactive figures of the Compare tab (plotly): confusion heatmaps, latencies, invalid outputs.

Plotly reads titles, tick and hover labels as a subset of HTML, so user text (model names) is escaped.
"""
import textwrap

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from router.events import MEASURED
from ui.escaping import safe

Titled = list[tuple[str, dict]]
CELL_PX, GAP_PX = 200, 80  # a matrix's height; the room between rows for the tick labels and the next title


def point_heatmaps(runs: Titled) -> go.Figure:
    """One 2x2 confusion matrix per measurement point (columns) and run (rows)."""
    rows = max(1, len(runs))
    plot_px = rows * CELL_PX + (rows - 1) * GAP_PX
    fig = make_subplots(rows=rows, cols=len(MEASURED), vertical_spacing=GAP_PX / plot_px,
                        subplot_titles=[f"{safe(numbered(title))} · {e.value}"
                                        for title, _ in runs for e in MEASURED])
    for r, (_, metrics) in enumerate(runs, start=1):
        for c, event in enumerate(MEASURED, start=1):
            p = metrics["points"][event.value]
            z = [[p["tp"], p["fn"]], [p["fp"], p["tn"]]]
            fig.add_trace(go.Heatmap(z=z, x=["predicted yes", "predicted no"], y=["gold yes", "gold no"],
                                     text=z, texttemplate="%{text}", colorscale="Blues",
                                     showscale=False), row=r, col=c)
            fig.update_yaxes(autorange="reversed", row=r, col=c)
    fig.update_layout(height=plot_px + 70, margin=dict(t=60, l=10, r=10, b=10))
    return fig


def numbered(title: str) -> str:
    """A run's number ("#2") where its title starts with one, so that a third of the width holds it."""
    return title.split(" ", 1)[0] if title.startswith("#") else title


def label_heatmap(title: str, metrics: dict) -> go.Figure:
    """The gold x predicted label confusion matrix of one run."""
    labels = [safe(label) for label in metrics["labels"]]
    fig = go.Figure(go.Heatmap(z=metrics["label_confusion"], x=labels, y=labels,
                               text=metrics["label_confusion"], texttemplate="%{text}",
                               colorscale="Blues"))
    fig.update_layout(title=f"Labels · {safe(title)}", xaxis_title="predicted", yaxis_title="gold",
                      height=max(400, 28 * len(labels) + 160), yaxis_autorange="reversed")
    return fig


def latency_boxes(latencies: dict[str, list[float]]) -> go.Figure:
    """Distribution of decision latencies per run."""
    fig = go.Figure([go.Box(y=values, name=safe(title), boxpoints="outliers")
                     for title, values in latencies.items()])
    fig.update_layout(yaxis_title="seconds per decision", height=380, showlegend=False)
    return fig


def invalid_bars(runs: Titled, details: list[str]) -> go.Figure:
    """Invalid outputs per run as horizontal bars, each run's name whole on its line, its `details` on hover."""
    names = [wrapped(safe(title)) for title, _ in runs]
    counts = [m["invalid"] for _, m in runs]
    fig = go.Figure(go.Bar(x=counts, y=names, orientation="h", text=counts, textposition="auto",
                           hovertext=[safe(d) for d in details]))
    fig.update_layout(xaxis_title="invalid outputs", xaxis_tickformat="d", xaxis_rangemode="tozero",
                      yaxis_autorange="reversed", height=120 + 60 * len(runs), margin=dict(l=10, r=10, t=30, b=40))
    fig.update_xaxes(dtick=max(1, -(-max(counts, default=0) // 5)))  # whole numbers only
    return fig


def wrapped(text: str, width: int = 28) -> str:
    """`text` broken into lines of about `width` characters at spaces (plotly's <br>)."""
    return "<br>".join(textwrap.wrap(text, width)) or text
