"""Figures of the Train tab (plotly): loss curves, and what training changed per source and point."""
import plotly.graph_objects as go

from router.comparison import BASELINE, OVERALL, scoped
from router.events import MEASURED


NO_JOB = "No job yet: launch one (Quick try fills the form for a first one)"


def empty_figure(message: str, height: int) -> go.Figure:
    """A figure with no axes that says why it has nothing to show."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font=dict(size=15, color="#6b7280"),
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_layout(xaxis_visible=False, yaxis_visible=False, height=height, margin=dict(t=10, l=10, r=10, b=10))
    return fig


def loss_figure(points: list[dict] | None) -> go.Figure:
    """Train and eval loss against the training step (points None: no job chosen)."""
    if not points:
        return empty_figure(NO_JOB if points is None else "No loss points yet: the first come after a few "
                            "training steps", 320)
    fig = go.Figure()
    for kind, mode in (("train", "lines"), ("eval", "lines+markers")):
        chosen = [p for p in points if p["kind"] == kind]
        fig.add_trace(go.Scatter(x=[p["step"] for p in chosen], y=[p["value"] for p in chosen],
                                 mode=mode, name=f"{kind} loss"))
    fig.update_layout(xaxis_title="step", yaxis_title="loss", height=320, margin=dict(t=30, l=10, r=10, b=10))
    return fig


def recall_figure(runs: list[tuple[str, dict]], job: dict | None) -> go.Figure:
    """Recall at start, switch and end, overall and per data source: base, fine-tuned, copy baseline."""
    if not runs:
        return empty_figure(NO_JOB if job is None else "No evaluation yet: the base and the fine-tuned model are "
                            "evaluated when training ends" if job["evaluate"] else
                            "Not evaluated: the job was launched without evaluation", 360)
    fig = go.Figure()
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
