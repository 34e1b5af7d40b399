"""The router: a backend and a strategy turning a conversation and a catalog into decisions."""
import time
from collections import OrderedDict

from router.backends.base import Backend
from router.catalog import Catalog
from router.conversation import Conversation, Turn
from router.decision import Decision
from router.errors import BackendError
from router.events import event_between
from router.retrieval import CandidateStage, shown
from router.strategies import Strategy
from router.usage import metered

SESSIONS = 512  # conversations whose last candidates are kept (least recently routed out first)
AHEAD = "N/A"  # the message a prompt read ahead holds in place of the one to come


class Router:
    """Decides, after a user message, which task of the catalog is active (or none)."""

    def __init__(self, backend: Backend, strategy: Strategy, stage: CandidateStage | None = None,
                 shortlists: OrderedDict | None = None):
        self.backend, self.strategy, self.stage = backend, strategy, stage or CandidateStage()
        # each conversation's last candidates; routers built for one message each (Chat) share them
        self.shortlists: OrderedDict[str, dict[str, float]] = OrderedDict() if shortlists is None else shortlists

    def decide(self, catalog: Catalog, turns: list[Turn] | tuple[Turn, ...], current: str | None,
               session: str | None = None) -> Decision:
        """The decision after the last of `turns` (a user turn), given the current task.

        A large catalog is cut to its candidates first (router.retrieval). An invalid answer
        keeps the current task, so the assistant carries on undisturbed.
        """
        current = current if current in catalog else None
        start = time.perf_counter()
        candidates = self.stage.select(catalog, turns, current, self.shortlists.get(session or ""))
        self.remember(session, candidates)
        catalog = shown(catalog, candidates)
        with metered() as usage:
            prompt = self.strategy.prompt(catalog, turns, current)
            outcome = self.strategy.run(self.backend, prompt, catalog, session)
        label = outcome.label if outcome.valid else current
        return Decision(label=label, previous=current, event=event_between(current, label),
                        valid=outcome.valid, latency=time.perf_counter() - start,
                        strategy=self.strategy.name, model=self.backend.model,
                        scores=outcome.scores, raw=outcome.raw, prompt_tokens=usage.prompt_tokens,
                        completion_tokens=usage.completion_tokens, retries=usage.retries,
                        constraint=usage.constraint, candidates=candidates)

    def remember(self, session: str | None, candidates: dict[str, float] | None) -> None:
        """Keep a conversation's candidates for its next decision."""
        if session and candidates is not None:
            self.shortlists[session] = candidates
            self.shortlists.move_to_end(session)
            while len(self.shortlists) > SESSIONS:
                self.shortlists.popitem(last=False)

    def attempt(self, catalog: Catalog, turns: list[Turn] | tuple[Turn, ...], current: str | None,
                session: str | None = None) -> Decision:
        """`decide`, or, when the backend failed after its retries, a failed decision keeping the task."""
        start = time.perf_counter()
        with metered() as usage:
            try:
                return self.decide(catalog, turns, current, session)
            except BackendError as e:
                current = current if current in catalog else None
                return Decision(label=current, previous=current, event=event_between(current, current),
                                valid=False, latency=time.perf_counter() - start,
                                strategy=self.strategy.name, model=self.backend.model,
                                prompt_tokens=usage.prompt_tokens,
                                completion_tokens=usage.completion_tokens, retries=usage.retries,
                                error=f"{type(e).__name__}: {e}")

    def route(self, conversation: Conversation, catalog: Catalog) -> list[Decision]:
        """Route every user turn, feeding each decision's label to the next one."""
        catalog = conversation.tasks or catalog
        decisions, current = [], None
        for k in conversation.user_indices():
            decision = self.decide(catalog, conversation.turns[: k + 1], current, session=conversation.id)
            decisions.append(decision)
            current = decision.label
        self.forget(conversation.id)
        return decisions

    def prepare(self, catalog: Catalog, turns: list[Turn] | tuple[Turn, ...], current: str | None,
                session: str) -> None:
        """Between turns (after the assistant's reply), read ahead what the next decision can reuse.

        Its prompt is laid out with a content-free message in place of the one to come, over the
        candidates the conversation holds (a decision whose candidates change reads everything).
        """
        current = current if current in catalog else None
        candidates = self.shortlists.get(session) if self.stage.applies(catalog) else None
        catalog = shown(catalog, candidates)
        prompt = self.strategy.prompt(catalog, (*turns, Turn("user", AHEAD)), current)
        with metered():
            self.strategy.prepare(self.backend, prompt, catalog, session)

    def forget(self, session: str) -> None:
        """Drop what the router and its backend keep for the conversation `session`."""
        self.shortlists.pop(session, None)
        self.strategy.forget(self.backend, session)
