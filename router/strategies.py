"""Prompt strategies: constrained scoring (plain or calibrated), zero-shot, few-shot chain of thought, ReAct."""
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

from router.backends.base import Backend
from router.catalog import Catalog
from router.conversation import Turn
from router.errors import ConstraintUnsupported, RouterError
from router.prompting import Prompt, Template
from router.retrieval import task_index

NONE = "none"
PRIOR_FLOOR = math.log(1e-6)  # smallest content-free probability a label is divided by
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


@dataclass(frozen=True)
class EventBiases:
    """What leaving the current task costs, in log-probability (nats), by the event it would be.

    A label wins by its log-probability minus the bias of the event it makes from the current task:
    a switch must be exp(switch) times as probable as continuing, an end exp(end) times; a start
    (from none) pays `start`. All zero: the most probable label wins.
    """

    switch: float = 0.0
    end: float = 0.0
    start: float = 0.0

    def of(self, current: str, label: str) -> float:
        """The bias of going from `current` to `label` (none spelled NONE)."""
        if label == current:
            return 0.0
        if current == NONE:
            return self.start
        return self.end if label == NONE else self.switch


def choose(scores: dict[str, float], current: str | None, biases: EventBiases) -> str:
    """The label with the best log-probability less its event's bias (ties: the first in `scores`)."""
    here = current if current in scores else NONE
    floor = 1e-30  # a probability of exactly 0 still compares
    return max(scores, key=lambda label: math.log(max(scores[label], floor)) - biases.of(here, label))


class Strategy:
    """A way to ask the model; its template file is `<template_name or name>.j2` in the prompts folder."""

    name = ""
    template_name = ""

    def __init__(self, prompts_dir: Path):
        self.template = Template(prompts_dir / f"{self.template_name or self.name}.j2")

    def prompt(self, catalog: Catalog, turns: list[Turn] | tuple[Turn, ...], current: str | None) -> Prompt:
        """The prompt for the decision after the last of `turns`."""
        return self.template.render(catalog, turns, current)

    def run(self, backend: Backend, prompt: Prompt, catalog: Catalog, session: str | None) -> Outcome:
        """Ask the model and read its answer."""
        raise NotImplementedError

    def prepare(self, backend: Backend, prompt: Prompt, catalog: Catalog, session: str) -> None:
        """Read, before the next user message, what its decision can reuse (nothing by default).

        `prompt` is that decision's prompt with a content-free message in place of the one to come.
        """

    def forget(self, backend: Backend, session: str) -> None:
        """Drop what the backend keeps for the conversation `session`."""
        backend.forget(session)


class Constrained(Strategy):
    """Score every candidate label; the most probable wins, never invalid.

    A served model that cannot hold its answer to the labels answers in free text instead,
    read like zero_shot (so it may be invalid); the raw output says so.
    """

    name = "constrained"
    note: str | None = None  # the decision's raw output
    biases = EventBiases()  # plain scoring: the most probable label wins

    @staticmethod
    def answer(prompt: Prompt, label: str) -> str:
        """The text of the answer `label` as scored after the prompt (the backend closes it)."""
        space = "" if prompt.answer_prefix[-1:].isspace() or not prompt.answer_prefix else " "
        return space + label

    def run(self, backend, prompt, catalog, session):
        try:
            scores = dict(zip(catalog.names + [NONE], self.distribution(backend, prompt, catalog, session)))
        except ConstraintUnsupported:
            outcome = free_text(backend, prompt, catalog, session)
            note = f"constraint unsupported by {backend.name}: fell back to free text"
            return replace(outcome, raw=f"{note}\n{outcome.raw}")
        best = self.pick(scores, prompt.current)
        return Outcome(label=None if best == NONE else best, valid=True, raw=self.note, scores=scores)

    def pick(self, scores: dict[str, float], current: str | None) -> str:
        """The label decided from the scored labels (NONE for none): the event-biased rule."""
        return choose(scores, current, self.biases)

    def answers(self, prompt: Prompt, candidates: list[str]) -> list[str]:
        """The texts of the candidates as scored after the prompt."""
        return [self.answer(prompt, c) for c in candidates]

    def ahead(self, prompt: Prompt) -> tuple[Prompt, ...]:
        """The prompts worth reading ahead: the one given, whose cache the next decision extends."""
        return (prompt,)

    def prepare(self, backend, prompt, catalog, session):
        """Read the conversation so far ahead: the decision then reads only its message and the labels once."""
        if backend.reads_ahead:
            backend.score_many(list(self.ahead(prompt)), self.answers(prompt, catalog.names + [NONE]),
                               session=session)

    def distribution(self, backend: Backend, prompt: Prompt, catalog: Catalog,
                     session: str | None) -> list[float]:
        """The probabilities of the catalog's tasks, then none, as answers to the prompt."""
        return softmax(backend.score(prompt, self.answers(prompt, catalog.names + [NONE]), session=session))


