"""Events that follow from two consecutive routing labels (DESIGN.md §1)."""
from enum import Enum


class Event(str, Enum):
    """What happened at a user message."""

    NONE = "none"
    START = "start"
    CONTINUE = "continue"
    SWITCH = "switch"
    END = "end"


MEASURED = (Event.START, Event.SWITCH, Event.END)


def event_between(previous: str | None, current: str | None) -> Event:
    """Return the event of going from label `previous` to label `current` (None is none)."""
    if previous is None:
        return Event.NONE if current is None else Event.START
    if current is None:
        return Event.END
    return Event.CONTINUE if current == previous else Event.SWITCH
