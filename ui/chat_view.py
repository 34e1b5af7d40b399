"""What the Chat tab shows beside the conversation: task, event badge, scores, reading, timeline."""
import plotly.graph_objects as go

from router.chat import Chat
from router.decision import Decision
from router.events import Event
from ui.escaping import safe

EVENT_COLOURS = {Event.START: "#16a34a", Event.CONTINUE: "#2563eb", Event.SWITCH: "#ea580c",
                 Event.END: "#dc2626", Event.NONE: "#6b7280"}
# One colour per task in the timeline, none of them END's red (past eight tasks they come round again)
TASK_COLOURS = ("#636efa", "#00cc96", "#ab63fa", "#19d3f3", "#fecb52", "#8c564b", "#b6e880", "#17becf")
NO_TASK_COLOUR = "#9ca3af"


def name(label: str | None) -> str:
    """A label as text, `none` for no task."""
    return label or "none"


def messages(chat: Chat) -> list[dict]:
    """The turns as chatbot messages, text escaped."""
    return [{"role": t.role, "content": safe(t.content)} for t in chat.turns]


def active_task(chat: Chat) -> str:
    """The active task as Markdown."""
    return f"**Active task:** `{safe(name(chat.task))}`"


def badge(decision: Decision | None) -> str:
    """The event of the last message as a coloured badge (HTML, text escaped)."""
    if decision is None:
        return "<span>No message routed yet.</span>"
    event = decision.event
    move_html = (f"{safe(name(decision.previous))} → {safe(name(decision.label))}"
                 if event in (Event.SWITCH, Event.END) else safe(name(decision.label)))
    flag_html = "" if decision.valid else " · <b>invalid answer</b>, current task kept"
    return (f'<span style="background:{safe(EVENT_COLOURS[event])};color:white;padding:4px 12px;'
            f'border-radius:12px;font-weight:bold">{safe(event.value.upper())}</span> '
            f"{move_html}{flag_html}")


def scores_figure(decision: Decision | None) -> go.Figure | None:
    """Bar chart of the candidates' probabilities (constrained strategy), most likely first."""
    if decision is None or not decision.scores:
        return None
    ranked = sorted(decision.scores.items(), key=lambda kv: kv[1])
    colours = ["#2563eb" if c == name(decision.label) else "#94a3b8" for c, _ in ranked]
    fig = go.Figure(go.Bar(x=[p for _, p in ranked], y=[c for c, _ in ranked], orientation="h",
                           marker_color=colours, text=[f"{p:.1%}" for _, p in ranked],
                           textposition="auto"))
    fig.update_layout(xaxis=dict(range=[0, 1], tickformat=".0%"), height=60 + 20 * len(ranked),
                      margin=dict(t=40, l=10, r=10, b=30))
    return fig


def reading(decision: Decision | None) -> str:
    """The raw answer of a free-text strategy and how it was read, as Markdown (escaped)."""
    if decision is None or decision.raw is None:
        return ""
    read_md = (f"read as **{safe(name(decision.label))}**" if decision.valid else
               f"**invalid** (names no candidate): kept **{safe(name(decision.label))}**")
    return (f"Raw answer ({safe(decision.strategy)}), {read_md}:\n\n"
            f"<pre style='white-space:pre-wrap;overflow-wrap:anywhere'>{safe(decision.raw)}</pre>")


def shortlist(decision: Decision | None) -> str:
    """The candidate tasks a large catalog was cut to, with their retrieval scores, as Markdown."""
    if decision is None or decision.candidates is None:
        return ""
    items_md = ", ".join(f"`{safe(task)}` {score:.2f}" for task, score in decision.candidates.items())
    return f"**Candidates** (retrieved; `none` always one): {items_md}"


def latencies(chat: Chat) -> str:
    """Routing and reply latency of the last message, as Markdown."""
    routing_md = f"routing {chat.decisions[-1].latency:.2f} s" if chat.decisions else "routing -"
    reply_md = f"reply {chat.reply_latency:.2f} s" if chat.reply_latency is not None else "reply -"
    return f"**Latency:** {routing_md} · {reply_md}"


def timeline(chat: Chat) -> go.Figure:
    """The user messages in order, one colour per task (the legend), each point labelled with its event."""
    steps = list(enumerate(zip(chat.decisions, [t for t in chat.turns if t.role == "user"]), start=1))
    tasks = list(dict.fromkeys(name(d.label) for d in chat.decisions))
    fig = go.Figure()
    for k, task in enumerate(tasks):
        points = [(n, u) for n, (d, u) in steps if name(d.label) == task]
        fig.add_trace(go.Scatter(
            x=[n for n, _ in points], y=[task] * len(points), mode="markers", name=task,
            marker=dict(size=16, color=NO_TASK_COLOUR if task == "none" else TASK_COLOURS[k % len(TASK_COLOURS)]),
            hovertext=[safe(u.content[:120]) for _, u in points], hoverinfo="text"))
    fig.add_trace(go.Scatter(  # the events, drawn above their points even on the top row
        x=[n for n, _ in steps], y=[name(d.label) for _, (d, _) in steps], mode="markers+text", showlegend=False,
        marker=dict(size=16, color="rgba(0,0,0,0)"),  # unseen, the size of the points: the text clears them
        text=[d.event.value for _, (d, _) in steps], textposition="top center", cliponaxis=False,
        textfont=dict(color=[EVENT_COLOURS[d.event] for _, (d, _) in steps]), hoverinfo="skip"))
    fig.update_layout(height=130 + 30 * len(tasks), margin=dict(t=30, l=10, r=10, b=30),
                      xaxis=dict(title="user message", dtick=1, range=[0.5, len(steps) + 0.5]),
                      yaxis=dict(categoryorder="array", categoryarray=tasks))
    return fig


def panel(chat: Chat) -> tuple:
    """Everything beside the conversation: task, badge, scores, reading and candidates, latency, timeline."""
    last = chat.decisions[-1] if chat.decisions else None
    read_md = "\n\n".join(part for part in (reading(last), shortlist(last)) if part)
    return (active_task(chat), badge(last), scores_figure(last), read_md, latencies(chat), timeline(chat))