def logsumexp(values: list[float]) -> float:
    """log(sum(exp(v))) without overflow (-inf when every value is -inf)."""
    top = max(values)
    return top if top == -math.inf else top + math.log(sum(math.exp(v - top) for v in values))


def softmax(logps: list[float]) -> list[float]:
    """Normalised probabilities from log-probabilities (or any log-weights)."""
    total = logsumexp(logps)
    return [math.exp(lp - total) for lp in logps]


def calibrate(logps: list[float], prior: list[float], alpha: float = 1.0) -> list[float]:
    """Probabilities divided by the prior's to the power `alpha`, renormalised (Zhao et al. 2021).

    Both arguments are log-probabilities; alpha 0 leaves the distribution as it is, 1 divides by the prior.
    A label the prior gives less than PRIOR_FLOOR (a served model that never offered it) counts as PRIOR_FLOOR.
    """
    return softmax([lp - alpha * max(q, PRIOR_FLOOR) for lp, q in zip(logps, prior)])


def calibrate_tasks(logps: list[float], prior: list[float], alpha: float, keep: int) -> list[float]:
    """`calibrate` among the labels other than `keep`, whose probability (none's) stays the model's.

    A content-free message is routed to none with near certainty, so dividing none by that prior
    only removes none; among the tasks the prior does measure the model's bias.
    """
    kept = softmax(logps)[keep]
    others = [k for k in range(len(logps)) if k != keep]
    shares = calibrate([logps[k] for k in others], [prior[k] for k in others], alpha)
    probs = [kept] * len(logps)
    for k, share in zip(others, shares):
        probs[k] = (1 - kept) * share
    return probs


def mean_distribution(rows: list[list[float]]) -> list[float]:
    """Log of the average of label distributions, each given as log-probabilities (normalised here)."""
    normed = [[lp - logsumexp(row) for lp in row] for row in rows]
    return [logsumexp(list(col)) - math.log(len(rows)) for col in zip(*normed)]


class Calibrated(Constrained):
    """Constrained scoring corrected for the model's prior over the labels (contextual calibration).

    The prior is the label distribution of the same prompt (template, catalog, current task,
    earlier messages) with the last user message replaced by a content-free one, averaged over
    `content_free`. The real and the content-free prompts go to the backend together
    (`score_many`): the local backend reads them in one pass over the conversation's cache, the
    content-free ones as branches that leave the cache as the real prompt alone leaves it; a
    served backend scores them one by one. Priors are not cached: a content-free prompt holds the
    conversation so far, so it recurs only at the first message of conversations sharing a catalog;
    in the joint pass its branch costs a few dozen tokens, and a served backend would save one
    request per conversation at most.
    The calibration reweighs the tasks among themselves; the probability of none stays the
    model's (`calibrate_tasks`).
    """

    name, template_name = "constrained_calibrated", "constrained"
    content_free = ("N/A",)
    alpha = 0.5  # 0: uncalibrated, 1: divide by the prior (Zhao et al.); measured best at 0.5

    @property
    def note(self) -> str:
        """The decision's raw output: how the scores were calibrated."""
        return f"calibrated by the content-free prior (alpha {self.alpha})"

    def distribution(self, backend, prompt, catalog, session):
        logps, prior = self.scores(backend, prompt, catalog.names + [NONE], session)
        return calibrate_tasks(logps, prior, self.alpha, len(catalog))  # none comes after the tasks

    def neutral(self, prompt: Prompt) -> tuple[Prompt, ...]:
        """The prompt with its last user message replaced by each content-free message."""
        return tuple(replace(prompt, parts=(*prompt.parts[:-2], self.template.macro("turn", "user", text),
                                            prompt.parts[-1]), message=text) for text in self.content_free)

    def ahead(self, prompt):
        """The content-free prompts, whose scores the next decision takes as its prior."""
        return self.neutral(prompt)

    def scores(self, backend: Backend, prompt: Prompt, candidates: list[str],
               session: str | None) -> tuple[list[float], list[float]]:
        """The labels' log-probabilities as answers to the prompt, and their content-free prior."""
        real, *neutral = backend.score_many([prompt, *self.neutral(prompt)], self.answers(prompt, candidates),
                                            session=session)
        return real, mean_distribution(neutral)


