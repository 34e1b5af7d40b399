"""Labelled training conversations written from templates: the bank data/synthetic_bank.json.

Each conversation brings its own catalog (its gold tasks plus distractors of the bank) and follows
one scenario, drawn with the weights of SCENARIOS (percent):

- single 20: a task, then an end ("thanks") labelled none
- switch 15: a task, a switch to another ("Actually, before that, ..." or "Thanks! Also, ..."), an end
- return 15: a task, a switch, a return to the first task ("Ok, back to the ..."), an end
- smalltalk_first 10: small talk (none), then a task and an end
- uncovered_first 10: a request no catalog task covers (none), then a task and an end
- uncovered_mid 10: a task, an uncovered request mid-way (none, the end of the task), an end
- chitchat 5: small talk only, sometimes closed by a goodbye
- unfinished 15: a task (sometimes switched) that stops without an end, last user turn on the task

A quarter of the ends get a second one ("ok", then "no, that's all, thanks"), both none.

With a hard-negative share (`hard`, 0 by default: the recipe of the shipped adapter), that share of
the detail turns is followed by a turn that stays on the task though it reads like leaving it: a
short reply to a yes/no question ("yes", "no, keep it as it is"), thanks then a detail ("thanks,
and ..."), or a mention of another task of the catalog ("Mention that the press release will come
separately.").
"""
import json
import random
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from data.datasets import DatasetStore
from router.catalog import Catalog, Task
from router.conversation import Conversation, Turn

BANK = Path(__file__).with_name("synthetic_bank.json")
SOURCE = "synthetic"
PRONOUN = re.compile(r"^I\b")


@dataclass(frozen=True)
class BankTask:
    """A task of the bank with the phrases that run it."""

    task: Task
    thing: str
    openings: tuple[str, ...]
    details: tuple[str, ...]
    replies: tuple[str, ...]


@dataclass(frozen=True)
class Uncovered:
    """A request for something the assistant cannot do unless one of `covered_by` is in the catalog."""

    text: str
    covered_by: frozenset[str]


@dataclass(frozen=True)
class Bank:
    """Tasks, uncovered requests and the user's and assistant's generic phrases."""

    tasks: tuple[BankTask, ...]
    uncovered: tuple[Uncovered, ...]
    user: dict[str, tuple[str, ...]]
    assistant: dict[str, tuple[str, ...]]


def bank_task(raw: dict) -> BankTask:
    """One task entry of the bank file."""
    return BankTask(Task(raw["name"], raw["description"]), raw["thing"], tuple(raw["openings"]),
                    tuple(raw["details"]), tuple(raw["replies"]))


@cache
def load_bank(path: Path = BANK) -> Bank:
    """The bank file, its tasks checked as one catalog."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    tasks = tuple(bank_task(t) for t in raw["tasks"])
    Catalog([t.task for t in tasks])
    return Bank(tasks, tuple(Uncovered(u["text"], frozenset(u["covered_by"])) for u in raw["uncovered"]),
                {k: tuple(v) for k, v in raw["user"].items()},
                {k: tuple(v) for k, v in raw["assistant"].items()})


def join(lead: str, text: str) -> str:
    """`lead` then `text`, lower-cased at its start unless a sentence ends before it or it opens with I."""
    if lead.rstrip()[-1:] in (".", "!", "?") or PRONOUN.match(text):
        return lead + text
    return lead + text[:1].lower() + text[1:]


def vary(text: str, rng: random.Random) -> str:
    """Type `text` as people do: sometimes all lower-case, sometimes without the final punctuation."""
    if rng.random() < 0.2:
        text = text.lower()
    if rng.random() < 0.2:
        text = text.rstrip(".!?")
    return text


@dataclass
class Draft:
    """A conversation being written: its random source, its catalog and its turns so far."""

    bank: Bank
    rng: random.Random
    catalog: Catalog
    turns: list[Turn] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    hard: float = 0.0  # share of detail turns followed by a hard negative (see the module's docstring)

    def user(self, text: str, task: str | None) -> None:
        """Add a labelled user turn."""
        self.turns.append(Turn("user", vary(text, self.rng), task, labelled=True))

    def assistant(self, text: str) -> None:
        """Add an assistant turn."""
        self.turns.append(Turn("assistant", text))

    def pick(self, key: str) -> str:
        """A user phrase of the bank's group `key`."""
        return self.rng.choice(self.bank.user[key])

    def say(self, key: str, thing: str = "") -> str:
        """An assistant phrase of the bank's group `key`, about `thing`."""
        return self.rng.choice(self.bank.assistant[key]).format(thing=thing)

    def detail(self, bt: BankTask) -> str:
        """A detail of `bt` not given yet in this conversation."""
        text = self.rng.choice([d for d in bt.details if d not in self.used])
        self.used.add(text)
        return text


