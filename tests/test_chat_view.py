"""The Chat tab's views: user text and raw model output are escaped; the panel follows the decision."""
import pytest

from router.chat import Chat
from router.conversation import Turn
from router.decision import Decision
from router.events import Event
from tests.test_safe_rendering import PAYLOADS, assert_escaped
from ui.chat_view import EVENT_COLOURS, LABELLED, badge, messages, panel, reading, scores_figure, timeline


def decision(label, previous, event, raw=None, scores=None, valid=True) -> Decision:
    return Decision(label, previous, event, valid, 0.5, "zero_shot", "m", scores, raw)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_user_text_and_raw_answers_are_escaped(payload):
    chat = Chat("c", (Turn("user", f"Hi {payload}"), Turn("assistant", f"Hello {payload}")),
                (decision(None, None, Event.NONE, raw=f"none {payload}"),))
    for message in messages(chat):
        assert_escaped(message["content"], payload)
    assert_escaped(reading(chat.decisions[0]), payload)
    hover = timeline(chat).data[0].hovertext[0]
    assert_escaped(hover, payload)


def test_panel_follows_the_last_decision():
    first = decision("meeting_minutes", None, Event.START, scores={"meeting_minutes": 0.7, "none": 0.3})
    second = decision("meeting_minutes", "meeting_minutes", Event.CONTINUE, raw="garbage", valid=False)
    chat = Chat("c", (Turn("user", "a"), Turn("assistant", "b"), Turn("user", "c")), (first, second))
    active, shown_badge, scores, read, latency, line = panel(chat)
    assert "meeting_minutes" in active and "CONTINUE" in shown_badge and "invalid" in shown_badge
    assert scores is None and "**invalid**" in read and "routing 0.50 s" in latency
    assert [list(t.x) for t in line.data] == [[1, 2]]
    assert [a.text for a in line.layout.annotations] == ["start", "continue"]
    figure = scores_figure(first)
    assert list(figure.data[0].y) == ["none", "meeting_minutes"] and "START" in badge(first)
    assert figure.layout.title.text == "Scored by zero-shot answer" and list(figure.data[0].text) == ["30.0%", "70.0%"]
    assert badge(None) == "<span>No message routed yet.</span>"


def test_every_bar_carries_its_value_even_a_tiny_one():
    tiny = decision("meeting_minutes", None, Event.START, scores={"meeting_minutes": 0.9996, "none": 0.0004})
    bars = scores_figure(tiny).data[0]
    assert list(bars.text) == ["<0.1%", "100.0%"] and bars.textposition == "outside" and bars.cliponaxis is False


def test_the_timeline_colours_each_task_apart_from_end_and_labels_events_upright_above_their_points():
    labels = [("meeting_minutes", None, Event.START), ("linkedin_post", "meeting_minutes", Event.SWITCH),
              ("prospect_answer", "linkedin_post", Event.SWITCH), (None, "prospect_answer", Event.END)]
    turns = tuple(Turn(role, f"{role} {k}") for k in range(4) for role in ("user", "assistant"))
    line = timeline(Chat("c", turns, tuple(decision(*label) for label in labels)))
    legend = list(line.data)
    assert [t.name for t in legend] == ["meeting_minutes", "linkedin_post", "prospect_answer", "none"]
    colours = [t.marker.color for t in legend]
    assert len(set(colours)) == 4 and EVENT_COLOURS[Event.END] not in colours
    assert all(t.marker.symbol is None for t in legend), "the legend shows each task by its colour only"
    events = line.layout.annotations
    assert [a.text for a in events] == ["start", "switch", "switch", "end"] and {a.textangle for a in events} == {-90}
    assert [a.x for a in events] == [1, 2, 3, 4] and events[-1].font.color == EVENT_COLOURS[Event.END]
    assert line.data[-1].hovertext[0] == "end: user 3"


def test_a_long_timeline_shows_its_events_on_hover_only():
    turns = tuple(Turn(role, f"{role} {k}") for k in range(LABELLED + 1) for role in ("user", "assistant"))
    chat = Chat("c", turns, tuple(decision(None, None, Event.NONE) for _ in range(LABELLED + 1)))
    line = timeline(chat)
    assert not line.layout.annotations and line.data[0].hovertext[-1] == f"none: user {LABELLED}"
    assert len(timeline(chat.__class__("c", turns[:-2], chat.decisions[:-1])).layout.annotations) == LABELLED


def test_a_long_raw_answer_wraps():
    long = decision(None, None, Event.NONE, raw="word " * 200)
    assert "white-space:pre-wrap" in reading(long)
