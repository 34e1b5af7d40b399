"""Figures of the Train tab (plotly): loss curves, and what training changed per source and point."""
import plotly.graph_objects as go

from router.comparison import BASELINE, OVERALL, scoped
from router.events import MEASURED


def loss_figure(points: list[dict]) -> go.Figure:
    """Train and eval loss against the training step."""
    fig = go.Figure()
    for kind, mode in (("train", "lines"), ("eval", "lines+markers")):
        chosen = [p for p in points if p["kind"] == kind]
        fig.add_trace(go.Scatter(x=[p["step"] for p in chosen], y=[p["value"] for p in chosen],
                                 mode=mode, name=f"{kind} loss"))
    fig.update_layout(xaxis_title="step", yaxis_title="loss", height=320, margin=dict(t=30, l=10, r=10, b=10))
    return fig


def recall_figure(runs: list[tuple[str, dict]]) -> go.Figure:
    """Recall at start, switch and end, overall and per data source: base, fine-tuned, copy baseline."""
    fig = go.Figure()
    if not runs:
        return fig
    titled = [*runs, (BASELINE, runs[0][1]["baseline"])]
    scopes = [OVERALL, *runs[0][1].get("by_source", {})]
    x = [[s for s in scopes for _ in MEASURED], [e.value for _ in scopes for e in MEASURED]]
    for title, m in titled:
        y = [(scoped(m, s) or {}).get("points", {}).get(e.value, {}).get("recall", 0.0)
             for s in scopes for e in MEASURED]
        fig.add_trace(go.Bar(x=x, y=y, name=title))
    fig.update_layout(barmode="group", yaxis_title="recall", yaxis_range=[0, 1], height=360,
                      margin=dict(t=30, l=10, r=10, b=10))
    return fig
