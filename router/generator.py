"""Generating labelled conversations with any backend from a few-shot prompt, hard cases included."""
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from router.backends.base import Backend
from router.catalog import RESERVED, Catalog
from router.conversation import Conversation, Turn
from router.errors import InputError, RouterError
from router.prompting import Prompt, Template

KINDS = ("single", "switch", "end", "uncovered", "smalltalk")
USER_LINE = re.compile(r"^\s*User\s*\[\s*([^\]]*?)\s*\]\s*:\s*(.*)$")
ASSISTANT_LINE = re.compile(r"^\s*Assistant\s*:\s*(.*)$")
END_MARK = "END"
STOP = ("\nEND", "\nEnd", "\nExample ", "\n\n\n")
SOURCE = "generated"


class GenerationError(InputError):
    """Generator settings that cannot work (unknown task, shares over 1, no task chosen)."""


class UnparsableOutput(RouterError):
    """Model output that is not a labelled conversation; carries the reason and the raw text."""

    def __init__(self, reason: str, raw: str):
        self.reason, self.raw = reason, raw
        super().__init__(reason)


@dataclass(frozen=True)
class Mix:
    """Shares of hard cases among generated conversations; the rest follow one task."""

    switch: float = 0.0
    end: float = 0.0
    uncovered: float = 0.0
    smalltalk: float = 0.0

    def counts(self, count: int) -> dict[str, int]:
        """How many conversations of each kind make `count`."""
        shares = {"switch": self.switch, "end": self.end, "uncovered": self.uncovered,
                  "smalltalk": self.smalltalk}
        for kind, share in shares.items():
            if not 0.0 <= share <= 1.0:
                raise GenerationError(f"the share of {kind} must lie in [0, 1]", field=kind)
        if sum(shares.values()) > 1.0 + 1e-9:
            raise GenerationError("the hard-case shares add up to more than 1", field="switch")
        out = {kind: round(share * count) for kind, share in shares.items()}
        return {"single": max(0, count - sum(out.values())), **out}


@dataclass(frozen=True)
class Case:
    """One conversation to generate: its kind, its task and, for a switch, the task it moves to."""

    kind: str
    task: str | None
    other: str | None = None

    def first_label(self) -> str:
        """The label of the first user line, written by us so that the model starts right."""
        return RESERVED if self.kind in ("uncovered", "smalltalk") else self.task


@dataclass(frozen=True)
class Failure:
    """A conversation the model wrote that could not be read."""

    case: Case
    reason: str
    raw: str


@dataclass
class Report:
    """What one generation produced: conversations labelled by construction, and the failures."""

    conversations: list[Conversation] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def plan(catalog: Catalog, tasks: list[str], count: int, mix: Mix, seed: int = 0) -> list[Case]:
    """The cases to generate: `count` conversations over `tasks`, hard cases in the mix's shares."""
    if not tasks:
        raise GenerationError("choose at least one task", field="tasks")
    for name in tasks:
        if name not in catalog:
            raise GenerationError(f"unknown task '{name}' (catalog: {', '.join(catalog.names)})",
                                  field="tasks")
    if count < 1:
        raise GenerationError("the count must be at least 1", field="count")
    counts = mix.counts(count)
    if counts["switch"] and len(catalog) < 2:
        raise GenerationError("a switch needs a catalog of two tasks or more", field="switch")
    rng = random.Random(seed)
    kinds = [kind for kind in KINDS for _ in range(counts[kind])]
    rng.shuffle(kinds)
    cases = []
    for k, kind in enumerate(kinds):
        task = tasks[k % len(tasks)]
        other = rng.choice([n for n in catalog.names if n != task]) if kind == "switch" else None
        cases.append(Case(kind, task, other))
    return cases


