"""Per-decision routing latency with and without key/value cache reuse, in one run.

    python bench/routing_latency.py [--dataset data/demo/demo.jsonl] [--sgd FOLDER] [--min-turns N]
        [--long-chat N] [--limit N] [--services S] [--adapter none|FOLDER] [--strategy S]

Each conversation is routed turn by turn (gold previous label as the current task, as in an
evaluation), three ways, alternating conversation by conversation so that machine noise hits all
alike: reusing the cache and reading ahead before each decision as the Chat and evaluations do
(untimed: the user is typing; its own time printed apart), reusing the cache only, and reading
the whole prompt every time. Prints p50/p95/mean/max, the ratios, tokens read per decision
(counted by the backend), peak memory, and whether the paths chose the same labels.
Long conversations: `--sgd FOLDER --min-turns 10` keeps SGD dialogues of 10 user turns or more;
`--long-chat 30` adds one conversation on the default catalog, the demo set's conversations
joined end to end up to 30 user turns. The router is the default one (the shipped adapter and
the default strategy) unless `--adapter none` (the base model) or `--strategy` say otherwise.
"""
import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.sgd import SERVICES, read_sgd  # noqa: E402
from router.backends import create_backend  # noqa: E402
from router.catalog import Catalog  # noqa: E402
from router.conversation import Conversation, joined, read_jsonl  # noqa: E402
from router.routing import Router  # noqa: E402
from router.settings import Settings, default_adapter  # noqa: E402
from router.strategies import DEFAULT_STRATEGY, create_strategy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


PATHS = {"reuse + ahead": (True, True), "reuse": (True, False), "no reuse": (False, False)}


def route(router: Router, conv: Conversation, catalog: Catalog, reuse: bool, ahead: bool) -> list[tuple]:
    """(latency, tokens read, label, scores, cache bytes, first?, s read ahead) of every user turn."""
    router.backend.reuse = reuse
    out = []
    for n, (k, previous) in enumerate(zip(conv.user_indices(), [None] + conv.gold_labels()[:-1])):
        spent = time.perf_counter()
        if ahead:
            router.prepare(conv.tasks or catalog, conv.turns[:k], previous, session=conv.id)
        spent = time.perf_counter() - spent
        d = router.decide(conv.tasks or catalog, conv.turns[: k + 1], previous, session=conv.id)
        out.append((d.latency, d.prompt_tokens, d.label, d.scores,
                    router.backend.cache.total_bytes(), n == 0, spent))
    router.forget(conv.id)
    return out


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def report(name: str, conversations: list[Conversation], catalog: Catalog, router: Router) -> int:
    """Route a set the three ways, print the comparison, return the peak bytes of kept caches."""
    router.decide(catalog, conversations[0].turns[:1], None)  # warm-up, not timed
    runs = {path: [] for path in PATHS}
    for n, conv in enumerate(conversations, 1):
        for path, (reuse, ahead) in PATHS.items():
            runs[path] += route(router, conv, catalog, reuse, ahead)
        print(f"{name}: {n}/{len(conversations)} conversations", file=sys.stderr, flush=True)
    print(f"\n== {name}: {len(conversations)} conversations, {len(runs['reuse'])} decisions, "
          f"strategy {router.strategy.name}, model {router.backend.model}")
    print(f"{'path':<15}{'p50 s':>8}{'p95 s':>8}{'mean s':>8}{'max s':>8}{'tokens read':>13}{'same labels':>13}"
          f"{'max diff':>10}")
    base, p50s = runs["no reuse"], {}
    for path, results in runs.items():
        lat = [r[0] for r in results]
        p50s[path] = statistics.median(lat)
        same = sum(a[2] == b[2] for a, b in zip(results, base))
        drift = max(abs(a[3][k] - b[3][k]) for a, b in zip(results, base) for k in a[3])
        print(f"{path:<15}{p50s[path]:>8.3f}{percentile(lat, 95):>8.3f}{statistics.mean(lat):>8.3f}{max(lat):>8.3f}"
              f"{statistics.mean(r[1] for r in results):>13.0f}{f'{same}/{len(base)}':>13}{drift:>10.1e}")
    print(f"speed-up p50 over no reuse: reuse {p50s['no reuse'] / p50s['reuse']:.1f}x, "
          f"reuse + ahead {p50s['no reuse'] / p50s['reuse + ahead']:.1f}x")
    spent = [r[6] for r in runs["reuse + ahead"]]
    print(f"reading ahead before a decision: p50 {statistics.median(spent):.3f} s, p95 {percentile(spent, 95):.3f} s")
    for first, label in ((True, "first decision of a conversation"), (False, "later decisions")):
        part = [r for r in runs["reuse + ahead"] if r[5] == first]
        lat = [r[0] for r in part]
        print(f"reuse + ahead, {label}: {len(part)}, p50 {statistics.median(lat):.3f} s, "
              f"p95 {percentile(lat, 95):.3f} s, tokens read {statistics.mean(r[1] for r in part):.0f}")
    return max(r[4] for r in runs["reuse + ahead"])


def main() -> None:
    """Parse arguments, load the model once, run the sets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=str(ROOT / "data" / "demo" / "demo.jsonl"))
    parser.add_argument("--catalog", default=str(ROOT / "data" / "default_catalog.json"))
    parser.add_argument("--sgd", help="an SGD folder (dialogues_*.json and schema.json)")
    parser.add_argument("--min-turns", type=int, default=0, help="SGD dialogues of at least this many user turns")
    parser.add_argument("--long-chat", type=int, default=0,
                        help="add one conversation of this many user turns (the dataset's joined)")
    parser.add_argument("--skip-dataset", action="store_true", help="leave the dataset itself out")
    parser.add_argument("--limit", type=int, default=0, help="conversations per set (0: all)")
    parser.add_argument("--services", choices=SERVICES, default="mixed",
                        help="which SGD dialogues to take (as `datasets import-sgd --services`)")
    parser.add_argument("--strategy", default=DEFAULT_STRATEGY)
    parser.add_argument("--adapter", default=None, help="adapter folder; none: the base model "
                        "(default: the shipped adapter, as the app)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--budget-mb", type=int, default=512)
    args = parser.parse_args()
    settings = Settings.from_env()
    catalog = Catalog.load(args.catalog)
    adapter = settings.default_adapter if args.adapter is None else default_adapter(args.adapter)
    backend = create_backend("local", model=args.model, adapter=adapter, settings=settings,
                             cache_budget_mb=args.budget_mb)
    router = Router(backend, create_strategy(args.strategy, settings.prompts_dir))
    dataset = read_jsonl(args.dataset, catalog)
    sets = [] if args.skip_dataset else [(Path(args.dataset).name, dataset[: args.limit or None])]
    if args.sgd:
        dialogues = read_sgd(args.sgd, services=args.services)
        long = [c for c in dialogues if len(c.user_indices()) >= args.min_turns][: args.limit or None]
        sets.append((f"SGD {args.sgd}" + (f", {args.min_turns}+ user turns" if args.min_turns else ""), long))
    if args.long_chat:
        sets.append((f"{args.long_chat}-turn conversation", [joined(dataset, args.long_chat)]))
    print(f"router: {backend.model} + {adapter or 'no adapter'}, strategy {args.strategy}")
    peak_cache = 0
    for name, conversations in sets:
        peak_cache = max(peak_cache, report(name, conversations, catalog, router))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory {rss:.0f} MiB; peak of kept key/value caches "
          f"{peak_cache / 2**20:.1f} MiB (budget {args.budget_mb} MiB, least recently used evicted first)")


if __name__ == "__main__":
    main()
