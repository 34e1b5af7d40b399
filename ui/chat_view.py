"""What the Chat tab shows beside the conversation: task, event badge, scores, reading, timeline."""
import plotly.graph_objects as go

from router.chat import Chat
from router.decision import Decision
from router.events import Event
from ui.escaping import safe
from ui.strategy_words import strategy_title

EVENT_COLOURS = {Event.START: "#16a34a", Event.CONTINUE: "#2563eb", Event.SWITCH: "#ea580c",
                 Event.END: "#dc2626", Event.NONE: "#6b7280"}
# One colour per task in the timeline, none of them END's red (past eight tasks they come round again)
TASK_COLOURS = ("#636efa", "#00cc96", "#ab63fa", "#19d3f3", "#fecb52", "#8c564b", "#b6e880", "#17becf")
NO_TASK_COLOUR = "#9ca3af"
LABELLED = 24  # messages up to which the timeline writes each event; past them, on hover only


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
    """Bar chart of the candidates' probabilities, most likely first, each valued, titled by the strategy."""
    if decision is None or not decision.scores:
        return None
    ranked = sorted(decision.scores.items(), key=lambda kv: kv[1])
    colours = ["#2563eb" if c == name(decision.label) else "#94a3b8" for c, _ in ranked]
    fig = go.Figure(go.Bar(x=[p for _, p in ranked], y=[c for c, _ in ranked], orientation="h",
                           marker_color=colours, text=[percent(p) for _, p in ranked],
                           textposition="outside", cliponaxis=False))
    fig.update_layout(title=f"Scored by {strategy_title(decision.strategy)}", height=80 + 20 * len(ranked),
                      xaxis=dict(range=[0, 1], tickformat=".0%"), margin=dict(t=40, l=10, r=50, b=30),
                      uniformtext=dict(minsize=10, mode="show"))
    return fig


def percent(p: float) -> str:
    """A probability as a percentage to read: one decimal, `<0.1%` below it."""
    return f"{p:.1%}" if p >= 0.0005 else "<0.1%"


def reading(decision: Decision | None) -> str:
    """The strategy's raw answer (or how it scored) and how it was read, as Markdown (escaped)."""
    if decision is None or decision.raw is None:
        return ""
    read_md = (f"read as **{safe(name(decision.label))}**" if decision.valid else
               f"**invalid** (names no candidate): kept **{safe(name(decision.label))}**")
    return (f"Raw answer ({safe(strategy_title(decision.strategy))}), {read_md}:\n\n"
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
    """The user messages in order, one colour per task (the legend), each point labelled with its event.

    The labels stand upright above their points, one message wide each, so neighbours never overlap;
    past LABELLED messages they are too dense to write and show on hover only.
    """
    steps = list(enumerate(zip(chat.decisions, [t for t in chat.turns if t.role == "user"]), start=1))
    tasks = list(dict.fromkeys(name(d.label) for d in chat.decisions))
    fig = go.Figure()
    for k, task in enumerate(tasks):
        points = [(n, d, u) for n, (d, u) in steps if name(d.label) == task]
        fig.add_trace(go.Scatter(
            x=[n for n, _, _ in points], y=[task] * len(points), mode="markers", name=task,
            marker=dict(size=16, color=NO_TASK_COLOUR if task == "none" else TASK_COLOURS[k % len(TASK_COLOURS)]),
            hovertext=[f"{d.event.value}: {safe(u.content[:120])}" for _, d, u in points], hoverinfo="text"))
    if len(steps) <= LABELLED:
        fig.update_layout(annotations=[event_label(n, d) for n, (d, _) in steps])
    fig.update_layout(height=190 + 30 * len(tasks), margin=dict(t=70, l=10, r=10, b=30),
                      xaxis=dict(title="user message", dtick=1, range=[0.5, len(steps) + 0.5]),
                      yaxis=dict(categoryorder="array", categoryarray=tasks))
    return fig


def event_label(n: int, decision: Decision) -> dict:
    """The event of message `n`, written upright just above its point (clear of the marker)."""
    return dict(x=n, y=name(decision.label), text=decision.event.value, textangle=-90, showarrow=False,
                yanchor="bottom", yshift=10, font=dict(color=EVENT_COLOURS[decision.event]))


def panel(chat: Chat) -> tuple:
    """Everything beside the conversation: task, badge, scores, reading and candidates, latency, timeline."""
    last = chat.decisions[-1] if chat.decisions else None
    read_md = "\n\n".join(part for part in (reading(last), shortlist(last)) if part)
    return (active_task(chat), badge(last), scores_figure(last), read_md, latencies(chat), timeline(chat))
