"""Which event biases for the default router: a switch or an end must beat continuing by a margin.

    python bench/decision_rule.py --sgd ../shared/sgd/dev [--skip 60] [--limit 100]
        [--jsonl FILE ...] [--free SWITCH,END ...] [--adapter none|FOLDER] [--strategy S] [--scores FILE]

Tuning data: SGD dialogues `--skip` onwards (by default past the first 60 of `--services mixed`,
which the README reports on), and any `--jsonl` files given. Every labelled user turn is routed
once with the gold previous label as the current task (the gold protocol) and no biases, keeping
its label probabilities; each biased rule (`router.strategies.choose`) is then a function of
those, so one pass prints turn accuracy, task selection and switch / end recall and precision for
every (switch, end) bias of the grid. Under the free protocol the current task depends on the
earlier decisions: `--free 1,2 2,3` routes the same conversations live once per pair given.
`--scores FILE` keeps the scored turns in FILE (JSON) and reads them from there on the next run.
"""
import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path

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


def judged(turns: list[dict], biases: EventBiases) -> list[Judged]:
    """The decisions the rule with `biases` makes on the scored turns."""
    out = []
    for t in turns:
        best = choose(t["scores"], t["previous"], biases)
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
        print(line(f"{switch:g},{end:g}", metrics(judged(turns, EventBiases(switch, end)))))


def live(router: Router, conversations: list[Conversation], catalog: Catalog, pairs: list[str]) -> None:
    """Route the conversations under the free protocol once per bias pair and print the metrics."""
    print(f"\nfree protocol, {sum(len(cases(c)) for c in conversations)} turns")
    print(HEADER)
    for pair in pairs:
        switch, end = (float(v) for v in pair.split(","))
        router.strategy.biases = EventBiases(switch, end)
        print(line(pair, metrics(Evaluation(router, catalog, "free").run(conversations))), flush=True)


def main() -> None:
    """Parse arguments, score once, sweep, then route live with the pairs asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sgd", help="an SGD folder (dialogues_*.json and schema.json)")
    parser.add_argument("--skip", type=int, default=60, help="SGD dialogues left out first (the reported ones)")
    parser.add_argument("--limit", type=int, default=100, help="SGD dialogues used after those")
    parser.add_argument("--jsonl", nargs="*", default=[], help="labelled JSONL files to tune on too")
    parser.add_argument("--catalog", default=str(ROOT / "data" / "default_catalog.json"))
    parser.add_argument("--free", nargs="*", default=[], metavar="SWITCH,END")
    parser.add_argument("--strategy", default=DEFAULT_STRATEGY)
    parser.add_argument("--adapter", default=None, help="adapter folder; none: the base model (default: shipped)")
    parser.add_argument("--scores", type=Path, help="JSON file keeping the scored turns between runs")
    args = parser.parse_args()
    settings = Settings.from_env()
    catalog = Catalog.load(args.catalog)
    adapter = settings.default_adapter if args.adapter is None else default_adapter(args.adapter)
    strategy = create_strategy(args.strategy, settings.prompts_dir)
    strategy.biases = EventBiases()
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
    sweep(turns)
    live(router, conversations, catalog, args.free)


if __name__ == "__main__":
    main()
