"""Prompt strategies: constrained scoring, zero-shot, few-shot chain of thought, ReAct."""
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

from router.backends.base import Backend
from router.catalog import Catalog
from router.conversation import Turn
from router.errors import ConstraintUnsupported, RouterError
from router.prompting import Prompt, Template

NONE = "none"
ACTION = re.compile(r"(read_task|finish)\[\s*([^\]]*?)\s*\]")


@dataclass(frozen=True)
class Outcome:
    """What a strategy made of the model: a label (None for none) or an invalid answer."""

    label: str | None
    valid: bool
    raw: str | None = None
    scores: dict[str, float] | None = None


def read_label(text: str, candidates: list[str]) -> str | None:
    """The first candidate named in the answer part of `text`, or None if it names none."""
    answer = text.rsplit("Answer:", 1)[-1] if "Answer:" in text else text
    answer = answer.strip().split("\n", 1)[0] if answer.strip() else ""
    found = []
    for name in candidates:
        pattern = r"\b" + re.escape(name).replace("_", r"[_\s-]") + r"\b"
        match = re.search(pattern, answer, flags=re.IGNORECASE)
        if match:
            found.append((match.start(), -len(name), name))
    return min(found)[2] if found else None


def outcome_from_text(raw: str, candidates: list[str]) -> Outcome:
    """Read a free-text answer; one that names no candidate is invalid."""
    name = read_label(raw, candidates)
    if name is None:
        return Outcome(label=None, valid=False, raw=raw)
    return Outcome(label=None if name == NONE else name, valid=True, raw=raw)


def free_text(backend: Backend, prompt: Prompt, catalog: Catalog, session: str | None,
              max_tokens: int = 16) -> Outcome:
    """Ask for the label as one line of free text and read it."""
    raw = backend.generate(prompt, max_tokens, ("\n",), session=session)
    return outcome_from_text(raw, catalog.names + [NONE])


class Strategy:
    """A way to ask the model; its template file is `<name>.j2` in the prompts folder."""

    name = ""

    def __init__(self, prompts_dir: Path):
        self.template = Template(prompts_dir / f"{self.name}.j2")

    def prompt(self, catalog: Catalog, turns: list[Turn] | tuple[Turn, ...], current: str | None) -> Prompt:
        """The prompt for the decision after the last of `turns`."""
        return self.template.render(catalog, turns, current)

    def run(self, backend: Backend, prompt: Prompt, catalog: Catalog, session: str | None) -> Outcome:
        """Ask the model and read its answer."""
        raise NotImplementedError


class Constrained(Strategy):
    """Score every candidate label; the most probable wins, never invalid.

    A served model that cannot hold its answer to the labels answers in free text instead,
    read like zero_shot (so it may be invalid); the raw output says so.
    """

    name = "constrained"

    @staticmethod
    def answer(prompt: Prompt, label: str) -> str:
        """The text of the answer `label` as scored after the prompt (the backend closes it)."""
        space = "" if prompt.answer_prefix[-1:].isspace() or not prompt.answer_prefix else " "
        return space + label

    def run(self, backend, prompt, catalog, session):
        candidates = catalog.names + [NONE]
        try:
            logps = backend.score(prompt, [self.answer(prompt, c) for c in candidates], session=session)
        except ConstraintUnsupported:
            outcome = free_text(backend, prompt, catalog, session)
            note = f"constraint unsupported by {backend.name}: fell back to free text"
            return replace(outcome, raw=f"{note}\n{outcome.raw}")
        top = max(logps)
        weights = [math.exp(lp - top) for lp in logps]
        probs = {c: w / sum(weights) for c, w in zip(candidates, weights)}
        best = max(candidates, key=probs.__getitem__)
        return Outcome(label=None if best == NONE else best, valid=True, scores=probs)


class ZeroShot(Strategy):
    """Ask for the label directly."""

    name = "zero_shot"

    def run(self, backend, prompt, catalog, session):
        return free_text(backend, prompt, catalog, session)


class FewShotCot(Strategy):
    """Worked examples with reasoning, then the answer, asked for after the reasoning."""

    name = "few_shot_cot"
    reasoning_tokens, answer_tokens = 48, 12

    def run(self, backend, prompt, catalog, session):
        reasoning = backend.generate(prompt, self.reasoning_tokens, ("\n",), session=session)
        asked = replace(prompt, answer_prefix=f"{prompt.answer_prefix}{reasoning}\nAnswer:")
        answer = backend.generate(asked, self.answer_tokens, ("\n",), session=session)
        return outcome_from_text(f"{asked.answer_prefix}{answer}", catalog.names + [NONE])


class React(Strategy):
    """Thought / action / observation steps until finish[label]."""

    name = "react"
    max_steps, max_tokens = 3, 60

    def run(self, backend, prompt, catalog, session):
        trace = ""
        for _ in range(self.max_steps):
            step = replace(prompt, answer_prefix=prompt.answer_prefix + trace)
            trace += backend.generate(step, self.max_tokens, ("Observation:",), session=session)
            actions = ACTION.findall(trace)
            if not actions or actions[-1][0] == "finish":
                break
            task = catalog.get(actions[-1][1])
            trace += f"\nObservation: {self.template.macro('observation', task)}\nThought:"
        finish = [arg for kind, arg in ACTION.findall(trace) if kind == "finish"]
        return outcome_from_text(f"Answer: {finish[-1]}" if finish else trace, catalog.names + [NONE])


STRATEGIES = {cls.name: cls for cls in (Constrained, ZeroShot, FewShotCot, React)}


def create_strategy(name: str, prompts_dir: Path) -> Strategy:
    """Build the strategy called `name` with its template from `prompts_dir`."""
    if name not in STRATEGIES:
        raise RouterError(f"unknown strategy '{name}' (known: {', '.join(STRATEGIES)})")
    return STRATEGIES[name](prompts_dir)
