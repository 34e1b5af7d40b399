"""The small interface every model backend implements."""
from abc import ABC, abstractmethod

from router.prompting import Prompt


class Backend(ABC):
    """A model that can score candidate answers and generate free text for a prompt."""

    name: str = ""
    model: str = ""

    @abstractmethod
    def score(self, prompt: Prompt, candidates: list[str], session: str | None = None) -> list[float]:
        """Log-probability of each candidate as the whole answer to `prompt`."""

    @abstractmethod
    def generate(self, prompt: Prompt, max_tokens: int, stop: tuple[str, ...] = (),
                 session: str | None = None) -> str:
        """Greedy answer to `prompt`, cut before the first stop string."""

    def forget(self, session: str) -> None:
        """Drop what was kept for `session` (nothing by default)."""