class Lexical(Calibrated):
    """Calibrated scoring, then the tasks reweighed by how well the last user message matches their text.

    A small model reads a task it was never trained on poorly (a "LinkedIn post" request scored
    below meeting_preparation for linkedin_post). The TF-IDF index of the candidate stage
    (router.retrieval: words and character n-grams over each task's name, description, instructions
    and information) gives each task a match m in [0, 1] with the last user message; the task's
    probability, first raised to the power `sharpness` (below 1: the model's confidence among the
    tasks counts for less), is multiplied by exp(weight * m), renormalised among the tasks, and none
    keeps the probability the calibrated model gave it (as `calibrate_tasks` does).
    """

    name = "constrained_lexical"
    # chosen live (free protocol) on SGD dev dialogues the README does not report on, against
    # sharpness 1 / weight 8 before (bench/decision_rule.py --free, docs/training.md)
    weight = 12.0  # 0: calibrated only
    sharpness = 0.5  # 1: the calibrated distribution as it is; 0: the match alone
    # leaving the current task must be e^2 (about 7.4) times as probable as continuing: chosen on SGD dev
    # dialogues the README does not report on (bench/decision_rule.py, docs/training.md); from no task, a
    # task starts at e^-1 (about 0.37) the probability of none: the model under-reads problems ("I can't
    # connect to the VPN") on catalogs it never saw; chosen live on the same dialogues and bench/tuning
    biases = EventBiases(switch=2.0, end=2.0, start=-1.0)

    @property
    def note(self) -> str:
        """The decision's raw output: how the scores were corrected."""
        return (f"{super().note}, then by lexical match with the message (weight {self.weight:g}, "
                f"sharpness {self.sharpness:g})")

    def distribution(self, backend, prompt, catalog, session):
        probs = super().distribution(backend, prompt, catalog, session)
        return matched(probs, task_index(catalog.tasks).scores(prompt.message, None).tolist(), self.weight,
                       self.sharpness)


def matched(probs: list[float], matches: list[float], weight: float, sharpness: float = 1.0) -> list[float]:
    """Task probabilities to the power `sharpness` times exp(weight * match), renormalised among the
    tasks; the last (none) kept."""
    if not any(probs[:-1]):
        return probs
    logs = [sharpness * math.log(p) + weight * m if p > 0 else -math.inf for p, m in zip(probs[:-1], matches)]
    return [(1 - probs[-1]) * share for share in softmax(logs)] + [probs[-1]]


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


STRATEGIES = {cls.name: cls for cls in (Constrained, Calibrated, Lexical, ZeroShot, FewShotCot, React)}
DEFAULT_STRATEGY = Lexical.name  # wins over plain and calibrated on the demo set and SGD dev (README)


def create_strategy(name: str, prompts_dir: Path) -> Strategy:
    """Build the strategy called `name` with its template from `prompts_dir`."""
    if name not in STRATEGIES:
        raise RouterError(f"unknown strategy '{name}' (known: {', '.join(STRATEGIES)})")
    return STRATEGIES[name](prompts_dir)