def parse_output(text: str, catalog: Catalog) -> tuple[Turn, ...]:
    """Turns of a generated conversation; raise UnparsableOutput with the reason if it breaks the format."""
    turns: list[Turn] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().upper() == END_MARK:
            break
        if not line.strip():
            continue
        user, assistant = USER_LINE.match(line), ASSISTANT_LINE.match(line)
        if user:
            turns.append(user_turn(user.group(1), user.group(2), catalog, number, text))
        elif assistant:
            turns.append(Turn("assistant", assistant.group(1).strip()))
        else:
            raise UnparsableOutput(f"line {number} is neither 'User [task]: ...' nor "
                                   f"'Assistant: ...': {line.strip()[:80]!r}", text)
        if not turns[-1].content:
            raise UnparsableOutput(f"line {number} has an empty message", text)
        if len(turns) > 1 and turns[-1].role == turns[-2].role:
            raise UnparsableOutput(f"line {number}: two {turns[-1].role} messages in a row", text)
    if len(turns) < 2:
        raise UnparsableOutput("fewer than two messages", text)
    return tuple(turns)


def user_turn(label: str, content: str, catalog: Catalog, number: int, raw: str) -> Turn:
    """A labelled user turn, or UnparsableOutput when the label is not a catalog task or none."""
    if label != RESERVED and label not in catalog:
        raise UnparsableOutput(f"line {number}: unknown task '{label}' (catalog: "
                               f"{', '.join(catalog.names)}, or none)", raw)
    return Turn("user", content.strip(), None if label == RESERVED else label, labelled=True)


def check_case(turns: tuple[Turn, ...], case: Case, raw: str) -> None:
    """Raise UnparsableOutput when the labels do not show the case asked for."""
    labels = [t.task for t in turns if t.role == "user"]
    followed = {
        "single": set(labels) == {case.task},
        "switch": case.task in labels and case.other in labels[labels.index(case.task):],
        "end": case.task in labels and None in labels[labels.index(case.task):],
        "uncovered": None in labels,
        "smalltalk": labels[0] is None,
    }[case.kind]
    if not followed:
        shown = ", ".join(t or RESERVED for t in labels)
        raise UnparsableOutput(f"the labels ({shown}) do not show the case asked for: {case.kind}"
                               + (f" from {case.task} to {case.other}" if case.other else ""), raw)


class Generator:
    """Writes conversations for cases with a backend and the generator's few-shot template."""

    def __init__(self, backend: Backend, prompts_dir: Path, max_tokens: int = 160):
        self.backend = backend
        self.template = Template(Path(prompts_dir) / "generator.j2")
        self.max_tokens = max_tokens

    def prompt(self, catalog: Catalog, case: Case) -> Prompt:
        """The few-shot prompt for one case: examples for other tasks, then the target."""
        m = self.template.module
        names = {case.task, case.other} - {None}
        tasks = [t for t in catalog if t.name in names] or list(catalog)
        return Prompt(system=str(m.system()).strip(),
                      parts=(str(m.examples()).strip() + "\n\n",
                             str(m.target(5, tasks, case.kind, case.task, case.other)).strip() + "\n"),
                      answer_prefix=str(m.answer_prefix(case.first_label())))

    def write(self, catalog: Catalog, case: Case) -> Conversation:
        """One conversation for `case`, or UnparsableOutput."""
        prompt = self.prompt(catalog, case)
        raw = prompt.answer_prefix + self.backend.generate(prompt, self.max_tokens, STOP)
        turns = parse_output(raw, catalog)
        check_case(turns, case, raw)
        return Conversation(id=f"gen-{uuid.uuid4().hex[:10]}", turns=turns, source=SOURCE,
                            meta={"case": case.kind, "model": self.backend.model})

    def run(self, catalog: Catalog, cases: list[Case],
            progress: Callable[[int, int], None] | None = None) -> Report:
        """Write every case; what cannot be read goes to the report's failures, not its conversations."""
        report = Report()
        for k, case in enumerate(cases):
            try:
                report.conversations.append(self.write(catalog, case))
            except UnparsableOutput as e:
                report.failures.append(Failure(case, e.reason, e.raw))
            if progress:
                progress(k + 1, len(cases))
        return report
