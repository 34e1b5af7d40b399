"""A live chat: every user message is routed, then the reply model answers under the active task (or a set reply)."""
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from router.assistant import reply_messages, set_reply
from router.backends.base import Backend
from router.catalog import Catalog
from router.conversation import Conversation, Turn
from router.decision import Decision
from router.errors import InputError
from router.events import event_between
from router.routing import Router


def new_id() -> str:
    """A fresh conversation id: chat-<UTC time>-<random>."""
    return f"chat-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Chat:
    """A conversation with the router's decision after each user turn; a value, changed by copying.

    A failed message leaves the Chat it started from untouched, so the conversation is kept.
    """

    id: str
    turns: tuple[Turn, ...] = ()
    decisions: tuple[Decision, ...] = ()
    reply_latency: float | None = None
    continued_from: str | None = None

    @classmethod
    def new(cls) -> "Chat":
        """An empty chat with a fresh id."""
        return cls(new_id())

    def to_dict(self) -> dict:
        """The chat as JSON-ready values (`from_dict` reads them back)."""
        return {"id": self.id, "turns": [[t.role, t.content] for t in self.turns],
                "decisions": [d.to_dict() for d in self.decisions], "reply_latency": self.reply_latency,
                "continued_from": self.continued_from}

    @classmethod
    def from_dict(cls, raw: dict) -> "Chat":
        """A chat from `to_dict`'s values; KeyError, TypeError or ValueError if they are not."""
        return cls(raw["id"], tuple(Turn(role, content) for role, content in raw["turns"]),
                   tuple(Decision.from_dict(d) for d in raw["decisions"]), raw["reply_latency"],
                   raw["continued_from"])

    @property
    def task(self) -> str | None:
        """The active task: the label of the last decision (None before any)."""
        return self.decisions[-1].label if self.decisions else None

    def routed(self, router: Router, catalog: Catalog, text: str) -> "Chat":
        """This chat with the user message `text` appended and routed."""
        if not text.strip():
            raise InputError("write a message first", field="message")
        turns = (*self.turns, Turn("user", text.strip()))
        decision = router.decide(catalog, turns, self.task, session=self.id)
        return replace(self, turns=turns, decisions=(*self.decisions, decision))

    def exchange(self, text: str, router: Router, replier: Backend, catalog: Catalog,
                 max_tokens: int) -> Iterator["Chat"]:
        """Route `text`, then stream the reply: the chat as routed, then with the reply growing.

        With no task active the reply is set text (`set_reply`) and the reply model is not called.
        The last chat yielded holds the whole reply; on an error nothing more is yielded. Once the
        reply is whole, the router reads ahead for the next message while the user reads and types.
        """
        routed = self.routed(router, catalog, text)
        yield routed
        start, reply, fixed = time.perf_counter(), "", set_reply(catalog, routed.decisions[-1])
        pieces = [fixed] if fixed is not None else replier.chat(
            reply_messages(catalog, routed.task, routed.turns), max_tokens)
        for piece in pieces:
            reply += piece
            yield routed.answered(reply, time.perf_counter() - start)
        if not reply:
            yield routed.answered("", time.perf_counter() - start)
        router.prepare(catalog, routed.answered(reply, 0.0).turns, routed.task, self.id)

    def answered(self, reply: str, latency: float) -> "Chat":
        """This chat with the assistant's reply appended."""
        return replace(self, turns=(*self.turns, Turn("assistant", reply)), reply_latency=latency)

    def to_conversation(self, catalog: Catalog) -> Conversation:
        """The chat as a conversation labelled by the router, its decisions kept in `meta`.

        Its id ends with the number of turns, so that saving again after more messages keeps both.
        """
        labels = iter(self.decisions)
        turns = tuple(Turn(t.role, t.content, next(labels).label, True) if t.role == "user" else t
                      for t in self.turns)
        meta = {"decisions": [d.to_dict() for d in self.decisions]}
        if self.continued_from:
            meta["continued_from"] = self.continued_from
        return Conversation(f"{self.id}-{len(self.turns)}", turns, source="chat", tasks=catalog, meta=meta)

    @classmethod
    def reopened(cls, conversation: Conversation) -> "Chat":
        """A new chat continuing a saved conversation, with its decisions (or its labels)."""
        return cls(new_id(), conversation.turns, saved_decisions(conversation),
                   continued_from=conversation.id)


def saved_decisions(conversation: Conversation) -> tuple[Decision, ...]:
    """Decisions of a saved conversation: those kept in meta where they match its current labels."""
    kept = [Decision.from_dict(d) for d in conversation.meta.get("decisions", [])]
    decisions, previous = [], None
    for k, label in enumerate(conversation.gold_labels()):
        if k < len(kept) and kept[k].label == label:
            decisions.append(kept[k])
        else:
            decisions.append(Decision(label=label, previous=previous, event=event_between(previous, label),
                                      valid=True, latency=0.0, strategy="saved label", model=""))
        previous = label
    return tuple(decisions)
