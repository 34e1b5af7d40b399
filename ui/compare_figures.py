"""Interactive figures of the Compare tab (plotly): confusion heatmaps, latencies, invalid outputs.

Plotly reads titles, tick and hover labels as a subset of HTML, so user text (model names) is escaped.
"""
import pandas as pd
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


def invalid_frame(runs: Titled) -> pd.DataFrame:
    """Invalid outputs per run, for a bar plot."""
    return pd.DataFrame({"config": [title for title, _ in runs],
                         "invalid": [m["invalid"] for _, m in runs]})
