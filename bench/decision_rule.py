"""Which event biases for the default router: a switch or an end must beat continuing by a margin.

    python bench/decision_rule.py --sgd ../shared/sgd/dev [--skip 60] [--limit 100]
        [--jsonl FILE ...] [--free SWITCH,END[,SHARPNESS,WEIGHT][,START]|layer ...] [--adapter none|FOLDER]
        [--strategy S] [--scores FILE] [--layer] [--check FILE ...] [--check-sgd N]

Tuning data: SGD dialogues `--skip` onwards (by default past the first 60 of `--services mixed`,
which the README reports on), and any `--jsonl` files given. Every labelled user turn is routed
once with the gold previous label as the current task (the gold protocol) and no biases, keeping
its label probabilities; each biased rule (`router.strategies.choose`) is then a function of
those, so one pass prints turn accuracy, task selection and switch / end recall and precision for
every (switch, end) bias of the grid. Under the free protocol the current task depends on the
earlier decisions: `--free 1,2 2,3` routes the same conversations live once per pair given;
`--free 2,2,0.35,8` also sets the lexical strategy's sharpness and weight for that run; a third or a
fifth value sets the start bias (`--free 2,2,-1`, `--free 2,2,0.5,12,-1`: from no task a task starts
at e^-1 the probability of none); a rule without it keeps the strategy's own, as without lexical
figures, so `--free 2,2` is the default router.
`--scores FILE` keeps the scored turns in FILE (JSON) and reads them from there on the next run.

`--layer` also fits a candidate rule on the same turns: a logistic layer (scikit-learn) over the
label scores that decides continue / switch (to the best other task) / end from log p(current),
log p(none), the best other task's log-probability and their differences; it prints its
gold-protocol figures by 5-fold cross-validation over conversations, and `--free layer` routes
live with it fitted on every tuning turn. `--check FILE ...` / `--check-sgd N` (the first N SGD
dialogues, the reported ones) route those conversations live instead of the tuning ones.
"""
import argparse
import itertools
import json
import math
import sys
from dataclasses import replace
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.sgd import read_sgd  # noqa: E402
from router.backends import create_backend  # noqa: E402
from router.catalog import Catalog  # noqa: E402
from router.conversation import Conversation, read_jsonl  # noqa: E402
from router.evaluation import Evaluation, cases  # noqa: E402
from router.metrics import Judged, metrics  # noqa: E402
from router.routing import Router  # noqa: E402
from router.settings import Settings, default_adapter  # noqa: E402
from router.strategies import DEFAULT_STRATEGY, NONE, EventBiases, choose, create_strategy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GRID = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)


def scored(router: Router, conversations: list[Conversation], catalog: Catalog) -> list[dict]:
    """Each labelled turn's label probabilities under the gold protocol, with its gold labels."""
    turns = []
    for number, conv in enumerate(conversations, 1):
        for position, gold, previous in cases(conv):
            router.prepare(conv.tasks or catalog, conv.turns[:position], previous, conv.id)
            d = router.decide(conv.tasks or catalog, conv.turns[: position + 1], previous, session=conv.id)
            turns.append({"conv": conv.id, "position": position, "gold": gold, "previous": previous,
                          "scores": d.scores, "source": conv.source})
        router.forget(conv.id)
        print(f"scored {number}/{len(conversations)} conversations", file=sys.stderr, flush=True)
    return turns


def biased(biases: EventBiases):
    """The event-biased rule as a function of (scores, current)."""
    return lambda scores, current: choose(scores, current, biases)


def judged(turns: list[dict], pick) -> list[Judged]:
    """The decisions the rule `pick(scores, current)` makes on the scored turns."""
    out = []
    for t in turns:
        best = pick(t["scores"], t["previous"])
        out.append(Judged(t["conv"], t["position"], t["source"], t["gold"], t["previous"],
                          None if best == NONE else best))
    return out


def figure(value: float | None) -> str:
    """A metric to two decimals, n/a where undefined."""
    return "n/a" if value is None else f"{value:.2f}"


def line(label: str, m: dict) -> str:
    """One row of the printed table."""
    p = m["points"]
    return (f"{label:<14}{m['turn_accuracy']:8.3f}{m['task_selection']:9.3f}  "
            f"{figure(p['switch']['recall'])}/{figure(p['switch']['precision'])}   "
            f"{figure(p['end']['recall'])}/{figure(p['end']['precision'])}   "
            f"{figure(m['none']['precision'])}/{figure(m['none']['recall'])}")


HEADER = f"{'switch,end':<14}{'turn_acc':>8}{'task_sel':>9}  switch_R/P  end_R/P     none_P/R"


def sweep(turns: list[dict]) -> None:
    """Print the gold-protocol metrics of every (switch, end) bias pair of the grid."""
    print(f"\ngold protocol, {len(turns)} turns")
    print(HEADER)
    for switch, end in itertools.product(GRID, GRID):
        print(line(f"{switch:g},{end:g}", metrics(judged(turns, biased(EventBiases(switch, end))))))


def log(p: float) -> float:
    """A probability's logarithm, 0 counted as 1e-30."""
    return math.log(max(p, 1e-30))


def leaving(scores: dict[str, float], current: str) -> tuple[list[float], str]:
    """The layer's features of a turn on the task `current`, and the best other task."""
    other, best = max((log(v), label) for label, v in scores.items() if label not in (current, NONE))
    stay, end = log(scores[current]), log(scores[NONE])
    return [stay, end, other, other - stay, end - stay], best


