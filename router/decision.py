"""A routing decision: a value with its label, event, scores, raw output, latency and what it cost."""
from dataclasses import asdict, dataclass

from router.events import Event


@dataclass(frozen=True)
class Decision:
    """What the router decided after one user message."""

    label: str | None
    previous: str | None
    event: Event
    valid: bool
    latency: float
    strategy: str
    model: str
    scores: dict[str, float] | None = None
    raw: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    constraint: str | None = None
    error: str | None = None
    candidates: dict[str, float] | None = None  # the tasks shown, by retrieval score (large catalogs)

    @property
    def failed(self) -> bool:
        """Whether the model never answered (after its retries): such a turn is not scored."""
        return self.error is not None

    def to_dict(self) -> dict:
        """JSON-ready form."""
        out = asdict(self)
        out["event"] = self.event.value
        return out

    @classmethod
    def from_dict(cls, raw: dict) -> "Decision":
        """The decision written by `to_dict`."""
        return cls(**{**raw, "event": Event(raw["event"])})
