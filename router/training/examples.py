"""Training examples in exactly the prompt format the constrained router reads at inference."""
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from router.backends.local import answer_end, part_encoder, prompt_texts
from router.conversation import Conversation
from router.errors import RouterError
from router.evaluation import cases
from router.metrics import Judged, name
from router.strategies import Constrained


@dataclass(frozen=True)
class Perturbation:
    """Exposure robustness: decisions trained again with a wrong current task.

    The answer stays the gold label, so the router learns to read the conversation rather than
    copy the current task it is given (in live use, its own possibly wrong previous decision).
    The wrong task is drawn at random for a `share` of decisions and, DAgger-style, is the
    router's own previous decision wherever a free-protocol rollout (`rolled`) left the gold one.
    """

    share: float = 0.0
    seed: int = 0
    rolled: Mapping[tuple[str, int], str | None] = field(default_factory=dict)

    def wrong_current(self, conv: Conversation, position: int, previous: str | None) -> list[str | None]:
        """A wrong current task (another catalog task, or none) for this decision, or nothing."""
        rng = random.Random(f"{self.seed}:{conv.id}:{position}")
        if not self.share or rng.random() >= self.share:
            return []
        return [rng.choice([t for t in [*conv.tasks.names, None] if t != previous])]

    def currents(self, conv: Conversation, position: int, previous: str | None) -> list[str | None]:
        """The current tasks a decision is trained with: the gold previous label, a wrong one drawn by
        `share`, and the router's own previous decision where a rollout (`rolled`) gave another one."""
        out = [previous, *self.wrong_current(conv, position, previous)]
        key = (conv.id, position)
        return out + [self.rolled[key]] if key in self.rolled and self.rolled[key] not in out else out


def labelled_currents(conv: Conversation, perturbation: Perturbation) -> list[tuple[int, str | None, str | None]]:
    """(position, gold label, current task given) of every decision to train, perturbed ones included."""
    return [(position, gold, current) for position, gold, previous in cases(conv)
            for current in perturbation.currents(conv, position, previous)]


def rolled_currents(judged: list[Judged]) -> dict[tuple[str, int], str | None]:
    """The current task each decision of a free-protocol rollout was given: the previous prediction."""
    out, last = {}, {}
    for j in judged:
        out[(j.conversation, j.position)] = last.get(j.conversation)
        last[j.conversation] = j.predicted
    return out


@dataclass(frozen=True)
class Example:
    """One labelled user turn: the routing prompt and the gold answer, as text and as token ids."""

    conversation: str
    position: int
    source: str
    prompt: str
    completion: str
    prompt_ids: tuple[int, ...]
    completion_ids: tuple[int, ...]

    @property
    def length(self) -> int:
        """Tokens of prompt and answer together."""
        return len(self.prompt_ids) + len(self.completion_ids)

    def to_dict(self) -> dict:
        """A tokenized trl row: the loss falls on the answer only (completion_mask)."""
        return {"input_ids": [*self.prompt_ids, *self.completion_ids],
                "completion_mask": [0] * len(self.prompt_ids) + [1] * len(self.completion_ids)}


class ExampleBuilder:
    """Renders each labelled user turn with the gold previous label (or a perturbed one) as the current task.

    The prompt is tokenized part by part, as LocalBackend does; the answer is the gold
    label as the constrained strategy scores it, closed by the end-of-sequence token.
    """

    def __init__(self, strategy: Constrained, tokenizer, max_length: int,
                 perturbation: Perturbation | None = None):
        self.strategy, self.tokenizer, self.max_length = strategy, tokenizer, max_length
        self.perturbation = perturbation or Perturbation()
        self.encode = part_encoder(tokenizer)
        self.skipped = 0

    def conversation(self, conv: Conversation) -> list[Example]:
        """Examples of one conversation; those longer than max_length are skipped and counted."""
        if conv.tasks is None:
            raise RouterError(f"conversation '{conv.id}' has no catalog to train with")
        out = []
        for position, gold, current in labelled_currents(conv, self.perturbation):
            example = self.example(conv, position, gold, current)
            if example.length > self.max_length:
                self.skipped += 1
            else:
                out.append(example)
        return out

    def example(self, conv: Conversation, position: int, gold: str | None,
                current: str | None) -> Example:
        """The example of the user turn at `position`, given `current` as the current task."""
        prompt = self.strategy.prompt(conv.tasks, conv.turns[: position + 1], current)
        texts = prompt_texts(self.tokenizer, prompt)
        answer = self.strategy.answer(prompt, name(gold))
        return Example(conv.id, position, conv.source, "".join(texts), answer,
                       tuple(i for t in texts for i in self.encode(t)),
                       (*self.encode(answer), *answer_end(self.tokenizer)))

    def build(self, conversations: list[Conversation]) -> list[Example]:
        """Examples of every conversation, in order."""
        return [e for c in conversations for e in self.conversation(c)]


def split(conversations: list[Conversation], fraction: float,
          seed: int) -> tuple[list[Conversation], list[Conversation]]:
    """Train and held-out conversations: a seeded split by conversation, never by turn."""
    order = sorted(range(len(conversations)), key=lambda k: conversations[k].id)
    random.Random(seed).shuffle(order)
    held = round(len(order) * fraction)
    if fraction > 0 and len(order) > 1:
        held = min(max(held, 1), len(order) - 1)
    chosen = set(order[:held])
    return ([c for k, c in enumerate(conversations) if k not in chosen],
            [c for k, c in enumerate(conversations) if k in chosen])
