"""The evaluation engine: route every labelled user turn of a dataset and judge the decisions."""
from collections.abc import Callable
from dataclasses import dataclass

from router.catalog import Catalog
from router.conversation import Conversation
from router.decision import Decision
from router.errors import RouterError
from router.metrics import Judged
from router.routing import Router

PROTOCOLS = ("free", "gold")
Save = Callable[[object, int, Decision], None]
Progress = Callable[[int, int], None]


def check_protocol(protocol: str) -> str:
    """Return `protocol`, or raise RouterError if it is not free or gold."""
    if protocol not in PROTOCOLS:
        raise RouterError(f"unknown protocol '{protocol}' (free or gold)")
    return protocol


@dataclass(frozen=True)
class RunConfig:
    """What a run evaluates: a dataset x backend, model, adapter x strategy x protocol."""

    dataset: str
    strategy: str = "constrained"
    backend: str = "local"
    model: str | None = None
    adapter: str | None = None
    protocol: str = "free"
    limit: int | None = None

    def __post_init__(self):
        check_protocol(self.protocol)

    @property
    def title(self) -> str:
        """A short name: backend/model+adapter · strategy · protocol."""
        model = self.model or "embedded"
        return (f"{self.backend}/{model}{'+' + self.adapter if self.adapter else ''} · "
                f"{self.strategy} · {self.protocol}")


def key(conversation: Conversation) -> object:
    """How stored predictions name a conversation: its row id when it has one."""
    return conversation.meta.get("pk", conversation.id)


def cases(conversation: Conversation) -> list[tuple[int, str | None, str | None]]:
    """(position, gold label, gold previous label) of every labelled user turn."""
    labels = conversation.gold_labels()
    return [(k, gold, previous) for k, gold, previous
            in zip(conversation.user_indices(), labels, [None] + labels[:-1])
            if conversation.turns[k].labelled]


def count_cases(conversations: list[Conversation]) -> int:
    """Number of labelled user turns."""
    return sum(len(cases(c)) for c in conversations)


class Evaluation:
    """Routes conversations turn by turn, skipping the turns already done, saving each new decision."""

    def __init__(self, router: Router, catalog: Catalog, protocol: str = "free",
                 done: dict | None = None, save: Save | None = None,
                 progress: Progress | None = None):
        self.router, self.catalog, self.protocol = router, catalog, check_protocol(protocol)
        self.done, self.save, self.progress = dict(done or {}), save, progress
        self.count, self.total = 0, 0

    def run(self, conversations: list[Conversation]) -> list[Judged]:
        """Judge every labelled user turn of `conversations`."""
        self.total = count_cases(conversations)
        self.count = sum(1 for c in conversations for k, _, _ in cases(c) if (key(c), k) in self.done)
        return [j for c in conversations for j in self.conversation(c)]

    def conversation(self, conv: Conversation) -> list[Judged]:
        """Judge one conversation, reusing the backend's cache across its turns, then freeing it."""
        judged, current = [], None
        try:
            for position, gold, previous in cases(conv):
                decision = self.decision(conv, position, previous if self.protocol == "gold" else current)
                current = decision.label
                judged.append(Judged(conv.id, position, conv.source, gold, previous, decision.label,
                                     decision.valid, decision.latency,
                                     None if decision.candidates is None else tuple(decision.candidates)))
        finally:
            self.router.forget(conv.id)
        return judged

    def decision(self, conv: Conversation, position: int, current: str | None) -> Decision:
        """The stored decision of a turn, or a new one (saved, then reported as progress)."""
        stored = self.done.get((key(conv), position))
        if stored is not None:
            return stored
        decision = self.router.decide(conv.tasks or self.catalog, conv.turns[: position + 1], current,
                                      session=conv.id)
        if self.save:
            self.save(key(conv), position, decision)
        self.count += 1
        if self.progress:
            self.progress(self.count, self.total)
        return decision
