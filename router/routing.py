"""The router: a backend and a strategy turning a conversation and a catalog into decisions."""
import time

from router.backends.base import Backend
from router.catalog import Catalog
from router.conversation import Conversation, Turn
from router.decision import Decision
from router.events import event_between
from router.strategies import Strategy


class Router:
    """Decides, after a user message, which task of the catalog is active (or none)."""

    def __init__(self, backend: Backend, strategy: Strategy):
        self.backend, self.strategy = backend, strategy

    def decide(self, catalog: Catalog, turns: list[Turn] | tuple[Turn, ...], current: str | None,
               session: str | None = None) -> Decision:
        """The decision after the last of `turns` (a user turn), given the current task.

        An invalid answer keeps the current task, so the assistant carries on undisturbed.
        """
        current = current if current in catalog else None
        start = time.perf_counter()
        prompt = self.strategy.prompt(catalog, turns, current)
        outcome = self.strategy.run(self.backend, prompt, catalog, session)
        label = outcome.label if outcome.valid else current
        return Decision(label=label, previous=current, event=event_between(current, label),
                        valid=outcome.valid, latency=time.perf_counter() - start,
                        strategy=self.strategy.name, model=self.backend.model,
                        scores=outcome.scores, raw=outcome.raw)

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

    def forget(self, session: str) -> None:
        """Drop what the backend keeps for the conversation `session`."""
        self.strategy.forget(self.backend, session)