def opened(d: Draft, bt: BankTask) -> str:
    """An opening request for `bt`, sometimes after a greeting."""
    text = d.rng.choice(bt.openings)
    return join(d.pick("leads"), text) if d.rng.random() < 0.15 else text


def switched(d: Draft, bt: BankTask, delivered: bool) -> str:
    """A request for `bt` that leaves the running task: thanks first after a delivery, else a prefix."""
    return join(d.pick("thanks" if delivered else "switches"), d.rng.choice(bt.openings))


def returned(d: Draft, bt: BankTask) -> str:
    """Going back to `bt`, with a new detail where the phrasing has room for one."""
    lead, slot, _ = d.pick("returns").partition("{detail}")
    lead = lead.format(thing=bt.thing)
    return join(lead, d.detail(bt)) if slot else lead


def work(d: Draft, bt: BankTask, deliver: bool, opening: str | None = None) -> None:
    """The user asks for `bt` and gives one or two details; the assistant asks, then maybe delivers."""
    name = bt.task.name
    d.user(opening or opened(d, bt), name)
    d.assistant(d.rng.choice(bt.replies))
    count = d.rng.randint(1, 2)
    for k in range(count):
        d.user(d.detail(bt), name)
        if d.hard and d.rng.random() < d.hard:
            stay(d, bt)
        d.assistant(d.say("deliveries", bt.thing) if deliver and k == count - 1 else d.say("acks"))


def stay(d: Draft, bt: BankTask) -> None:
    """An assistant turn, then a user turn that continues `bt` though it reads like a switch or an end."""
    kind = d.rng.choice(("short", "thanks", "mention"))
    if kind == "short":
        d.assistant(d.say("questions", bt.thing))
        d.user(d.pick("short_replies"), bt.task.name)
        return
    d.assistant(d.say("acks"))
    if kind == "thanks":
        d.user(join(d.pick("continues"), d.detail(bt)), bt.task.name)
        return
    others = [t.thing for t in d.bank.tasks if t.task.name in d.catalog and t is not bt]
    d.user(d.pick("mentions").format(thing=bt.thing, other=d.rng.choice(others)), bt.task.name)


def finish(d: Draft) -> None:
    """The user ends (none), a quarter of the time twice."""
    d.user(d.pick("ends"), None)
    if d.rng.random() < 0.25:
        d.assistant(d.say("anything_else"))
        d.user(d.pick("nothing_else"), None)
    d.assistant(d.say("closings"))


def chat(d: Draft) -> None:
    """A small-talk message (none) and the assistant's answer."""
    d.user(d.pick("smalltalk"), None)
    d.assistant(d.say("smalltalk"))


def refuse(d: Draft, lead: bool = False) -> None:
    """A request no task of the catalog covers (none), sometimes phrased as a switch, declined."""
    text = d.rng.choice([u.text for u in d.bank.uncovered if not u.covered_by & set(d.catalog.names)])
    d.user(join(d.pick("switches"), text) if lead else text, None)
    d.assistant(d.say("uncovered"))


def single(d: Draft, a: BankTask, b: BankTask) -> None:
    """One task, then an end."""
    work(d, a, deliver=True)
    finish(d)


