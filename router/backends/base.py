"""The small interface every model backend implements."""
from abc import ABC, abstractmethod
from collections.abc import Iterator

from router.prompting import Prompt


class Backend(ABC):
    """A model that can score candidate answers, generate free text for a prompt and chat."""

    name: str = ""
    model: str = ""
    reads_ahead = False  # whether scores read between turns are kept for the next decision (score_many)

    @abstractmethod
    def score(self, prompt: Prompt, candidates: list[str], session: str | None = None) -> list[float]:
        """Log-probability of each candidate as the whole answer to `prompt`."""

    def score_many(self, prompts: list[Prompt], candidates: list[str],
                   session: str | None = None) -> list[list[float]]:
        """`score` of the candidates after each prompt, one by one; `session` is the first prompt's."""
        return [self.score(p, candidates, session=session if k == 0 else None) for k, p in enumerate(prompts)]

    @abstractmethod
    def generate(self, prompt: Prompt, max_tokens: int, stop: tuple[str, ...] = (),
                 session: str | None = None) -> str:
        """Greedy answer to `prompt`, cut before the first stop string."""

    @abstractmethod
    def chat(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        """Stream the assistant's reply to chat `messages` ({role, content}) piece by piece."""

    def forget(self, session: str) -> None:
        """Drop what was kept for `session` (nothing by default)."""


def cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """Text before the first stop string."""
    cuts = [text.index(s) for s in stop if s in text]
    return text[: min(cuts)] if cuts else text
