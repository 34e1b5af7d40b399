"""Every transition of the events table (DESIGN.md §1)."""
import pytest

from router.conversation import Conversation, Turn
from router.events import Event, event_between


@pytest.mark.parametrize("previous, current, expected", [
    (None, None, Event.NONE),
    (None, "memo", Event.START),
    ("memo", "memo", Event.CONTINUE),
    ("memo", "linkedin_post", Event.SWITCH),
    ("memo", None, Event.END),
])
def test_event_table(previous, current, expected):
    assert event_between(previous, current) is expected


def test_gold_events_of_a_conversation():
    conv = Conversation("c", (
        Turn("user", "hi", None, True), Turn("assistant", "hello"),
        Turn("user", "minutes please", "meeting_minutes", True), Turn("assistant", "who came?"),
        Turn("user", "Ana and Bo", "meeting_minutes", True),
        Turn("user", "actually a post first", "linkedin_post", True),
        Turn("user", "unlabelled turn"),
        Turn("user", "thanks, bye", None, True)))
    assert conv.gold_labels() == [None, "meeting_minutes", "meeting_minutes", "linkedin_post",
                                  "linkedin_post", None]
    assert [e.value for e in conv.gold_events()] == ["none", "start", "continue", "switch",
                                                      "continue", "end"]