def switch(d: Draft, a: BankTask, b: BankTask) -> None:
    """A task, a switch to another, an end."""
    delivered = d.rng.random() < 0.5
    work(d, a, delivered)
    work(d, b, True, switched(d, b, delivered))
    finish(d)


def back(d: Draft, a: BankTask, b: BankTask) -> None:
    """A task left for another, then finished after all, then an end."""
    work(d, a, deliver=False)
    work(d, b, True, switched(d, b, False))
    d.user(returned(d, a), a.task.name)
    d.assistant(d.say("deliveries", a.thing))
    finish(d)


def smalltalk_first(d: Draft, a: BankTask, b: BankTask) -> None:
    """Small talk, then a task and an end."""
    for _ in range(d.rng.randint(1, 2)):
        chat(d)
    single(d, a, b)


def uncovered_first(d: Draft, a: BankTask, b: BankTask) -> None:
    """An uncovered request, then a task and an end."""
    refuse(d)
    single(d, a, b)


def uncovered_mid(d: Draft, a: BankTask, b: BankTask) -> None:
    """A task interrupted by an uncovered request, then an end."""
    work(d, a, deliver=d.rng.random() < 0.5)
    refuse(d, lead=d.rng.random() < 0.5)
    finish(d)


def chitchat(d: Draft, a: BankTask, b: BankTask) -> None:
    """Small talk only, sometimes closed by a goodbye."""
    for _ in range(d.rng.randint(1, 3)):
        chat(d)
    if d.rng.random() < 0.5:
        finish(d)


def unfinished(d: Draft, a: BankTask, b: BankTask) -> None:
    """A task, sometimes switched, that stops on a user detail without an end."""
    work(d, a, deliver=False)
    last = b if d.rng.random() < 0.5 else a
    if last is b:
        work(d, b, False, switched(d, b, False))
    d.user(d.detail(last), last.task.name)


SCENARIOS = {"single": (20, single), "switch": (15, switch), "return": (15, back),
             "smalltalk_first": (10, smalltalk_first), "uncovered_first": (10, uncovered_first),
             "uncovered_mid": (10, uncovered_mid), "chitchat": (5, chitchat),
             "unfinished": (15, unfinished)}


def catalog_for(bank: Bank, gold: list[BankTask], size: int, rng: random.Random) -> Catalog:
    """`gold` plus distractor tasks of the bank up to `size`, shuffled."""
    others = [t for t in bank.tasks if t not in gold]
    tasks = [t.task for t in gold + rng.sample(others, max(0, size - len(gold)))]
    rng.shuffle(tasks)
    return Catalog(tasks)


def synthetic_conversation(bank: Bank, seed: int, k: int,
                           catalog_size: tuple[int, int], hard: float = 0.0) -> Conversation:
    """Conversation number `k` of `seed`: a scenario over two gold tasks and a catalog of its own."""
    rng = random.Random(f"{seed}:{k}")
    kind = rng.choices(list(SCENARIOS), [w for w, _ in SCENARIOS.values()])[0]
    gold = rng.sample(bank.tasks, 2)
    draft = Draft(bank, rng, catalog_for(bank, gold, rng.randint(*catalog_size), rng), hard=hard)
    SCENARIOS[kind][1](draft, *gold)
    return Conversation(id=f"synthetic-{seed}-{k:05d}", turns=tuple(draft.turns), source=SOURCE,
                        tasks=draft.catalog, meta={"scenario": kind})


def synthetic_conversations(count: int, seed: int = 0, catalog_size: tuple[int, int] = (6, 12),
                            hard: float = 0.0) -> list[Conversation]:
    """`count` labelled conversations of the bank; the same seed (and hard-negative share) gives the same ones."""
    bank = load_bank()
    return [synthetic_conversation(bank, seed, k, catalog_size, hard) for k in range(count)]


def import_synthetic(store: DatasetStore, name: str, count: int = 2000, seed: int = 0, hard: float = 0.0) -> int:
    """Write `count` synthetic conversations into dataset `name`, all of them or none."""
    return store.add(name, synthetic_conversations(count, seed, hard=hard), source=SOURCE)
