"""The evaluation engine: route every labelled user turn of a dataset and judge the decisions."""
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial
from pathlib import Path

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
        """A short name: backend/model+adapter folder name · strategy · protocol."""
        model = self.model or "embedded"
        adapter = f"+{Path(self.adapter).name}" if self.adapter else ""
        return f"{self.backend}/{model}{adapter} · {self.strategy} · {self.protocol}"


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


def default_concurrency(backend: str) -> int:
    """Turns routed at once by default: one for the in-process model, 16 for a served one."""
    return 1 if backend == "local" else 16


def judged(conv: Conversation, position: int, gold: str | None, previous: str | None,
           decision: Decision) -> Judged:
    """A decision judged against the gold label of its turn."""
    return Judged(conv.id, position, conv.source, gold, previous, decision.label, decision.valid,
                  decision.latency, decision.prompt_tokens, decision.completion_tokens,
                  None if decision.candidates is None else tuple(decision.candidates))


class Cancelled(RouterError):
    """A run stopped because another of its workers failed or it was interrupted."""


class Evaluation:
    """Routes conversations, skipping the turns already done, saving each new decision as it arrives.

    Up to `concurrency` turns are routed at once: whole conversations in parallel under the free
    protocol (each decision needs the previous one), single turns under the gold protocol.
    A turn whose backend failed after its retries is saved as failed and left out of the judged turns.
    """

    def __init__(self, router: Router, catalog: Catalog, protocol: str = "free",
                 done: dict | None = None, save: Save | None = None,
                 progress: Progress | None = None, concurrency: int = 1):
        self.router, self.catalog, self.protocol = router, catalog, check_protocol(protocol)
        self.done, self.save, self.progress = dict(done or {}), save, progress
        self.concurrency = max(1, concurrency)
        self.count, self.total = 0, 0
        self.lock, self.stopped = threading.Lock(), threading.Event()

    def run(self, conversations: list[Conversation]) -> list[Judged]:
        """Judge every labelled user turn of `conversations` (failed turns left out)."""
        self.total = count_cases(conversations)
        self.count = sum(1 for c in conversations for k, _, _ in cases(c) if (key(c), k) in self.done)
        units = self.units(conversations)
        results = [unit() for unit in units] if self.concurrency == 1 else self.parallel(units)
        if self.by_turn:
            for conv in conversations:
                self.router.forget(conv.id)
        return [j for result in results for j in result]

    @property
    def by_turn(self) -> bool:
        """Whether single turns go in parallel (gold protocol, more than one at once)."""
        return self.protocol == "gold" and self.concurrency > 1

    def units(self, conversations: list[Conversation]) -> list[Callable[[], list[Judged]]]:
        """The independent pieces of work: single turns when `by_turn`, else whole conversations."""
        if not self.by_turn:
            return [partial(self.conversation, c) for c in conversations]
        return [partial(self.turn, c, position, gold, previous)
                for c in conversations for position, gold, previous in cases(c)]

    def parallel(self, units: list[Callable[[], list[Judged]]]) -> list[list[Judged]]:
        """Run `units` on `concurrency` threads; the first failure (or an interrupt) stops the others."""
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="route")
        futures = [pool.submit(unit) for unit in units]
        try:
            for future in as_completed(futures):
                future.result()
        except BaseException:
            self.stopped.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
        return [f.result() for f in futures]

    def conversation(self, conv: Conversation) -> list[Judged]:
        """Judge one conversation in order, reusing the backend's cache across its turns, then freeing it.

        Before each decision the router reads ahead, untimed, as the Chat does while the user types
        (before the first one: the instructions and the catalog, known before the user writes).
        """
        out, current = [], None
        try:
            for position, gold, previous in cases(conv):
                given = previous if self.protocol == "gold" else current
                self.ahead(conv, position, given)
                decision = self.decision(conv, position, given)
                current = decision.label
                out += [] if decision.failed else [judged(conv, position, gold, previous, decision)]
        finally:
            self.router.forget(conv.id)
        return out

    def ahead(self, conv: Conversation, position: int, current: str | None) -> None:
        """Let the router read ahead for the decision at `position` (a stored decision needs nothing)."""
        if (key(conv), position) not in self.done:
            self.router.prepare(conv.tasks or self.catalog, conv.turns[:position], current, conv.id)

    def turn(self, conv: Conversation, position: int, gold: str | None,
             previous: str | None) -> list[Judged]:
        """Judge one turn given its gold previous label (the gold protocol)."""
        decision = self.decision(conv, position, previous)
        return [] if decision.failed else [judged(conv, position, gold, previous, decision)]

    def decision(self, conv: Conversation, position: int, current: str | None) -> Decision:
        """The stored decision of a turn, or a new one (saved, then reported as progress)."""
        stored = self.done.get((key(conv), position))
        if stored is not None:
            return stored
        if self.stopped.is_set():
            raise Cancelled("the run was stopped")
        decision = self.router.attempt(conv.tasks or self.catalog, conv.turns[: position + 1], current,
                                       session=conv.id)
        with self.lock:
            if self.save:
                self.save(key(conv), position, decision)
            self.count += 1
            if self.progress:
                self.progress(self.count, self.total)
        return decision