def on_a_task(scores: dict[str, float], current: str | None) -> bool:
    """Whether the current task is one of the scored labels (the layer decides those turns)."""
    return current not in (None, NONE) and current in scores


def event_of(t: dict) -> str:
    """The gold event of a scored turn on a task: continue, switch or end (the layer's classes)."""
    gold = NONE if t["gold"] is None else t["gold"]
    return "continue" if gold == t["previous"] else "end" if gold == NONE else "switch"


class ScoreLayer:
    """A candidate rule: continue / switch / end decided by a logistic layer over the label scores."""

    def __init__(self, turns: list[dict]):
        rows = [t for t in turns if on_a_task(t["scores"], t["previous"])]
        features = [leaving(t["scores"], t["previous"])[0] for t in rows]
        self.model = LogisticRegression(max_iter=2000).fit(features, [event_of(t) for t in rows])

    def pick(self, scores: dict[str, float], current: str | None) -> str:
        """The label the layer decides; from no task, the biased rule's (no bias)."""
        if not on_a_task(scores, current):
            return choose(scores, current, EventBiases())
        features, best = leaving(scores, current)
        return {"continue": current, "switch": best, "end": NONE}[self.model.predict([features])[0]]


def cross_validated(turns: list[dict]) -> None:
    """Print the layer's gold-protocol metrics, each conversation's turns decided by a layer fitted without it."""
    groups = [t["conv"] for t in turns]
    out = []
    for fit, held in GroupKFold(5).split(turns, groups=groups):
        layer = ScoreLayer([turns[k] for k in fit])
        out += judged([turns[k] for k in held], layer.pick)
    print(line("layer (5-fold)", metrics(out)))


def live(router: Router, conversations: list[Conversation], catalog: Catalog, rules: list[str],
         turns: list[dict]) -> None:
    """Route the conversations under the free protocol once per rule (a bias pair, or 'layer'); print the metrics."""
    print(f"\nfree protocol, {sum(len(cases(c)) for c in conversations)} turns")
    print(HEADER)
    for rule in rules:
        for name in ("pick", "biases", "sharpness", "weight"):  # what a rule leaves unsaid: the strategy's own
            vars(router.strategy).pop(name, None)
        if rule == "layer":
            router.strategy.pick = ScoreLayer(turns).pick
        else:
            switch, end, *lexical = (float(v) for v in rule.split(","))
            start = lexical.pop() if len(lexical) in (1, 3) else router.strategy.biases.start
            router.strategy.biases = EventBiases(switch, end, start)
            if lexical:
                router.strategy.sharpness, router.strategy.weight = lexical
        m = metrics(Evaluation(router, catalog, "free").run(conversations))
        print(line(rule, m), flush=True)
        for source, figures in m["by_source"].items() if len(m["by_source"]) > 1 else ():
            print(line(f"  {source}", figures), flush=True)


def main() -> None:
    """Parse arguments, score once, sweep, then route live with the pairs asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sgd", help="an SGD folder (dialogues_*.json and schema.json)")
    parser.add_argument("--skip", type=int, default=60, help="SGD dialogues left out first (the reported ones)")
    parser.add_argument("--limit", type=int, default=100, help="SGD dialogues used after those")
    parser.add_argument("--jsonl", nargs="*", default=[], help="labelled JSONL files to tune on too")
    parser.add_argument("--catalog", default=str(ROOT / "data" / "default_catalog.json"))
    parser.add_argument("--free", nargs="*", default=[], metavar="SWITCH,END[,SHARPNESS,WEIGHT][,START]|layer")
    parser.add_argument("--layer", action="store_true", help="also fit and cross-validate the logistic layer")
    parser.add_argument("--check", nargs="*", default=[], help="labelled JSONL files to route live instead")
    parser.add_argument("--check-sgd", type=int, default=0, help="first N SGD dialogues to route live instead")
    parser.add_argument("--strategy", default=DEFAULT_STRATEGY)
    parser.add_argument("--adapter", default=None, help="adapter folder; none: the base model (default: shipped)")
    parser.add_argument("--scores", type=Path, help="JSON file keeping the scored turns between runs")
    args = parser.parse_args()
    settings = Settings.from_env()
    catalog = Catalog.load(args.catalog)
    adapter = settings.default_adapter if args.adapter is None else default_adapter(args.adapter)
    strategy = create_strategy(args.strategy, settings.prompts_dir)
    router = Router(create_backend("local", adapter=adapter, settings=settings), strategy)
    conversations = []
    if args.sgd:
        conversations += read_sgd(args.sgd, limit=args.skip + args.limit, services="mixed")[args.skip:]
    for path in args.jsonl:
        conversations += [replace(c, source=Path(path).stem) for c in read_jsonl(path, catalog)]
    print(f"router: {adapter or 'base model'}, strategy {args.strategy}; {len(conversations)} conversations")
    if args.scores and args.scores.exists():
        turns = json.loads(args.scores.read_text())
    else:
        turns = scored(router, conversations, catalog)
        if args.scores:
            args.scores.write_text(json.dumps(turns))
    if turns:
        sweep(turns)
    if args.layer:
        cross_validated(turns)
    checked = [replace(c, source=Path(path).stem) for path in args.check for c in read_jsonl(path, catalog)]
    if args.check_sgd:
        checked += read_sgd(args.sgd, limit=args.check_sgd, services="mixed")
    live(router, checked or conversations, catalog, args.free, turns)


if __name__ == "__main__":
    main()
